using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using FsdNet.Tensors;
using FsdNet.Tests.Data;
using FsdNet.Tests.Support;
using Xunit;

namespace FsdNet.Tests.Cli;

/// <summary>`fsdnet train / evaluate / predict` end to end on a small data set the test writes.</summary>
[Collection(ThreadingCollection.Name)]
public sealed partial class TrainCommandTests : IDisposable
{
    private readonly TempDir tmp = new();

    public TrainCommandTests()
    {
        var rng = new Rng(5);
        string Split(int rows)
        {
            var sb = new StringBuilder("label,user,item,ctx\n");
            for (var i = 0; i < rows; i++)
            {
                int u = rng.NextInt(20), it = rng.NextInt(15), c = rng.NextInt(4);
                var p = (u % 4 == 0) ^ (it % 3 == 0) ? 0.85 : 0.1;
                sb.Append(CultureInfo.InvariantCulture, $"{(rng.NextDouble() < p ? 1 : 0)},u{u},i{it},c{c}\n");
            }
            return sb.ToString();
        }
        tmp.File("train.csv", Split(3000));
        tmp.File("valid.csv", Split(500));
        tmp.File("test.csv", Split(500));
        tmp.File("dataset_config.yaml", """
            toy:
              data_root: .
              data_format: csv
              train_data: train.csv
              valid_data: valid.csv
              test_data: test.csv
              min_categr_count: 1
              feature_cols:
                - {name: [user, item, ctx], active: True, dtype: str, type: categorical}
              label_col: {name: label, dtype: float}
            """);
        tmp.File("model_config.yaml", """
            Base:
                model: FSDNet
                epochs: 6
                batch_size: 256
                early_stop_patience: 10
            FSDNet_toy:
                dataset_id: toy
                embedding_dim: 8
                parallel_dnn_hidden_units: [16, 16]
                num_cross_layers: 2
                batch_norm: True
                net_dropout: 0.1
                learning_rate: 1.e-2
                embedding_regularizer: 1.e-3
                choice: 2
                loss_coefficient: 0.9
                Temp: 1.3
            FSDNet_broken:
                dataset_id: toy
                parallel_dnn_hidden_units: [16, 16, 16]
                num_cross_layers: 2
            """);
    }

    public void Dispose() => tmp.Dispose();

    private static (int Code, string Out, string Err) Cli(params string[] args) => CliRunner.Run(args);

    [GeneratedRegex(@"test AUC (\d\.\d+) logloss (\d\.\d+)\s*$")]
    private static partial Regex LastLine();

    [Fact]
    public void Train_writes_a_complete_run_that_evaluate_and_predict_reload()
    {
        var run = tmp.Sub("run");
        var (code, output, err) = Cli("train", "--config", tmp.Path, "--expid", "FSDNet_toy", "--run-dir", run, "--cache-dir", tmp.Sub("cache"), "--threads", "2");
        Assert.True(code == 0, err + output);
        var m = LastLine().Match(output);
        Assert.True(m.Success, "last line: " + output.TrimEnd().Split('\n')[^1]);
        var auc = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.True(auc > 0.8, $"test AUC {auc}");
        foreach (var f in new[] { "config.yaml", "feature_map.json", "model.fsdm", "metrics.csv", "metrics.json", "train.log", "curves.png", "test_metrics.json", "checkpoint.fsdc" })
        {
            Assert.True(File.Exists(Path.Combine(run, f)), $"{f} missing from the run directory");
        }
        Assert.Equal(7, File.ReadAllLines(Path.Combine(run, "metrics.csv")).Length);   // header + 6 epochs
        var config = File.ReadAllText(Path.Combine(run, "config.yaml"));
        Assert.Contains("FSDNet_toy:", config, StringComparison.Ordinal);
        Assert.Contains("embedding_dim: 8", config, StringComparison.Ordinal);                     // from the experiment
        Assert.Contains("early_stop_patience: 10", config, StringComparison.Ordinal);              // from Base
        Assert.Contains($"train_data: {Path.Combine(tmp.Path, "train.csv")}", config, StringComparison.Ordinal); // dataset keys

        var (ecode, eout, eerr) = Cli("evaluate", "--model", run, "--data", Path.Combine(tmp.Path, "test.csv"));
        Assert.True(ecode == 0, eerr);
        Assert.Contains($"AUC {m.Groups[1].Value}", eout, StringComparison.Ordinal);   // the same model gives the same test AUC
        Assert.Contains($"logloss {m.Groups[2].Value}", eout, StringComparison.Ordinal);

        var predictions = tmp.Sub("pred.csv");
        Assert.Equal(0, Cli("predict", "--model", run, "--input", Path.Combine(tmp.Path, "test.csv"), "--output", predictions).Code);
        var lines = File.ReadAllLines(predictions);
        Assert.Equal("probability", lines[0]);
        Assert.Equal(501, lines.Length);
        Assert.All(lines.Skip(1), l => Assert.InRange(double.Parse(l, CultureInfo.InvariantCulture), 0, 1));

        // A finished run refuses to be overwritten; --resume continues it (nothing left to do) and reports again.
        var again = Cli("train", "--config", tmp.Path, "--expid", "FSDNet_toy", "--run-dir", run, "--cache-dir", tmp.Sub("cache"));
        Assert.Equal(2, again.Code);
        Assert.Contains("--resume", again.Err, StringComparison.Ordinal);
        var resumed = Cli("train", "--config", tmp.Path, "--expid", "FSDNet_toy", "--run-dir", run, "--cache-dir", tmp.Sub("cache"), "--resume");
        Assert.True(resumed.Code == 0, resumed.Err);
        Assert.Equal(m.Value.Trim(), LastLine().Match(resumed.Out).Value.Trim());
    }

    [Fact]
    public void Config_errors_and_missing_data_get_clear_messages()
    {
        var (code, _, err) = Cli("train", "--config", tmp.Path, "--expid", "FSDNet_broken", "--run-dir", tmp.Sub("b"), "--cache-dir", tmp.Sub("cache"));
        Assert.Equal(2, code);
        Assert.Contains("num_cross_layers (2) must equal", err, StringComparison.Ordinal);

        (code, _, err) = Cli("train", "--dataset", "frappe", "--data-root", tmp.Sub("nowhere"), "--run-dir", tmp.Sub("f"));
        Assert.Equal(2, code);
        Assert.Contains(Path.Combine(tmp.Sub("nowhere"), "frappe"), err, StringComparison.Ordinal);
        Assert.Contains("frappe.train.libfm.gz", err, StringComparison.Ordinal);
        Assert.Contains("fsdnet data download frappe_x1", err, StringComparison.Ordinal);

        (code, _, err) = Cli("train", "--config", tmp.Path, "--expid", "nope");
        Assert.Equal(2, code);
        Assert.Contains("Experiment 'nope'", err, StringComparison.Ordinal);

        (code, _, err) = Cli("evaluate", "--model", tmp.Sub("none"), "--data", "x.csv");
        Assert.Equal(2, code);
        Assert.Contains("no model file", err, StringComparison.Ordinal);
    }
}
