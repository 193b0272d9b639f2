using System.Globalization;
using System.Text;
using FsdNet.Tensors;
using FsdNet.Tests.Data;
using FsdNet.Tests.Support;
using Xunit;

namespace FsdNet.Tests.Cli;

/// <summary>
/// Peak memory of a whole <c>fsdnet train</c> run (ingest, vocabulary fit, cache, one epoch, validation, test) on
/// 1,000,000 Criteo-format rows, in a process of its own that reports its peak RSS. The bound is what the design
/// promises: the splits stay in the memory-mapped cache (2-byte and 1-byte code columns), the fit keeps no string per
/// token, and the fit's garbage is returned before training. Holding the splits in managed arrays, or keeping a
/// string per distinct token, breaks it. Linux only (the peak comes from /proc).
/// </summary>
[Collection(ThreadingCollection.Name)]
public sealed class MemoryBoundTests : IDisposable
{
    private const double BoundMiB = 600;

    private readonly TempDir tmp = new();

    public void Dispose() => tmp.Dispose();

    [Fact]
    public async Task A_million_row_criteo_run_stays_within_its_memory_bound()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }
        var dir = Path.Combine(tmp.Path, "criteo");
        Directory.CreateDirectory(dir);
        WriteCriteo(Path.Combine(dir, "train.txt"), 1_000_000, 1);
        WriteCriteo(Path.Combine(dir, "valid.txt"), 100_000, 2);
        WriteCriteo(Path.Combine(dir, "test.txt"), 100_000, 3);
        var (code, stdout, stderr) = await CliRunner.RunProcessAsync("dotnet",
        [
            CliRunner.CliDll, "train", "--dataset", "criteo", "--data-root", tmp.Path,
            "--cache-dir", tmp.Sub("cache"), "--run-dir", tmp.Sub("run"), "--epochs", "1", "--threads", "2", "--progress", "plain",
            "--set", "batch_size=10000", "--set", "embedding_dim=4", "--set", "parallel_dnn_hidden_units=[16, 16, 16]",
        ]);
        Assert.True(code == 0, stdout + stderr);
        var line = stdout.Split('\n').Single(l => l.StartsWith("peak RSS ", StringComparison.Ordinal));
        var peak = double.Parse(line.Split(' ')[2], CultureInfo.InvariantCulture);
        Assert.True(peak < BoundMiB, $"peak RSS {peak} MiB for 1M rows (bound {BoundMiB} MiB)\n{stdout}");
        Assert.Contains("test: ", stdout, StringComparison.Ordinal);
    }

    /// <summary>
    /// Criteo TSV rows (label, I1..I13, C1..C26) with Zipf-like categories over cardinalities of 10 to 200,000, in the
    /// manner of tools/synth_criteo.cs at this row count.
    /// </summary>
    private static void WriteCriteo(string path, int rows, ulong seed)
    {
        int[] card = [1460, 583, 200_000, 48_000, 305, 24, 12517, 633, 3, 93145, 5683, 180_000, 3194, 27, 14992, 119_000, 10, 5652, 2173, 4, 154_000, 18, 15, 286_181, 105, 142_572];
        var rng = new Rng(seed);
        using var w = new StreamWriter(path, false, new UTF8Encoding(false), 1 << 20);
        var sb = new StringBuilder(512);
        for (var r = 0; r < rows; r++)
        {
            sb.Clear().Append(rng.NextDouble() < 0.25 ? '1' : '0');
            for (var i = 0; i < 13; i++)
            {
                sb.Append('\t');
                if (rng.NextInt(5) != 0)
                {
                    sb.Append(CultureInfo.InvariantCulture, $"{(long)Math.Exp(rng.NextDouble() * 8)}");
                }
            }
            for (var c = 0; c < 26; c++)
            {
                sb.Append('\t');
                if (rng.NextInt(10) != 0)
                {
                    var rank = (long)Math.Exp(rng.NextDouble() * Math.Log(card[c] + 1)) - 1;
                    sb.Append(CultureInfo.InvariantCulture, $"{(uint)((rank * 0x9E3779B1L) ^ (c * 0x85EBCA77L)):x8}");
                }
            }
            w.Write(sb.Append('\n'));
        }
    }
}
