using FsdNet.Autodiff;
using FsdNet.Layers;
using FsdNet.Tensors;
using FsdNet.Tests.Support;
using Xunit;
using static FsdNet.Tests.Support.GradCheck;

namespace FsdNet.Tests.Autodiff;

/// <summary>
/// Ops on tensors large enough to be split over threads: gradient checks on the parallel paths, and the same
/// results with 1 and 2 threads (dropout masks bit-identical; reductions equal up to summation order).
/// </summary>
[Collection(ThreadingCollection.Name)]
public class ParallelPathTests
{
    private const int Rows = 2048;
    private const int Cols = 48;   // 98,304 elements: above the parallel grain

    [Fact]
    public void Gradient_checks_on_split_tensors()
    {
        var before = Workers.ThreadCount;
        try
        {
            Workers.ThreadCount = 2;
            var x = Param("x", new Shape(Rows, Cols), 1, avoidZero: 0.05);
            var b = Param("b", new Shape(Rows, Cols), 2);
            var gamma = Param("gamma", new Shape(Cols), 3);
            var beta = Param("beta", new Shape(Cols), 4);
            var rm = new Tensor(Cols);
            var rv = new Tensor(Cols);
            rv.Span.Fill(1);
            Check(g => g.Mul(g.Relu(x), g.Sigmoid(b)), [x, b], maxPerInput: 20);
            Check(g => g.Sub(g.Tanh(x), g.LogSigmoid(g.Affine(b, 2f, 1f))), [x, b], maxPerInput: 20);
            Check(g => g.Dropout(x, 0.3f), [x], reseed: g => g.Random = new Rng(5), maxPerInput: 20);
            Check(g => g.BatchNorm(x, gamma, beta, rm, rv), [x, gamma, beta], eps: 5e-3, maxPerInput: 20);
            // x only: a step in gamma or beta moves a whole column across ReLU's kink in many of the 2048 rows, so
            // finite differences there are noise (the small check in GradientCheckTests covers them; the bit-for-bit
            // test below ties the fused op to BatchNorm, Relu and Dropout at this size).
            Check(g => g.BatchNormReluDropout(x, gamma, beta, rm, rv, 0.1f, 1e-5f, 0.3f), [x], eps: 5e-3, maxPerInput: 20, reseed: g => g.Random = new Rng(5));
            Check(g => g.Mean(g.Mul(x, x)), [x], maxPerInput: 20);
            Check(g => g.MeanSquaredError(x, b), [x, b], maxPerInput: 20);
            Check(g => g.AddRow(g.MulRow(x, gamma), beta), [x, gamma, beta], maxPerInput: 20);
        }
        finally
        {
            Workers.ThreadCount = before;
        }
    }

    [Fact]
    public void One_and_two_threads_agree()
    {
        var before = Workers.ThreadCount;
        try
        {
            var one = Run(1);
            var two = Run(2);
            Assert.Equal(one.Dropped, two.Dropped);                    // the dropout mask does not depend on threads
            for (var i = 0; i < one.Values.Length; i++)
            {
                Assert.Equal(one.Values[i], two.Values[i], Math.Max(1e-5 * Math.Abs(one.Values[i]), 1e-6));
            }
        }
        finally
        {
            Workers.ThreadCount = before;
        }
    }

    [Fact]
    public void Dropout_drops_the_requested_fraction_and_scales_the_rest()
    {
        var g = new Graph { Random = new Rng(3) };
        var x = new Tensor(Rows, Cols);
        x.Span.Fill(1f);
        var y = g.Dropout(x, 0.7f).Span;
        var kept = 0;
        foreach (var v in y)
        {
            Assert.True(v == 0f || Math.Abs(v - (1f / 0.3f)) < 1e-6, $"value {v}");
            kept += v == 0f ? 0 : 1;
        }
        Assert.Equal(0.3, kept / (double)y.Length, 0.01);
        var again = g.Dropout(x, 0.7f).Span;      // the next call draws another mask
        Assert.False(again.SequenceEqual(y));
    }

