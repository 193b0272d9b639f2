using System.Globalization;
using System.Text;
using FsdNet.Cli;
using FsdNet.Data;
using FsdNet.Tensors;
using FsdNet.Tests.Data;
using FsdNet.Tests.Support;
using FsdNet.Training;
using Xunit;

namespace FsdNet.Tests.Cli;

/// <summary>Two tiny trained runs (CSV and libFM) that the bad-input tests score against.</summary>
public sealed class TinyRuns : IDisposable
{
    public TinyRuns()
    {
        var rng = new Rng(11);
        string Csv(int rows)
        {
            var sb = new StringBuilder("label,user,item\n");
            for (var i = 0; i < rows; i++)
            {
                int u = rng.NextInt(12), it = rng.NextInt(9);
                sb.Append(CultureInfo.InvariantCulture, $"{((u + it) % 3 == 0 ? 1 : 0)},u{u},i{it}\n");
            }
            return sb.ToString();
        }
        string LibFm(int rows)
        {
            var sb = new StringBuilder();
            for (var i = 0; i < rows; i++)
            {
                int u = rng.NextInt(12), it = 12 + rng.NextInt(9);
                sb.Append(CultureInfo.InvariantCulture, $"{((u + it) % 3 == 0 ? 1 : -1)} {u}:1 {it}:1\n");
            }
            return sb.ToString();
        }
        foreach (var split in new[] { "train", "valid", "test" })
        {
            Dir.File(split + ".csv", Csv(split == "train" ? 600 : 150));
            Dir.File(split + ".libfm", LibFm(split == "train" ? 600 : 150));
        }
        Dir.File("dataset_config.yaml", """
            csv:
              data_root: .
              train_data: train.csv
              valid_data: valid.csv
              test_data: test.csv
              min_categr_count: 1
              feature_cols: [{name: [user, item], type: categorical, dtype: str}]
              label_col: {name: label, dtype: float}
            fm:
              data_root: .
              data_format: libfm
              train_data: train.libfm
              valid_data: valid.libfm
              test_data: test.libfm
              min_categr_count: 1
              feature_cols: [{name: [user, item], type: categorical}]
              label_col: {name: label, dtype: float}
            """);
        Dir.File("model_config.yaml", """
            Base:
                model: FSDNet
                epochs: 1
                batch_size: 64
            csv_exp:
                dataset_id: csv
                embedding_dim: 4
                parallel_dnn_hidden_units: [8, 8]
                num_cross_layers: 2
            fm_exp:
                dataset_id: fm
                embedding_dim: 4
                parallel_dnn_hidden_units: [8, 8]
                num_cross_layers: 2
            """);
        foreach (var (exp, run) in new[] { ("csv_exp", CsvRun), ("fm_exp", FmRun) })
        {
            var (code, _, err) = CliRunner.Run("train", "--config", Dir.Path, "--expid", exp, "--run-dir", run, "--cache-dir", Dir.Sub("cache"), "--threads", "1");
            Assert.True(code == 0, err);
        }
    }

    public TempDir Dir { get; } = new();

    public string CsvRun => Dir.Sub("run-csv");

    public string FmRun => Dir.Sub("run-fm");

    public void Dispose() => Dir.Dispose();
}

/// <summary>Bad input and bad options through the CLI: one `error:` line naming the file, key or option; exit code 2.</summary>
[Collection(ThreadingCollection.Name)]
public sealed class BadInputCliTests(TinyRuns runs) : IClassFixture<TinyRuns>, IDisposable
{
    private readonly TempDir tmp = new();

    public void Dispose() => tmp.Dispose();

    /// <summary>Runs the CLI expecting a user error: exit 2, one error line equal to <paramref name="expected"/>, no stack trace.</summary>
    private static void UserError(string expected, params string[] args)
    {
        var (code, _, err) = CliRunner.Run(args);
        Assert.True(code == CliSupport.UserError, $"exit {code}: {err}");
        Assert.DoesNotContain("   at ", err, StringComparison.Ordinal);
        var line = err.Split('\n').Select(l => l.TrimEnd('\r')).Single(l => l.StartsWith("error: ", StringComparison.Ordinal));
        Assert.Equal("error: " + expected, line);
    }

    private string[] Predictions(string model, string input)
    {
        var output = tmp.Sub(Guid.NewGuid().ToString("N") + ".csv");
        var (code, _, err) = CliRunner.Run("predict", "--model", model, "--input", input, "--output", output);
        Assert.True(code == 0, err);
        return File.ReadAllLines(output);
    }

