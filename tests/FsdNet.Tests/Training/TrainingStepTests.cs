using FsdNet.Autodiff;
using FsdNet.Layers;
using FsdNet.Tensors;
using FsdNet.Tests.Support;
using FsdNet.Training;
using Xunit;

namespace FsdNet.Tests.Training;

/// <summary>Whole training steps: determinism for a fixed seed and thread count, and no steady-state allocation.</summary>
[Collection(ThreadingCollection.Name)]
public class TrainingStepTests
{
    /// <summary>Embedding -> MLP (BatchNorm, dropout) -> logit, BCE, L2 on the tables, clipping and Adam.</summary>
    private sealed class TinyCtr
    {
        private readonly FeatureEmbedding embedding;
        private readonly MlpBlock mlp;
        private readonly Adam adam;
        private readonly Graph graph;
        private readonly int[] codes;
        private readonly Tensor labels;
        private readonly int rows;

        public TinyCtr(ulong seed, int rows = 256)
        {
            var rng = new Rng(seed);
            this.rows = rows;
            embedding = new FeatureEmbedding(InputSchema.Categorical(("a", 50), ("b", 30), ("c", 7)), 8, rng);
            mlp = new MlpBlock(24, [64, 64], Activation.Relu, 0.2f, batchNorm: true, rng, outputDim: 1);
            adam = new Adam([.. embedding.Parameters(), .. mlp.Parameters()], 1e-2);
            graph = new Graph { Random = Rng.Derive(seed, 1) };
            codes = new int[rows * 3];
            labels = new Tensor(rows);
            var data = new Rng(seed + 100);
            for (var r = 0; r < rows; r++)
            {
                codes[3 * r] = data.NextInt(50);
                codes[(3 * r) + 1] = data.NextInt(30);
                codes[(3 * r) + 2] = data.NextInt(7);
                labels[r] = (codes[3 * r] + codes[(3 * r) + 2]) % 3 == 0 ? 1f : 0f;
            }
        }

        public IReadOnlyList<Parameter> Parameters => adam.Parameters;

        public float Step()
        {
            var g = graph;
            g.Reset();
            adam.ZeroGrad();
            var x = embedding.Forward(g, new ModelInput(rows, codes, 3));
            var logits = mlp.Forward(g, x);
            var loss = g.BceWithLogits(logits, labels);
            g.Backward(loss);
            Regularizer.ApplyL2(embedding.Parameters(), 1e-3);
            GradClip.ClipGradNorm(adam.Parameters, 10);
            adam.Step();
            return loss.Span[0];
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Same_seed_and_thread_count_give_bit_identical_parameters(int threads)
    {
        var before = Workers.ThreadCount;
        try
        {
            Workers.ThreadCount = threads;
            var a = new TinyCtr(7, rows: 1500);
            var b = new TinyCtr(7, rows: 1500);
            var first = a.Step();
            for (var i = 1; i < 20; i++)
            {
                a.Step();
            }
            for (var i = 0; i < 20; i++)
            {
                b.Step();
            }
            for (var p = 0; p < a.Parameters.Count; p++)
            {
                Assert.True(
                    a.Parameters[p].Span.SequenceEqual(b.Parameters[p].Span),
                    $"parameter {a.Parameters[p].Name} differs between two runs with the same seed");
            }
            // The runs did train: the loss moved and a different seed gives different parameters.
            Assert.NotEqual(first, a.Step());
            var c = new TinyCtr(8, rows: 1500);
            c.Step();
            Assert.False(a.Parameters[0].Span.SequenceEqual(c.Parameters[0].Span));
        }
        finally
        {
            Workers.ThreadCount = before;
        }
    }

    [Fact]
    public void Training_learns_a_simple_rule()
    {
        var model = new TinyCtr(3);
        var first = model.Step();
        float last = 0;
        for (var i = 0; i < 150; i++)
        {
            last = model.Step();
        }
        Assert.True(last < first * 0.5, $"loss went from {first} to {last}");
    }

    [Fact]
    public void Steady_state_steps_allocate_almost_nothing()
    {
        var model = new TinyCtr(11, rows: 2048);
        for (var i = 0; i < 5; i++)
        {
            model.Step();
        }
        const int steps = 50;
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < steps; i++)
        {
            model.Step();
        }
        var perStep = (GC.GetAllocatedBytesForCurrentThread() - before) / (double)steps;
        Assert.True(perStep <= 1024, $"{perStep:F0} bytes allocated per training step (budget 1 KB)");
    }
}
