namespace FsdNet.Training;

/// <summary>The trainer's settings, named and defaulted as FuxiCTR 2.0.x (BaseModel.fit).</summary>
public sealed record TrainerOptions
{
    /// <summary>
    /// FuxiCTR keys that have no meaning in FsdNet, with the reason (the one place they are listed; docs/DATA.md
    /// "Config keys" repeats it). Reading them here keeps them out of the "nothing reads this key" warnings.
    /// </summary>
    internal static readonly IReadOnlyList<(string Key, string Reason)> NoEffect =
    [
        ("verbose", "progress is a live bar on a terminal and plain log lines otherwise"),
        ("num_workers", "batches come from a memory-mapped cache, without loader worker processes"),
        ("pickle_feature_encoder", "the feature map is always saved (feature_map.json in the run directory)"),
        ("debug_mode", "only FuxiCTR's autotuner reads it"),
        ("feature_config", "FuxiCTR 2.3.10 reads nothing from it"),
        ("gpu", "FsdNet trains on the CPU (use --threads)"),
        ("model_id", "the experiment id is --expid"),
        ("partition_block_size", "FuxiCTR 1.x cut its h5 files into blocks of this many rows; FsdNet's cache has no blocks (it is not the batch size)"),
    ];

    public int Epochs { get; init; } = 100;

    /// <summary>
    /// Test hook (training-curve parity): gives the bias of every linear layer that feeds a training-mode BatchNorm
    /// its exact gradient, zero, instead of the float round-off that the chain rule leaves there (and that Adam,
    /// which normalises gradients, turns into learning-rate-sized steps). Off by default, as in PyTorch.
    /// </summary>
    internal bool ExactPreNormBias { get; init; }

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

    /// <summary>
    /// FuxiCTR 1.x's <c>every_x_epochs</c>: a whole number N validates at the end of every N-th epoch (and the last);
    /// a fraction x &lt; 1 validates every ceil(x · steps per epoch) steps within each epoch and at its end. Patience then
    /// counts epochs as in 1.x: training stops when (validations without improvement) · x &gt;= patience. Null: unused.
    /// </summary>
    public double? EveryXEpochs { get; init; }

    public bool ReduceLrOnPlateau { get; init; } = true;

    public double LrDecayFactor { get; init; } = 0.1;

    public double MinLearningRate { get; init; } = 1e-6;

    public double MaxGradientNorm { get; init; } = 10;

    /// <summary>lambda of (lambda / 2) * ||E||^2 over every embedding table.</summary>
    public double EmbeddingRegularizer { get; init; }

    /// <summary>lambda of (lambda / 2) * ||W||^2 over every other parameter.</summary>
    public double NetRegularizer { get; init; }

    /// <summary>lambda of lambda * ||E||_1 over every embedding table (<c>l1(x)</c>, <c>l1_l2(x, y)</c>).</summary>
    public double EmbeddingRegularizerL1 { get; init; }

    /// <summary>lambda of lambda * ||W||_1 over every other parameter.</summary>
    public double NetRegularizerL1 { get; init; }

    /// <summary>Metrics reported on validation and test (logloss, AUC, gAUC).</summary>
    public IReadOnlyList<string> Metrics { get; init; } = ["logloss", "AUC"];

    /// <summary>The optimizer (<c>optimizer</c>, <c>optimizer_params</c>); Adam by default.</summary>
    public OptimizerSpec Optimizer { get; init; } = new();

    /// <summary>
    /// FuxiCTR's save_best_only: true restores the best validation's weights at the end; false keeps the weights of
    /// the last validation (FuxiCTR then overwrites its checkpoint at every validation and reloads it).
    /// </summary>
    public bool SaveBestOnly { get; init; } = true;

    /// <summary>
    /// <c>checkpoint_every_steps</c> (an FsdNet key): also checkpoint inside an epoch, every this many steps, so a
    /// killed run resumes mid-epoch (the end of every epoch is always checkpointed); null: only at epoch ends.
    /// </summary>
    public int? CheckpointEverySteps { get; init; }