    [Fact]
    public void Predict_scores_csv_without_a_label_column_or_with_empty_labels()
    {
        var test = Path.Combine(runs.Dir.Path, "test.csv");
        var lines = File.ReadAllLines(test);
        var noColumn = tmp.File("nolabel.csv", string.Concat(lines.Select(l => l[(l.IndexOf(',', StringComparison.Ordinal) + 1)..] + "\n")));
        var empty = tmp.File("emptylabel.csv", lines[0] + "\n" + string.Concat(lines.Skip(1).Select(l => l[l.IndexOf(',', StringComparison.Ordinal)..] + "\n")));
        var labelled = Predictions(runs.CsvRun, test);
        Assert.Equal(151, labelled.Length);
        Assert.Equal(labelled, Predictions(runs.CsvRun, noColumn));
        Assert.Equal(labelled, Predictions(runs.CsvRun, empty));
    }

    [Fact]
    public void Predict_scores_libfm_lines_without_labels_mixed_with_labelled_ones()
    {
        var test = Path.Combine(runs.Dir.Path, "test.libfm");
        var lines = File.ReadAllLines(test);
        var unlabelled = tmp.File("nolabel.libfm", string.Concat(lines.Select((l, i) => (i % 2 == 0 ? l[(l.IndexOf(' ', StringComparison.Ordinal) + 1)..] : l) + "\n")));
        Assert.Equal(Predictions(runs.FmRun, test), Predictions(runs.FmRun, unlabelled));
    }

    [Fact]
    public void Evaluate_still_requires_labels()
    {
        var input = tmp.File("nolabel.libfm", "3:1 14:1\n");
        UserError($"{input}:1: wrong number of fields: expected a label and 2 idx:val pairs, got 2 items", "evaluate", "--model", runs.FmRun, "--data", input);
        var csv = tmp.File("nolabel.csv", "user,item\nu1,i1\n");
        UserError($"{csv}:1: field 'label': column named in the config is absent from the header (header has: user, item)", "evaluate", "--model", runs.CsvRun, "--data", csv);
    }

    [Fact]
    public void Predict_refuses_outputs_that_would_destroy_something()
    {
        var test = Path.Combine(runs.Dir.Path, "test.csv");
        var before = File.ReadAllBytes(test);
        UserError($"--output {test} is the --input file; predictions would overwrite the data they are computed from.",
            "predict", "--model", runs.CsvRun, "--input", test, "--output", test);
        Assert.Equal(before, File.ReadAllBytes(test));
        UserError($"--output {tmp.Path} is a directory; give a file name such as {Path.Combine(tmp.Path, "predictions.csv")}.",
            "predict", "--model", runs.CsvRun, "--input", test, "--output", tmp.Path);
        var model = Path.Combine(runs.CsvRun, "model.fsdm");
        var modelBytes = File.ReadAllBytes(model);
        UserError($"--output {model} is a file of the model's run directory {runs.CsvRun} (model.fsdm); write the predictions to a new file.",
            "predict", "--model", runs.CsvRun, "--input", test, "--output", model);
        Assert.Equal(modelBytes, File.ReadAllBytes(model));
        var nowhere = Path.Combine(tmp.Path, "no", "such", "p.csv");
        UserError($"--output {nowhere}: the folder {Path.GetDirectoryName(nowhere)} does not exist.",
            "predict", "--model", runs.CsvRun, "--input", test, "--output", nowhere);
    }

    [Fact]
    public void Threads_below_one_name_the_option()
    {
        var test = Path.Combine(runs.Dir.Path, "test.csv");
        UserError("--threads must be at least 1, got 0.", "predict", "--model", runs.CsvRun, "--input", test, "--output", tmp.Sub("p.csv"), "--threads", "0");
        UserError("--threads must be at least 1, got -3.", "evaluate", "--model", runs.CsvRun, "--data", test, "--threads", "-3");
        UserError("--threads must be at least 1, got 0.", "train", "--config", runs.Dir.Path, "--expid", "csv_exp", "--run-dir", tmp.Sub("r"), "--threads", "0");
    }

    [Fact]
    public void Run_dir_that_is_a_file_is_refused()
    {
        var file = tmp.File("afile", "x");
        UserError($"--run-dir {file} is a file; give a directory (it is created if missing).",
            "train", "--config", runs.Dir.Path, "--expid", "csv_exp", "--run-dir", file, "--cache-dir", runs.Dir.Sub("cache"));
        Assert.Equal("x", File.ReadAllText(file));
    }

