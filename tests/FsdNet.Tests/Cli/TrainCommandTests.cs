using System.Globalization;
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
        tmp.CsvSplits("label,user,item,ctx", (_, _) =>
        {
            int u = rng.NextInt(20), it = rng.NextInt(15), c = rng.NextInt(4);
            var p = (u % 4 == 0) ^ (it % 3 == 0) ? 0.85 : 0.1;
            return string.Create(CultureInfo.InvariantCulture, $"{(rng.NextDouble() < p ? 1 : 0)},u{u},i{it},c{c}");
        }, 3000, 500, 500);
        tmp.CsvDatasetConfig("toy", 1,
            "{name: [user, item, ctx], active: True, dtype: str, type: categorical}");
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
            FSDNet_quick:
                dataset_id: toy
                epochs: 2
                embedding_dim: 4
                parallel_dnn_hidden_units: [8, 8]
                num_cross_layers: 2
                verbose: 1
                dnn_dropuot: 0.3
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

    [Fact]
    public void Keys_nothing_reads_are_warned_about_by_file_line_or_option()
    {
        var run = tmp.Sub("quick");
        var (code, output, err) = Cli("train", "--config", tmp.Path, "--expid", "FSDNet_quick", "--run-dir", run, "--cache-dir", tmp.Sub("cache"),
            "--set", "foo=1", "--set", "net_dropout=0.1");
        Assert.True(code == 0, err + output);
        var file = Path.Combine(tmp.Path, "model_config.yaml");
        Assert.Contains($"warning: {file}:25 [FSDNet_quick]: no part of this experiment reads 'dnn_dropuot' (misspelt, or not a key of model FSDNet?); it has no effect.", output, StringComparison.Ordinal);
        Assert.Contains("warning: --set foo=1: no part of this experiment reads 'foo'.", output, StringComparison.Ordinal);
        Assert.DoesNotContain("'net_dropout'", output, StringComparison.Ordinal);
        Assert.Contains("note: no effect in FsdNet (see docs/DATA.md, Config keys): verbose", output, StringComparison.Ordinal);
        Assert.Contains("no part of this experiment reads 'foo'", File.ReadAllText(Path.Combine(run, "train.log")), StringComparison.Ordinal);
    }

    [Fact]
    public void Command_line_values_out_of_range_name_the_option()
    {
        var (code, _, err) = Cli("train", "--config", tmp.Path, "--expid", "FSDNet_quick", "--run-dir", tmp.Sub("r0"), "--threads", "0");
        Assert.Equal(2, code);
        Assert.Equal("error: --threads must be at least 1, got 0.", err.Trim());
        (code, _, err) = Cli("train", "--config", tmp.Path, "--expid", "FSDNet_quick", "--run-dir", tmp.Sub("r0"), "--epochs", "0");
        Assert.Equal(2, code);
        Assert.Equal("error: --epochs 0: 'epochs' must be at least 1, got 0.", err.Trim());
        (code, _, err) = Cli("train", "--config", tmp.Path, "--expid", "FSDNet_quick", "--run-dir", tmp.Sub("r0"), "--set", "max_gradient_norm=0");
        Assert.Equal(2, code);
        Assert.Equal("error: --set max_gradient_norm=0: 'max_gradient_norm' must be > 0, got 0.", err.Trim());
        Assert.False(Directory.Exists(tmp.Sub("r0")));   // nothing written for a refused configuration
    }

    [Fact]
    public void Runs_go_under_model_root_and_dataset_id_without_run_dir()
    {
        var root = tmp.Sub("models");
        var (code, output, err) = Cli("train", "--config", tmp.Path, "--expid", "FSDNet_quick", "--cache-dir", tmp.Sub("cache"), "--epochs", "1",
            "--set", $"model_root={root}");
        Assert.True(code == 0, err + output);
        var runs = Directory.GetDirectories(Path.Combine(root, "toy"));
        Assert.Single(runs);
        Assert.StartsWith("FSDNet_quick-seed2023-", Path.GetFileName(runs[0]), StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(runs[0], "model.fsdm")));
    }

    [Fact]
    public void Resume_needs_a_checkpoint_and_the_same_configuration()
    {
        var run = tmp.Sub("resume");
        var (code, _, err) = Cli("train", "--config", tmp.Path, "--expid", "FSDNet_quick", "--run-dir", run, "--resume");
        Assert.Equal(2, code);
        Assert.Contains("holds no checkpoint.fsdc, so there is nothing to resume", err, StringComparison.Ordinal);

        var first = Cli("train", "--config", tmp.Path, "--expid", "FSDNet_quick", "--run-dir", run, "--cache-dir", tmp.Sub("cache"), "--epochs", "1");
        Assert.True(first.Code == 0, first.Err);
        (code, _, err) = Cli("train", "--config", tmp.Path, "--expid", "FSDNet_quick", "--run-dir", run, "--cache-dir", tmp.Sub("cache"), "--resume",
            "--set", "net_dropout=0.2", "--set", "learning_rate=0.01");
        Assert.Equal(2, code);
        Assert.Contains("the configuration differs from the run's", err, StringComparison.Ordinal);
        Assert.Contains("learning_rate: (absent) -> 0.01; net_dropout: (absent) -> 0.2", err, StringComparison.Ordinal);
        Assert.Contains("--allow-config-change", err, StringComparison.Ordinal);

        // More epochs is not a change of configuration: the run continues from its checkpoint.
        var more = Cli("train", "--config", tmp.Path, "--expid", "FSDNet_quick", "--run-dir", run, "--cache-dir", tmp.Sub("cache"), "--resume", "--epochs", "2");
        Assert.True(more.Code == 0, more.Err);
        Assert.Contains("Resumed from", more.Out, StringComparison.Ordinal);
        Assert.Equal(3, File.ReadAllLines(Path.Combine(run, "metrics.csv")).Length);   // header + 2 epochs

        var forced = Cli("train", "--config", tmp.Path, "--expid", "FSDNet_quick", "--run-dir", run, "--cache-dir", tmp.Sub("cache"), "--resume",
            "--epochs", "3", "--set", "net_dropout=0.2", "--allow-config-change");
        Assert.True(forced.Code == 0, forced.Err);
        Assert.Contains("resuming with a changed configuration (--allow-config-change): net_dropout: (absent) -> 0.2", forced.Out, StringComparison.Ordinal);
    }
}
