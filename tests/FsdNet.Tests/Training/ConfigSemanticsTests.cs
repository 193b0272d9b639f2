using FsdNet.Data;
using FsdNet.Models;
using FsdNet.Training;
using Xunit;

namespace FsdNet.Tests.Training;

/// <summary>"Configs mean what they say": read tracking, acknowledged FuxiCTR keys, legacy names, repeated keys, origins.</summary>
public class ConfigSemanticsTests
{
    /// <summary>FuxiCTR 2.3.10's model_zoo Base block, as users copy it.</summary>
    private const string FuxiBase = """
        Base:
            model_root: './checkpoints/'
            num_workers: 3
            verbose: 1
            early_stop_patience: 2
            pickle_feature_encoder: True
            save_best_only: True
            eval_steps: null
            debug_mode: False
            group_id: null
            use_features: null
            feature_specs: null
            feature_config: null
        FSDNet_test:
            model: FSDNet
            dataset_id: tiny
            loss: 'binary_crossentropy'
            metrics: ['logloss', 'AUC']
            task: binary_classification
            optimizer: adam
            learning_rate: 1.0e-3
            embedding_regularizer: 0
            net_regularizer: 0
            batch_size: 128
            embedding_dim: 4
            parallel_dnn_hidden_units: [8, 8, 8]
            num_cross_layers: 3
            net_dropout: 0
            batch_norm: False
            epochs: 1
            shuffle: True
            seed: 2019
            monitor: 'AUC'
            monitor_mode: 'max'
            dropout_rat: 0.2
        """;

    private static ModelConfig ReadAll(ModelConfig cfg)
    {
        TrainerOptions.From(cfg);
        FsdNetOptions.From(cfg);
        _ = cfg.DatasetId;
        _ = cfg.Model;   // read by ModelRegistry.Create
        cfg.GetString("group_id");
        cfg.GetStringList("use_features", []);   // read by ModelInputs.Schema
        cfg.GetNode("feature_specs");
        return cfg;
    }

    [Fact]
    public void Only_keys_nothing_reads_are_reported_with_file_and_line()
    {
        var cfg = ReadAll(ModelConfig.Parse(FuxiBase, "model_config.yaml", "FSDNet_test"));
        Assert.Equal(["dropout_rat"], cfg.UnreadKeys());
        Assert.Equal("model_config.yaml:35 [FSDNet_test]", cfg.Origin("dropout_rat"));
        Assert.Equal(["verbose", "num_workers", "pickle_feature_encoder", "debug_mode", "feature_config"], cfg.Acknowledged.Keys);
        Assert.Contains("memory-mapped cache", cfg.Acknowledged["num_workers"], StringComparison.Ordinal);

        // A key given on the command line that nothing reads is named with its option.
        var set = ReadAll(ModelConfig.Parse(FuxiBase, "model_config.yaml", "FSDNet_test").With(new Dictionary<string, string> { ["foo"] = "1" }, "--set foo=1"));
        Assert.Equal(["dropout_rat", "foo"], set.UnreadKeys());
        Assert.Equal("--set foo=1", set.Origin("foo"));
        Assert.Contains("--set foo=1: no part of this experiment reads 'foo'.", FsdNet.Cli.TrainCommand.UnreadKeyWarnings(set));
    }

    [Fact]
    public void Every_preset_key_is_read()
    {
        foreach (var name in Presets.Names)
        {
            var cfg = ReadAll(Presets.For(name));
            Assert.Empty(cfg.UnreadKeys());
            Assert.DoesNotContain("model_root", cfg.Keys);   // preset runs go to runs/
        }
    }

    [Fact]
    public void Legacy_names_keep_their_fuxictr_1_meaning()
    {
        var cfg = ModelConfig.Parse("exp:\n    every_x_epochs: 2\n    partition_block_size: 50000\n    patience: 4\n", "old.yaml", "exp");
        var o = TrainerOptions.From(cfg);
        Assert.Equal(2.0, o.EveryXEpochs);
        Assert.Null(o.EvalSteps);                           // not "validate every batch"
        Assert.Equal(10000, o.BatchSize);                   // partition_block_size is not the batch size
        Assert.Equal(4, o.EarlyStopPatience);
        Assert.Contains("not the batch size", cfg.Acknowledged["partition_block_size"], StringComparison.Ordinal);
        Assert.Empty(cfg.UnreadKeys());
        Assert.Contains(cfg.Warnings, w => w == "old.yaml:4 [exp]: 'patience' is a legacy name; read as 'early_stop_patience'.");

        Assert.Contains("must be a whole number of epochs or a fraction below 1",
            Assert.Throws<ConfigException>(() => TrainerOptions.From(ModelConfig.Parse("exp:\n    every_x_epochs: 1.5\n", "c.yaml", "exp"))).Message);
        Assert.Contains("not both", Assert.Throws<ConfigException>(() =>
            TrainerOptions.From(ModelConfig.Parse("exp:\n    every_x_epochs: 1\n    eval_steps: 10\n", "c.yaml", "exp"))).Message);
    }

