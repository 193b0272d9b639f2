using System.Globalization;
using System.Text.Json;
using FsdNet.Data;
using FsdNet.Distributed;
using FsdNet.Models;
using FsdNet.Serving;
using FsdNet.Tensors;

namespace FsdNet.Training;

/// <summary>A config value set from outside the config file (the command line, a grid cell), with where it came from.</summary>
public sealed record ConfigOverride(string Key, string Value, string Origin);

/// <summary>
/// One training run: an experiment (a built-in preset, or an experiment id in a FuxiCTR-style config folder), the
/// values that override it, and where the run goes. <see cref="TrainingRun.Execute"/> turns it into a
/// <see cref="RunResult"/>; the <c>fsdnet train</c> command, the experiment runner and the tuner all go through it.
/// </summary>
public sealed record RunSpec
{
    /// <summary>A built-in preset (frappe, ...); exclusive with <see cref="ConfigDir"/>.</summary>
    public string? Preset { get; init; }

    /// <summary>A folder with model_config.yaml and dataset_config.yaml (or their folders), with <see cref="ExpId"/>.</summary>
    public string? ConfigDir { get; init; }

    public string? ExpId { get; init; }

    /// <summary>The folder holding the data sets (default: see <see cref="DataPipeline.DefaultDataRoot"/>).</summary>
    public string? DataRoot { get; init; }

    /// <summary>Applied in order after the config (and the dataset's training keys) are read; the last one wins.</summary>
    public IReadOnlyList<ConfigOverride> Overrides { get; init; } = [];

    /// <summary>The run directory (default: &lt;model_root&gt;/&lt;dataset_id&gt;/ or runs/, then &lt;expid&gt;-seed&lt;seed&gt;-&lt;UTC time&gt;).</summary>
    public string? RunDir { get; init; }

    /// <summary>Continue the interrupted run in <see cref="RunDir"/> from its last epoch checkpoint.</summary>
    public bool Resume { get; init; }

    /// <summary>With <see cref="Resume"/>: continue although the configuration differs from the run's config.yaml.</summary>
    public bool AllowConfigChange { get; init; }

    public string? CacheDir { get; init; }

    public OnBadLine OnBadLine { get; init; } = OnBadLine.Error;

    /// <summary>
    /// Whether this process is one rank of a data-parallel job (docs/DISTRIBUTED.md). Auto: when Open MPI's
    /// <c>mpirun</c> started it. Rank 0 reports progress and writes the run directory; the others train quietly.
    /// </summary>
    public DistributedMode Distributed { get; init; } = DistributedMode.Auto;

    /// <summary>
    /// Threads this run computes with (null: the process default, all cores; ranks that share a host split its
    /// cores). The run's own setting: other runs and scorers in the process keep theirs. Results are reproducible for a
    /// given thread count.
    /// </summary>
    public int? Threads { get; init; }
}

/// <summary>What a finished run left behind: its directory (config.yaml, model, train.log, test_metrics.json) and its numbers.</summary>
public sealed record RunResult(
    string RunDir,
    string ExpId,
    string ModelName,
    long Parameters,
    TrainResult Training,
    IReadOnlyDictionary<string, double> Test)
{
    /// <summary>This process's rank in a distributed run (0 in one process): only rank 0 reports and writes.</summary>
    public int Rank { get; init; }
}

/// <summary>Progress and messages of one run (the CLI's live bar and train.log; a quiet one for tests and grids).</summary>
internal interface IRunReporter : ITrainingObserver, IDisposable
{
    void Message(string line);

    /// <summary>Runs the training (inside a live display, where there is one).</summary>
    T Run<T>(Func<T> training);

    void Complete(TrainResult result, IReadOnlyDictionary<string, double>? test);
}

/// <summary>The training pipeline behind <c>fsdnet train</c>: config, data, model, fit with checkpoints, save, test.</summary>
public static class TrainingRun
{
    /// <summary>The name of the file holding a finished run's test metrics.</summary>
    public const string TestMetricsFile = "test_metrics.json";

