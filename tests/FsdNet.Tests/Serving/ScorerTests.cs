using System.IO.Compression;
using FsdNet.Autodiff;
using FsdNet.Data;
using FsdNet.Layers;
using FsdNet.Models;
using FsdNet.Serving;
using FsdNet.Tensors;
using FsdNet.Tests.Data;
using FsdNet.Tests.Support;
using FsdNet.Training;
using Xunit;

namespace FsdNet.Tests.Serving;

/// <summary>The in-process scorer: parity with the training pipeline, OOV/missing counts, errors, threads, allocations, BatchNorm folding.</summary>
[Collection(ThreadingCollection.Name)]
public sealed class ScorerTests : IClassFixture<ScorerTests.Toy>
{
    private readonly ServingToy toy;

    public ScorerTests(Toy fixture) => toy = fixture.Value;

    public sealed class Toy : IDisposable
    {
        public ServingToy Value { get; } = new();

        public void Dispose() => Value.Dispose();
    }

    private static void AssertClose(float[] expected, float[] actual, double tolerance, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        var worst = 0.0;
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.True(float.IsFinite(actual[i]), $"{what}: row {i} is {actual[i]}");
            worst = Math.Max(worst, Math.Abs(expected[i] - actual[i]));
        }
        Assert.True(worst <= tolerance, $"{what}: largest difference {worst:G3} > {tolerance:G3}");
    }

    [Theory]
    [InlineData(false, 1)]
    [InlineData(false, 37)]
    [InlineData(true, 50)]
    public void Raw_rows_score_as_the_pipeline_encodes_them(bool fold, int batchSize)
    {
        var scorer = Scorer.Load(toy.RunDir, new ScorerOptions { FoldBatchNorm = fold });
        Assert.Equal(fold ? 3 : 0, scorer.FoldedBatchNorms); // the parallel tower's 3 BatchNorms
        var expected = toy.PipelinePredictions(ModelBundle.Load(toy.RunDir).Model);
        var actual = ServingToy.ScoreAll(scorer, toy.TestRows(), batchSize);
        AssertClose(expected, actual, 1e-6, $"fold {fold}, batch {batchSize}");
        Assert.True(expected.Distinct().Count() > 20, "the model scores rows differently");
    }

    [Fact]
    public void Typed_values_score_as_their_text()
    {
        var scorer = Scorer.Load(toy.RunDir);
        var rows = toy.TestRows().Take(40).ToList();
        var fromText = ServingToy.ScoreAll(scorer, rows);
        var batch = scorer.CreateBatch(rows.Count);
        foreach (var row in rows)
        {
            var r = batch.AddRow();
            batch.Set(r, "u", row["u"].AsSpan());
            if (row["b"].Length > 0)
            {
                batch.Set(r, "b", double.Parse(row["b"], System.Globalization.CultureInfo.InvariantCulture));
            }
            if (row["n"].Length > 0)
            {
                batch.Set(r, "n", (object)double.Parse(row["n"], System.Globalization.CultureInfo.InvariantCulture));
            }
            batch.Set(r, "s", (ReadOnlySpan<string>)row["s"].Split('^', StringSplitOptions.None).Where(_ => row["s"].Length > 0).ToArray());
        }
        var typed = new float[rows.Count];
        scorer.Score(batch, typed);
        Assert.Equal(fromText, typed);
        // the dictionary convenience, JSON values included
        for (var i = 0; i < 5; i++)
        {
            var dict = rows[i].ToDictionary(kv => kv.Key, kv => (object?)(kv.Value.Length == 0 ? null : kv.Value));
            // One row alone against the same row in a batch of 40: equal up to float rounding, not bit for bit (products
            // of at most 4 rows take Sgemm's dot-product path, larger ones its packed kernel, which sums in another order).
            Assert.Equal(fromText[i], scorer.Score(dict), 1e-6f);
            var json = System.Text.Json.JsonDocument.Parse(System.Text.Json.JsonSerializer.Serialize(dict)).RootElement;
            Assert.Equal(fromText[i], scorer.Score(json.EnumerateObject().ToDictionary(p => p.Name, p => (object?)p.Value)), 1e-6f);
        }
    }

    [Fact]
    public void Unseen_and_missing_values_are_counted_per_feature()
    {
        var scorer = Scorer.Load(toy.RunDir);
        var train = ServingToy.ReadCsv(toy.TrainCsv);
        var rows = toy.TestRows();
        ServingToy.ScoreAll(scorer, rows);
        ServingToy.ScoreAll(scorer, rows.Take(10).ToList());
        var scored = rows.Concat(rows.Take(10)).ToList();
        var counts = scorer.Counts().ToDictionary(c => c.Feature);
        var knownU = train.Select(r => r["u"]).ToHashSet();
        Assert.Equal(scored.Count(r => r["u"].Length == 0), counts["u"].Missing);
        Assert.Equal(scored.Count(r => r["u"].Length > 0 && !knownU.Contains(r["u"])), counts["u"].Oov);
        Assert.True(counts["u"].Oov > 0 && counts["u"].Missing > 0);
        Assert.Equal(scored.Count(r => r["n"].Length == 0), counts["n"].Missing);
        Assert.Equal(0, counts["n"].Oov);
        // sequences: OOV when a kept token (the last 3 for s, padding pre; the first 2 for t) is unseen
        Assert.Equal(scored.Count(r => r["s"].Length > 0 && r["s"].Split('^').TakeLast(3).Contains("zz")), counts["s"].Oov);
        Assert.Equal(scored.Count(r => r["s"].Length > 0 && r["s"].Split('^').Take(2).Contains("zz")), counts["t"].Oov);
        Assert.Equal(scored.Count(r => r["s"].Length == 0), counts["t"].Missing);
    }

    [Fact]
    public void Bad_fields_are_errors_naming_the_row_and_field()
    {
        var scorer = Scorer.Load(toy.RunDir);
        var batch = scorer.CreateBatch(4);
        batch.AddRow();
        var r = batch.AddRow();
        var e = Assert.Throws<ScoringException>(() => batch.Set(r, "nope", "x"));
        Assert.Equal((1, "nope"), (e.Row!.Value, e.Field));
        Assert.Contains("not an input", e.Message);
        e = Assert.Throws<ScoringException>(() => batch.Set(r, "n", "abc"));
        Assert.Equal((1, "n"), (e.Row!.Value, e.Field));
        Assert.Contains("non-numeric", e.Message);
        e = Assert.Throws<ScoringException>(() => batch.Set(r, "n", double.NaN));
        Assert.Contains("NaN/Inf", e.Message);
        e = Assert.Throws<ScoringException>(() => batch.Set(r, "u", (ReadOnlySpan<string>)["a", "b"]));
        Assert.Equal("u", e.Field);
        e = Assert.Throws<ScoringException>(() => batch.Set(r, "u", new object()));
        Assert.Contains("not supported", e.Message);
        batch.Set(r, "label", "1"); // accepted and ignored
        batch.Set(r, "s", ["k1", "zz"]);
        batch.Set(r, "s", (string?)null); // missing again
        var p = new float[2];
        e = Assert.Throws<ScoringException>(() => scorer.Score(batch, p, head: 3));
        Assert.Equal("head", e.Field);
        scorer.Score(batch, p, head: 2);
        Assert.Equal(p[0], p[1]); // two all-missing rows
        // A finite value the network cannot take (its products overflow to NaN) names the row, never a silent NaN.
        batch.Set(r, "n", 1e38);
        e = Assert.Throws<ScoringException>(() => scorer.Score(batch, p));
        Assert.Equal(1, e.Row);
        Assert.Contains("not a number", e.Message);
        batch.Set(r, "n", (string?)null);
        scorer.Score(batch, p);
        Assert.Equal(p[0], p[1]);
    }

    [Fact]
    public void Heads_score_as_the_models_own_heads()
    {
        var scorer = Scorer.Load(toy.RunDir, new ScorerOptions { FoldBatchNorm = false });
        Assert.Equal(3, scorer.HeadCount);
        var rows = toy.TestRows().Take(30).ToList();
        var model = (FsdCapableModel)ModelBundle.Load(toy.RunDir).Model;
        var batch = scorer.CreateBatch(rows.Count);
        ServingToy.Fill(batch, rows);
        var mean = new float[rows.Count];
        scorer.Score(batch, mean);
        var sum = new double[rows.Count];
        for (var k = 0; k < 3; k++)
        {
            var p = new float[rows.Count];
            scorer.Score(batch, p, k);
            for (var i = 0; i < p.Length; i++)
            {
                sum[i] += p[i];
            }
        }
        for (var i = 0; i < rows.Count; i++)
        {
            Assert.True(Math.Abs((sum[i] / 3) - mean[i]) < 1e-6, $"row {i}: mean of heads {sum[i] / 3} vs prediction {mean[i]}");
        }
        Assert.NotNull(model.HeadCount);
    }

    [Fact]
    public void Eight_threads_scoring_at_once_give_the_serial_scores()
    {
        var scorer = Scorer.Load(toy.RunDir);
        var rows = toy.TestRows();
        var serial = ServingToy.ScoreAll(scorer, rows, 16);
        var results = new float[8][];
        using var start = new Barrier(8);
        var threads = Enumerable.Range(0, 8).Select(t => new Thread(() =>
        {
            start.SignalAndWait();
            var mine = new float[rows.Count];
            for (var rep = 0; rep < 5; rep++)
            {
                mine = ServingToy.ScoreAll(scorer, rows, 1 + (t * 7 % 23), head: null);
            }
            results[t] = mine;
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        foreach (var r in results)
        {
            AssertClose(serial, r, 1e-6, "threaded");
        }
    }

    [Fact]
    public void Steady_state_scoring_allocates_nothing()
    {
        var scorer = Scorer.Load(toy.RunDir);
        var rows = toy.TestRows();
        var single = scorer.CreateBatch(1);
        var big = scorer.CreateBatch(rows.Count);
        var keys = rows[0].Keys.ToArray();
        var values = rows.Select(r => keys.Select(k => r[k]).ToArray()).ToArray();
        var p = new float[rows.Count];
        void Round()
        {
            for (var i = 0; i < 20; i++)
            {
                single.Clear();
                var r = single.AddRow();
                for (var c = 0; c < keys.Length; c++)
                {
                    single.Set(r, keys[c], values[i][c].AsSpan());
                }
                scorer.Score(single, p, i % 2 == 0 ? null : 1);
            }
            big.Clear();
            for (var i = 0; i < values.Length; i++)
            {
                var r = big.AddRow();
                for (var c = 0; c < keys.Length; c++)
                {
                    big.Set(r, keys[c], values[i][c]);
                }
                big.Set(r, "n", 0.25);
            }
            scorer.Score(big, p);
            scorer.Score(big, p, 0);
        }
        for (var w = 0; w < 30; w++)
        {
            Round();
        }
        var thread = GC.GetAllocatedBytesForCurrentThread();
        var workers = Workers.WorkerAllocatedBytes();
        for (var w = 0; w < 10; w++)
        {
            Round();
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - thread);
        Assert.Equal(0, Workers.WorkerAllocatedBytes() - workers);
    }

    [Fact]
    public void Folded_BatchNorm_scores_agree_with_unfolded_and_the_bundle_is_untouched()
    {
        var bundle = ModelBundle.Load(toy.RunDir);
        var running = bundle.Model.State().Where(s => s.Name.EndsWith("running_mean", StringComparison.Ordinal)).ToList();
        Assert.Equal(3, running.Count);
        Assert.Contains(running, s => s.Value.ToArray().Any(v => Math.Abs(v) > 1e-3)); // trained: non-trivial statistics
        var before = bundle.Model.State().Select(s => s.Value.ToArray()).ToList();
        var folded = Scorer.Create(bundle);
        var unfolded = Scorer.Create(bundle, new ScorerOptions { FoldBatchNorm = false });
        Assert.Equal(3, folded.FoldedBatchNorms);
        Assert.Equal(0, unfolded.FoldedBatchNorms);
        var rows = toy.TestRows();
        var a = ServingToy.ScoreAll(folded, rows);
        var b = ServingToy.ScoreAll(unfolded, rows);
        AssertClose(b, a, 1e-6, "folded vs unfolded");
        Assert.NotEqual(a, b); // folding did change the arithmetic
        for (var k = 0; k < 3; k++)
        {
            AssertClose(ServingToy.ScoreAll(unfolded, rows, head: k), ServingToy.ScoreAll(folded, rows, head: k), 1e-6, $"head {k}");
        }
        var after = bundle.Model.State().Select(s => s.Value.ToArray()).ToList();
        Assert.Equal(before, after);
    }

    [DataFact("frappe")]
    public void Frappe_test_rows_score_as_the_pipeline_encodes_them()
    {
        using var tmp = new TempDir();
        using var data = DataPipeline.Prepare("frappe", SharedData.Root, new DataOptions { CacheDir = tmp.Sub("cache") });
        var cfg = ModelConfig.Parse(ServingToy.ModelYaml.Replace("dataset_id: toy", "dataset_id: frappe", StringComparison.Ordinal), "m.yaml", "exp");
        var model = ModelRegistry.Create(ModelInputs.Schema(data.FeatureMap, cfg), cfg, new Rng(3));
        var trainer = new Trainer(model, TrainerOptions.From(cfg));
        var loader = new BatchLoader(data.Train, new BatchLoaderOptions { BatchSize = 256, Shuffle = true });
        var b = loader.CreateBatch();
        loader.StartEpoch(0);
        for (var s = 0; s < 30 && loader.Next(b); s++)
        {
            trainer.TrainStep(b);
        }
        var run = tmp.Sub("run");
        ModelBundle.Save(run, model, data.FeatureMap, cfg);
        var expected = Predictor.PredictAll(model, new Graph(), data.Test!, 1000).Predictions;
        var scorer = Scorer.Load(run);
        var names = data.FeatureMap.SourceColumns!;
        var batch = scorer.CreateBatch(1000);
        var actual = new float[expected.Length];
        var n = 0;
        using var reader = new StreamReader(new GZipStream(File.OpenRead(Path.Combine(SharedData.Dir("frappe"), "frappe.test.libfm.gz")), CompressionMode.Decompress));
        while (reader.ReadLine() is { } line)
        {
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }
            var r = batch.AddRow();
            var items = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            for (var i = 1; i < items.Length; i++)
            {
                var token = items[i].AsSpan();
                batch.Set(r, names[i], token[..token.IndexOf(':')]);
            }
            if (batch.Count == batch.Capacity)
            {
                scorer.Score(batch, actual.AsSpan(n));
                n += batch.Count;
                batch.Clear();
            }
        }
        scorer.Score(batch, actual.AsSpan(n));
        n += batch.Count;
        Assert.Equal(expected.Length, n);
        AssertClose(expected, actual, 1e-6, "frappe test");
    }
}
