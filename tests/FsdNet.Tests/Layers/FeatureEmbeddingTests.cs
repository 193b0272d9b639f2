using FsdNet.Autodiff;
using FsdNet.Layers;
using FsdNet.Models;
using FsdNet.Tensors;
using FsdNet.Tests.Support;
using FsdNet.Training;
using Xunit;

namespace FsdNet.Tests.Layers;

/// <summary>The input layer: finite-difference gradients of every field kind, pretrained tables, sharing, errors, threads.</summary>
[Collection(ThreadingCollection.Name)]
public class FeatureEmbeddingTests
{
    // Row 2 of the golden input has categorical code 0 (padding reads row 0 but gets no gradient, which finite
    // differences cannot see), so these checks use codes without padding for the categorical field.
    private static ModelInput NoPadInput()
    {
        var x = FeatureEmbeddingParityTests.Input();
        int[] cat = [1, 5, 2, 3, 2, 4];
        return new ModelInput(6, cat, 1, x.Labels, x.Numeric, 2, x.Sequence, 7, x.Embedding, 5);
    }

    private static void Randomise(Module m, ulong seed)
    {
        var rng = new Rng(seed);
        foreach (var (_, p) in m.NamedParameters())
        {
            rng.FillNormal(p.Span, 0, 0.5);
        }
    }

    [Fact]
    public void Every_field_kind_has_finite_difference_gradients()
    {
        var layer = new FeatureEmbedding(FeatureEmbeddingParityTests.Schema(), 4, new Rng(1));
        Randomise(layer, 9);
        var x = NoPadInput();
        GradCheck.Check(g => layer.Forward(g, x), [.. layer.Parameters()]);
    }

    [Fact]
    public void Padding_gets_no_gradient_and_an_all_padding_sequence_pools_to_zero()
    {
        var layer = new FeatureEmbedding(FeatureEmbeddingParityTests.Schema(), 4, new Rng(1));
        Randomise(layer, 9);
        var tables = layer.NamedParameters().ToDictionary(p => p.Name, p => p.Value);
        tables["embedding_layer.a.weight"].Row(0).Clear();
        tables["embedding_layer.s.weight"].Row(0).Clear();
        var x = FeatureEmbeddingParityTests.Input();
        var g = new Graph();
        var y = layer.Forward(g, x);
        // Row 2: a = 0 (padding) and s is all padding: both slots are zero.
        Assert.All(y.Row(2)[..4].ToArray(), v => Assert.Equal(0f, v));
        Assert.All(y.Row(2).Slice(8, 4).ToArray(), v => Assert.Equal(0f, v));
        foreach (var p in layer.Parameters())
        {
            p.ZeroGrad();
        }
        g.Backward(g.Sum(y));
        Assert.All(tables["embedding_layer.a.weight"].GradSpan[..4].ToArray(), v => Assert.Equal(0f, v));
        Assert.All(tables["embedding_layer.s.weight"].GradSpan[..4].ToArray(), v => Assert.Equal(0f, v));
        // Code 1 of a: once as a categorical code (row 0) and four times in t's sequences (rows 0, 0, 5), each with
        // weight 1 under sum pooling: 1 + 2 + 1 = 4.
        Assert.All(tables["embedding_layer.a.weight"].GradSpan.Slice(4, 4).ToArray(), v => Assert.Equal(4f, v));
    }

    private static InputSchema PretrainedSchema(PretrainUsage usage, bool freeze, int pretrainDim, Func<(float[], bool[])> load) => new(
        [
            new InputField { Name = "item", Kind = InputKind.Categorical, Column = 0, VocabSize = 5, Pretrained = new PretrainedSpec(pretrainDim, freeze, usage, load, "test.npz") },
            new InputField { Name = "hist", Kind = InputKind.Sequence, Column = 0, VocabSize = 5, MaxLen = 3, ShareEmbedding = usage == PretrainUsage.Init && pretrainDim == 4 ? "item" : null },
        ],
        1, 0, 3, 0);

    private static (float[], bool[]) Table(int dim)
    {
        var values = new float[5 * dim];
        for (var i = dim; i < values.Length; i++)
        {
            values[i] = (i % 7) - 3;
        }
        return (values, [false, true, true, false, true]);
    }