    [Fact]
    public void Diverging_training_is_an_error_line()
    {
        var (code, _, err) = CliRunner.Run("train", "--config", runs.Dir.Path, "--expid", "csv_exp", "--run-dir", tmp.Sub("div"),
            "--cache-dir", runs.Dir.Sub("cache"), "--set", "learning_rate=1e12", "--threads", "1");
        Assert.Equal(CliSupport.UserError, code);
        Assert.DoesNotContain("   at ", err, StringComparison.Ordinal);
        Assert.Matches(@"(?m)^error: Training diverged: the loss is (NaN|-?Infinity|∞|-∞) at epoch 1, step \d+ \(try a lower learning_rate", err);
    }

    [Fact]
    public void Huge_embedding_dim_names_the_key()
    {
        // The input layer refuses the first table that cannot exist, naming the key to lower.
        UserError($"{Path.Combine(runs.Dir.Path, "model_config.yaml")} [csv_exp]: field 'user': a [14 x 1000000000] table (52.2 GiB) is larger " +
                  "than a tensor can be (2^31 floats); lower embedding_dim.",
            "train", "--config", runs.Dir.Path, "--expid", "csv_exp", "--run-dir", tmp.Sub("big"), "--cache-dir", runs.Dir.Sub("cache"),
            "--set", "embedding_dim=1e9", "--threads", "1");
    }

    [Fact]
    public void Out_of_memory_while_building_a_model_is_a_config_error()
    {
        using var data = DataPipeline.Prepare(DatasetConfigLoader.Load(Path.Combine(runs.Dir.Path, "dataset_config.yaml"), "csv"),
            new DataOptions { CacheDir = runs.Dir.Sub("cache") });
        var cfg = ModelConfig.Parse("e:\n  model: FSDNet\n  embedding_dim: 8\n  dnn_hidden_units: [100000, 300000]\n", "m.yaml", "e");
        var e = Assert.Throws<ConfigException>(() => CliSupport.CreateModel(data.FeatureMap, cfg, () => throw new OutOfMemoryException()));
        Assert.Equal("m.yaml [e]: the model cannot be built: it does not fit in memory. The largest part is dnn_hidden_units layer 2: " +
                     "100000 x 300000 = 3E+10 values; lower 'dnn_hidden_units'.", e.Message);
    }

    [Fact]
    public void Unforeseen_exceptions_become_one_internal_error_line()
    {
        var (oldErr, err) = (Console.Error, new StringWriter());
        Console.SetError(err);
        try
        {
            Assert.Equal(CliSupport.InternalError, CliSupport.Guard(() => throw new NullReferenceException("boom")));
            Assert.Equal(CliSupport.UserError, CliSupport.Guard(() => throw new InvalidOperationException("Training diverged: the loss is NaN")));
            Assert.Equal(CliSupport.UserError, CliSupport.Guard(() => throw new OutOfMemoryException()));
        }
        finally
        {
            Console.SetError(oldErr);
        }
        Assert.Equal(
            "error: internal error (NullReferenceException): boom (please report it; FSDNET_TRACE=1 shows the stack trace)\n" +
            "error: Training diverged: the loss is NaN\n" +
            "error: out of memory: the model or data does not fit (check size keys such as embedding_dim, the *_hidden_units lists and batch_size).\n",
            err.ToString().Replace("\r\n", "\n", StringComparison.Ordinal));
    }

    [Fact]
    public void Duplicate_header_column_in_data_inspect()
    {
        var dir = tmp.Sub("dup");
        Directory.CreateDirectory(dir);
        var csv = Path.Combine(dir, "train.csv");
        File.WriteAllText(csv, "label,user,user,item\n1,a,b,c\n");
        File.WriteAllText(Path.Combine(dir, "dataset_config.yaml"), """
            d:
              data_root: .
              train_data: train.csv
              feature_cols: [{name: [user, item], type: categorical}]
              label_col: {name: label}
            """);
        UserError($"{csv}:1: duplicate column name in the header: 'user' appears as columns 2 and 3; column names must be unique",
            "data", "inspect", "--config", dir, "--dataset-id", "d", "--cache-dir", tmp.Sub("cache"));
    }

