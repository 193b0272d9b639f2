using FsdNet.Autodiff;
using FsdNet.Layers;
using FsdNet.Tensors;
using FsdNet.Tests.Support;
using Xunit;

namespace FsdNet.Tests.Autodiff;

/// <summary>
/// The fused self-attention op (<see cref="Graph.SelfAttention"/>) against the same layer built from the general ops
/// (slices, batched products, softmax, dropout, concat): same values, same gradients, same dropout masks, at 1 and 2
/// threads. Its finite-difference checks are in AutoIntParityTests.
/// </summary>
public class SelfAttentionTests
{
    [Theory]
    [InlineData(2, 64, 0.2f, true, 1, 5)] // head_dim 32: AutoInt+'s head on Frappe (block kernels: AVX-512, or the AVX2 forward)
    [InlineData(2, 64, 0.2f, true, 2, 10)] // F = 10: both 8-wide halves of the AVX2 scores
    [InlineData(3, 6, 0f, false, 2, 5)] // head_dim 2: the general path
    [InlineData(1, 16, 0.1f, true, 2, 17)] // F > 16: the general path
    public void Fused_attention_gives_the_composed_ops_values_and_gradients(int heads, int width, float dropout, bool scale, int threads, int fields)
    {
        using var engine = Engine.Threads(threads);
        Compare(heads, width, dropout, scale, fields);
    }

    private static void Compare(int heads, int width, float dropout, bool scale, int fields)
    {
        const int rows = 48, input = 6;
        var layer = new MultiHeadSelfAttention(input, width, heads, dropout, useResidual: true, useScale: scale, layerNorm: true, new Rng(2));
        var x = GradCheck.Param("x", new Shape(rows, fields, input), 4);
        var r = new float[rows * fields * width];
        new Rng(5).FillNormal(r, 0, 1);

        (float[] Y, float[][] Grads) Run(Func<Graph, Tensor, Tensor> forward)
        {
            var g = new Graph { Random = new Rng(77) };
            foreach (var p in layer.Parameters())
            {
                p.ZeroGrad();
            }
            x.ZeroGrad();
            var y = forward(g, x);
            g.Backward(g.Sum(g.Mul(y, g.Constant(y.Shape, r))));
            return (y.ToArray(), [x.Grad!.ToArray(), .. layer.Parameters().Select(p => p.Grad!.ToArray())]);
        }

        var fused = Run(layer.Forward);
        var composed = Run(layer.ForwardComposed);
        Assert.Contains(fused.Y, y => y == 0f); // the ReLU did cut some
        AssertClose(composed.Y, fused.Y, 1e-5, "output");
        for (var i = 0; i < fused.Grads.Length; i++)
        {
            AssertClose(composed.Grads[i], fused.Grads[i], 1e-4, i == 0 ? "dx" : layer.Parameters().ElementAt(i - 1).Name ?? $"parameter {i}");
        }
    }

    private static void AssertClose(float[] expected, float[] actual, double tol, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        var scale = Math.Max(1e-3, expected.Max(Math.Abs));
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tol * scale, $"{what}[{i}]: composed {expected[i]:G9} vs fused {actual[i]:G9}");
        }
    }


    [Fact]
    public void Bad_shapes_and_aliased_inputs_are_refused()
    {
        var g = new Graph();
        var q = new Tensor(6, 4);
        var k = new Tensor(6, 4);
        var v = new Tensor(6, 4);
        Assert.Contains("F = 4", Assert.Throws<ArgumentException>(() => g.SelfAttention(q, k, v, 4, 2, 1f, 0f)).Message);
        Assert.Contains("heads = 3", Assert.Throws<ArgumentException>(() => g.SelfAttention(q, k, v, 3, 3, 1f, 0f)).Message);
        Assert.Contains("distinct", Assert.Throws<ArgumentException>(() => g.SelfAttention(q, q, v, 3, 2, 1f, 0f)).Message);
        Assert.Contains("shapes differ", Assert.Throws<ArgumentException>(() => g.SelfAttention(q, new Tensor(6, 2), v, 3, 2, 1f, 0f)).Message);
    }
}