    [Theory]
    [InlineData(nameof(PretrainUsage.Init), 6)]
    [InlineData(nameof(PretrainUsage.Sum), 6)]
    [InlineData(nameof(PretrainUsage.Sum), 4)]
    [InlineData(nameof(PretrainUsage.Concat), 6)]
    public void Pretrained_tables_load_project_combine_and_train(string usageName, int pretrainDim)
    {
        var usage = Enum.Parse<PretrainUsage>(usageName);
        var layer = new FeatureEmbedding(PretrainedSchema(usage, freeze: false, pretrainDim, () => Table(pretrainDim)), 4, new Rng(1));
        var pre = layer.NamedParameters().Single(p => p.Name.EndsWith("pretrain_embedding.weight", StringComparison.Ordinal)).Value;
        Assert.Equal(-3f + (pretrainDim % 7), pre.Row(1)[0]); // row 1 came from the file
        Assert.InRange(Math.Abs(pre.Row(3)[0]), 0f, 1e-3f);   // row 3 did not: normal(0, 1e-4)
        Assert.Equal(0f, pre.Row(0)[0]);
        Randomise(layer, 4);
        var x = new ModelInput(4, [1, 2, 4, 3], 1, sequence: [1, 2, 0, 4, 0, 0, 3, 3, 1, 2, 4, 1], sequenceWidth: 3);
        Assert.Equal(8, layer.OutFeatures);
        GradCheck.Check(g => layer.Forward(g, x), [.. layer.Parameters()]);
    }

    [Fact]
    public void A_frozen_pretrained_table_keeps_the_files_values_and_gets_no_gradient()
    {
        var layer = new FeatureEmbedding(PretrainedSchema(PretrainUsage.Init, freeze: true, 4, () => Table(4)), 4, new Rng(1));
        var pre = layer.NamedParameters().Single(p => p.Name == "embedding_layer.item.pretrain_embedding.weight").Value;
        Assert.False(pre.RequiresGrad);
        Assert.Equal(0f, pre.Row(3)[1]); // frozen: rows missing from the file are zeros (FuxiCTR)
        var g = new Graph();
        var y = layer.Forward(g, new ModelInput(2, [1, 3], 1, sequence: [1, 1, 0, 2, 0, 0], sequenceWidth: 3));
        Assert.Equal(pre.Row(1).ToArray(), y.Row(0)[..4].ToArray());
        Assert.Equal(pre.Row(1).ToArray(), y.Row(0).Slice(4, 4).ToArray()); // hist shares item's table: mean of (1, 1)
        Assert.False(y.RequiresGrad);
    }

    [Fact]
    public void Bad_schemas_are_clear_errors()
    {
        InputField Cat(string name, string? share = null) => new() { Name = name, Kind = InputKind.Categorical, Column = 0, VocabSize = 4, ShareEmbedding = share };
        var e = Assert.Throws<ArgumentException>(() => new FeatureEmbedding(new InputSchema([Cat("a", "zz")], 1, 0, 0, 0), 4, new Rng(1)));
        Assert.Contains("share_embedding 'zz' is not an input field", e.Message);
        e = Assert.Throws<ArgumentException>(() => new FeatureEmbedding(new InputSchema([Cat("a")], 1, 0, 0, 0), 1_000_000_000, new Rng(1)));
        Assert.Contains("larger than a tensor can be", e.Message);
        Assert.Contains("embedding_dim", e.Message);
        e = Assert.Throws<ArgumentException>(() => new FeatureEmbedding(new InputSchema([Cat("a")], 1, 0, 0, 0), 0, new Rng(1)));
        Assert.Contains("embedding_dim must be >= 1", e.Message);
        var seq = new InputField { Name = "h", Kind = InputKind.Sequence, Column = 0, VocabSize = 4, MaxLen = 2, Pooling = SequencePooling.None };
        e = Assert.Throws<ArgumentException>(() => new FeatureEmbedding(new InputSchema([seq], 0, 0, 2, 0), 4, new Rng(1)));
        Assert.Contains("sequence field 'h' has no pooling", e.Message);
        e = Assert.Throws<ArgumentException>(() => new InputSchema([Cat("a") with { Column = 3 }], 1, 0, 0, 0));
        Assert.Contains("column 3 is outside", e.Message);
        var layer = new FeatureEmbedding(new InputSchema([Cat("a")], 1, 0, 0, 0), 4, new Rng(1));
        e = Assert.Throws<ArgumentException>(() => layer.Forward(new Graph(), new ModelInput(2, [1, 2, 3, 1], 2)));
        Assert.Contains("2 categorical columns per row, the model was built for 1", e.Message);
        var r = Assert.Throws<ArgumentOutOfRangeException>(() => layer.Forward(new Graph(), new ModelInput(2, [1, 7], 1)));
        Assert.Contains("row 1, field 'a': code 7 is outside [0, 4)", r.Message);
    }

