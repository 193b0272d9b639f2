using System.Globalization;
using System.Text.Json;
using FsdNet.Data;
using FsdNet.Metrics;

namespace FsdNet.Training;

/// <summary>A finished cell: what its run directory's test_metrics.json and training history say.</summary>
internal sealed record CellResult(
    string Row,
    string ExpId,
    IReadOnlyDictionary<string, string> Setting,
    int Seed,
    string RunDir,
    string Model,
    IReadOnlyDictionary<string, double> Test,
    int BestEpoch,
    int EpochsRun,
    double TrainSecondsPerEpoch,
    double ValidMonitor = double.NaN);

/// <summary>
/// Runs a grid's cells one after another, each a normal run directory. Resumable: a cell with a cell.json is done
/// and is not rerun; a cell with a checkpoint but no cell.json was interrupted and resumes from its last epoch.
/// </summary>
internal static class ExperimentRunner
{
    /// <summary>Written into a cell's run directory once its run has finished and been tested.</summary>
    public const string CellFile = "cell.json";

    /// <summary>The files of a finished run directory that a grid's record keeps (cell.json last: it marks a complete record).</summary>
    public static readonly string[] RecordedFiles = [TrainingRun.TestMetricsFile, "config.yaml", "metrics.csv", "train.log"];

    /// <summary>
    /// A cell's result if it has finished, else null: its run directory's cell.json, else its record's (then the
    /// result's RunDir is the record folder). A damaged cell file, or a record whose test_metrics.json disagrees with
    /// its cell.json, is a clear error.
    /// </summary>
    public static CellResult? Finished(GridCell cell)
    {
        var path = Path.Combine(cell.RunDir, CellFile);
        if (File.Exists(path))
        {
            return Read(cell, path);
        }
        if (cell.RecordDir is null || !File.Exists(path = Path.Combine(cell.RecordDir, CellFile)))
        {
            return null;
        }
        var recorded = Read(cell, path) with { RunDir = cell.RecordDir };
        var testPath = Path.Combine(cell.RecordDir, TrainingRun.TestMetricsFile);
        if (File.Exists(testPath))
        {
            Dictionary<string, double>? test;
            try
            {
                test = JsonSerializer.Deserialize<Dictionary<string, double>>(File.ReadAllText(testPath), Trainer.Json);
            }
            catch (JsonException e)
            {
                throw new DataFormatException($"{testPath}: damaged test metrics ({e.Message}); restore the record from git or delete the folder to rerun the cell.");
            }
            foreach (var (k, v) in recorded.Test)
            {
                if (test is null || !test.TryGetValue(k, out var t) || !(t == v || (double.IsNaN(t) && double.IsNaN(v))))
                {
                    throw new DataFormatException($"{path}: its test {k} {v:R} is not the {k} of {testPath}; restore the record from git or delete the folder to rerun the cell.");
                }
            }
        }
        return recorded;
    }

    private static CellResult Read(GridCell cell, string path)
    {
        try
        {
            var r = JsonSerializer.Deserialize<CellResult>(File.ReadAllText(path), Trainer.Json)
                    ?? throw new JsonException("empty");
            if (r.Row != cell.Row || r.Seed != cell.Seed)
            {
                throw new DataFormatException($"{path}: this cell file is for row '{r.Row}' seed {r.Seed}, not '{cell.Row}' seed {cell.Seed}; move the folder away or fix the grid.");
            }
            if (r.Test is null)
            {
                throw new JsonException("no test metrics");
            }
            return r;
        }
        catch (JsonException e)
        {
            throw new DataFormatException($"{path}: damaged cell file ({e.Message}); delete it to rerun the cell from its checkpoint.");
        }
    }

