using FsdNet.Autodiff;
using FsdNet.Layers;
using FsdNet.Tensors;
using FsdNet.Tests.Support;
using Xunit;

namespace FsdNet.Tests.Layers;

public class InnerProductInteractionTests
{
    [Fact]
    public void Pairs_come_in_row_major_upper_triangle_order()
    {
        // fields e0 = (1, 2), e1 = (3, 4), e2 = (5, 6): <e0,e1> 11, <e0,e2> 17, <e1,e2> 39.
        var x = new Tensor(1, 3, 2);
        x.CopyFrom([1, 2, 3, 4, 5, 6]);
        var y = new InnerProductInteraction(3).Forward(new Graph(), x);
        Assert.Equal([1, 3], [y.Shape.D0, y.Shape.D1]);
        Assert.Equal([11f, 17f, 39f], y.Span.ToArray());
    }

    [Fact]
    public void Gradient_matches_finite_differences()
    {
        var x = GradCheck.Param("fields", new Shape(6, 5, 3), 21);
        GradCheck.Check(g => g.PairwiseInnerProduct(x), [x]);
    }

    [Fact]
    public void Gradient_accumulates_into_an_input_used_twice()
    {
        var x = GradCheck.Param("fields", new Shape(4, 4, 2), 22);
        GradCheck.Check(g => g.Add(g.PairwiseInnerProduct(x), g.PairwiseInnerProduct(g.Affine(x, 0.5f))), [x]);
    }

    [Fact]
    public void One_field_is_refused()
    {
        Assert.Throws<ArgumentException>(() => new InnerProductInteraction(1));
    }
}
