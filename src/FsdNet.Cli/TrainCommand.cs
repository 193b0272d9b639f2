using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using FsdNet.Cli.Reporting;
using FsdNet.Data;
using FsdNet.Layers;
using FsdNet.Models;
using FsdNet.Serving;
using FsdNet.Tensors;
using FsdNet.Training;

namespace FsdNet.Cli;

/// <summary><c>fsdnet train</c>: a FuxiCTR-style experiment from a config folder or a built-in preset.</summary>
internal static class TrainCommand
{
    /// <summary>The --progress decision for the run being started.</summary>
    private static bool ProgressBar { get; set; }

    public static Command Create()
    {
        var dataset = new Option<string?>("--dataset") { Description = $"Built-in preset: {string.Join(", ", Presets.Names)} (official FSDNet hyper-parameters)." };
        var config = new Option<string?>("--config") { Description = "Folder with FuxiCTR-style model_config.yaml and dataset_config.yaml." };
        var expid = new Option<string?>("--expid") { Description = "Experiment id in model_config.yaml (with --config)." };
        var dataRoot = new Option<string?>("--data-root") { Description = "Folder holding the data sets (default: ../shared/data or $FSDNET_DATA)." };
        var seed = new Option<int?>("--seed") { Description = "Random seed (overrides the config's seed)." };
        var epochs = new Option<int?>("--epochs") { Description = "Maximum epochs (overrides the config)." };
        var threads = new Option<int?>("--threads") { Description = "Threads for the engine (default: all cores)." };
        var runDir = new Option<string?>("--run-dir") { Description = "Where to write the run (default: <model_root>/<dataset_id>/ or runs/, then <expid>-seed<seed>-<UTC time>)." };
        var resume = new Option<bool>("--resume") { Description = "Continue an interrupted run from its last epoch checkpoint in --run-dir." };
        var allowChange = new Option<bool>("--allow-config-change") { Description = "With --resume: continue even though the configuration differs from the run's config.yaml." };
        var cacheDir = new Option<string?>("--cache-dir") { Description = "Where encoded data caches go (default: $XDG_CACHE_HOME/fsdnet or ~/.cache/fsdnet; the data root is never written)." };
        var onBadLine = new Option<string>("--on-bad-line") { Description = "error (default) or skip malformed input lines.", DefaultValueFactory = _ => "error" };
        var progress = new Option<string>("--progress") { Description = "auto (default: live bar on an ANSI terminal, plain lines otherwise), bar or plain.", DefaultValueFactory = _ => "auto" };
        var set = new Option<string[]>("--set") { Description = "Override a config key, e.g. --set net_dropout=0.5 (repeatable).", AllowMultipleArgumentsPerToken = false };
        var cmd = new Command("train", "Train a model, validate every epoch with early stopping, then evaluate on test.")
        {
            dataset, config, expid, dataRoot, seed, epochs, threads, runDir, resume, allowChange, cacheDir, onBadLine, set, progress,
        };
        cmd.SetAction(r => CliSupport.Guard(() =>
        {
            ProgressBar = CliSupport.UseProgressBar(r.GetValue(progress)!, Console.IsOutputRedirected, Environment.GetEnvironmentVariable);
            return Run(
                r.GetValue(dataset), r.GetValue(config), r.GetValue(expid), r.GetValue(dataRoot), r.GetValue(seed), r.GetValue(epochs),
                r.GetValue(threads), r.GetValue(runDir), r.GetValue(resume), r.GetValue(allowChange), r.GetValue(cacheDir), r.GetValue(onBadLine)!,
                r.GetValue(set) ?? []);
        }));
        return cmd;
    }

    private static int Run(
        string? dataset, string? configDir, string? expid, string? dataRoot, int? seed, int? epochs, int? threads, string? runDir,
        bool resume, bool allowConfigChange, string? cacheDir, string onBadLine, string[] sets)
    {
        if ((dataset is null) == (configDir is null))
        {
            throw new ArgumentException("give either --dataset <preset> or --config <dir> --expid <id>.");
        }
        if (threads is { } t)
        {
            CliSupport.SetThreads(t);
        }
        // Command-line values, each with the option that gave it (errors and warnings name it).
        var overrides = new List<(string Key, string Value, string Origin)>();
        foreach (var s in sets)
        {
            var eq = s.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                throw new ArgumentException($"--set takes key=value, got '{s}'.");
            }
            overrides.Add((s[..eq].Trim(), s[(eq + 1)..].Trim(), $"--set {s.Trim()}"));
        }
        if (seed is { } sd)
        {
            overrides.Add(("seed", sd.ToString(CultureInfo.InvariantCulture), $"--seed {sd}"));
        }
        if (epochs is { } ep)
        {
            overrides.Add(("epochs", ep.ToString(CultureInfo.InvariantCulture), $"--epochs {ep}"));
        }
        ModelConfig Override(ModelConfig c)
        {
            foreach (var (key, value, origin) in overrides)
            {
                c = c.With(new Dictionary<string, string> { [key] = value }, origin);
            }
            return c;
        }

