using System.Globalization;
using System.Text.Json;
using FsdNet.Data;
using FsdNet.Metrics;
using FsdNet.Tensors;
using FsdNet.Tests.Data;
using FsdNet.Tests.Support;
using FsdNet.Training;
using Xunit;

namespace FsdNet.Tests.Training;

/// <summary>fsdnet experiment's grid: expansion, errors, resuming a half-finished grid, and the results tables.</summary>
[Collection(ThreadingCollection.Name)]
public sealed class ExperimentGridTests : IDisposable
{
    private readonly TempDir tmp = new();

    public ExperimentGridTests()
    {
        var rng = new Rng(9);
        tmp.CsvSplits("label,user,item", (_, _) =>
        {
            int u = rng.NextInt(12), it = rng.NextInt(9);
            return string.Create(CultureInfo.InvariantCulture, $"{(rng.NextDouble() < ((u + it) % 3 == 0 ? 0.8 : 0.15) ? 1 : 0)},u{u},i{it}");
        }, 1200, 300, 300);
        tmp.CsvDatasetConfig("toy", 1,
            "{name: [user, item], active: True, dtype: str, type: categorical}");
        tmp.File("model_config.yaml", """
            Base:
                dataset_id: toy
                epochs: 3
                batch_size: 128
                early_stop_patience: 5
                learning_rate: 1.e-2
            LR_toy:
                model: LR
            Broken_toy:
                model: NoSuchModel
            DCN_toy:
                model: DCN
                embedding_dim: 4
                dnn_hidden_units: [8, 8]
                num_cross_layers: 2
            """);
    }

    public void Dispose() => tmp.Dispose();

    private string Grid(string body) => tmp.File("grid.yaml", "config: .\noutput: out\n" + body);

    [Fact]
    public void A_grid_expands_to_experiments_x_settings_x_seeds_with_one_run_directory_each()
    {
        var grid = ExperimentGrid.Load(Grid("""
            experiments: [LR_toy, DCN_toy]
            seeds: [1, 2]
            sweep:
              net_dropout: [0, 0.1]
              fsd: [false, true]
            fixed: {epochs: 2}
            reference: DCN_toy (net_dropout=0, fsd=false)
            """));
        var cells = grid.Cells();
        Assert.Equal(2 * 4 * 2, cells.Count);
        Assert.Equal(cells.Count, cells.Select(c => c.RunDir).Distinct().Count());
        Assert.Equal("LR_toy (net_dropout=0, fsd=false)", cells[0].Row);
        Assert.Equal([1, 2], cells.Take(2).Select(c => c.Seed));
        Assert.Equal("LR_toy (net_dropout=0, fsd=true)", cells[2].Row);   // the last swept key varies fastest
        Assert.Equal("DCN_toy (net_dropout=0.1, fsd=true)", cells[^1].Row);
        Assert.StartsWith(Path.Combine(tmp.Path, "out", "cells"), cells[0].RunDir, StringComparison.Ordinal);
        var spec = grid.SpecFor(cells[^1], null, null, resume: false);
        Assert.Equal("DCN_toy", spec.ExpId);
        Assert.Equal(
            ["epochs=2", "net_dropout=0.1", "fsd=true", "seed=2"],
            spec.Overrides.Select(o => $"{o.Key}={o.Value}"));
        Assert.Contains("grid.yaml: sweep.fsd", spec.Overrides[2].Origin, StringComparison.Ordinal);
        Assert.Equal("DCN_toy (net_dropout=0, fsd=false)", grid.ReferenceRow());
    }

