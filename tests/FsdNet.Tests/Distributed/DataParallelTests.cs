using System.Globalization;
using System.Text;
using FsdNet.Autodiff;
using FsdNet.Data;
using FsdNet.Distributed;
using FsdNet.Models;
using FsdNet.Tensors;
using FsdNet.Tests.Data;
using FsdNet.Tests.Support;
using FsdNet.Training;
using Xunit;

namespace FsdNet.Tests.Distributed;

/// <summary>
/// The parts of data-parallel training that need no MPI: how a global batch is split over ranks, a rank's part of a
/// scoring pass, dropout masks keyed by the global row, and what a multi-rank trainer refuses.
/// </summary>
public sealed class DataParallelTests : IDisposable
{
    private readonly TempDir tmp = new();

    public void Dispose() => tmp.Dispose();

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void The_ranks_slices_of_each_global_batch_are_the_one_process_batch_in_order(int ranks)
    {
        using var data = Tiny(250);
        var one = Rows(data, new BatchLoaderOptions { BatchSize = 100, Shuffle = true, Seed = 4 });
        var slices = Enumerable.Range(0, ranks)
            .Select(r => Rows(data, new BatchLoaderOptions { BatchSize = 100, Shuffle = true, Seed = 4, Slice = (r, ranks) }))
            .ToList();
        Assert.Equal(3, one.Count);
        for (var b = 0; b < one.Count; b++)
        {
            Assert.Equal(one[b].Rows, slices.SelectMany(s => s[b].Rows));
            var start = 0;
            foreach (var s in slices)
            {
                Assert.Equal(start, s[b].SliceStart);
                Assert.Equal(one[b].Rows.Length, s[b].Global);
                start += s[b].Rows.Length;
            }
            // Nearly equal parts: no rank has more than one row more than another.
            Assert.True(slices.Max(s => s[b].Rows.Length) - slices.Min(s => s[b].Rows.Length) <= 1);
        }
    }

