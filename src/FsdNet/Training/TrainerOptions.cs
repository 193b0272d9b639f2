namespace FsdNet.Training;

/// <summary>The trainer's settings, named and defaulted as FuxiCTR 2.0.x (BaseModel.fit).</summary>
public sealed record TrainerOptions
{
    public int Epochs { get; init; } = 100;

    public int BatchSize { get; init; } = 10000;

    public double LearningRate { get; init; } = 1e-3;

    public int Seed { get; init; } = 2023;

    public bool Shuffle { get; init; } = true;

    /// <summary>Metric weights; the monitored value is their weighted sum.</summary>
    public IReadOnlyDictionary<string, double> Monitor { get; init; } = new Dictionary<string, double> { ["AUC"] = 1 };

    /// <summary>"max" or "min".</summary>
    public string MonitorMode { get; init; } = "max";

    public double MinDelta { get; init; } = 1e-6;

    public int EarlyStopPatience { get; init; } = 2;

    /// <summary>Validate every this many steps (across epochs); null: once at the end of each epoch.</summary>
    public int? EvalSteps { get; init; }

    public bool ReduceLrOnPlateau { get; init; } = true;

    public double LrDecayFactor { get; init; } = 0.1;

    public double MinLearningRate { get; init; } = 1e-6;

    public double MaxGradientNorm { get; init; } = 10;

    /// <summary>lambda of (lambda / 2) * ||E||^2 over every embedding table.</summary>
    public double EmbeddingRegularizer { get; init; }

    /// <summary>lambda of (lambda / 2) * ||W||^2 over every other parameter.</summary>
    public double NetRegularizer { get; init; }

    /// <summary>Metrics reported on validation and test (logloss, AUC, gAUC).</summary>
    public IReadOnlyList<string> Metrics { get; init; } = ["logloss", "AUC"];

    public static TrainerOptions From(ModelConfig cfg)
    {
        var mode = (cfg.GetString("monitor_mode") ?? "max").ToLowerInvariant();
        if (mode is not ("max" or "min"))
        {
            throw new ConfigException($"{cfg.Source} [{cfg.ExpId}]: monitor_mode must be 'max' or 'min', got '{mode}'.");
        }
        var metrics = cfg.GetStringList("metrics", ["logloss", "AUC"]);
        foreach (var m in metrics)
        {
            if (!TrainingMetrics.Known.Contains(m))
            {
                throw new ConfigException($"{cfg.Source} [{cfg.ExpId}]: unknown metric '{m}'; known: {string.Join(", ", TrainingMetrics.Known)}.");
            }
        }
        var monitor = cfg.GetMonitor();
        foreach (var m in monitor.Keys)
        {
            if (!TrainingMetrics.Known.Contains(m))
            {
                throw new ConfigException($"{cfg.Source} [{cfg.ExpId}]: monitor names unknown metric '{m}'; known: {string.Join(", ", TrainingMetrics.Known)}.");
            }
        }
        var o = new TrainerOptions
        {
            Epochs = cfg.GetInt("epochs", 100),
            BatchSize = cfg.GetInt("batch_size", 10000),
            LearningRate = cfg.GetDouble("learning_rate", 1e-3),
            Seed = cfg.GetInt("seed", 2023),
            Shuffle = cfg.GetBool("shuffle", true),
            Monitor = monitor,
            MonitorMode = mode,
            EarlyStopPatience = cfg.GetInt("early_stop_patience", 2),
            EvalSteps = cfg.GetNullableInt("eval_steps"),
            ReduceLrOnPlateau = cfg.GetBool("reduce_lr_on_plateau", true),
            MaxGradientNorm = cfg.GetDouble("max_gradient_norm", 10),
            EmbeddingRegularizer = cfg.GetL2("embedding_regularizer"),
            NetRegularizer = cfg.GetL2("net_regularizer"),
            Metrics = metrics,
        };
        if (o.Epochs < 1 || o.BatchSize < 2 || o.LearningRate <= 0 || o.EarlyStopPatience < 1 || o.EvalSteps is < 1)
        {
            throw new ConfigException(
                $"{cfg.Source} [{cfg.ExpId}]: need epochs >= 1, batch_size >= 2, learning_rate > 0, early_stop_patience >= 1, eval_steps >= 1 or null.");
        }
        return o;
    }
}