    [Fact]
    public void Repeated_keys_take_the_last_value_with_a_warning_naming_both_lines()
    {
        var cfg = ModelConfig.Parse("Base:\n    epochs: 3\nexp:\n    net_dropout: 0.1\n    epochs: 7\n    net_dropout: 0.3\n", "m.yaml", "exp");
        Assert.Equal(0.3, cfg.GetDouble("net_dropout", 0));
        Assert.Equal(7, cfg.GetInt("epochs", 0));
        Assert.Equal(["m.yaml:6: duplicate key 'net_dropout' (first on line 4); the value on line 6 is used, as PyYAML does"], cfg.Warnings);
        Assert.Equal("m.yaml:4 [exp]", cfg.Origin("net_dropout"));   // the first key's place, as a Python dict keeps it

        var data = DatasetConfigLoader.Parse("""
            d:
              train_data: a.csv
              min_categr_count: 1
              feature_cols:
                - {name: a, type: categorical}
              label_col: {name: y}
              min_categr_count: 3
            """, "data.yaml");
        Assert.Equal(3, data.MinCategrCount);
        Assert.Contains("data.yaml:7: duplicate key 'min_categr_count' (first on line 3); the value on line 7 is used, as PyYAML does", data.Warnings);
    }

    [Theory]
    [InlineData("epochs: 0", "cfg.yaml:3 [exp]: 'epochs' must be at least 1, got 0.")]
    [InlineData("batch_size: 1", "cfg.yaml:3 [exp]: 'batch_size' must be at least 2, got 1.")]
    [InlineData("learning_rate: 0", "cfg.yaml:3 [exp]: 'learning_rate' must be > 0, got 0.")]
    [InlineData("max_gradient_norm: 0", "cfg.yaml:3 [exp]: 'max_gradient_norm' must be > 0, got 0.")]
    [InlineData("max_gradient_norm: -1", "'max_gradient_norm' must be > 0, got -1.")]
    [InlineData("early_stop_patience: 0", "'early_stop_patience' must be at least 1, got 0.")]
    [InlineData("eval_steps: 0", "'eval_steps' must be at least 1, got 0.")]
    [InlineData("embedding_regularizer: -0.1", "cfg.yaml:3 [exp]: 'embedding_regularizer' must not be negative, got '-0.1'.")]
    [InlineData("net_regularizer: l1_l2(1e-3,-1)", "'net_regularizer' must not be negative")]
    [InlineData("net_regularizer: [0.1]", "'net_regularizer' must be a number, l2(x), l1(x) or l1_l2(x, y)")]
    [InlineData("loss: mse", "cfg.yaml:3 [exp]: 'loss' must be binary_crossentropy (also written bce or binary_cross_entropy); FsdNet has no 'mse'.")]
    [InlineData("task: regression", "task 'regression' is not supported")]
    public void Range_and_meaning_errors_name_the_value_and_where_it_is(string line, string expected)
    {
        var cfg = ModelConfig.Parse($"exp:\n    model: FSDNet\n    {line}\n", "cfg.yaml", "exp");
        Assert.Contains(expected, Assert.Throws<ConfigException>(() => TrainerOptions.From(cfg)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Overrides_name_their_option_in_errors_and_accept_yaml_lists()
    {
        var cfg = ModelConfig.Parse("exp:\n    epochs: 3\n", "cfg.yaml", "exp").With(new Dictionary<string, string> { ["epochs"] = "0" }, "--epochs 0");
        Assert.Equal("--epochs 0: 'epochs' must be at least 1, got 0.", Assert.Throws<ConfigException>(() => TrainerOptions.From(cfg)).Message);
        var list = cfg.With(new Dictionary<string, string> { ["parallel_dnn_hidden_units"] = "[64, 32]" }, "--set parallel_dnn_hidden_units=[64, 32]");
        Assert.Equal([64, 32], list.GetIntList("parallel_dnn_hidden_units", []));
        var dim = cfg.With(new Dictionary<string, string> { ["embedding_dim"] = "0" }, "--set embedding_dim=0");
        Assert.Equal("--set embedding_dim=0: 'embedding_dim' must be at least 1, got 0.", Assert.Throws<ConfigException>(() => dim.GetInt("embedding_dim", 16, min: 1)).Message);
        Assert.Equal(16, cfg.GetInt("embedding_dim", 16, min: 1));   // an absent key takes the fallback unchecked
        Assert.Equal((0.0, 0.0), cfg.GetRegularizer("net_regularizer"));
        Assert.Equal((0.0, 1e-5), ModelConfig.Parse("exp:\n    r: l2(1.e-5)\n", "c", "exp").GetRegularizer("r"));
    }

    [Fact]
    public void Loss_aliases_and_model_root_are_honoured()
    {
        foreach (var loss in new[] { "bce", "binary_crossentropy", "binary_cross_entropy" })
        {
            TrainerOptions.From(ModelConfig.Parse($"exp:\n    loss: {loss}\n", "c", "exp"));
        }
        Assert.Equal("./ckpt/", TrainerOptions.From(ModelConfig.Parse("exp:\n    model_root: ./ckpt/\n", "c", "exp")).ModelRoot);
        Assert.Null(TrainerOptions.From(ModelConfig.Parse("exp:\n    epochs: 1\n", "c", "exp")).ModelRoot);
    }

    [Fact]
    public void Differences_between_a_saved_and_a_new_config_are_listed_by_key()
    {
        var a = ModelConfig.Parse("exp:\n    epochs: 3\n    net_dropout: 0.1\n    learning_rate: 1.e-3\n", "a", "exp");
        var b = ModelConfig.Parse("exp:\n    epochs: 5\n    net_dropout: 0.2\n    learning_rate: 0.001\n    seed: 1\n", "b", "exp");
        Assert.Equal(["net_dropout: 0.1 -> 0.2", "seed: (absent) -> 1"], ModelConfig.Differences(a, b, new HashSet<string> { "epochs" }));
        Assert.Empty(ModelConfig.Differences(a, ModelConfig.Parse(a.ToYaml(), "saved", "exp")));
        Assert.Equal(["epochs", "net_dropout", "learning_rate"], a.UnreadKeys());   // comparing reads nothing
    }
}

/// <summary>Dataset-config checks for label_col lists and min_categr_count.</summary>
public class DatasetConfigSemanticsTests
{
    [Fact]
    public void Several_labels_are_refused_as_multi_task()
    {
        var ex = Assert.Throws<DataConfigException>(() => DatasetConfigLoader.Parse("""
            tiny_mtl:
              train_data: a.csv
              feature_cols:
                - {name: a, type: categorical}
              label_col: [{name: click, dtype: float}, {name: like, dtype: float}]
            """, "dataset_config.yaml"));
        Assert.Equal(
            "dataset_config.yaml:5: dataset 'tiny_mtl' has 2 label_col entries (click, like): multi-task models are not supported yet (FsdNet trains one binary label)",
            ex.Message);
        // A one-element list is one label.
        Assert.Equal("click", DatasetConfigLoader.Parse(
            "d:\n  train_data: a.csv\n  feature_cols: [{name: a}]\n  label_col: [{name: click}]\n", "d.yaml").LabelName);
    }

    [Fact]
    public void Min_categr_count_below_one_is_refused_naming_file_and_column()
    {
        var ex = Assert.Throws<DataConfigException>(() => DatasetConfigLoader.Parse(
            "d:\n  train_data: a.csv\n  min_categr_count: 0\n  feature_cols: [{name: a}]\n  label_col: {name: y}\n", "d.yaml"));
        Assert.Equal("d.yaml: dataset 'd': min_categr_count must be at least 1, got 0", ex.Message);
        ex = Assert.Throws<DataConfigException>(() => DatasetConfigLoader.Parse(
            "d:\n  train_data: a.csv\n  feature_cols:\n    - {name: [a, b], min_categr_count: -2}\n  label_col: {name: y}\n", "d.yaml"));
        Assert.Equal("d.yaml:4: feature 'a, b': min_categr_count must be at least 1, got -2", ex.Message);
    }
}