    /// <summary>
    /// Copies a cell's result files from its run directory into its record folder (nothing without a record, or when
    /// the record is already there). Files are written under temporary names and renamed; cell.json comes last, so an
    /// interrupted copy leaves no record that counts as finished. Returns whether it wrote a record.
    /// </summary>
    public static bool Record(GridCell cell)
    {
        if (cell.RecordDir is null || File.Exists(Path.Combine(cell.RecordDir, CellFile)) || !File.Exists(Path.Combine(cell.RunDir, CellFile)))
        {
            return false;
        }
        Directory.CreateDirectory(cell.RecordDir);
        foreach (var name in RecordedFiles.Append(CellFile))
        {
            var from = Path.Combine(cell.RunDir, name);
            if (File.Exists(from))
            {
                var to = Path.Combine(cell.RecordDir, name);
                File.Copy(from, to + ".tmp", overwrite: true);
                File.Move(to + ".tmp", to, overwrite: true);
            }
        }
        return true;
    }

    /// <summary>The grid's finished cells in grid order (run now or before, or recorded), recording any not yet recorded.</summary>
    public static IReadOnlyList<CellResult> FinishedCells(ExperimentGrid grid)
    {
        var finished = new List<CellResult>();
        foreach (var cell in grid.Cells())
        {
            if (Reuse(cell) is { } done)
            {
                finished.Add(done);
            }
        }
        return finished;
    }

    /// <summary>A finished cell's result, with its record written if it has none yet; null if the cell is unfinished.</summary>
    private static CellResult? Reuse(GridCell cell)
    {
        var done = Finished(cell);
        if (done is not null)
        {
            Record(cell);
        }
        return done;
    }

    /// <summary>
    /// Runs every unfinished cell of <paramref name="grid"/>; <paramref name="onCell"/> hears of each cell as it is
    /// found finished (reused: true) or finishes now. Returns all cells' results in grid order.
    /// </summary>
    /// <remarks>
    /// With <paramref name="onError"/>, a cell that fails with bad input or config (an exception the callback accepts
    /// by returning true) is left unfinished and the grid goes on with the next cell; a rerun tries it again.
    /// </remarks>
    public static IReadOnlyList<CellResult> Run(
        ExperimentGrid grid, string? dataRoot, string? cacheDir, Func<string, IRunReporter> reporter, Action<CellResult, bool>? onCell = null,
        Action<GridCell, int, int>? onStart = null, Func<GridCell, Exception, bool>? onError = null)
    {
        var cells = grid.Cells();
        var results = new List<CellResult>(cells.Count);
        for (var i = 0; i < cells.Count; i++)
        {
            var cell = cells[i];
            if (Reuse(cell) is { } done)
            {
                results.Add(done);
                onCell?.Invoke(done, true);
                continue;
            }
            onStart?.Invoke(cell, i, cells.Count);
            var resume = File.Exists(Path.Combine(cell.RunDir, "checkpoint.fsdc"));
            RunResult run;
            try
            {
                run = TrainingRun.Execute(grid.SpecFor(cell, dataRoot, cacheDir, resume), reporter);
            }
            catch (Exception e) when (onError is not null && onError(cell, e))
            {
                continue;
            }
            var history = run.Training.History;
            var result = new CellResult(
                cell.Row, cell.ExpId, cell.Setting.ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal), cell.Seed, run.RunDir,
                run.ModelName, run.Test, run.Training.BestEpoch, history.Count == 0 ? 0 : history.Max(h => h.Epoch),
                history.Count == 0 ? double.NaN : history.Average(h => h.TrainSeconds), run.Training.BestMonitor);
            var path = Path.Combine(cell.RunDir, CellFile);
            File.WriteAllText(path + ".tmp", JsonSerializer.Serialize(result, Trainer.Json));
            File.Move(path + ".tmp", path, overwrite: true);
            Record(cell);
            results.Add(result);
            onCell?.Invoke(result, false);
        }
        return results;
    }
}

/// <summary>A row of a grid's results table: the mean and sample std over seeds, with Welch p-values against the reference row.</summary>
internal sealed record ResultRow(
    string Row,
    string Model,
    int N,
    double AucMean,
    double AucStd,
    double LoglossMean,
    double LoglossStd,
    double BestEpochMean,
    double PAuc,
    double PLogloss,
    bool IsReference);

