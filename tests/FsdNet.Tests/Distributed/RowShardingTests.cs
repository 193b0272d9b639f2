using FsdNet.Autodiff;
using FsdNet.Distributed;
using FsdNet.Layers;
using FsdNet.Tensors;
using FsdNet.Training;
using FsdNet.Tests.Support;
using Xunit;

namespace FsdNet.Tests.Distributed;

/// <summary>
/// The parts of row-sharded tables that need no MPI: which tables auto shards, the tables and columns the input layer
/// exposes, re-partitioning rows between rank counts (what a resume does) and the config key. The exchange itself
/// runs under mpirun in <see cref="MpiTests"/>.
/// </summary>
public sealed class RowShardingTests
{
    [Theory]
    [InlineData(3, 1)]
    [InlineData(3, 2)]
    [InlineData(2, 3)]
    [InlineData(1, 4)]
    [InlineData(5, 1)]
    public void Repartition_moves_rows_between_rank_counts_and_back_to_the_whole_table(int from, int to)
    {
        const int vocab = 23, dim = 3;
        var whole = Enumerable.Range(0, vocab * dim).Select(i => i * 0.5f).ToArray();
        var shards = Enumerable.Range(0, from).Select(q => (RowShardedTables.Repartition([(whole, 0, 1)], vocab, dim, q, from), q, from)).ToArray();
        for (var q = 0; q < from; q++)
        {
            // Rank q of `from` holds ids q, q + from, ... in that order.
            var expected = Enumerable.Range(0, vocab).Where(i => i % from == q).SelectMany(i => whole.AsSpan(i * dim, dim).ToArray()).ToArray();
            Assert.Equal(expected, shards[q].Item1);
            Assert.Equal(RowShardedTables.OwnedRows(vocab, q, from) * dim, shards[q].Item1.Length);
        }
        var moved = Enumerable.Range(0, to).Select(r => (RowShardedTables.Repartition(shards, vocab, dim, r, to), r, to)).ToArray();
        for (var r = 0; r < to; r++)
        {
            Assert.Equal(RowShardedTables.Repartition([(whole, 0, 1)], vocab, dim, r, to), moved[r].Item1);
        }
        Assert.Equal(whole, RowShardedTables.Repartition(moved, vocab, dim, 0, 1));
    }

    [Fact]
    public void A_shard_file_is_skipped_exactly_when_it_holds_no_row_the_rank_owns_now()
    {
        // A resume reads only the shard files that hold some of its rows: on the same rank count its own file alone.
        for (var from = 1; from <= 6; from++)
        {
            for (var to = 1; to <= 6; to++)
            {
                for (var q = 0; q < from; q++)
                {
                    for (var r = 0; r < to; r++)
                    {
                        var holds = Enumerable.Range(0, from * to).Any(id => id % from == q && id % to == r);
                        Assert.True(holds == RowShardedTables.Overlaps(q, from, r, to), $"file {q} of {from}, rank {r} of {to}");
                    }
                }
            }
            for (var r = 0; r < from; r++)
            {
                Assert.Equal([r], Enumerable.Range(0, from).Where(q => RowShardedTables.Overlaps(q, from, r, from)));
            }
        }
    }

    [Theory]
    [InlineData("auto", 50_000, 1, 4096, 2, true)]     // a Criteo-size table: a batch touches a fraction
    [InlineData("auto", 4_000, 1, 4096, 2, false)]     // smaller than a batch's lookups: replicated
    [InlineData("auto", 50_000, 20, 4096, 2, false)]   // a sequence of 20 tokens reads 81,920 ids a batch
    [InlineData("row", 4_000, 1, 4096, 2, true)]
    [InlineData("row", 3, 1, 4096, 4, false)]          // fewer rows than ranks: a rank would own none
    [InlineData("replicate", 50_000_000, 1, 4096, 8, false)]
    public void Auto_shards_the_tables_a_global_batch_cannot_touch_whole(string mode, int rows, int lookups, int batch, int ranks, bool sharded) =>
        Assert.Equal(sharded, RowShardedTables.Chosen(Enum.Parse<EmbeddingSharding>(mode, ignoreCase: true), rows, lookups, batch, ranks));

