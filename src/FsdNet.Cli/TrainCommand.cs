using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using FsdNet.Cli.Reporting;
using FsdNet.Data;
using FsdNet.Distributed;
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
        var distributed = new Option<string>("--distributed")
        {
            Description = "auto (default: Open MPI when started by mpirun), mpi (require it) or none (one process); see docs/DISTRIBUTED.md.",
            DefaultValueFactory = _ => "auto",
        };
        var set = new Option<string[]>("--set") { Description = "Override a config key, e.g. --set net_dropout=0.5 (repeatable).", AllowMultipleArgumentsPerToken = false };
        var cmd = new Command("train", "Train a model, validate every epoch with early stopping, then evaluate on test.")
        {
            dataset, config, expid, dataRoot, seed, epochs, threads, runDir, resume, allowChange, cacheDir, onBadLine, set, progress, distributed,
        };
        cmd.SetAction(r => CliSupport.Guard(() =>
        {
            ProgressBar = CliSupport.UseProgressBar(r.GetValue(progress)!, Console.IsOutputRedirected, Environment.GetEnvironmentVariable);
            return Run(
                r.GetValue(dataset), r.GetValue(config), r.GetValue(expid), r.GetValue(dataRoot), r.GetValue(seed), r.GetValue(epochs),
                r.GetValue(threads), r.GetValue(runDir), r.GetValue(resume), r.GetValue(allowChange), r.GetValue(cacheDir), r.GetValue(onBadLine)!,
                r.GetValue(set) ?? [], r.GetValue(distributed)!);
        }));
        return cmd;
    }

    private static int Run(
        string? dataset, string? configDir, string? expid, string? dataRoot, int? seed, int? epochs, int? threads, string? runDir,
        bool resume, bool allowConfigChange, string? cacheDir, string onBadLine, string[] sets, string distributed)
    {
        if (threads is { } t)
        {
            CliSupport.SetThreads(t);
        }
        var spec = new RunSpec
        {
            Preset = dataset,
            ConfigDir = configDir,
            ExpId = expid,
            DataRoot = dataRoot,
            Overrides = Overrides(sets, seed, epochs),
            RunDir = runDir,
            Resume = resume,
            AllowConfigChange = allowConfigChange,
            CacheDir = cacheDir,
            OnBadLine = ParseOnBadLine(onBadLine),
            Distributed = distributed switch
            {
                "auto" => DistributedMode.Auto,
                "mpi" => DistributedMode.Mpi,
                "none" => DistributedMode.None,
                _ => throw new ArgumentException($"--distributed must be auto, mpi or none, got '{distributed}'."),
            },
        };
        // Ctrl+C or SIGTERM: stop after the current step with a checkpoint, so --resume continues exactly from there.
        using var stop = new CancellationTokenSource();
        stopping = stop;
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
        string? dir = null;
        RunResult result;
        try
        {
            result = TrainingRun.Execute(spec, d => new RunReporter(dir = d, interactive: ProgressBar), stop.Token);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested || dir is null)
        {
            if (dir is null)
            {
                return 130;   // another rank of a distributed run was stopped; rank 0 says where its checkpoint is
            }
            Console.Error.WriteLine($"stopped: the run is checkpointed in {dir}; continue it with --resume --run-dir {dir}");
            return 130;
        }
        if (result.Rank != 0)
        {
            return 0;
        }
        var auc = result.Test.GetValueOrDefault("AUC", double.NaN);
        var logloss = result.Test.GetValueOrDefault("logloss", double.NaN);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"test AUC {auc:F6} logloss {logloss:F6}"));
        return 0;
    }

    private static CancellationTokenSource? stopping;

    private static void Stop(PosixSignalContext context)
    {
        // The first signal asks for a clean stop; the process keeps running until the step ends and the checkpoint
        // is written. A second one ends it at once (the default handling).
        if (stopping is { } cts && !cts.IsCancellationRequested)
        {
            context.Cancel = true;
            cts.Cancel();
        }
    }

    /// <summary>The command line's config values, each with the option that gave it (errors and warnings name it).</summary>
    internal static IReadOnlyList<ConfigOverride> Overrides(IEnumerable<string> sets, int? seed, int? epochs)
    {
        var overrides = new List<ConfigOverride>();
        foreach (var s in sets)
        {
            var eq = s.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                throw new ArgumentException($"--set takes key=value, got '{s}'.");
            }
            overrides.Add(new(s[..eq].Trim(), s[(eq + 1)..].Trim(), $"--set {s.Trim()}"));
        }
        if (seed is { } sd)
        {
            overrides.Add(new("seed", sd.ToString(CultureInfo.InvariantCulture), $"--seed {sd}"));
        }
        if (epochs is { } ep)
        {
            overrides.Add(new("epochs", ep.ToString(CultureInfo.InvariantCulture), $"--epochs {ep}"));
        }
        return overrides;
    }

    internal static OnBadLine ParseOnBadLine(string value) => value switch
    {
        "error" => OnBadLine.Error,
        "skip" => OnBadLine.Skip,
        _ => throw new ArgumentException($"--on-bad-line must be error or skip, got '{value}'."),
    };

    /// <summary>One warning per key that nothing read, naming where it was set.</summary>
    internal static IEnumerable<string> UnreadKeyWarnings(ModelConfig cfg) => TrainingRun.UnreadKeyWarnings(cfg);
}