    /// <summary>
    /// Runs <paramref name="spec"/> to the end: resolves the configuration, prepares the data, builds the model,
    /// trains with early stopping (checkpointing every epoch), saves the best model and evaluates it on test.
    /// <paramref name="reporter"/> makes the run's reporter once its directory is known.
    /// </summary>
    internal static RunResult Execute(RunSpec spec, Func<string, IRunReporter> reporter) => Execute(spec, reporter, default);

    /// <summary>
    /// Trains <paramref name="spec"/> to the end, as <c>fsdnet train</c> does, and returns where the run went and its
    /// numbers. <paramref name="progress"/> (optional) sees the plan, every step, every validation, scoring progress
    /// and the trainer's messages. <paramref name="cancellationToken"/> stops the run between two steps with an
    /// <see cref="OperationCanceledException"/> after checkpointing that step, so the same spec with
    /// <see cref="RunSpec.Resume"/> continues it exactly.
    /// </summary>
    public static RunResult Execute(RunSpec spec, ITrainingObserver? progress = null, CancellationToken cancellationToken = default) =>
        Execute(spec, _ => new ObserverReporter(progress), cancellationToken);

    /// <summary><see cref="Execute(RunSpec, Func{string, IRunReporter})"/> with cancellation (see the overload above).</summary>
    internal static RunResult Execute(RunSpec spec, Func<string, IRunReporter> reporter, CancellationToken cancellationToken)
    {
        var comm = Communicator.World(spec.Distributed);
        try
        {
            return Run(spec, reporter, comm, cancellationToken);
        }
        catch (Exception e) when (comm.Size > 1 && e is not OperationCanceledException)
        {
            // The other ranks may wait in a collective for this one: the job ends (MPI_Abort) when this process exits.
            comm.Failed = true;
            throw;
        }
    }

