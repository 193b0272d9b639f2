using System.Globalization;
using FsdNet.Tensors;
using FsdNet.Tests.Data;
using FsdNet.Tests.Support;
using Xunit;

namespace FsdNet.Tests.Cli;

/// <summary>FSDNet trained end to end on numeric and sequence columns, with use_features and feature_specs.</summary>
[Collection(ThreadingCollection.Name)]
public sealed class FeatureTypesTests : IDisposable
{
    private readonly TempDir tmp = new();

    public FeatureTypesTests()
    {
        var rng = new Rng(21);
        tmp.CsvSplits("label,user,item,price,hist,noise", (_, _) =>
        {
            int u = rng.NextInt(30), it = rng.NextInt(12);
            var price = rng.NextDouble() * 10;
            var hist = string.Join('^', Enumerable.Range(0, 1 + rng.NextInt(4)).Select(_ => $"i{rng.NextInt(12)}"));
            // The label depends only on the numeric and the sequence column: a model that ignored them would be at AUC 0.5.
            var p = (price > 6 ? 0.6 : 0.1) + (hist.Contains("i3", StringComparison.Ordinal) ? 0.35 : 0);
            return string.Create(CultureInfo.InvariantCulture, $"{(rng.NextDouble() < p ? 1 : 0)},u{u},i{it},{price:F3},{hist},n{rng.NextInt(5)}");
        }, 4000, 600, 600);
        tmp.CsvDatasetConfig("mixed", null,
            "{name: [user, item, noise], active: True, dtype: str, type: categorical}",
            "{name: price, active: True, dtype: float, type: numeric, normalizer: StandardScaler}",
            "{name: hist, active: True, dtype: str, type: sequence, splitter: ^, max_len: 4}");
        tmp.File("model_config.yaml", """
            FSDNet_mixed:
                model: FSDNet
                dataset_id: mixed
                epochs: 8
                batch_size: 256
                early_stop_patience: 3
                embedding_dim: 8
                parallel_dnn_hidden_units: [32, 32]
                num_cross_layers: 2
                batch_norm: True
                learning_rate: 1.e-2
                choice: 2
                loss_coefficient: 0.9
                Temp: 1.3
                use_features: [user, item, price, hist]
                feature_specs:
                    - {name: hist, feature_encoder: "layers.MaskedSumPooling()"}
                    - {name: price, embedding_dim: 4}
            FSDNet_badspec:
                model: FSDNet
                dataset_id: mixed
                feature_specs:
                    - {name: hist, pooling: max}
            FSDNet_badfeature:
                model: FSDNet
                dataset_id: mixed
                use_features: [user, color]
            """);
    }

    public void Dispose() => tmp.Dispose();

    [Fact]
    public void Fsdnet_learns_from_numeric_and_sequence_columns_and_predict_reloads_them()
    {
        var run = tmp.Sub("run");
        var (code, output, err) = CliRunner.Run("train", "--config", tmp.Path, "--expid", "FSDNet_mixed", "--run-dir", run, "--cache-dir", tmp.Sub("cache"));
        Assert.True(code == 0, err + output);
        var last = output.TrimEnd().Split('\n')[^1];
        var auc = double.Parse(last.Split(' ')[2], CultureInfo.InvariantCulture);
        Assert.True(auc > 0.75, last);
        Assert.Contains("FSDNet (FSDNet_mixed)", output, StringComparison.Ordinal);

        var predictions = tmp.Sub("pred.csv");
        var (pcode, _, perr) = CliRunner.Run("predict", "--model", run, "--input", Path.Combine(tmp.Path, "test.csv"), "--output", predictions);
        Assert.True(pcode == 0, perr);
        var (ecode, eout, eerr) = CliRunner.Run("evaluate", "--model", run, "--data", Path.Combine(tmp.Path, "test.csv"));
        Assert.True(ecode == 0, eerr);
        Assert.Contains($"AUC {last.Split(' ')[2]}", eout, StringComparison.Ordinal);
    }

    [Fact]
    public void Bad_feature_specs_and_use_features_name_the_key()
    {
        var (code, _, err) = CliRunner.Run("train", "--config", tmp.Path, "--expid", "FSDNet_badspec", "--run-dir", tmp.Sub("b1"), "--cache-dir", tmp.Sub("cache"));
        Assert.Equal(2, code);
        Assert.Contains("feature_specs", err, StringComparison.Ordinal);
        Assert.Contains("'pooling' is not a key FsdNet can override per feature", err, StringComparison.Ordinal);
        (code, _, err) = CliRunner.Run("train", "--config", tmp.Path, "--expid", "FSDNet_badfeature", "--run-dir", tmp.Sub("b2"), "--cache-dir", tmp.Sub("cache"));
        Assert.Equal(2, code);
        Assert.Contains("use_features names 'color', which is not a feature of 'mixed'", err, StringComparison.Ordinal);
    }
}