    private static (float[] Values, int Dropped) Run(int threads)
    {
        Workers.ThreadCount = threads;
        var rng = new Rng(9);
        var layer = new DenseLayer(Cols, 40, Activation.Relu, 0.5f, batchNorm: true, rng);
        var x = Param("x", new Shape(Rows, Cols), 1);
        var g = new Graph { Random = new Rng(11) };
        foreach (var p in layer.Parameters())
        {
            p.ZeroGrad();
        }
        var y = layer.Forward(g, x);
        var dropped = 0;
        foreach (var v in y.Span)
        {
            dropped += v == 0 ? 1 : 0;
        }
        g.Backward(g.Mean(g.Mul(y, y)));
        float[] values = [.. y.Span, .. x.GradSpan, .. layer.Parameters().SelectMany(p => p.GradSpan.ToArray()), .. layer.Norm!.RunningVar.Span];
        return (values, dropped);
    }

    /// <summary>
    /// Broadcasting ops, axis reductions, softmax over a middle axis and the unary math ops on [2048, 6, 16] tensors: gradient checks with
    /// two threads, and bit-identical values and gradients with one and two threads (rows are independent; a
    /// gradient summed over a stretched batch axis is summed on one thread in row order).
    /// </summary>
    [Fact]
    public void Broadcast_and_axis_ops_split_over_threads()
    {
        var before = Workers.ThreadCount;
        try
        {
            var x = Param("x", new Shape(Rows, 6, 16), 11, avoidZero: 0.05);
            var w = Param("w", new Shape(Rows, 6, 1), 12, avoidZero: 0.2);
            var shared = Param("s", new Shape(1, 6, 16), 13, avoidZero: 0.2);
            var gamma = Param("gamma", new Shape(16), 14);
            var beta = Param("beta", new Shape(16), 15);
            (Func<Graph, Tensor> Op, Tensor[] Inputs)[] cases =
            [
                (g => g.Mul(x, w), [x, w]),
                (g => g.Div(x, g.Affine(g.Abs(w), 1f, 0.5f)), [x, w]),
                (g => g.Sub(g.Add(x, shared), w), [x, w, shared]),
                (g => g.Mul(shared, x), [x, shared]),
                (g => g.Sum(g.Mul(x, w), 1), [x, w]),
                (g => g.Mean(x, 2, keepDim: true), [x]),
                (g => g.Max(g.Mul(x, w), 1), [x, w]),
                (g => g.Softmax(g.Mul(x, w), 1), [x, w]),
                (g => g.Exp(g.Affine(x, 0.5f, 0f)), [x]),
                (g => g.Log(g.Square(x), 1e-3f), [x]),
                (g => g.Add(g.LeakyRelu(x), g.Abs(x)), [x]),
                (g => g.LayerNorm(x, gamma, beta), [x, gamma, beta]),
            ];
            Workers.ThreadCount = 2;
            foreach (var (op, inputs) in cases)
            {
                if (op != cases[6].Op)
                {
                    // (max is not smooth where a small step changes the argmax: its golden case checks it)
                    Check(op, inputs, maxPerInput: 12);
                }
            }
            var two = cases.Select(c => Run(c.Op, c.Inputs)).ToArray();
            Workers.ThreadCount = 1;
            var one = cases.Select(c => Run(c.Op, c.Inputs)).ToArray();
            for (var c = 0; c < cases.Length; c++)
            {
                for (var k = 0; k < two[c].Length; k++)
                {
                    if (c == cases.Length - 1 && k >= 2)
                    {
                        // LayerNorm's gamma and beta gradients sum over rows in per-part partials: equal up to summation order.
                        for (var i = 0; i < two[c][k].Length; i++)
                        {
                            Assert.True(Math.Abs(one[c][k][i] - two[c][k][i]) <= 1e-4 * (1 + Math.Abs(one[c][k][i])), $"case {c}, output {k}[{i}]");
                        }
                        continue;
                    }
                    Assert.True(one[c][k].AsSpan().SequenceEqual(two[c][k]), $"case {c}, output {k}: 1 and 2 threads differ");
                }
            }
        }
        finally
        {
            Workers.ThreadCount = before;
        }
    }