    [Fact]
    public void Yaml_lists_where_a_scalar_is_expected_name_the_key()
    {
        var dir = tmp.Sub("lists");
        Directory.CreateDirectory(dir);
        foreach (var f in new[] { "train.csv", "valid.csv", "test.csv" })
        {
            File.Copy(Path.Combine(runs.Dir.Path, f), Path.Combine(dir, f));
        }
        File.WriteAllText(Path.Combine(dir, "dataset_config.yaml"), File.ReadAllText(Path.Combine(runs.Dir.Path, "dataset_config.yaml")));
        File.WriteAllText(Path.Combine(dir, "model_config.yaml"), "e:\n    dataset_id: csv\n    model: FSDNet\n    embedding_dim: [8, 9]\n");
        UserError($"{Path.Combine(dir, "model_config.yaml")}:4 [e]: 'embedding_dim' must be a number, got '[ 8, 9 ]'.",
            "train", "--config", dir, "--expid", "e", "--run-dir", tmp.Sub("r1"), "--cache-dir", tmp.Sub("cache"));
        File.WriteAllText(Path.Combine(dir, "dataset_config.yaml"), "csv:\n  train_data: [train.csv]\n");
        UserError($"{Path.Combine(dir, "dataset_config.yaml")}:2: 'train_data' must be a single value",
            "data", "inspect", "--config", dir, "--dataset-id", "csv", "--cache-dir", tmp.Sub("cache"));
    }

    [Fact]
    public void Wrong_or_damaged_model_files_are_named()
    {
        var test = Path.Combine(runs.Dir.Path, "test.csv");
        UserError($"{test}: not an FsdNet model/checkpoint file (bad magic or too short: {new FileInfo(test).Length} bytes).", "evaluate", "--model", test, "--data", test);
        var copy = tmp.Sub("copy");
        Directory.CreateDirectory(copy);
        foreach (var f in Directory.GetFiles(runs.CsvRun))
        {
            File.Copy(f, Path.Combine(copy, Path.GetFileName(f)));
        }
        var map = Path.Combine(copy, "feature_map.json");
        File.WriteAllText(map, File.ReadAllText(map).Replace("\"u1\"", "\"u1x\"", StringComparison.Ordinal));
        UserError($"{map}: the feature map of this model is damaged: feature map is corrupt: its schema_hash does not match its content " +
                  "(edited or damaged file) (restore it from a copy of the run, or retrain).", "evaluate", "--model", copy, "--data", test);
        var model = Path.Combine(copy, "model.fsdm");
        var bytes = File.ReadAllBytes(model);
        File.WriteAllBytes(model, bytes[..(bytes.Length / 2)]);
        UserError($"{model}: checksum mismatch: the file is truncated or corrupt.", "predict", "--model", copy, "--input", test, "--output", tmp.Sub("o.csv"));
        UserError($"{runs.Dir.Path}: is a directory, not a data file", "evaluate", "--model", runs.CsvRun, "--data", runs.Dir.Path);
    }

    [Fact]
    public void Unclosed_yaml_brackets_and_nested_monitor_weights_are_config_errors()
    {
        var dir = tmp.Sub("yaml");
        Directory.CreateDirectory(dir);
        var model = Path.Combine(dir, "model_config.yaml");
        File.WriteAllText(Path.Combine(dir, "dataset_config.yaml"), File.ReadAllText(Path.Combine(runs.Dir.Path, "dataset_config.yaml")));
        File.WriteAllText(model, "e:\n    dataset_id: csv\n    model: FSDNet\n    parallel_dnn_hidden_units: [8, [8, 8]\n    num_cross_layers: 2\n");
        UserError($"{model}: invalid YAML: a value could not be read (Operation is not valid due to the current state of the object.)",
            "train", "--config", dir, "--expid", "e", "--run-dir", tmp.Sub("r1"));
        File.WriteAllText(model, "e:\n    dataset_id: csv\n    model: FSDNet\n    monitor: {AUC: {x: 1}}\n");
        UserError($"{model}:4 [e]: monitor weight of 'AUC' must be a number.", "train", "--config", dir, "--expid", "e", "--run-dir", tmp.Sub("r2"));
        File.WriteAllText(model, "e:\n    dataset_id: csv\n    [model]: FSDNet\n");
        UserError($"{model}:3: a setting name must be a plain name, got '[ model ]'.", "train", "--config", dir, "--expid", "e", "--run-dir", tmp.Sub("r3"));
        var data = Path.Combine(dir, "dataset_config.yaml");
        File.WriteAllText(data, "csv:\n  train_data: train.csv\n  feature_cols: [{name: [a, [b, c]}]\n  label_col: {name: label}\n");
        var (code, _, err) = CliRunner.Run("data", "inspect", "--config", data, "--dataset-id", "csv", "--cache-dir", tmp.Sub("cache"));
        Assert.Equal(CliSupport.UserError, code);
        Assert.StartsWith($"error: {data}", err, StringComparison.Ordinal);
        Assert.Contains("invalid YAML", err, StringComparison.Ordinal);
    }
}