    private static RunResult Run(RunSpec spec, Func<string, IRunReporter> reporter, Communicator comm, CancellationToken cancellationToken)
    {
        var root = comm.IsRoot;
        if (spec.Threads is < 1)
        {
            throw new ArgumentException($"Threads must be at least 1, got {spec.Threads}.");
        }
        // Ranks that share a host share its cores (unless a thread count was given).
        var threads = spec.Threads
            ?? (comm.LocalRanks > 1 && EngineSettings.Default.Threads == Environment.ProcessorCount
                ? Math.Max(1, Environment.ProcessorCount / comm.LocalRanks)
                : EngineSettings.Default.Threads);
        using var engine = (EngineSettings.Default with { Threads = threads }).Enter();
        var (cfg, dataCfg) = Resolve(spec);
        var options = TrainerOptions.From(cfg);
        if (spec.Resume && spec.RunDir is null)
        {
            throw new ArgumentException("--resume needs --run-dir <the interrupted run's directory>.");
        }
        // Rank 0's clock names the run; the others learn the name from it.
        var dir = comm.Broadcast(root ? spec.RunDir ?? Path.Combine(
            options.ModelRoot is { } modelRoot ? Path.Combine(modelRoot, dataCfg.DatasetId) : "runs",
            $"{cfg.ExpId}-seed{options.Seed}-{DateTime.UtcNow:yyyyMMdd-HHmmss}") : null, 0);
        var checkpoint = Path.Combine(dir, "checkpoint.fsdc");
        IReadOnlyList<string> changed = [];
        if (root)
        {
            if (!spec.Resume && File.Exists(checkpoint))
            {
                throw new ArgumentException($"{dir} already holds a run; use --resume to continue it or --run-dir for a new one.");
            }
            if (File.Exists(dir))
            {
                throw new ArgumentException($"--run-dir {dir} is a file; give a directory (it is created if missing).");
            }
            changed = spec.Resume ? CheckResumable(dir, cfg, spec.AllowConfigChange) : [];
            Directory.CreateDirectory(dir);
            File.WriteAllText(Path.Combine(dir, "config.yaml"), cfg.ToYaml());
        }

        using var report = root ? reporter(dir) : new ObserverReporter(null);
        foreach (var w in cfg.Warnings)   // the dataset config's warnings are logged by DataPipeline.Prepare
        {
            report.Message("warning: " + w);
        }
        if (changed.Count > 0)
        {
            report.Message($"warning: resuming with a changed configuration (--allow-config-change): {string.Join("; ", changed)}");
        }
        // Rank 0 ingests first and writes the caches; the others then find them (or, on a host of their own, build
        // the same ones), so no two processes write one cache.
        if (!root)
        {
            comm.Barrier();
        }
        using var data = DataPipeline.Prepare(dataCfg, new DataOptions { CacheDir = spec.CacheDir, OnBadLine = spec.OnBadLine, Log = report.Message });
        if (root)
        {
            comm.Barrier();
        }
        foreach (var (split, bad) in data.BadLines)
        {
            if (bad.Dropped > 0)
            {
                report.Message($"{split}: skipped {bad.Dropped} bad lines: " +
                               string.Join("; ", bad.Reasons.Select(kv => $"{kv.Value.Count} x {kv.Key} (e.g. {kv.Value.Example})")));
            }
        }
        if (data.Valid is null || data.Test is null)
        {
            throw new DataConfigException($"dataset '{dataCfg.DatasetId}' needs valid_data and test_data for training with early stopping.");
        }
        CheckGroupId(cfg, data.FeatureMap);
        var model = CreateModel(data.FeatureMap, cfg, () => ModelRegistry.Create(
            RowShardedTables.ForTraining(ModelInputs.Schema(data.FeatureMap, cfg), options.EmbeddingSharding, comm), cfg, new Rng((ulong)options.Seed)));
        // Every rank says where it runs, so a hostfile that placed ranks other than meant shows in the first lines.
        var hosts = comm.Size > 1 ? comm.AllGather(Environment.MachineName) : [];
        var isas = comm.Size > 1 ? comm.AllGather(Sgemm.Detected.ToString()) : [];
        var ranks = comm.Size > 1 ? $" x {comm.Size} ranks ({comm.Description.Split(',')[0]}) on {Communicator.DescribeHosts(hosts)}" : "";
        report.Message($"{model.ModelName} ({cfg.ExpId}): {model.ParameterCount():N0} parameters, {Workers.ThreadCount} threads{ranks}, run dir {Path.GetFullPath(dir)}");
        if (MixedInstructionSets(hosts, isas) is { } mixed)
        {
            report.Message("warning: " + mixed);
        }
        var trainer = new Trainer(model, options, report, comm);
        foreach (var w in UnreadKeyWarnings(cfg))
        {
            report.Message("warning: " + w);
        }
        if (cfg.Acknowledged.Count > 0)
        {
            report.Message($"note: no effect in FsdNet (see docs/DATA.md, Config keys): {string.Join(", ", cfg.Acknowledged.Keys)}");
        }
        if (cfg.Acknowledged.TryGetValue("partition_block_size", out var why))
        {
            report.Message($"warning: {cfg.Origin("partition_block_size")}: 'partition_block_size' is ignored: {why}.");
        }
        var parameters = model.ParameterCount();   // before training: row-sharded tables have their whole shapes yet
        var result = report.Run(() => trainer.Fit(data.Train, data.Valid, checkpoint, spec.Resume, cancellationToken));
        // The test split is scored as validation was (row-sharded tables in lockstep); then the tables come whole to
        // rank 0 alone, which saves the model: no other rank ever holds a whole table.
        var test = report.Run(() => trainer.Evaluate(data.Test, options.Metrics, "test"));
        trainer.AssembleTables(rootOnly: true);
        trainer.Dispose();   // on the way out of a run that went well; a failed rank ends the job instead
        if (root)
        {
            ModelBundle.Save(dir, model, data.FeatureMap, cfg);
            File.WriteAllText(Path.Combine(dir, TestMetricsFile), JsonSerializer.Serialize(test, Trainer.Json));
        }
        report.Complete(result, test);
        if (double.IsFinite(ProcessMemory.PeakRssMiB()))
        {
            report.Message(string.Create(CultureInfo.InvariantCulture, $"peak RSS {ProcessMemory.PeakRssMiB():F0} MiB"));
        }
        return new RunResult(Path.GetFullPath(dir), cfg.ExpId, model.ModelName, parameters, result, test) { Rank = comm.Rank };
    }