    [Fact]
    public void Deferred_tables_give_each_rank_the_rows_of_the_drawn_table_and_later_draws_are_unchanged()
    {
        // Two categorical fields and a numeric one (its weight is drawn between the tables), then a Linear after the
        // layer: the generator must leave the deferred layer where it leaves the drawn one.
        var schema = new InputSchema(
            [
                new InputField { Name = "a", Kind = InputKind.Categorical, Column = 0, VocabSize = 1001 },
                new InputField { Name = "x", Kind = InputKind.Numeric, Column = 0 },
                new InputField { Name = "b", Kind = InputKind.Categorical, Column = 1, VocabSize = 37 },
            ], 2, 1, 0, 0);
        (FeatureEmbedding Layer, Linear Next) Build(bool deferred)
        {
            var rng = new Rng(7);
            var layer = new FeatureEmbedding(schema.WithDeferredTables(deferred), 8, rng);
            return (layer, new Linear(24, 5, rng));
        }
        var (whole, wholeNext) = Build(false);
        var tables = whole.LookupTables().Select(t => t.Table).ToArray();
        Assert.Equal(2, tables.Length);
        var (deferred, deferredNext) = Build(true);
        Assert.Equal(wholeNext.Weight.Span.ToArray(), deferredNext.Weight.Span.ToArray());
        Assert.All(deferred.LookupTables(), t => Assert.True(t.Table.Deferred is not null && t.Table.Array.Length == 0));
        Assert.Equal(whole.Parameters().Single(p => p.Shape.D0 == 1).Span.ToArray(), deferred.Parameters().Single(p => p.Shape.D0 == 1).Span.ToArray());

        const int ranks = 3;
        for (var r = 0; r < ranks; r++)
        {
            var (layer, _) = Build(true);   // each rank builds its own model
            var sharded = RowShardedTables.Create([layer], new RankOnly(r, ranks), EmbeddingSharding.Row, 4, [.. layer.State()])!;
            for (var k = 0; k < tables.Length; k++)
            {
                var (vocab, dim) = (tables[k].Shape.D0, tables[k].Shape.D1);
                Assert.Equal(RowShardedTables.Repartition([(tables[k].Span.ToArray(), 0, 1)], vocab, dim, r, ranks), sharded.Shards[k].Span.ToArray());
            }
            Assert.All(layer.LookupTables(), t => Assert.Null(t.Table.Deferred));   // the working tables have storage
        }
        // Drawn whole later (a table the trainer does not shard): the drawn table's values, padding row 0 zero.
        var late = Build(true).Layer.LookupTables().Select(t => t.Table).ToArray();
        for (var k = 0; k < tables.Length; k++)
        {
            late[k].Materialize();
            Assert.Equal(tables[k].Span.ToArray(), late[k].Span.ToArray());
            Assert.Equal(tables[k].Length, late[k].GradSpan.Length);
        }
        Assert.All(tables[0].Row(0).ToArray(), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void A_rank_of_four_allocates_its_quarter_of_a_two_million_row_deferred_table_never_the_whole()
    {
        // 2,000,001 x 16 floats: 128 MB of values and 128 MB of gradient if drawn whole. Rank 1 of 4 keeps 500,000
        // rows (32 MB, and 32 MB of gradient for its shard) plus a working table of a batch's rows.
        var schema = InputSchema.Categorical(("big", 2_000_001)).WithDeferredTables(true);
        var before = GC.GetAllocatedBytesForCurrentThread();
        var layer = new FeatureEmbedding(schema, 16, new Rng(3));
        var sharded = RowShardedTables.Create([layer], new RankOnly(1, 4), EmbeddingSharding.Row, 1000, [.. layer.State()])!;
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(500_000, sharded.Shards[0].Shape.D0);
        Assert.InRange(allocated, 64_000_000L, 72L << 20);
    }

    [Fact]
    public void The_input_layer_names_each_lookup_table_once_with_every_column_and_sequence_slot_that_reads_it()
    {
        var schema = new InputSchema(
            [
                new InputField { Name = "a", Kind = InputKind.Categorical, Column = 0, VocabSize = 9 },
                new InputField { Name = "x", Kind = InputKind.Numeric, Column = 0 },
                new InputField { Name = "b", Kind = InputKind.Categorical, Column = 1, VocabSize = 5 },
                new InputField { Name = "s", Kind = InputKind.Sequence, Column = 2, VocabSize = 9, MaxLen = 4, ShareEmbedding = "a" },
                new InputField { Name = "c", Kind = InputKind.Categorical, Column = 2, VocabSize = 4, ShareEmbedding = "b" },
            ],
            3, 1, 6, 0);
        var layer = new FeatureEmbedding(schema, 4, new Rng(1));
        var tables = layer.LookupTables().ToList();
        Assert.Equal(2, tables.Count);   // a's (read by s too) and b's (read by c too); the numeric vector is none
        Assert.Equal(new Shape(9, 4), tables[0].Table.Shape);
        Assert.Equal([0], tables[0].Codes);
        Assert.Equal([(2, 4)], tables[0].Sequences);
        Assert.Equal(new Shape(5, 4), tables[1].Table.Shape);
        Assert.Equal([1, 2], tables[1].Codes);
        Assert.Empty(tables[1].Sequences);
    }

    [Fact]
    public void Row_sharding_in_one_process_says_it_has_no_effect_and_shards_nothing()
    {
        var cfg = ModelConfig.Parse("exp:\n  model: DNN\n  embedding_dim: 4\n  hidden_units: [8]\n  embedding_sharding: row\n", "test.yaml", "exp");
        var schema = InputSchema.Categorical(("a", 50), ("b", 9));
        var model = FsdNet.Models.ModelRegistry.Create(schema, cfg, new Rng(1));
        var messages = new List<string>();
        var trainer = new Trainer(model, TrainerOptions.From(cfg), new Messages(messages), Communicator.Single);
        Assert.Equal(0, trainer.ShardedTableCount);
        Assert.Contains(messages, m => m.Contains("embedding_sharding: row has no effect in a one-process run", StringComparison.Ordinal));
        Assert.Equal(new Shape(50, 4), model.Parameters().First(p => p.Kind == ParameterKind.Embedding).Shape);   // the table stays whole
    }

    private sealed class Messages(List<string> into) : ITrainingObserver
    {
        public void OnMessage(string message) => into.Add(message);
    }

    [Fact]
    public void Embedding_sharding_takes_auto_replicate_or_row_and_names_the_key_otherwise()
    {
        static TrainerOptions Options(string value) => TrainerOptions.From(ModelConfig.Parse($"exp:\n  model: DNN\n  embedding_sharding: {value}\n", "test.yaml", "exp"));
        Assert.Equal(EmbeddingSharding.Auto, TrainerOptions.From(ModelConfig.Parse("exp:\n  model: DNN\n", "test.yaml", "exp")).EmbeddingSharding);
        Assert.Equal(EmbeddingSharding.Row, Options("row").EmbeddingSharding);
        Assert.Equal(EmbeddingSharding.Replicate, Options("replicate").EmbeddingSharding);
        var e = Assert.Throws<ConfigException>(() => Options("columns"));
        Assert.Contains("test.yaml", e.Message, StringComparison.Ordinal);
        Assert.Contains("embedding_sharding must be auto, replicate or row, got 'columns'", e.Message, StringComparison.Ordinal);
    }
}