    /// <summary><c>checkpoint_every_minutes</c> (an FsdNet key): also checkpoint inside an epoch when this much time has passed since the last checkpoint.</summary>
    public double? CheckpointEveryMinutes { get; init; }

    /// <summary>
    /// <c>lazy_embedding_updates</c> (an FsdNet key, default false): the optimizer moves only the embedding rows a
    /// batch touched, with their optimizer state (TensorFlow's LazyAdam, torch's sparse embeddings). A step then costs
    /// time in the touched rows, not in the table. Results differ from the dense default: untouched rows keep their
    /// Adam moments instead of decaying them, and the embedding regularizer and gradient clipping see touched rows only.
    /// Over several ranks every lookup table is row-sharded and its owner moves the rows any rank looked up.
    /// </summary>
    public bool LazyEmbeddingUpdates { get; init; }

    /// <summary>
    /// <c>embedding_sharding</c> (an FsdNet key, default auto): how a distributed run lays out its embedding tables:
    /// <c>replicate</c> (every rank holds every table), <c>row</c> (each trainable lookup table split by rows, id mod
    /// ranks) or <c>auto</c> (row for tables with more rows than a global batch looks up in them). One process: no effect.
    /// </summary>
    internal Distributed.EmbeddingSharding EmbeddingSharding { get; init; }

    /// <summary>
    /// <c>gradient_bucket_mb</c> (an FsdNet key, default 1): a distributed run sums the replicated gradients over the
    /// ranks in buckets of about this many megabytes (2^20 bytes), each sent as soon as the backward pass has finished
    /// its gradients, while the rest of the pass runs (PyTorch DDP's bucket_cap_mb). 0: one sum after the backward pass.
    /// The values are the same either way. One process: no effect.
    /// </summary>
    internal int GradientBucketFloats { get; init; } = 1 << 18;

    /// <summary>FuxiCTR's model_root: where runs go when no run directory is given (null: <c>runs/</c>).</summary>
    public string? ModelRoot { get; init; }