    /// <summary>The experiment's configuration with the overrides and the dataset's settings applied, and its dataset.</summary>
    internal static (ModelConfig Config, DatasetConfig Dataset) Resolve(RunSpec spec)
    {
        if ((spec.Preset is null) == (spec.ConfigDir is null))
        {
            throw new ArgumentException("give either --dataset <preset> or --config <dir> --expid <id>.");
        }
        ModelConfig Override(ModelConfig c)
        {
            foreach (var o in spec.Overrides)
            {
                c = c.With(new Dictionary<string, string> { [o.Key] = o.Value }, o.Origin);
            }
            return c;
        }

        ModelConfig cfg;
        DatasetConfig dataCfg;
        if (spec.Preset is { } preset)
        {
            cfg = Override(Presets.For(preset));
            dataCfg = DatasetConfigLoader.Preset(preset, DataRootFor(spec.DataRoot, preset));
        }
        else
        {
            var expid = spec.ExpId ?? throw new ArgumentException("--config needs --expid <experiment id>.");
            var configDir = spec.ConfigDir!;
            var loaded = ModelConfig.Load(configDir, expid);
            cfg = Override(loaded);
            var datasetId = cfg.DatasetId ?? throw new ConfigException($"{cfg.Source} [{expid}]: 'dataset_id' is missing.");
            var datasetFile = Path.Combine(configDir, "dataset_config.yaml");
            dataCfg = DatasetConfigLoader.LoadFromDir(configDir, datasetId);
            // FuxiCTR merges the dataset's entries into the experiment's parameters (training keys there count too);
            // the overrides still win.
            if (dataCfg.Extra.Count > 0)
            {
                cfg = Override(loaded.With(dataCfg.Extra, $"{datasetFile} (dataset '{datasetId}')"));
            }
            if (spec.DataRoot is not null)
            {
                dataCfg.DataRoot = spec.DataRoot;
            }
        }
        // FuxiCTR merges the dataset's settings into the experiment's; the run's config.yaml records them too.
        var resolved = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["dataset_id"] = dataCfg.DatasetId,
            ["data_format"] = dataCfg.Format.ToString().ToLowerInvariant(),
            ["min_categr_count"] = dataCfg.MinCategrCount.ToString(CultureInfo.InvariantCulture),
        };
        foreach (var (key, value) in new[] { ("data_root", dataCfg.DataRoot), ("train_data", dataCfg.TrainData), ("valid_data", dataCfg.ValidData), ("test_data", dataCfg.TestData) })
        {
            if (value is not null)
            {
                resolved[key] = Path.GetFullPath(key == "data_root" ? value : dataCfg.ResolvePath(value) ?? value);
            }
        }
        cfg = cfg.With(resolved, $"dataset '{dataCfg.DatasetId}'");
        foreach (var key in resolved.Keys)
        {
            cfg.Has(key);   // recorded for the run's config.yaml; the data pipeline takes them from the dataset config
        }
        return (cfg, dataCfg);
    }

    /// <summary>One warning per key that nothing read, naming where it was set.</summary>
    /// <summary>
    /// A warning when the ranks' CPUs take different instruction-set paths (<paramref name="isas"/>[r] on host
    /// <paramref name="hosts"/>[r]): the summed gradients are the same bits on every rank, but each rank's own kernels
    /// (its slice's forward and backward, the optimizer step) may round differently, so neither the rank-order
    /// reproducibility nor bitwise-equal replicas can be promised. Null when every rank takes the same path.
    /// </summary>
    internal static string? MixedInstructionSets(IReadOnlyList<string> hosts, IReadOnlyList<string> isas)
    {
        if (isas.Distinct().Count() <= 1)
        {
            return null;
        }
        var byIsa = isas.Select((isa, r) => (isa, host: hosts[r])).GroupBy(x => x.isa)
            .Select(g => $"{g.Key} on {string.Join(", ", g.Select(x => x.host).Distinct())}");
        return $"the ranks' CPUs take different instruction-set paths ({string.Join("; ", byIsa)}): each rank's kernels may " +
            "round differently, so the run is not bitwise reproducible and its replicated parameters may drift apart between ranks; " +
            "use hosts with the same instruction set.";
    }

    internal static IEnumerable<string> UnreadKeyWarnings(ModelConfig cfg) =>
        cfg.UnreadKeys().Select(k => cfg.Origin(k).StartsWith("--", StringComparison.Ordinal)
            ? $"{cfg.Origin(k)}: no part of this experiment reads '{k}'."
            : $"{cfg.Origin(k)}: no part of this experiment reads '{k}' (misspelt, or not a key of model {cfg.GetString("model")}?); it has no effect.");

    /// <summary>
    /// A resumed run continues only from its checkpoint and with the configuration it was started with (the keys that
    /// differ are named); <c>epochs</c> may change (it only says where to stop). Returns the accepted differences.
    /// </summary>
    private static IReadOnlyList<string> CheckResumable(string dir, ModelConfig cfg, bool allowChange)
    {
        if (!File.Exists(Path.Combine(dir, "checkpoint.fsdc")))
        {
            throw new ArgumentException($"--resume: {Path.GetFullPath(dir)} holds no checkpoint.fsdc, so there is nothing to resume; drop --resume to start a new run there.");
        }
        var savedPath = Path.Combine(dir, "config.yaml");
        if (!File.Exists(savedPath))
        {
            throw new ArgumentException($"--resume: {Path.GetFullPath(dir)} has a checkpoint but no config.yaml to compare the configuration with.");
        }
        ModelConfig saved;
        try
        {
            saved = ModelConfig.Parse(File.ReadAllText(savedPath), savedPath, cfg.ExpId);
        }
        catch (ConfigException e)
        {
            throw new ArgumentException($"--resume: the run in {Path.GetFullPath(dir)} is not experiment '{cfg.ExpId}' ({e.Message})");
        }
        var diff = ModelConfig.Differences(saved, cfg, new HashSet<string>(StringComparer.Ordinal) { "epochs" });
        if (diff.Count > 0 && !allowChange)
        {
            throw new ArgumentException(
                $"--resume: the configuration differs from the run's {savedPath}: {string.Join("; ", diff)}. " +
                "Resume with the same settings, or pass --allow-config-change to continue anyway.");
        }
        return diff;
    }

    /// <summary>FuxiCTR's group_id names the column gAUC groups by; in FsdNet that is the dataset's meta column.</summary>
    private static void CheckGroupId(ModelConfig cfg, FeatureMap map)
    {
        if (cfg.GetString("group_id") is not { } g)
        {
            return;
        }
        var meta = map.Features.FirstOrDefault(f => f.Type == FeatureType.Meta)?.Name;
        if (meta != g)
        {
            throw new ConfigException(
                $"{cfg.Origin("group_id")}: group_id '{g}' must name the dataset's meta column (FsdNet groups gAUC by it); " +
                (meta is null ? "the dataset has no meta column (add one with type: meta)." : $"the dataset's meta column is '{meta}'."));
        }
    }

    /// <summary>
    /// Builds the model; running out of memory or overflowing a size while doing so becomes a <see cref="ConfigException"/>
    /// naming the size key that asks for the most memory (embedding_dim x vocabulary, or a hidden-unit list).
    /// </summary>
    internal static CtrModel CreateModel(FeatureMap map, ModelConfig cfg, Func<CtrModel> create)
    {
        try
        {
            return create();
        }
        catch (Exception e) when (e is OutOfMemoryException or OverflowException or InsufficientExecutionStackException)
        {
            var what = e is OverflowException ? "a tensor size overflows" : "it does not fit in memory";
            throw new ConfigException($"{cfg.Source} [{cfg.ExpId}]: the model cannot be built: {what}. {LikelySizeKey(map, cfg)}");
        }
    }

    /// <summary>The size keys behind the largest estimated tensor, in words.</summary>
    internal static string LikelySizeKey(FeatureMap map, ModelConfig cfg)
    {
        var inv = CultureInfo.InvariantCulture;
        var candidates = new List<(string Keys, double Values, string Text)>();
        try
        {
            var dim = cfg.GetDouble("embedding_dim", 10);
            var input = dim * map.NumFields;
            var width = string.Create(inv, $"{map.NumFields} fields x embedding_dim {dim:G}");
            candidates.Add(("'embedding_dim'", dim * map.TotalFeatures,
                string.Create(inv, $"the embedding tables: {map.TotalFeatures:N0} features x embedding_dim {dim:G} = {dim * map.TotalFeatures:G3} values")));
            foreach (var key in cfg.Keys.Where(k => k.EndsWith("hidden_units", StringComparison.Ordinal)))
            {
                var units = cfg.GetIntList(key, []);
                for (var i = 0; i < units.Count; i++)
                {
                    var fanIn = i == 0 ? input : units[i - 1];
                    candidates.Add((i == 0 ? $"'embedding_dim' and '{key}'" : $"'{key}'", fanIn * units[i],
                        string.Create(inv, $"{key} layer {i + 1}: {(i == 0 ? $"({width})" : units[i - 1].ToString(inv))} x {units[i]} = {fanIn * units[i]:G3} values")));
                }
            }
            if (cfg.Has("num_cross_layers"))
            {
                var layers = cfg.GetDouble("num_cross_layers", 0);
                candidates.Add(("'embedding_dim' and 'num_cross_layers'", layers * input * input,
                    string.Create(inv, $"the cross layers: num_cross_layers {layers:G} x ({width})^2 = {layers * input * input:G3} values")));
            }
        }
        catch (ConfigException e)
        {
            return e.Message;
        }
        var top = candidates.MaxBy(c => c.Values);
        return $"The largest part is {top.Text}; lower {top.Keys}.";
    }

    /// <summary>The data root to use, with a message saying what to put where when it is missing.</summary>
    internal static string DataRootFor(string? given, string dataset)
    {
        var root = given ?? DataPipeline.DefaultDataRoot();
        var folder = Path.Combine(root, dataset);
        if (!Directory.Exists(folder))
        {
            var (files, download) = dataset switch
            {
                "frappe" => ("frappe.train.libfm.gz, frappe.validation.libfm.gz, frappe.test.libfm.gz",
                             "`fsdnet data download frappe_x1` fetches the same split as CSV (then train with --dataset frappe_x1)"),
                "frappe_x1" => ("train.csv, valid.csv, test.csv", "`fsdnet data download frappe_x1` fetches them"),
                "ml-1m" => ("FuxiCTR's train.csv, valid.csv, test.csv, or GroupLens's ratings.dat and users.dat",
                            "`fsdnet data download movielens1m` fetches GroupLens's files (move them to ml-1m/)"),
                "ml-tag" => ("MovielensLatest_x1's train.csv, valid.csv, test.csv", "see docs/DATA.md for where to get them"),
                "criteo" => ("Criteo_x4's train.txt, valid.txt, test.txt (raw TSV)", "see docs/DATA.md for where to get them"),
                _ => ("its files", "see docs/DATA.md"),
            };
            throw new DirectoryNotFoundException(
                $"the '{dataset}' data set is not at {Path.GetFullPath(folder)}. Put {files} there, or pass " +
                $"--data-root <folder holding {dataset}/>; {download}.");
        }
        return root;
    }
}

/// <summary>An <see cref="IRunReporter"/> that hands everything to a user's observer (or nowhere) and writes nothing.</summary>
internal sealed class ObserverReporter(ITrainingObserver? observer) : IRunReporter
{
    public void OnStart(TrainingPlan plan) => observer?.OnStart(plan);

    public void OnStep(int epoch, long stepInEpoch, long stepsPerEpoch, double runningLoss, double samplesPerSecond) =>
        observer?.OnStep(epoch, stepInEpoch, stepsPerEpoch, runningLoss, samplesPerSecond);

    public void OnEvaluation(EpochRecord record) => observer?.OnEvaluation(record);

    public void OnScoring(string split, long rowsDone, long totalRows, double rowsPerSecond) =>
        observer?.OnScoring(split, rowsDone, totalRows, rowsPerSecond);

    public void OnMessage(string message) => observer?.OnMessage(message);

    public void Message(string line) => observer?.OnMessage(line);

    public T Run<T>(Func<T> training) => training();

    public void Complete(TrainResult result, IReadOnlyDictionary<string, double>? test)
    {
    }

    public void Dispose()
    {
    }
}