/// <summary>treatment - base, with the Welch p-value of each difference.</summary>
internal sealed record GainRow(string Base, string Treatment, int NBase, int NTreatment, double AucGain, double PAuc, double LoglossGain, double PLogloss);

/// <summary>The results of a grid: results.csv (one line per cell), results.json and results.md (the tables).</summary>
internal static class ExperimentTable
{
    public static (IReadOnlyList<ResultRow> Rows, IReadOnlyList<GainRow> Gains) Summarize(ExperimentGrid grid, IReadOnlyList<CellResult> cells)
    {
        var byRow = cells.GroupBy(c => c.Row, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
        var reference = grid.ReferenceRow();
        List<double> Metric(string row, string name) =>
            byRow.TryGetValue(row, out var cs) ? [.. cs.Select(c => c.Test.GetValueOrDefault(name, double.NaN))] : [];
        var refAuc = Metric(reference, "AUC");
        var refLogloss = Metric(reference, "logloss");
        var rows = new List<ResultRow>();
        foreach (var row in grid.Cells().Select(c => c.Row).Distinct())
        {
            if (!byRow.TryGetValue(row, out var cs))
            {
                continue;
            }
            var auc = Metric(row, "AUC");
            var logloss = Metric(row, "logloss");
            var isRef = row == reference;
            rows.Add(new ResultRow(
                row, cs[0].Model, cs.Count, Statistics.Mean(auc), Statistics.SampleStd(auc), Statistics.Mean(logloss), Statistics.SampleStd(logloss),
                cs.Average(c => (double)c.BestEpoch),
                isRef ? double.NaN : Statistics.Welch(auc, refAuc).P, isRef ? double.NaN : Statistics.Welch(logloss, refLogloss).P, isRef));
        }
        var pairs = new List<(string, string)>(grid.Gains);
        // Rows that differ only in a swept fsd: false / true pair up on their own.
        foreach (var exp in grid.Experiments)
        {
            foreach (var setting in grid.Settings().Where(s => s.Any(kv => kv.Key == "fsd" && IsFalse(kv.Value))))
            {
                var on = setting.Select(kv => kv.Key == "fsd" ? new KeyValuePair<string, string>("fsd", "true") : kv).ToList();
                var treatment = grid.Settings().FirstOrDefault(s => s.Count == on.Count && s.Zip(on).All(p => p.First.Key == p.Second.Key && (p.First.Value == p.Second.Value || (p.First.Key == "fsd" && IsTrue(p.First.Value)))));
                if (treatment is not null)
                {
                    pairs.Add((ExperimentGrid.RowName(exp, setting), ExperimentGrid.RowName(exp, treatment)));
                }
            }
        }
        var gains = new List<GainRow>();
        foreach (var (b, t) in pairs.Distinct())
        {
            if (!byRow.ContainsKey(b) || !byRow.ContainsKey(t))
            {
                continue;
            }
            List<double> ba = Metric(b, "AUC"), ta = Metric(t, "AUC"), bl = Metric(b, "logloss"), tl = Metric(t, "logloss");
            gains.Add(new GainRow(b, t, ba.Count, ta.Count, Statistics.Mean(ta) - Statistics.Mean(ba), Statistics.Welch(ta, ba).P,
                Statistics.Mean(tl) - Statistics.Mean(bl), Statistics.Welch(tl, bl).P));
        }
        return (rows, gains);
    }

    private static bool IsFalse(string v) => v is "false" or "False" or "0";

    private static bool IsTrue(string v) => v is "true" or "True" or "1";

    /// <summary>Writes results.csv, results.json and results.md into the grid's output folder; returns the Markdown.</summary>
    public static string Write(ExperimentGrid grid, IReadOnlyList<CellResult> cells)
    {
        Directory.CreateDirectory(grid.Output);
        var (rows, gains) = Summarize(grid, cells);
        var inv = CultureInfo.InvariantCulture;
        var csv = new System.Text.StringBuilder("grid,row,expid,setting,seed,model,test_auc,test_logloss,best_epoch,epochs_run,train_s_per_epoch,run_dir\n");
        foreach (var c in cells)
        {
            var setting = string.Join(";", c.Setting.Select(kv => $"{kv.Key}={kv.Value}"));
            csv.Append(string.Join(",", Csv(grid.Name), Csv(c.Row), Csv(c.ExpId), Csv(setting), c.Seed.ToString(inv), Csv(c.Model),
                c.Test.GetValueOrDefault("AUC", double.NaN).ToString("R", inv), c.Test.GetValueOrDefault("logloss", double.NaN).ToString("R", inv),
                c.BestEpoch.ToString(inv), c.EpochsRun.ToString(inv), c.TrainSecondsPerEpoch.ToString("F2", inv), Csv(Path.GetRelativePath(grid.Output, c.RunDir))));
            csv.Append('\n');
        }
        Atomic(Path.Combine(grid.Output, "results.csv"), csv.ToString());
        var json = JsonSerializer.Serialize(new { grid = grid.Name, reference = grid.ReferenceRow(), cells, rows, gains }, Trainer.Json);
        Atomic(Path.Combine(grid.Output, "results.json"), json);
        var md = Markdown(grid, rows, gains, cells.Count);
        Atomic(Path.Combine(grid.Output, "results.md"), md);
        return md;
    }

    /// <summary>The paper-style table: mean ± std over seeds, n, best epoch and Welch p-values against the reference row.</summary>
    public static string Markdown(ExperimentGrid grid, IReadOnlyList<ResultRow> rows, IReadOnlyList<GainRow> gains, int finishedCells)
    {
        var inv = CultureInfo.InvariantCulture;
        var b = new System.Text.StringBuilder();
        b.Append(inv, $"Grid `{grid.Name}` ({Path.GetFileName(grid.Source)}): {finishedCells} of {grid.Cells().Count} cells finished; ");
        b.Append(inv, $"p-values: two-sided Welch t-test against `{grid.ReferenceRow()}` over seeds.\n\n");
        b.Append("| row | model | n | test AUC | test logloss | best epoch | p (AUC) | p (logloss) |\n|---|---|---|---|---|---|---|---|\n");
        foreach (var r in rows)
        {
            var name = r.IsReference ? $"**{r.Row}** (reference)" : r.Row;
            b.Append(inv, $"| {name} | {r.Model} | {r.N} | {Pm(r.AucMean, r.AucStd, 5)} | {Pm(r.LoglossMean, r.LoglossStd, 4)} | {r.BestEpochMean:F1} | {P(r.PAuc)} | {P(r.PLogloss)} |\n");
        }
        if (gains.Count > 0)
        {
            b.Append("\n| base | treatment | n | AUC gain | p (AUC) | logloss gain | p (logloss) |\n|---|---|---|---|---|---|---|\n");
            foreach (var g in gains)
            {
                b.Append(inv, $"| {g.Base} | {g.Treatment} | {g.NBase} / {g.NTreatment} | {g.AucGain:+0.00000;-0.00000;0.00000} | {P(g.PAuc)} | {g.LoglossGain:+0.0000;-0.0000;0.0000} | {P(g.PLogloss)} |\n");
            }
        }
        return b.ToString();
    }

    private static string Pm(double mean, double std, int digits)
    {
        var f = "F" + digits.ToString(CultureInfo.InvariantCulture);
        return double.IsNaN(std)
            ? mean.ToString(f, CultureInfo.InvariantCulture)
            : $"{mean.ToString(f, CultureInfo.InvariantCulture)} ± {std.ToString(f, CultureInfo.InvariantCulture)}";
    }

    private static string P(double p) => double.IsNaN(p) ? "–" : p < 1e-4 ? p.ToString("0.0E+0", CultureInfo.InvariantCulture) : p.ToString("F4", CultureInfo.InvariantCulture);

    private static string Csv(string s) => s.Contains(',', StringComparison.Ordinal) || s.Contains('"', StringComparison.Ordinal) ? "\"" + s.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : s;

    private static void Atomic(string path, string text)
    {
        File.WriteAllText(path + ".tmp", text);
        File.Move(path + ".tmp", path, overwrite: true);
    }
}