    public static TrainerOptions From(ModelConfig cfg)
    {
        foreach (var (key, reason) in NoEffect)
        {
            cfg.Acknowledge(key, reason);
        }
        var task = cfg.GetString("task") ?? "binary_classification";
        if (task != "binary_classification")
        {
            throw new ConfigException($"{cfg.Origin("task")}: task '{task}' is not supported; FsdNet trains binary_classification models.");
        }
        var loss = cfg.GetString("loss") ?? "binary_crossentropy";
        if (loss is not ("binary_crossentropy" or "bce" or "binary_cross_entropy"))
        {
            throw new ConfigException(
                $"{cfg.Origin("loss")}: 'loss' must be binary_crossentropy (also written bce or binary_cross_entropy); FsdNet has no '{loss}'.");
        }
        var mode = (cfg.GetString("monitor_mode") ?? "max").ToLowerInvariant();
        if (mode is not ("max" or "min"))
        {
            throw new ConfigException($"{cfg.Origin("monitor_mode")}: monitor_mode must be 'max' or 'min', got '{mode}'.");
        }
        var metrics = cfg.GetStringList("metrics", ["logloss", "AUC"]);
        foreach (var m in metrics)
        {
            if (!TrainingMetrics.Known.Contains(m))
            {
                throw new ConfigException($"{cfg.Origin("metrics")}: unknown metric '{m}'; known: {string.Join(", ", TrainingMetrics.Known)}.");
            }
        }
        var monitor = cfg.GetMonitor();
        foreach (var m in monitor.Keys)
        {
            if (!TrainingMetrics.Known.Contains(m))
            {
                throw new ConfigException($"{cfg.Origin("monitor")}: monitor names unknown metric '{m}'; known: {string.Join(", ", TrainingMetrics.Known)}.");
            }
        }
        var evalSteps = cfg.GetNullableInt("eval_steps", min: 1);
        double? everyX = cfg.Has("every_x_epochs") ? cfg.GetDouble("every_x_epochs", 1, min: 0, minExclusive: true) : null;
        if (everyX is { } x)
        {
            if (x >= 1 && x != Math.Floor(x))
            {
                throw new ConfigException($"{cfg.Origin("every_x_epochs")}: 'every_x_epochs' must be a whole number of epochs or a fraction below 1, got {x}.");
            }
            if (evalSteps is not null)
            {
                throw new ConfigException(
                    $"{cfg.Origin("every_x_epochs")}: give either eval_steps (FuxiCTR 2.x) or every_x_epochs (FuxiCTR 1.x), not both.");
            }
        }
        var emb = cfg.GetRegularizer("embedding_regularizer");
        var net = cfg.GetRegularizer("net_regularizer");
        // FuxiCTR's LR and FM take one `regularizer` and pass it as both embedding_regularizer and net_regularizer.
        var model = cfg.GetString("model");
        if ((string.Equals(model, "LR", StringComparison.OrdinalIgnoreCase) || string.Equals(model, "FM", StringComparison.OrdinalIgnoreCase)) && cfg.Has("regularizer"))
        {
            if (cfg.Has("embedding_regularizer") || cfg.Has("net_regularizer"))
            {
                throw new ConfigException(
                    $"{cfg.Origin("regularizer")}: {model} takes 'regularizer' (used as both embedding_regularizer and net_regularizer); give it or those two, not both.");
            }
            emb = net = cfg.GetRegularizer("regularizer");
        }
        return new TrainerOptions
        {
            Epochs = cfg.GetInt("epochs", 100, min: 1),
            BatchSize = cfg.GetInt("batch_size", 10000, min: 2),
            LearningRate = cfg.GetDouble("learning_rate", 1e-3, min: 0, minExclusive: true),
            Seed = cfg.GetInt("seed", 2023),
            Shuffle = cfg.GetBool("shuffle", true),
            Monitor = monitor,
            MonitorMode = mode,
            EarlyStopPatience = cfg.GetInt("early_stop_patience", 2, min: 1),
            EvalSteps = evalSteps,
            EveryXEpochs = everyX,
            ReduceLrOnPlateau = cfg.GetBool("reduce_lr_on_plateau", true),
            MaxGradientNorm = cfg.GetDouble("max_gradient_norm", 10, min: 0, minExclusive: true),
            EmbeddingRegularizer = emb.L2,
            NetRegularizer = net.L2,
            EmbeddingRegularizerL1 = emb.L1,
            NetRegularizerL1 = net.L1,
            Metrics = metrics,
            Optimizer = OptimizerSpec.From(cfg),
            SaveBestOnly = cfg.GetBool("save_best_only", true),
            ModelRoot = cfg.GetString("model_root"),
            CheckpointEverySteps = cfg.GetNullableInt("checkpoint_every_steps", min: 1),
            LazyEmbeddingUpdates = cfg.GetBool("lazy_embedding_updates", false),
            EmbeddingSharding = (cfg.GetString("embedding_sharding") ?? "auto") switch
            {
                "auto" => Distributed.EmbeddingSharding.Auto,
                "replicate" => Distributed.EmbeddingSharding.Replicate,
                "row" => Distributed.EmbeddingSharding.Row,
                var other => throw new ConfigException($"{cfg.Origin("embedding_sharding")}: embedding_sharding must be auto, replicate or row, got '{other}'."),
            },
            GradientBucketFloats = checked((int)Math.Round(cfg.GetDouble("gradient_bucket_mb", 1, min: 0, max: 1024) * (1 << 20) / sizeof(float))),
            CheckpointEveryMinutes = cfg.Has("checkpoint_every_minutes") ? cfg.GetDouble("checkpoint_every_minutes", 0, min: 0, minExclusive: true) : null,
        };
    }
}
