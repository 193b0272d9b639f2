using System.CommandLine;
using System.Globalization;
using FsdNet.Cli.Reporting;
using FsdNet.Training;
using Spectre.Console;

namespace FsdNet.Cli;

/// <summary><c>fsdnet experiment --grid grid.yaml</c>: experiments x settings x seeds, resumable, with a results table.</summary>
internal static class ExperimentCommand
{
    public static Command Create()
    {
        var grid = new Option<string>("--grid") { Description = "Grid file (see docs/EXPERIMENTS.md): config or preset, experiments, seeds, sweep, fixed, reference, gains, output.", Required = true };
        var dataRoot = new Option<string?>("--data-root") { Description = "Folder holding the data sets (default: ../shared/data or $FSDNET_DATA)." };
        var cacheDir = new Option<string?>("--cache-dir") { Description = "Where encoded data caches go (default: $XDG_CACHE_HOME/fsdnet or ~/.cache/fsdnet)." };
        var threads = new Option<int?>("--threads") { Description = "Threads for the engine (default: all cores)." };
        var list = new Option<bool>("--list") { Description = "List the cells and which are finished, interrupted or to do; run nothing." };
        var report = new Option<bool>("--report") { Description = "Write results.csv/json/md and the figures from the finished cells; run nothing." };
        var progress = new Option<string>("--progress") { Description = "auto (default: live bar and table on an ANSI terminal, plain lines otherwise), bar or plain.", DefaultValueFactory = _ => "auto" };
        var cmd = new Command("experiment", "Run a grid of experiments x settings x seeds (resumable) and write results.csv/json/md with Welch p-values.")
        {
            grid, dataRoot, cacheDir, threads, list, report, progress,
        };
        cmd.SetAction(r => CliSupport.Guard(() =>
        {
            var bar = CliSupport.UseProgressBar(r.GetValue(progress)!, Console.IsOutputRedirected, Environment.GetEnvironmentVariable);
            if (r.GetValue(threads) is { } t)
            {
                CliSupport.SetThreads(t);
            }
            var g = ExperimentGrid.Load(r.GetValue(grid)!);
            return r.GetValue(report) ? Report(g) : Run(g, r.GetValue(dataRoot), r.GetValue(cacheDir), r.GetValue(list), bar);
        }));
        return cmd;
    }

    private static int Run(ExperimentGrid grid, string? dataRoot, string? cacheDir, bool listOnly, bool interactive)
    {
        var cells = grid.Cells();
        if (listOnly)
        {
            foreach (var c in cells)
            {
                var state = ExperimentRunner.Finished(c) is not null ? "finished"
                    : File.Exists(Path.Combine(c.RunDir, "checkpoint.fsdc")) ? "interrupted (resumes)" : "to do";
                Console.WriteLine($"{c.Row} seed {c.Seed}: {state}  {c.RunDir}");
            }
            return 0;
        }
        var (results, failed) = RunCells(grid, dataRoot, cacheDir, interactive);
        if (failed.Count > 0)
        {
            Console.Error.WriteLine($"error: {failed.Count} cells failed and are not in the table:");
            foreach (var f in failed)
            {
                Console.Error.WriteLine("  " + f);
            }
            return CliSupport.UserError;
        }
        return 0;
    }

    /// <summary>
    /// Runs the grid's unfinished cells with progress (live on a terminal, plain lines otherwise), writing the results
    /// and figures as cells land; returns every finished cell and the cells that failed on bad input or config.
    /// </summary>
    internal static (IReadOnlyList<CellResult> Results, IReadOnlyList<string> Failed) RunCells(ExperimentGrid grid, string? dataRoot, string? cacheDir, bool interactive)
    {
        var cells = grid.Cells();
        Console.WriteLine($"grid {grid.Name}: {cells.Count} cells ({grid.Experiments.Count} experiments x {grid.Settings().Count} settings x {grid.Seeds.Count} seeds) in {grid.Output}");
        var done = new List<CellResult>();
        var fresh = 0;
        var failed = new List<string>();
        var results = ExperimentRunner.Run(
            grid, dataRoot, cacheDir,
            dir => new RunReporter(dir, interactive, interactive ? null : TextWriter.Null),
            (cell, reused) =>
            {
                done.Add(cell);
                fresh += reused ? 0 : 1;
                ExperimentTable.Write(grid, done);   // results land as cells finish
                var line = string.Create(CultureInfo.InvariantCulture,
                    $"[{done.Count}/{cells.Count}] {cell.Row} seed {cell.Seed}: test AUC {cell.Test.GetValueOrDefault("AUC", double.NaN):F6} logloss {cell.Test.GetValueOrDefault("logloss", double.NaN):F6}, best epoch {cell.BestEpoch}{(reused ? " (finished before)" : "")}");
                if (interactive && !reused)
                {
                    AnsiConsole.Write(Table(grid, done));
                }
                Console.WriteLine(line);
            },
            (cell, i, n) => Console.WriteLine($"[{i + 1}/{n}] {cell.Row} seed {cell.Seed}: running in {cell.RunDir}"),
            (cell, e) =>
            {
                // Bad input or config fails this cell only; the grid goes on and a rerun retries it.
                if (!CliSupport.IsUserError(e))
                {
                    return false;
                }
                failed.Add($"{cell.Row} seed {cell.Seed}: {e.Message}");
                Console.Error.WriteLine($"error: {cell.Row} seed {cell.Seed}: {e.Message} (skipped; fix it and rerun the grid)");
                return true;
            });
        var md = ExperimentTable.Write(grid, results);
        var figures = ExperimentPlots.Write(grid, results);
        Console.WriteLine();
        Console.WriteLine(md);
        foreach (var f in figures)
        {
            Console.WriteLine($"figure: {f}");
        }
        Console.WriteLine($"{fresh} cells run now, {results.Count - fresh} finished before; results in {Path.Combine(grid.Output, "results.md")} (.csv, .json)");
        return (results, failed);
    }

    private static int Report(ExperimentGrid grid)
    {
        var finished = ExperimentRunner.FinishedCells(grid);
        Console.WriteLine(ExperimentTable.Write(grid, finished));
        foreach (var f in ExperimentPlots.Write(grid, finished))
        {
            Console.WriteLine($"figure: {f}");
        }
        return 0;
    }

    private static Spectre.Console.Table Table(ExperimentGrid grid, IReadOnlyList<CellResult> done)
    {
        var (rows, _) = ExperimentTable.Summarize(grid, done);
        var t = new Spectre.Console.Table().AddColumns("row", "n", "test AUC", "test logloss", "p (AUC)");
        foreach (var r in rows)
        {
            t.AddRow(
                Markup.Escape(r.Row), r.N.ToString(CultureInfo.InvariantCulture),
                string.Create(CultureInfo.InvariantCulture, $"{r.AucMean:F5} ± {r.AucStd:F5}"),
                string.Create(CultureInfo.InvariantCulture, $"{r.LoglossMean:F4} ± {r.LoglossStd:F4}"),
                double.IsNaN(r.PAuc) ? "-" : r.PAuc.ToString("F4", CultureInfo.InvariantCulture));
        }
        return t;
    }
}