    /// <summary>
    /// The fused Dropout(ReLU(BatchNorm(x))) is the three ops in a row bit for bit: output, running statistics and
    /// the gradients of x (fresh and accumulated, as when x feeds two ops), gamma and beta, with 1 and 2 threads, on a
    /// split tensor with an odd width (vector tails), in training and evaluation.
    /// </summary>
    [Theory]
    [InlineData(1, true, true)]
    [InlineData(2, true, true)]
    [InlineData(2, false, true)]
    [InlineData(2, true, false)]
    [InlineData(1, false, false)]
    public void Fused_batch_norm_relu_dropout_is_the_composed_ops_bit_for_bit(int threads, bool training, bool rowKernels)
    {
        var before = Workers.ThreadCount;
        var kernels = Graph.FusedKernels;
        try
        {
            Workers.ThreadCount = threads;
            Graph.FusedKernels = rowKernels && System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated;
            const int cols = 37;
            var composed = FusedCase(training, cols, (g, x, gm, bt, rm, rv) => g.Dropout(g.Relu(g.BatchNorm(x, gm, bt, rm, rv, 0.1f, 1e-5f)), 0.3f));
            var fused = FusedCase(training, cols, (g, x, gm, bt, rm, rv) => g.BatchNormReluDropout(x, gm, bt, rm, rv, 0.1f, 1e-5f, 0.3f));
            Assert.Equal(composed.Length, fused.Length);
            for (var k = 0; k < composed.Length; k++)
            {
                Assert.True(composed[k].AsSpan().SequenceEqual(fused[k]), $"array {k} differs between the fused and the composed ops");
            }
            Assert.Contains(0f, fused[0]);                        // some elements dropped or cut by ReLU
        }
        finally
        {
            Workers.ThreadCount = before;
            Graph.FusedKernels = kernels;
        }
    }

    /// <summary>y = op(x); loss = sum(y * r) + sum(x * s) (so x's gradient accumulates); returns y, running stats, grads.</summary>
    private static float[][] FusedCase(bool training, int cols, Func<Graph, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor> op)
    {
        var x = Param("x", new Shape(Rows, cols), 1, scale: 2);
        var gamma = Param("gamma", new Shape(cols), 3);
        var beta = Param("beta", new Shape(cols), 4);
        var rm = new Tensor(cols);
        var rv = new Tensor(cols);
        rv.Span.Fill(1.5f);
        var fresh = new float[3][];
        var results = new List<float[]>();
        foreach (var accumulate in new[] { false, true })
        {
            var g = new Graph { Training = training, Random = new Rng(17) };
            foreach (var p in new[] { x, gamma, beta })
            {
                ((Parameter)p).ZeroGrad();
            }
            var y = op(g, x, gamma, beta, rm, rv);
            var r = Param("r", y.Shape, 21);
            var loss = g.Sum(g.Mul(y, r));
            if (accumulate)
            {
                loss = g.Add(g.Sum(g.Mul(x, Param("s", x.Shape, 22))), loss);   // x's gradient is live before the op's backward
            }
            g.Backward(loss);
            results.AddRange([y.Span.ToArray(), rm.Span.ToArray(), rv.Span.ToArray(), x.Grad!.Span.ToArray(), gamma.Grad!.Span.ToArray(), beta.Grad!.Span.ToArray()]);
        }
        return [.. results];
    }

    /// <summary>The op's values, then each input's gradient of sum(y * r) for a fixed r.</summary>
    private static float[][] Run(Func<Graph, Tensor> op, Tensor[] inputs)
    {
        var g = new Graph();
        foreach (var t in inputs)
        {
            ((Parameter)t).ZeroGrad();
        }
        var y = op(g);
        var r = Param("r", y.Shape, 21);
        g.Backward(g.Sum(g.Mul(y, r)));
        return [y.Span.ToArray(), .. inputs.Select(t => t.Grad is { } gr ? gr.Span.ToArray() : [])];
    }
}
