using FsdNet.Autodiff;
using FsdNet.Layers;
using FsdNet.Tensors;
using FsdNet.Tests.Support;
using Xunit;

namespace FsdNet.Tests.Layers;

/// <summary>The fused CIN layer op and the middle-axis sum: finite differences, a direct formula, and thread-count independence.</summary>
public class CompressedInteractionNetTests
{
    // (3 fields, 2 maps): vectors shorter than 8 floats; (9 fields, 17 maps): the row loops' 8-float chunks and
    // tails (the first layer's maps are its 9 fields, the later layer's the 17 maps of the first: two chunks and a
    // tail). The wider case sums more terms, so its float32 differences need a larger step (the loss is at most
    // cubic in any one input).
    [Theory]
    [InlineData(5, 3, 4, 2, 1e-3)]
    [InlineData(3, 9, 2, 17, 1e-2)]
    public void Cin_layer_gradients_match_finite_differences_for_the_first_and_a_later_layer(int rows, int fields, int dim, int units, double eps)
    {
        var x0 = GradCheck.Param("x0", new Shape(rows, fields * dim), 1);
        var w1 = GradCheck.Param("w1", new Shape(units, fields * fields), 2, 0.5);
        var b1 = GradCheck.Param("b1", new Shape(units), 3);
        var w2 = GradCheck.Param("w2", new Shape(3, fields * units), 4, 0.5);
        var b2 = GradCheck.Param("b2", new Shape(3), 5);
        GradCheck.Check(g => g.CinLayer(x0, fields, null, w1, b1), [x0, w1, b1], eps: eps);
        GradCheck.Check(g => g.SumMiddle(g.CinLayer(x0, fields, g.CinLayer(x0, fields, null, w1, b1), w2, b2)), [x0, w1, b1, w2, b2], eps: eps);
    }

    [Fact]
    public void Cin_layer_is_the_compressed_hadamard_product()
    {
        const int rows = 2, fields = 2, dim = 3, maps = 3, units = 2;
        var x0 = GradCheck.Param("x0", new Shape(rows, fields * dim), 11);
        var prev = GradCheck.Param("prev", new Shape(rows, dim, maps), 12);
        var w = GradCheck.Param("w", new Shape(units, fields * maps), 13);
        var b = GradCheck.Param("b", new Shape(units), 14);
        var y = new Graph().CinLayer(x0, fields, prev, w, b);
        Assert.Equal(new Shape(rows, dim, units), y.Shape);
        for (var r = 0; r < rows; r++)
        {
            for (var e = 0; e < dim; e++)
            {
                for (var u = 0; u < units; u++)
                {
                    double expected = b.Span[u];
                    for (var f = 0; f < fields; f++)
                    {
                        for (var h = 0; h < maps; h++)
                        {
                            expected += w[u, (f * maps) + h] * x0[r, (f * dim) + e] * prev.Span[(((r * dim) + e) * maps) + h];
                        }
                    }
                    Assert.Equal(expected, y.Span[(((r * dim) + e) * units) + u], 5);
                }
            }
        }
    }

    [Fact]
    public void Parallel_rows_give_the_serial_values_and_gradients()
    {
        {
            float[][] Run(int threads)
            {
                using var engine = Engine.Threads(threads);
                var cin = new CompressedInteractionNet(6, [8, 5], new Rng(3));
                var x0 = GradCheck.Param("x0", new Shape(700, 6 * 7), 21);
                var g = new Graph();
                var loss = g.Sum(g.Square(cin.Forward(g, x0)));
                g.Backward(loss);
                return [loss.Span.ToArray(), x0.Grad!.Span.ToArray(), .. cin.Parameters().Select(p => p.GradSpan.ToArray())];
            }
            var serial = Run(1);
            var parallel = Run(4);
            for (var i = 0; i < serial.Length; i++)
            {
                for (var k = 0; k < serial[i].Length; k++)
                {
                    Assert.True(Math.Abs(serial[i][k] - parallel[i][k]) <= 1e-4 * (1 + Math.Abs(serial[i][k])), $"{i}[{k}]: {serial[i][k]} vs {parallel[i][k]}");
                }
            }
        }
    }
}
