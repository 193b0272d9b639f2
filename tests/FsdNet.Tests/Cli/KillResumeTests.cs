using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using FsdNet.Serving;
using FsdNet.Tensors;
using FsdNet.Tests.Data;
using FsdNet.Tests.Support;
using Xunit;

namespace FsdNet.Tests.Cli;

/// <summary>
/// <c>fsdnet train</c> killed with SIGKILL in the middle of an epoch (a real process, nothing unwound) and continued with
/// <c>--resume</c> ends with the same model, bit for bit, as the same run left alone (checkpoint_every_steps).
/// </summary>
[Collection(ThreadingCollection.Name)]
public sealed class KillResumeTests : IDisposable
{
    private readonly TempDir tmp = new();

    public void Dispose() => tmp.Dispose();

    [Fact]
    public void A_run_killed_with_sigkill_mid_epoch_resumes_to_the_same_model()
    {
        var rng = new Rng(5);
        tmp.CsvSplits("label,a,b,c", (_, _) =>
        {
            int a = rng.NextInt(30), b = rng.NextInt(20), c = rng.NextInt(5);
            var p = ((a + b) % 3 == 0 ? 0.8 : 0.15) + (c == 0 ? 0.05 : 0);
            return string.Create(CultureInfo.InvariantCulture, $"{(rng.NextDouble() < p ? 1 : 0)},a{a},b{b},c{c}");
        }, 16000, 1000, 1000);
        tmp.CsvDatasetConfig("kill", 1, "{name: [a, b, c], active: True, dtype: str, type: categorical}");
        tmp.File("model_config.yaml", """
            FSD_kill:
                model: FSDNet
                dataset_id: kill
                embedding_dim: 8
                parallel_dnn_hidden_units: [32, 32]
                num_cross_layers: 2
                batch_norm: True
                net_dropout: 0.2
                batch_size: 40
                learning_rate: 1.e-3
                epochs: 2
                seed: 11
                checkpoint_every_steps: 1
                monitor: AUC
            """);
        string[] Args(string runDir) => ["train", "--config", tmp.Path, "--expid", "FSD_kill", "--run-dir", runDir, "--cache-dir", tmp.Sub("cache"), "--threads", "1", "--progress", "plain"];

        var full = tmp.Sub("full");
        var (code, _, err) = CliRunner.Run(Args(full));
        Assert.True(code == 0, err);

        // The same run in its own process, killed once a checkpoint inside an epoch has been written.
        var killed = tmp.Sub("killed");
        var cli = CliRunner.CliDll;
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(cli);
        foreach (var arg in Args(killed))
        {
            start.ArgumentList.Add(arg);
        }
        using (var process = Process.Start(start)!)
        {
            process.OutputDataReceived += (_, _) => { };
            process.ErrorDataReceived += (_, _) => { };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            var checkpoint = Path.Combine(killed, "checkpoint.fsdc");
            var clock = Stopwatch.StartNew();
            long step = 0;
            // Look at the checkpoint every 5 ms until the run writes one inside an epoch (WaitForExit returns early
            // when the run ends first, and the assertion below then fails).
            while (!process.WaitForExit(5) && clock.Elapsed < TimeSpan.FromMinutes(2))
            {
                if (File.Exists(checkpoint) && Step(checkpoint) is > 100 and var s)
                {
                    step = s;
                    process.Kill(); // SIGKILL
                    break;
                }
            }
            process.WaitForExit();
            Assert.True(step > 0, "the run ended before a mid-epoch checkpoint could be caught");
        }
        Assert.False(File.Exists(Path.Combine(killed, "model.fsdm")), "the killed run had already finished");

        (code, var output, err) = CliRunner.Run([.. Args(killed), "--resume"]);
        Assert.True(code == 0, err);
        Assert.Contains("Resumed from", output + err, StringComparison.Ordinal);
        Assert.Contains("after step", output + err, StringComparison.Ordinal);

        var a = ModelBundle.Load(full).Model.State().ToList();
        var b = ModelBundle.Load(killed).Model.State().ToList();
        Assert.Equal(a.Count, b.Count);
        for (var i = 0; i < a.Count; i++)
        {
            Assert.True(a[i].Value.Span.SequenceEqual(b[i].Value.Span), $"{a[i].Name} differs after kill -9 and --resume");
        }
    }

    /// <summary>The step inside its epoch a checkpoint was written at (0: an epoch's end); -1 while it cannot be read.</summary>
    private static long Step(string checkpoint)
    {
        try
        {
            var (meta, _) = TensorFile.Read(checkpoint);
            using var doc = JsonDocument.Parse(meta);
            return doc.RootElement.TryGetProperty("step", out var s) ? s.GetInt64() : 0;
        }
        catch (Exception e) when (e is IOException or ModelFileException or JsonException)
        {
            return -1;
        }
    }
}