        ModelConfig cfg;
        DatasetConfig dataCfg;
        if (dataset is not null)
        {
            cfg = Override(Presets.For(dataset));
            dataCfg = DatasetConfigLoader.Preset(dataset, CliSupport.DataRoot(dataRoot, dataset));
        }
        else
        {
            if (expid is null)
            {
                throw new ArgumentException("--config needs --expid <experiment id>.");
            }
            var loaded = ModelConfig.Load(configDir!, expid);
            cfg = Override(loaded);
            var datasetId = cfg.DatasetId ?? throw new ConfigException($"{cfg.Source} [{expid}]: 'dataset_id' is missing.");
            var datasetFile = Path.Combine(configDir!, "dataset_config.yaml");
            dataCfg = DatasetConfigLoader.LoadFromDir(configDir!, datasetId);
            // FuxiCTR merges the dataset's entries into the experiment's parameters (training keys there count too);
            // the command line still wins.
            if (dataCfg.Extra.Count > 0)
            {
                cfg = Override(loaded.With(dataCfg.Extra, $"{datasetFile} (dataset '{datasetId}')"));
            }
            if (dataRoot is not null)
            {
                dataCfg.DataRoot = dataRoot;
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
        var options = TrainerOptions.From(cfg);
        if (resume && runDir is null)
        {
            throw new ArgumentException("--resume needs --run-dir <the interrupted run's directory>.");
        }
        var dir = runDir ?? Path.Combine(
            options.ModelRoot is { } root ? Path.Combine(root, dataCfg.DatasetId) : "runs",
            $"{cfg.ExpId}-seed{options.Seed}-{DateTime.UtcNow:yyyyMMdd-HHmmss}");
        var checkpoint = Path.Combine(dir, "checkpoint.fsdc");
        if (!resume && File.Exists(checkpoint))
        {
            throw new ArgumentException($"{dir} already holds a run; use --resume to continue it or --run-dir for a new one.");
        }
        if (File.Exists(dir))
        {
            throw new ArgumentException($"--run-dir {dir} is a file; give a directory (it is created if missing).");
        }
        var changed = resume ? CheckResumable(dir, cfg, allowConfigChange) : [];
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "config.yaml"), cfg.ToYaml());

        using var reporter = new RunReporter(dir, interactive: ProgressBar);
        foreach (var w in cfg.Warnings)   // the dataset config's warnings are logged by DataPipeline.Prepare
        {
            reporter.Message("warning: " + w);
        }
        if (changed.Count > 0)
        {
            reporter.Message($"warning: resuming with a changed configuration (--allow-config-change): {string.Join("; ", changed)}");
        }
        using var data = DataPipeline.Prepare(dataCfg, new DataOptions
        {
            CacheDir = cacheDir,
            OnBadLine = onBadLine switch
            {
                "error" => OnBadLine.Error,
                "skip" => OnBadLine.Skip,
                _ => throw new ArgumentException($"--on-bad-line must be error or skip, got '{onBadLine}'."),
            },
            Log = reporter.Message,
        });
        foreach (var (split, report) in data.BadLines)
        {
            if (report.Dropped > 0)
            {
                reporter.Message($"{split}: skipped {report.Dropped} bad lines: " +
                                 string.Join("; ", report.Reasons.Select(kv => $"{kv.Value.Count} x {kv.Key} (e.g. {kv.Value.Example})")));
            }
        }
        if (data.Valid is null || data.Test is null)
        {
            throw new DataConfigException($"dataset '{dataCfg.DatasetId}' needs valid_data and test_data for training with early stopping.");
        }
        CheckGroupId(cfg, data.FeatureMap);
        var model = CliSupport.CreateModel(data.FeatureMap, cfg, () => ModelRegistry.Create(ModelInputs.Schema(data.FeatureMap, cfg), cfg, new Rng((ulong)options.Seed)));
        reporter.Message($"{model.ModelName} ({cfg.ExpId}): {model.ParameterCount():N0} parameters, {Workers.ThreadCount} threads, run dir {Path.GetFullPath(dir)}");
        var trainer = new Trainer(model, options, reporter);
        foreach (var w in UnreadKeyWarnings(cfg))
        {
            reporter.Message("warning: " + w);
        }
        if (cfg.Acknowledged.Count > 0)
        {
            reporter.Message($"note: no effect in FsdNet (see docs/DATA.md, Config keys): {string.Join(", ", cfg.Acknowledged.Keys)}");
        }
        if (cfg.Acknowledged.TryGetValue("partition_block_size", out var why))
        {
            reporter.Message($"warning: {cfg.Origin("partition_block_size")}: 'partition_block_size' is ignored: {why}.");
        }
        var result = reporter.Run(() => trainer.Fit(data.Train, data.Valid, checkpoint, resume));
        ModelBundle.Save(dir, model, data.FeatureMap, cfg);
        var test = trainer.Evaluate(data.Test, options.Metrics);
        File.WriteAllText(Path.Combine(dir, "test_metrics.json"), JsonSerializer.Serialize(test, Trainer.Json));
        reporter.Complete(result, test);
        var auc = test.GetValueOrDefault("AUC", double.NaN);
        var logloss = test.GetValueOrDefault("logloss", double.NaN);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"test AUC {auc:F6} logloss {logloss:F6}"));
        return 0;
    }

    /// <summary>One warning per key that nothing read, naming where it was set.</summary>
    internal static IEnumerable<string> UnreadKeyWarnings(ModelConfig cfg) =>
        cfg.UnreadKeys().Select(k => cfg.Origin(k).StartsWith("--", StringComparison.Ordinal)
            ? $"{cfg.Origin(k)}: no part of this experiment reads '{k}'."
            : $"{cfg.Origin(k)}: no part of this experiment reads '{k}' (misspelt, or not a key of model {cfg.GetString("model")}?); it has no effect.");

    /// <summary>
    /// --resume continues a run only from its checkpoint and with the configuration it was started with (the keys that
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
}
