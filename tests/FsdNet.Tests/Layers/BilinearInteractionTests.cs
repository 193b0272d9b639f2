using FsdNet.Autodiff;
using FsdNet.Layers;
using FsdNet.Tensors;
using FsdNet.Tests.Support;
using Xunit;

namespace FsdNet.Tests.Layers;

/// <summary>The fused ops of FiBiNET's layers (BilinearPairs, ScaleFields) and the SENET layer.</summary>
public class BilinearInteractionTests
{
    /// <summary>
    /// Each bilinear type at d = 3 and 10, field_all / field_each also at 16: the vector kernels walk each d-vector in
    /// full 8-float chunks and a scalar tail (3: tail only, 10: a chunk and a tail, 16: two chunks).
    /// </summary>
    public static TheoryData<string, int> Cases => new()
    {
        { nameof(BilinearType.FieldAll), 3 },
        { nameof(BilinearType.FieldEach), 3 },
        { nameof(BilinearType.FieldInteraction), 3 },
        { nameof(BilinearType.FieldAll), 10 },
        { nameof(BilinearType.FieldEach), 10 },
        { nameof(BilinearType.FieldInteraction), 10 },
        { nameof(BilinearType.FieldAll), 16 },
        { nameof(BilinearType.FieldEach), 16 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Bilinear_pairs_match_their_definition(string typeName, int d)
    {
        var type = Enum.Parse<BilinearType>(typeName);
        int rows = 3, f = 4;
        var x = GradCheck.Param("x", new Shape(rows, f, d), 31);
        var layer = new BilinearInteraction(f, d, type, new Rng(2));
        var y = layer.Forward(new Graph(), x);
        Assert.Equal(new Shape(rows, 6, d), y.Shape);
        for (var r = 0; r < rows; r++)
        {
            var p = 0;
            for (var i = 0; i < f; i++)
            {
                for (var j = i + 1; j < f; j++, p++)
                {
                    var k = type switch { BilinearType.FieldAll => 0, BilinearType.FieldEach => i, _ => p };
                    for (var c = 0; c < d; c++)
                    {
                        double v = 0;
                        for (var m = 0; m < d; m++)
                        {
                            v += x.Span[(((r * f) + i) * d) + m] * layer.Weight.Span[(k * d * d) + (m * d) + c];
                        }
                        v *= x.Span[(((r * f) + j) * d) + c];
                        Assert.Equal(v, y.Span[(((r * 6) + p) * d) + c], 1e-5 * (1 + Math.Abs(v)));
                    }
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Bilinear_pairs_gradients_match_finite_differences(string typeName, int d)
    {
        var type = Enum.Parse<BilinearType>(typeName);
        var x = GradCheck.Param("x", new Shape(5, 4, d), 32);
        var layer = new BilinearInteraction(4, d, type, new Rng(3));
        GradCheck.Check(g => g.Add(layer.Forward(g, x), layer.Forward(g, g.Affine(x, 0.5f))), [x, layer.Weight]);
    }

    [Fact]
    public void Scale_fields_gradients_match_finite_differences()
    {
        var x = GradCheck.Param("x", new Shape(5, 4, 3), 33);
        var s = GradCheck.Param("s", new Shape(5, 4), 34);
        GradCheck.Check(g => g.Add(g.ScaleFields(x, s), g.ScaleFields(x, g.Affine(s, 2f))), [x, s]);
    }

    [Theory]
    [InlineData(nameof(Activation.Relu))]
    [InlineData(nameof(Activation.Sigmoid))]
    public void Squeeze_excitation_gradients_match_finite_differences(string activation)
    {
        var act = Enum.Parse<Activation>(activation);
        var x = GradCheck.Param("x", new Shape(6, 5, 3), 35);
        var senet = new SqueezeExcitation(5, 2, act, new Rng(4));
        Assert.Equal(2, senet.ReducedSize);
        var w = senet.NamedParameters().Select(p => (Tensor)p.Value).ToList();
        GradCheck.Check(g => senet.Forward(g, x), [x, .. w]);
    }

    [Fact]
    public void Field_interaction_weight_is_xavier_normal_with_torch_fans()
    {
        // [P, D, D] = [45, 8, 8]: fan_in 64, fan_out 360, std sqrt(2 / 424) ~ 0.0687.
        var w = new BilinearInteraction(10, 8, BilinearType.FieldInteraction, new Rng(5)).Weight.Span.ToArray();
        var std = Math.Sqrt(w.Select(v => (double)v * v).Average());
        Assert.InRange(std, 0.0687 * 0.95, 0.0687 * 1.05);
    }
}
