using System.Globalization;
using FsdNet.Serving;
using FsdNet.Tests.Data;
using FsdNet.Tests.Support;
using Xunit;

namespace FsdNet.Tests.Serving;

/// <summary>Model files written by FsdNet 0.1.0 (before the model contract changed) still load and score the same.</summary>
[Collection(ThreadingCollection.Name)]
public sealed class LegacyModelTests : IDisposable
{
    private readonly TempDir tmp = new();

    public void Dispose() => tmp.Dispose();

    [Fact]
    public void A_v1_run_directory_predicts_what_it_predicted_when_it_was_written()
    {
        // Golden/legacy_v1: model.fsdm + feature_map.json of a tiny FSDNet trained by commit 506377c, its test rows and
        // the probabilities `fsdnet predict` wrote then.
        var dir = Path.Combine(AppContext.BaseDirectory, "Golden", "legacy_v1");
        var output = tmp.Sub("pred.csv");
        var (code, _, err) = CliRunner.Run("predict", "--model", dir, "--input", Path.Combine(dir, "test.csv"), "--output", output);
        Assert.True(code == 0, err);
        var expected = File.ReadAllLines(Path.Combine(dir, "predictions.csv")).Skip(1).Select(l => double.Parse(l, CultureInfo.InvariantCulture)).ToArray();
        var actual = File.ReadAllLines(output).Skip(1).Select(l => double.Parse(l, CultureInfo.InvariantCulture)).ToArray();
        Assert.Equal(200, expected.Length);
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-6, $"row {i}: {actual[i]} vs {expected[i]} then");
        }
    }

    [Fact]
    public void A_model_file_from_a_newer_format_is_refused_naming_the_version()
    {
        var dir = Path.Combine(AppContext.BaseDirectory, "Golden", "legacy_v1");
        var run = tmp.Sub("newer");
        Directory.CreateDirectory(run);
        File.Copy(Path.Combine(dir, "feature_map.json"), Path.Combine(run, "feature_map.json"));
        var (meta, tensors) = TensorFile.Read(Path.Combine(dir, "model.fsdm"));
        TensorFile.Write(Path.Combine(run, "model.fsdm"), meta.Replace("\"format\":\"fsdnet-model\"", "\"format\":\"fsdnet-model\",\"format_version\":9", StringComparison.Ordinal), tensors);
        var e = Assert.Throws<ModelFileException>(() => ModelBundle.Load(run));
        Assert.Contains("model format version 9; this FsdNet reads versions 1 to 2", e.Message, StringComparison.Ordinal);
    }
}
