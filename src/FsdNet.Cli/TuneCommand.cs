using System.CommandLine;
using System.Globalization;
using FsdNet.Training;

namespace FsdNet.Cli;

/// <summary><c>fsdnet tune</c>: FuxiCTR's tuner_space as a resumable grid, each trial chosen on validation only.</summary>
internal static class TuneCommand
{
    public static Command Create()
    {
        var config = new Option<string?>("--config") { Description = "Folder with model_config.yaml and dataset_config.yaml (else the tuner file's base_config)." };
        var expid = new Option<string?>("--expid") { Description = "The experiment to tune (else the tuner file's base_expid)." };
        var space = new Option<string>("--space") { Description = "Tuner file with tuner_space (FuxiCTR's format): lists are swept, scalars fixed, a seed list runs every trial with each seed.", Required = true };
        var output = new Option<string?>("--output") { Description = "Folder for the trials and the chosen config (default: runs/tune/<expid>)." };
        var record = new Option<string?>("--record") { Description = "Also keep every finished trial's result files here (as a grid's record: see docs/EXPERIMENTS.md); recorded trials count as finished on a new machine." };
        var dataRoot = new Option<string?>("--data-root") { Description = "Folder holding the data sets (default: ../shared/data or $FSDNET_DATA)." };
        var cacheDir = new Option<string?>("--cache-dir") { Description = "Where encoded data caches go (default: $XDG_CACHE_HOME/fsdnet or ~/.cache/fsdnet)." };
        var threads = new Option<int?>("--threads") { Description = "Threads for the engine (default: all cores)." };
        var progress = new Option<string>("--progress") { Description = "auto (default), bar or plain.", DefaultValueFactory = _ => "auto" };
        var cmd = new Command("tune", "Tune an experiment over a tuner_space (resumable); trials are ranked on the validation monitor only, the best is written as a runnable config and its test result reported after the choice.")
        {
            config, expid, space, output, record, dataRoot, cacheDir, threads, progress,
        };
        cmd.SetAction(r => CliSupport.Guard(() =>
        {
            var bar = CliSupport.UseProgressBar(r.GetValue(progress)!, Console.IsOutputRedirected, Environment.GetEnvironmentVariable);
            if (r.GetValue(threads) is { } t)
            {
                CliSupport.SetThreads(t);
            }
            var grid = Tuner.Load(r.GetValue(space)!, r.GetValue(config), r.GetValue(expid), r.GetValue(output), r.GetValue(record));
            var (results, failed) = ExperimentCommand.RunCells(grid, r.GetValue(dataRoot), r.GetValue(cacheDir), bar);
            var exp = grid.Experiments[0];
            var maximize = ModelConfig.Load(grid.ConfigDir!, exp).GetString("monitor_mode") is not "min";
            var trials = Tuner.Rank(grid, results, maximize);
            if (trials.Count == 0)
            {
                throw new ConfigException($"{grid.Source}: no trial finished, so none can be chosen.");
            }
            var inv = CultureInfo.InvariantCulture;
            Console.WriteLine();
            Console.WriteLine($"trials of {exp}, ranked by the validation monitor ({(maximize ? "max" : "min")}; mean over {grid.Seeds.Count} seed(s)):");
            Console.WriteLine("| rank | trial | valid monitor | test AUC | test logloss |\n|---|---|---|---|---|");
            for (var i = 0; i < trials.Count; i++)
            {
                var tr = trials[i];
                Console.WriteLine(string.Create(inv, $"| {i + 1} | {tr.Row} | {tr.ValidMonitor:F6} | {tr.TestAuc:F6} | {tr.TestLogloss:F6} |"));
            }
            var best = trials[0];
            var dir = Tuner.WriteBest(grid, best, exp);
            Console.WriteLine(string.Create(inv, $"chosen on validation: {best.Row} (valid monitor {best.ValidMonitor:F6}); its test result after the choice: AUC {best.TestAuc:F6} logloss {best.TestLogloss:F6}"));
            Console.WriteLine($"best config: fsdnet train --config {dir} --expid {exp}_tuned");
            return failed.Count > 0 ? CliSupport.UserError : 0;
        }));
        return cmd;
    }
}