    [Theory]
    [InlineData("experiments: [LR_toy]\nseeds: [1]\nsweeps: {a: [1]}\n", "grid.yaml:5: unknown grid key 'sweeps'")]
    [InlineData("experiments: [LR_toy]\nseeds: [1, 1]\n", "a seed is listed twice")]
    [InlineData("experiments: [LR_toy]\nseeds: [one]\n", "seed 'one' is not an integer")]
    [InlineData("experiments: [Nope]\nseeds: [1]\n", "Nope")]
    [InlineData("experiments: [LR_toy]\nseeds: [1]\nreference: DCN_toy\n", "grid.yaml:5: reference 'DCN_toy' is not a row of this grid")]
    [InlineData("experiments: [LR_toy]\nseeds: [1]\nfixed: {epochs: [1, 2]}\n", "'fixed.epochs' must be a single value")]
    [InlineData("experiments: [LR_toy]\n", "'seeds' must list the seeds")]
    public void Grid_mistakes_are_clear_errors_naming_the_file_line_and_key(string body, string expected)
    {
        var e = Assert.Throws<ConfigException>(() => ExperimentGrid.Load(Grid(body)));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    /// <summary>Stops a run at its second validation (after the first epoch's checkpoint), as a killed process would.</summary>
    private sealed class Interrupting(bool interrupt) : IRunReporter
    {
        public void Message(string line)
        {
        }

        public T Run<T>(Func<T> training) => training();

        public void OnEvaluation(EpochRecord record)
        {
            if (interrupt && record.Epoch == 2)
            {
                throw new OperationCanceledException("interrupted");
            }
        }

        public void Complete(TrainResult result, IReadOnlyDictionary<string, double>? test)
        {
        }

        public void Dispose()
        {
        }
    }

    [Fact]
    public void A_half_finished_grid_resumes_the_interrupted_cell_and_skips_the_finished_ones()
    {
        var before = Workers.ThreadCount;
        try
        {
            Workers.ThreadCount = 1;
            var grid = ExperimentGrid.Load(Grid("experiments: [LR_toy, DCN_toy]\nseeds: [1, 2]\n"));
            var cache = Path.Combine(tmp.Path, "cache");
            var cells = grid.Cells();
            // Sitting 1: the first cell finishes, the second is killed in its second epoch.
            var ran = new List<string>();
            Assert.Throws<OperationCanceledException>(() => ExperimentRunner.Run(grid, null, cache,
                dir => new Interrupting(interrupt: dir == cells[1].RunDir), (c, reused) => ran.Add($"{c.Row}/{c.Seed}/{reused}")));
            Assert.Equal(["LR_toy/1/False"], ran);
            Assert.NotNull(ExperimentRunner.Finished(cells[0]));
            Assert.Null(ExperimentRunner.Finished(cells[1]));
            Assert.True(File.Exists(Path.Combine(cells[1].RunDir, "checkpoint.fsdc")));
            var firstCell = File.ReadAllText(Path.Combine(cells[0].RunDir, ExperimentRunner.CellFile));

            // Sitting 2: the finished cell is reused as is, the interrupted one resumes, the rest run.
            ran.Clear();
            var results = ExperimentRunner.Run(grid, null, cache, _ => new Interrupting(false), (c, reused) => ran.Add($"{c.Row}/{c.Seed}/{reused}"));
            Assert.Equal(["LR_toy/1/True", "LR_toy/2/False", "DCN_toy/1/False", "DCN_toy/2/False"], ran);
            Assert.Equal(firstCell, File.ReadAllText(Path.Combine(cells[0].RunDir, ExperimentRunner.CellFile)));

            // The resumed cell ends exactly where an uninterrupted run of it ends.
            var fresh = TrainingRun.Execute(grid.SpecFor(cells[1] with { RunDir = Path.Combine(tmp.Path, "fresh") }, null, cache, resume: false), _ => new Interrupting(false));
            Assert.Equal(fresh.Test["AUC"], results[1].Test["AUC"]);
            Assert.Equal(fresh.Test["logloss"], results[1].Test["logloss"]);
            Assert.Equal(3, results[1].EpochsRun);

            // The tables are written from the cells' own files.
            var md = ExperimentTable.Write(grid, results);
            Assert.Contains("| **LR_toy** (reference) | LR | 2 |", md, StringComparison.Ordinal);
            Assert.Contains("| DCN_toy | DCN | 2 |", md, StringComparison.Ordinal);
            var csv = File.ReadAllLines(Path.Combine(grid.Output, "results.csv"));
            Assert.Equal(5, csv.Length);
            var test = JsonSerializer.Deserialize<Dictionary<string, double>>(File.ReadAllText(Path.Combine(cells[3].RunDir, TrainingRun.TestMetricsFile)))!;
            Assert.Contains(test["AUC"].ToString("R", CultureInfo.InvariantCulture), csv[4], StringComparison.Ordinal);
        }
        finally
        {
            Workers.ThreadCount = before;
        }
    }

    [Fact]
    public void A_grid_record_keeps_finished_cells_after_their_run_directories_are_gone()
    {
        var before = Workers.ThreadCount;
        try
        {
            Workers.ThreadCount = 1;
            var grid = ExperimentGrid.Load(Grid("experiments: [LR_toy]\nseeds: [1, 2]\nrecord: kept\n"));
            Assert.Equal(Path.Combine(tmp.Path, "kept"), grid.Record);
            var cache = Path.Combine(tmp.Path, "cache");
            var cells = grid.Cells();
            Assert.Equal(Path.Combine(tmp.Path, "kept", "LR_toy", "seed2"), cells[1].RecordDir);
            var first = ExperimentRunner.Run(grid, null, cache, _ => new Interrupting(false));
            foreach (var c in cells)
            {
                // metrics.csv and train.log come from the CLI's reporter; the library's own files are these three.
                foreach (var name in new[] { TrainingRun.TestMetricsFile, "config.yaml", ExperimentRunner.CellFile })
                {
                    Assert.True(File.Exists(Path.Combine(c.RecordDir!, name)), $"{c.RecordDir}: {name} is not recorded");
                }
                Assert.False(File.Exists(Path.Combine(c.RecordDir!, "model.fsdm")));
            }

            // A new machine: the run directories are gone; the recorded cells count as finished and are not rerun.
            Directory.Delete(grid.Output, recursive: true);
            var ran = new List<string>();
            var again = ExperimentRunner.Run(grid, null, cache, _ => throw new InvalidOperationException("no cell may run"), (c, reused) => ran.Add($"{c.Seed}/{reused}"));
            Assert.Equal(["1/True", "2/True"], ran);
            Assert.Equal(first.Select(r => r.Test["AUC"]), again.Select(r => r.Test["AUC"]));
            Assert.Equal(cells[0].RecordDir, again[0].RunDir);   // the table points at the record, which holds test_metrics.json
            ExperimentTable.Write(grid, again);
            var csv = File.ReadAllLines(Path.Combine(grid.Output, "results.csv"));
            Assert.Contains(Path.Combine("..", "kept", "LR_toy", "seed1"), csv[1], StringComparison.Ordinal);

            // A record whose test metrics were edited no longer matches its cell file: a clear error, not a quiet number.
            var testPath = Path.Combine(cells[1].RecordDir!, TrainingRun.TestMetricsFile);
            var test = JsonSerializer.Deserialize<Dictionary<string, double>>(File.ReadAllText(testPath))!;
            test["AUC"] += 0.01;
            File.WriteAllText(testPath, JsonSerializer.Serialize(test));
            var e = Assert.Throws<DataFormatException>(() => ExperimentRunner.Finished(cells[1]));
            Assert.Contains(Path.Combine("kept", "LR_toy", "seed2", ExperimentRunner.CellFile), e.Message, StringComparison.Ordinal);
            Assert.Contains("test AUC", e.Message, StringComparison.Ordinal);

            // A record without its cell.json (an interrupted copy) does not count; the cell reruns and is recorded again.
            File.Delete(Path.Combine(cells[0].RecordDir!, ExperimentRunner.CellFile));
            Assert.Null(ExperimentRunner.Finished(cells[0]));
        }
        finally
        {
            Workers.ThreadCount = before;
        }
    }

    [Fact]
    public void A_cell_with_a_config_error_is_skipped_and_the_grid_goes_on()
    {
        var grid = ExperimentGrid.Load(Grid("experiments: [LR_toy, Broken_toy, LR_toy2]\nseeds: [1]\nfixed: {epochs: 1}\n".Replace("LR_toy2", "DCN_toy", StringComparison.Ordinal)));
        var errors = new List<string>();
        var results = ExperimentRunner.Run(grid, null, Path.Combine(tmp.Path, "cache"), _ => new Interrupting(false),
            onError: (cell, e) =>
            {
                errors.Add($"{cell.Row}: {e.Message}");
                return e is ConfigException;
            });
        Assert.Equal(["LR_toy", "DCN_toy"], results.Select(r => r.Row));
        Assert.Contains("Broken_toy: ", Assert.Single(errors), StringComparison.Ordinal);
        Assert.Contains("unknown model 'NoSuchModel'", errors[0], StringComparison.Ordinal);
        Assert.Null(ExperimentRunner.Finished(grid.Cells()[1]));
        // Without a handler the error stops the grid.
        Assert.Throws<ConfigException>(() => ExperimentRunner.Run(grid, null, Path.Combine(tmp.Path, "cache"), _ => new Interrupting(false)));
    }

    [Fact]
    public void A_tuner_space_sweeps_lists_fixes_scalars_and_takes_seed_lists_as_seeds()
    {
        var grid = Tuner.Load(tmp.File("tune.yaml", "base_config: .\nbase_expid: DCN_toy\ntuner_space:\n  embedding_dim: [2, 4]\n  learning_rate: 1.e-3\n  seed: [1, 2]\n"), null, null, Path.Combine(tmp.Path, "tune"));
        Assert.Equal(["DCN_toy"], grid.Experiments);
        Assert.Equal([1, 2], grid.Seeds);
        Assert.Equal("embedding_dim", Assert.Single(grid.Sweep).Key);
        Assert.Equal(["learning_rate=1.e-3"], grid.Fixed.Select(kv => $"{kv.Key}={kv.Value}"));
        Assert.Equal(4, grid.Cells().Count);
        var e = Assert.Throws<ConfigException>(() => Tuner.Load(tmp.File("bad.yaml", "base_expid: DCN_toy\ntuner_space:\n  net_dropuot: [0, 0.1]\n"), tmp.Path, null));
        Assert.Contains("bad.yaml:3: tuner_space.net_dropuot is not a key of experiment DCN_toy", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ConfigException>(() => Tuner.Load(tmp.File("bad2.yaml", "base_expid: DCN_toy\ntuner_space: {embedding_dim: [2]}\n"), tmp.Path, "LR_toy"));
        Assert.Contains("base_expid 'DCN_toy' differs from --expid 'LR_toy'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Trials_are_ranked_on_validation_only_never_on_test()
    {
        var grid = Tuner.Load(tmp.File("tune.yaml", "base_expid: DCN_toy\ntuner_space: {embedding_dim: [2, 4]}\n"), tmp.Path, null);
        CellResult Trial(string dim, double valid, double testAuc) =>
            new($"DCN_toy (embedding_dim={dim})", "DCN_toy", new Dictionary<string, string> { ["embedding_dim"] = dim }, 2019, "/x", "DCN",
                new Dictionary<string, double> { ["AUC"] = testAuc, ["logloss"] = 0.2 }, 3, 4, 1, valid);
        // embedding_dim 2 is better on test, 4 on validation: 4 is chosen.
        var ranked = Tuner.Rank(grid, [Trial("2", 0.70, 0.90), Trial("4", 0.75, 0.80)]);
        Assert.Equal("DCN_toy (embedding_dim=4)", ranked[0].Row);
        Assert.Equal(0.80, ranked[0].TestAuc);
        Assert.Equal("DCN_toy (embedding_dim=2)", Tuner.Rank(grid, [Trial("2", 0.70, 0.90), Trial("4", 0.75, 0.80)], maximize: false)[0].Row);
    }

    [Fact]
    public void The_chosen_trial_is_written_as_a_runnable_config_that_reproduces_it()
    {
        var before = Workers.ThreadCount;
        try
        {
            Workers.ThreadCount = 1;
            var grid = Tuner.Load(tmp.File("tune.yaml", "base_expid: DCN_toy\ntuner_space:\n  embedding_dim: [2, 6]\n  epochs: 2\n  seed: [3]\n"), tmp.Path, null, Path.Combine(tmp.Path, "tune"),
                record: Path.Combine(tmp.Path, "tune-record"));
            var cache = Path.Combine(tmp.Path, "cache");
            var results = ExperimentRunner.Run(grid, null, cache, _ => new Interrupting(false));
            // With --record the trials outlive their run directories: a new machine ranks the same trials without rerunning them.
            Directory.Delete(grid.Output, recursive: true);
            var recorded = ExperimentRunner.Run(grid, null, cache, _ => throw new InvalidOperationException("no trial may rerun"));
            Assert.Equal(results.Select(r => r.ValidMonitor), recorded.Select(r => r.ValidMonitor));
            Assert.Equal(Tuner.Rank(grid, results)[0].Row, Tuner.Rank(grid, recorded)[0].Row);
            Assert.All(results, r => Assert.True(double.IsFinite(r.ValidMonitor)));
            var best = Tuner.Rank(grid, results)[0];
            Assert.Equal(results.Max(r => r.ValidMonitor), best.ValidMonitor);
            var dir = Tuner.WriteBest(grid, best, "DCN_toy");
            var rerun = TrainingRun.Execute(new RunSpec { ConfigDir = dir, ExpId = "DCN_toy_tuned", RunDir = Path.Combine(tmp.Path, "rerun"), CacheDir = cache }, _ => new Interrupting(false));
            Assert.Equal(best.TestAuc, rerun.Test["AUC"]);
            Assert.Equal(best.TestLogloss, rerun.Test["logloss"]);
        }
        finally
        {
            Workers.ThreadCount = before;
        }
    }

    private static CellResult Cell(string row, int seed, double auc, double logloss, string model = "DCN") =>
        new(row, row, new Dictionary<string, string>(), seed, "/x", model, new Dictionary<string, double> { ["AUC"] = auc, ["logloss"] = logloss }, 3, 5, 1.5);

    [Fact]
    public void The_table_reports_mean_std_and_welch_p_values_against_the_reference_and_fsd_gains()
    {
        var grid = ExperimentGrid.Load(Grid("experiments: [LR_toy, DCN_toy]\nseeds: [1, 2, 3, 4, 5]\nsweep: {fsd: [false, true]}\nreference: DCN_toy (fsd=true)\n"));
        // The scipy golden case fsdnet_vs_dcnv2: a = treatment AUCs, b = base AUCs.
        double[] a = [0.98482, 0.98298, 0.98418, 0.98357, 0.98401], b = [0.98353, 0.98310, 0.98290, 0.98402, 0.98331];
        var cells = new List<CellResult>();
        for (var s = 0; s < 5; s++)
        {
            cells.Add(Cell("LR_toy (fsd=false)", s + 1, 0.97 + (0.001 * s), 0.2, "LR"));
            cells.Add(Cell("DCN_toy (fsd=false)", s + 1, b[s], 0.15 - (0.001 * s)));
            cells.Add(Cell("DCN_toy (fsd=true)", s + 1, a[s], 0.14 + (0.002 * s)));
        }
        var (rows, gains) = ExperimentTable.Summarize(grid, cells);
        var dcn = rows.Single(r => r.Row == "DCN_toy (fsd=false)");
        Assert.Equal(Statistics.Mean(b), dcn.AucMean, 12);
        Assert.Equal(Statistics.SampleStd(b), dcn.AucStd, 12);
        var gold = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Golden", "metrics", "stats.json"))).RootElement
            .GetProperty("welch").EnumerateArray().First(c => c.GetProperty("name").GetString() == "fsdnet_vs_dcnv2");
        Assert.Equal(gold.GetProperty("p").GetDouble(), dcn.PAuc, 9);
        Assert.True(rows.Single(r => r.Row == "DCN_toy (fsd=true)").IsReference);
        var gain = gains.Single(g => g.Base == "DCN_toy (fsd=false)");
        Assert.Equal("DCN_toy (fsd=true)", gain.Treatment);
        Assert.Equal(Statistics.Mean(a) - Statistics.Mean(b), gain.AucGain, 12);
        Assert.Equal(gold.GetProperty("p").GetDouble(), gain.PAuc, 9);
        Assert.Single(gains);   // LR has no fsd=true cells, so no pair
        var md = ExperimentTable.Markdown(grid, rows, gains, cells.Count);
        Assert.Contains($"| DCN_toy (fsd=false) | DCN | 5 | {Statistics.Mean(b):F5} ± {Statistics.SampleStd(b):F5} |", md, StringComparison.Ordinal);
        Assert.Contains("| **DCN_toy (fsd=true)** (reference) |", md, StringComparison.Ordinal);
        Assert.Contains($"| {gold.GetProperty("p").GetDouble():F4} |", md, StringComparison.Ordinal);
    }
}
