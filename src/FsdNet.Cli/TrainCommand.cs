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
        var runDir = new Option<string?>("--run-dir") { Description = "Where to write the run (default: runs/<expid>-seed<seed>-<UTC time>)." };
        var resume = new Option<bool>("--resume") { Description = "Continue an interrupted run from its last epoch checkpoint in --run-dir." };
        var cacheDir = new Option<string?>("--cache-dir") { Description = "Where encoded data caches go (default: <data_root>/.fsdnet-cache when writable)." };
        var onBadLine = new Option<string>("--on-bad-line") { Description = "error (default) or skip malformed input lines.", DefaultValueFactory = _ => "error" };
        var progress = new Option<string>("--progress") { Description = "auto (default: live bar on an ANSI terminal, plain lines otherwise), bar or plain.", DefaultValueFactory = _ => "auto" };
        var set = new Option<string[]>("--set") { Description = "Override a config key, e.g. --set net_dropout=0.5 (repeatable).", AllowMultipleArgumentsPerToken = false };
        var cmd = new Command("train", "Train a model, validate every epoch with early stopping, then evaluate on test.")
        {
            dataset, config, expid, dataRoot, seed, epochs, threads, runDir, resume, cacheDir, onBadLine, set, progress,
        };
        cmd.SetAction(r => CliSupport.Guard(() =>
        {
            ProgressBar = CliSupport.UseProgressBar(r.GetValue(progress)!, Console.IsOutputRedirected, Environment.GetEnvironmentVariable);
            return Run(
                r.GetValue(dataset), r.GetValue(config), r.GetValue(expid), r.GetValue(dataRoot), r.GetValue(seed), r.GetValue(epochs),
                r.GetValue(threads), r.GetValue(runDir), r.GetValue(resume), r.GetValue(cacheDir), r.GetValue(onBadLine)!, r.GetValue(set) ?? []);
        }));
        return cmd;
    }

    private static int Run(
        string? dataset, string? configDir, string? expid, string? dataRoot, int? seed, int? epochs, int? threads, string? runDir,
        bool resume, string? cacheDir, string onBadLine, string[] sets)
    {
        if ((dataset is null) == (configDir is null))
        {
            throw new ArgumentException("give either --dataset <preset> or --config <dir> --expid <id>.");
        }
        if (threads is { } t)
        {
            CliSupport.SetThreads(t);
        }
        var overrides = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var s in sets)
        {
            var eq = s.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                throw new ArgumentException($"--set takes key=value, got '{s}'.");
            }
            overrides[s[..eq].Trim()] = s[(eq + 1)..].Trim();
        }
        if (seed is { } sd)
        {
            overrides["seed"] = sd.ToString(CultureInfo.InvariantCulture);
        }
        if (epochs is { } ep)
        {
            overrides["epochs"] = ep.ToString(CultureInfo.InvariantCulture);
        }

        ModelConfig cfg;
        DatasetConfig dataCfg;
        if (dataset is not null)
        {
            cfg = Presets.For(dataset).With(overrides);
            dataCfg = DatasetConfigLoader.Preset(dataset, CliSupport.DataRoot(dataRoot, dataset));
        }
        else
        {
            if (expid is null)
            {
                throw new ArgumentException("--config needs --expid <experiment id>.");
            }
            cfg = ModelConfig.Load(configDir!, expid).With(overrides);
            var datasetId = cfg.DatasetId ?? throw new ConfigException($"{cfg.Source} [{expid}]: 'dataset_id' is missing.");
            dataCfg = DatasetConfigLoader.Load(Path.Combine(configDir!, "dataset_config.yaml"), datasetId);
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
        cfg = cfg.With(resolved);
        var options = TrainerOptions.From(cfg);
        if (resume && runDir is null)
        {
            throw new ArgumentException("--resume needs --run-dir <the interrupted run's directory>.");
        }
        var dir = runDir ?? Path.Combine("runs", $"{cfg.ExpId}-seed{options.Seed}-{DateTime.UtcNow:yyyyMMdd-HHmmss}");
        if (!resume && File.Exists(Path.Combine(dir, "checkpoint.fsdc")))
        {
            throw new ArgumentException($"{dir} already holds a run; use --resume to continue it or --run-dir for a new one.");
        }
        if (File.Exists(dir))
        {
            throw new ArgumentException($"--run-dir {dir} is a file; give a directory (it is created if missing).");
        }
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "config.yaml"), cfg.ToYaml());

        using var reporter = new RunReporter(dir, interactive: ProgressBar);
        foreach (var w in cfg.Warnings)
        {
            reporter.Message("warning: " + w);
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
        var model = CliSupport.CreateModel(data.FeatureMap, cfg, () => ModelRegistry.Create(FieldSpec.From(data.FeatureMap), cfg, new Rng((ulong)options.Seed)));
        reporter.Message($"{model.ModelName} ({cfg.ExpId}): {model.ParameterCount():N0} parameters, {Workers.ThreadCount} threads, run dir {Path.GetFullPath(dir)}");
        var trainer = new Trainer(model, options, reporter);
        var result = reporter.Run(() => trainer.Fit(data.Train, data.Valid, Path.Combine(dir, "checkpoint.fsdc"), resume));
        ModelBundle.Save(dir, model, data.FeatureMap, cfg);
        var test = trainer.Evaluate(data.Test, options.Metrics);
        File.WriteAllText(Path.Combine(dir, "test_metrics.json"), JsonSerializer.Serialize(test, Trainer.Json));
        reporter.Complete(result, test);
        var auc = test.GetValueOrDefault("AUC", double.NaN);
        var logloss = test.GetValueOrDefault("logloss", double.NaN);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"test AUC {auc:F6} logloss {logloss:F6}"));
        return 0;
    }
}
