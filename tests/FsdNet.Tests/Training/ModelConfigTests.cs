using FsdNet.Models;
using FsdNet.Training;
using Xunit;

namespace FsdNet.Tests.Training;

/// <summary>FuxiCTR-style model_config.yaml: Base merging, number forms, monitor and regulariser forms, clear errors.</summary>
public class ModelConfigTests
{
    private const string Yaml = """
        Base:
            model: FSDNet
            epochs: 100
            patience: 3
            learning_rate: 1.e-3
            monitor: AUC
        FSDNet_test:
            epochs: 5
            embedding_regularizer: 1e-5
            net_regularizer: l2(1.e-2)
            monitor: "{'AUC': 1, 'logloss': -1}"
            parallel_dnn_hidden_units: [64, 64]
            num_cross_layers: 2
            choice: 1
            soft_loss: paper
            mystery_key: 3
        """;

    [Fact]
    public void Base_is_merged_under_the_experiment_with_legacy_names_and_number_forms()
    {
        var cfg = ModelConfig.Parse(Yaml, "model_config.yaml", "FSDNet_test");
        Assert.Equal("FSDNet", cfg.Model);
        Assert.Equal(5, cfg.GetInt("epochs", 0));
        Assert.Equal(3, cfg.GetInt("early_stop_patience", 0));     // legacy 'patience'
        Assert.Equal(1e-3, cfg.GetDouble("learning_rate", 0));
        Assert.Equal(1e-5, cfg.GetRegularizer("embedding_regularizer").L2);    // 1e-5 without a dot is a number here
        Assert.Equal(1e-2, cfg.GetRegularizer("net_regularizer").L2);
        Assert.Equal(new Dictionary<string, double> { ["AUC"] = 1, ["logloss"] = -1 }, cfg.GetMonitor());
        Assert.Contains(cfg.Warnings, w => w.Contains("'patience' is a legacy name", StringComparison.Ordinal));

        var o = FsdNetOptions.From(cfg);
        Assert.Equal([64, 64], o.ParallelDnnHiddenUnits);
        Assert.Equal(1, o.Fsd.Distillation.Choice);
        Assert.Equal(SoftLoss.Paper, o.Fsd.Distillation.Soft);
    }

    [Fact]
    public void Resolved_config_round_trips_through_yaml()
    {
        var cfg = ModelConfig.Parse(Yaml, "model_config.yaml", "FSDNet_test");
        var again = ModelConfig.Parse(cfg.ToYaml(), "saved", "FSDNet_test");
        Assert.Equal(cfg.Keys.Order(), again.Keys.Order());
        Assert.Equal(cfg.GetMonitor(), again.GetMonitor());
        Assert.Equal(cfg.GetIntList("parallel_dnn_hidden_units", []), again.GetIntList("parallel_dnn_hidden_units", []));
        Assert.Equal(1e-2, again.GetRegularizer("net_regularizer").L2);
    }

    [Fact]
    public void Presets_hold_the_official_hyper_parameters()
    {
        var f = Presets.For("frappe");
        var t = TrainerOptions.From(f);
        var o = FsdNetOptions.From(f);
        Assert.Equal(10000, t.BatchSize);
        Assert.Equal(0.1, t.EmbeddingRegularizer);
        Assert.Equal(2, t.EarlyStopPatience);
        Assert.Equal(0.7f, o.NetDropout);
        Assert.Equal((2, 0.9, 0.01, 1.3, SoftLoss.Official), (o.Fsd.Distillation.Choice, o.Fsd.Distillation.LossCoefficient, o.Fsd.Distillation.FeaCoefficient, o.Fsd.Distillation.Temperature, o.Fsd.Distillation.Soft));
        var ml = FsdNetOptions.From(Presets.For("ml-1m"));
        Assert.Equal((0.1f, 0.4, 1.8), (ml.NetDropout, ml.Fsd.Distillation.LossCoefficient, ml.Fsd.Distillation.Temperature));
        var tag = Presets.For("ml-tag");
        Assert.Equal(0.01, TrainerOptions.From(tag).EmbeddingRegularizer);
        var criteo = Presets.For("criteo");
        Assert.Equal((4096, 1e-5), (TrainerOptions.From(criteo).BatchSize, TrainerOptions.From(criteo).EmbeddingRegularizer));
        Assert.Equal(0.5, FsdNetOptions.From(criteo).Fsd.Distillation.LossCoefficient);
        Assert.All(Presets.Names, n => Assert.Empty(Presets.For(n).Warnings));
    }

    [Theory]
    [InlineData("learning_rate: fast", "'learning_rate' must be a number")]
    [InlineData("epochs: 2.5", "'epochs' must be a whole number")]
    [InlineData("batch_norm: maybe", "'batch_norm' must be true or false")]
    [InlineData("parallel_dnn_hidden_units: 400", "must be a list")]
    [InlineData("embedding_regularizer: l3(0.1)", "'embedding_regularizer' must be a number, l2(x), l1(x) or l1_l2(x, y)")]
    [InlineData("monitor_mode: sideways", "monitor_mode must be 'max' or 'min'")]
    [InlineData("metrics: [AUC, accuracy]", "unknown metric 'accuracy'")]
    [InlineData("soft_loss: fancy", "soft_loss must be 'official' or 'paper'")]
    public void Bad_values_name_the_key(string line, string expected)
    {
        var cfg = ModelConfig.Parse($"exp:\n    model: FSDNet\n    {line}\n", "cfg.yaml", "exp");
        var ex = Assert.ThrowsAny<Exception>(() =>
        {
            TrainerOptions.From(cfg);
            FsdNetOptions.From(cfg);
        });
        Assert.Contains(expected, ex.Message);
        Assert.Contains("cfg.yaml", ex.Message);
    }

    [Fact]
    public void Missing_experiments_and_broken_yaml_are_clear()
    {
        Assert.Contains("Experiment 'nope'", Assert.Throws<ConfigException>(() => ModelConfig.Parse(Yaml, "m.yaml", "nope")).Message);
        var ex = Assert.Throws<ConfigException>(() => ModelConfig.Parse("exp:\n  a: [1, 2\n", "bad.yaml", "exp"));
        Assert.Contains("bad.yaml", ex.Message);
        Assert.Contains("invalid YAML", ex.Message);
        Assert.Contains("'model' is missing", Assert.Throws<ConfigException>(() => ModelConfig.Parse("exp:\n  epochs: 1\n", "m.yaml", "exp").Model).Message);
    }
}