    [Fact]
    public void Two_threads_score_one_trained_model_at_once_exactly_as_serially()
    {
        var model = new FsdNetModel(FeatureEmbeddingParityTests.Schema(), new FsdNetOptions
        {
            EmbeddingDim = 4, NumCrossLayers = 2, ParallelDnnHiddenUnits = [16, 16], BatchNorm = true, NetDropout = 0.2f,
            Fsd = new FsdOptions(new DistillationOptions(2, 0.9, 0.01, 1.3)),
        }, new Rng(11));
        var rng = new Rng(5);
        ModelInput Random(int rows)
        {
            int[] cat = [.. Enumerable.Range(0, rows).Select(_ => rng.NextInt(6))];
            float[] num = [.. Enumerable.Range(0, rows * 2).Select(_ => (float)rng.NextDouble())];
            int[] seq = [.. Enumerable.Range(0, rows * 7).Select(i => rng.NextInt(i % 7 < 4 ? 7 : 6))];
            float[] emb = [.. Enumerable.Range(0, rows * 5).Select(_ => (float)rng.NextDouble())];
            float[] labels = [.. Enumerable.Range(0, rows).Select(i => (float)(cat[i] % 2))];
            return new ModelInput(rows, cat, 1, labels, num, 2, seq, 7, emb, 5);
        }
        var trainer = new Trainer(model, new TrainerOptions { LearningRate = 1e-2 });
        for (var s = 0; s < 5; s++)
        {
            var b = Random(64);
            trainer.TrainStep(new FsdNet.Data.Batch
            {
                Size = b.Rows, Categorical = b.Categorical, CategoricalCount = 1, Numeric = b.Numeric, NumericCount = 2,
                Sequence = b.Sequence, SequenceWidth = 7, Embedding = b.Embedding, EmbeddingWidth = 5, Labels = b.Labels,
            });
        }
        var inputs = Enumerable.Range(0, 6).Select(_ => Random(300)).ToArray();
        float[] Score(Graph g, ModelInput x)
        {
            g.Training = false;
            g.GradEnabled = false;
            g.Reset();
            return model.Predict(g, x).Span.ToArray();
        }
        var serial = inputs.Select(x => Score(new Graph(), x)).ToArray();
        var parallel = new float[inputs.Length][];
        using var start = new Barrier(2);
        var threads = Enumerable.Range(0, 2).Select(t => new Thread(() =>
        {
            var g = new Graph();
            start.SignalAndWait();
            for (var rep = 0; rep < 20; rep++)
            {
                for (var i = t; i < inputs.Length; i += 2)
                {
                    var p = Score(g, inputs[i]);
                    if (rep == 0 || !p.AsSpan().SequenceEqual(parallel[i]))
                    {
                        parallel[i] = rep == 0 ? p : [];
                    }
                }
            }
        })).ToArray();
        foreach (var t in threads)
        {
            t.Start();
        }
        foreach (var t in threads)
        {
            t.Join();
        }
        for (var i = 0; i < inputs.Length; i++)
        {
            Assert.Equal(serial[i], parallel[i]);
        }
    }

    [Fact]
    public void A_steady_state_fsdnet_step_on_every_input_type_allocates_nothing()
    {
        var model = new FsdNetModel(FeatureEmbeddingParityTests.Schema(), new FsdNetOptions
        {
            EmbeddingDim = 4, NumCrossLayers = 2, ParallelDnnHiddenUnits = [16, 16], BatchNorm = true, NetDropout = 0.2f,
            Fsd = new FsdOptions(new DistillationOptions(2, 0.9, 0.01, 1.3)),
        }, new Rng(11));
        var x = FeatureEmbeddingParityTests.Input();
        var batch = new FsdNet.Data.Batch
        {
            Size = x.Rows, Categorical = x.Categorical, CategoricalCount = 1, Numeric = x.Numeric, NumericCount = 2,
            Sequence = x.Sequence, SequenceWidth = 7, Embedding = x.Embedding, EmbeddingWidth = 5, Labels = x.Labels,
        };
        var trainer = new Trainer(model, new TrainerOptions { LearningRate = 1e-2, EmbeddingRegularizer = 0.01 });
        for (var i = 0; i < 5; i++)
        {
            trainer.TrainStep(batch);
        }
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 30; i++)
        {
            trainer.TrainStep(batch);
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