    [Fact]
    public void A_last_batch_with_fewer_rows_than_ranks_is_a_clear_error()
    {
        using var data = Tiny(202);   // batches of 100, 100 and 2 rows
        var loader = new BatchLoader(data.Train, new BatchLoaderOptions { BatchSize = 100, Slice = (2, 3) });
        var batch = loader.CreateBatch();
        Assert.True(loader.Next(batch));
        Assert.True(loader.Next(batch));
        var e = Assert.Throws<InvalidOperationException>(() => loader.Next(batch));
        Assert.Contains("a batch of 2 rows cannot be split over 3 ranks", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_row_range_reads_only_those_rows_in_order()
    {
        using var data = Tiny(250);
        var part = Rows(data, new BatchLoaderOptions { BatchSize = 40, Rows = (70, 95) });
        Assert.Equal(Enumerable.Range(70, 95).Select(i => (long)i), part.SelectMany(b => b.Rows));
        Assert.Throws<ArgumentException>(() => new BatchLoader(data.Train, new BatchLoaderOptions { Rows = (200, 51) }));
        Assert.Throws<ArgumentException>(() => new BatchLoader(data.Train, new BatchLoaderOptions { Rows = (0, 10), Shuffle = true }));
    }

    [Fact]
    public void Dropout_on_a_slice_with_its_row_offset_draws_the_whole_batchs_masks_for_those_rows()
    {
        var x = new Tensor(12, 37);
        new Rng(1).FillNormal(x.Span, 0, 1);
        var whole = new Graph { Random = new Rng(7) }.Dropout(x, 0.5f).Span.ToArray();
        var slice = new Tensor(5, 37);
        x.Span.Slice(4 * 37, 5 * 37).CopyTo(slice.Span);
        var part = new Graph { Random = new Rng(7), RowOffset = 4 }.Dropout(slice, 0.5f).Span.ToArray();
        Assert.Equal(whole.AsSpan(4 * 37, 5 * 37).ToArray(), part);
        var unshifted = new Graph { Random = new Rng(7) }.Dropout(slice, 0.5f).Span.ToArray();
        Assert.NotEqual(part, unshifted);   // without the offset a rank would repeat rank 0's masks
    }

    [Fact]
    public void Attention_dropout_on_a_slice_with_its_row_offset_matches_the_whole_batch()
    {
        const int fields = 3, width = 8, samples = 6;
        Tensor Make(int seed)
        {
            var t = new Tensor(samples * fields, width);
            new Rng((ulong)seed).FillNormal(t.Span, 0, 1);
            return t;
        }
        Tensor Rows(Tensor t, int first, int count)
        {
            var s = new Tensor(count * fields, width);
            t.Span.Slice(first * fields * width, count * fields * width).CopyTo(s.Span);
            return s;
        }
        var (q, k, v) = (Make(1), Make(2), Make(3));
        var whole = new Graph { Random = new Rng(5) }.SelfAttention(q, k, v, fields, 2, 0.5f, 0.4f).Span.ToArray();
        var part = new Graph { Random = new Rng(5), RowOffset = 2 }.SelfAttention(Rows(q, 2, 4), Rows(k, 2, 4), Rows(v, 2, 4), fields, 2, 0.5f, 0.4f).Span.ToArray();
        Assert.Equal(whole.AsSpan(2 * fields * width, 4 * fields * width).ToArray(), part);
    }

    [Fact]
    public void Synchronised_batchnorm_relu_dropout_on_a_slice_matches_those_rows_of_the_whole_batch()
    {
        // The batch is [X; X] and this rank holds the second X: a peer with the same rows (Mirror doubles every sum)
        // makes the synchronised statistics those of the whole batch, and the dropout masks are those of rows n..2n.
        const int n = 6, cols = 20;
        var half = new Tensor(n, cols);
        new Rng(2).FillNormal(half.Span, 1, 2);
        var both = new Tensor(2 * n, cols);
        half.Span.CopyTo(both.Span);
        half.Span.CopyTo(both.Span[(n * cols)..]);
        float[] Run(Graph g, Tensor x)
        {
            var gamma = new Tensor(cols);
            var beta = new Tensor(cols);
            gamma.Span.Fill(1.5f);
            beta.Span.Fill(0.1f);
            var (rm, rv) = (new Tensor(cols), new Tensor(cols));
            rv.Span.Fill(1f);
            return g.BatchNormReluDropout(x, gamma, beta, rm, rv, 0.1f, 1e-5f, 0.3f).Span.ToArray();
        }
        var whole = Run(new Graph { Random = new Rng(8), GradEnabled = false }, both);
        var part = Run(new Graph { Random = new Rng(8), GradEnabled = false, RowOffset = n, GlobalRows = 2 * n, BatchSync = new Mirror() }, half);
        var expected = whole.AsSpan(n * cols).ToArray();
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - part[i]) <= 1e-5f * (1 + Math.Abs(expected[i])), $"[{i}] {part[i]} vs {expected[i]}");
        }
    }

    [Fact]
    public void Lazy_embedding_updates_on_several_ranks_shard_every_lookup_table_and_refuse_replicated_ones()
    {
        using var data = Tiny(64);
        CtrModel Model(ModelConfig c) => ModelRegistry.Create(ModelInputs.Schema(data.FeatureMap, c), c, new Rng(1));
        static ModelConfig Config(string sharding) => ModelConfig.Parse($"""
            exp:
              model: DNN
              embedding_dim: 4
              hidden_units: [8]
              batch_size: 10000
              lazy_embedding_updates: True
              embedding_sharding: {sharding}
            """, "test.yaml", "exp");
        var replicate = Config("replicate");
        var e = Assert.Throws<ConfigException>(() => new Trainer(Model(replicate), TrainerOptions.From(replicate), null, new Mirror()));
        Assert.Contains("lazy_embedding_updates: true with 2 ranks needs row-sharded tables", e.Message, StringComparison.Ordinal);
        Assert.Contains("embedding_sharding", e.Message, StringComparison.Ordinal);
        // auto would replicate the 8-row table (a batch of 10,000 looks up more rows than it has); lazy updates shard it.
        var auto = Config("auto");
        var messages = new List<string>();
        var trainer = new Trainer(Model(auto), TrainerOptions.From(auto), new Messages(messages), new Mirror());
        Assert.Equal(1, trainer.ShardedTableCount);
        Assert.Contains(messages, m => m.Contains("every lookup table with at least 2 rows is row-sharded", StringComparison.Ordinal));
    }

    private sealed class Messages(List<string> into) : ITrainingObserver
    {
        public void OnMessage(string message) => into.Add(message);
    }

    [Fact]
    public void A_last_batch_too_small_for_the_ranks_is_refused_before_the_first_epoch()
    {
        using var data = Tiny(201);   // batches of 100, 100 and 1 row, over 2 ranks
        var cfg = ModelConfig.Parse("""
            exp:
              model: DNN
              embedding_dim: 4
              hidden_units: [8]
              batch_size: 100
            """, "test.yaml", "exp");
        var model = ModelRegistry.Create(ModelInputs.Schema(data.FeatureMap, cfg), cfg, new Rng(1));
        var trainer = new Trainer(model, TrainerOptions.From(cfg), null, new Mirror());
        var e = Assert.Throws<ConfigException>(() => trainer.Fit(data.Train, data.Train));
        Assert.Contains("the last batch of each epoch has 1 rows (201 train rows in batches of 100), fewer than the 2 ranks", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(10, 3)]
    [InlineData(2, 5)]
    [InlineData(0, 2)]
    public void Parts_cover_the_rows_once_in_order(int total, int size)
    {
        var next = 0;
        for (var r = 0; r < size; r++)
        {
            var (start, count) = Communicator.Part(total, r, size);
            Assert.Equal(next, start);
            next += count;
        }
        Assert.Equal(total, next);
    }

    private static List<(long[] Rows, int SliceStart, int Global)> Rows(PreparedData data, BatchLoaderOptions options)
    {
        var loader = new BatchLoader(data.Train, options);
        var batch = loader.CreateBatch();
        var all = new List<(long[], int, int)>();
        loader.StartEpoch(1);
        while (loader.Next(batch))
        {
            all.Add((batch.RowIds[..batch.Size], batch.SliceStart, batch.GlobalSize));
        }
        return all;
    }

    private PreparedData Tiny(int rows)
    {
        var sb = new StringBuilder("label,a,x\n");
        for (var i = 0; i < rows; i++)
        {
            sb.Append(CultureInfo.InvariantCulture, $"{i % 2},a{i % 7},{i * 0.01:F2}\n");
        }
        tmp.File("train.csv", sb.ToString());
        return Helpers.PrepareYaml(tmp, """
            tiny:
              data_format: csv
              train_data: train.csv
              min_categr_count: 1
              feature_cols:
                - {name: a, active: True, dtype: str, type: categorical}
                - {name: x, active: True, dtype: float, type: numeric}
              label_col: {name: label, dtype: float}
            """);
    }

    /// <summary>Two ranks where the peer holds the same values: every sum doubles (collectives the tests above need only).</summary>
    private sealed class Mirror() : RankOnly(1, 2)
    {
        public override string Description => "mirror";

        public override void AllReduceSum(Span<float> values)
        {
            foreach (ref var v in values)
            {
                v *= 2;
            }
        }

        public override void AllGatherV<T>(ReadOnlySpan<T> mine, Span<T> all, ReadOnlySpan<int> counts)
        {
            mine.CopyTo(all);
            mine.CopyTo(all[mine.Length..]);
        }

        public override void Barrier()
        {
        }

        protected override Communicator DuplicateCore() => new Mirror();
    }
}
