using FsdNet.Autodiff;
using FsdNet.Tensors;
using FsdNet.Tests.Support;
using Xunit;

namespace FsdNet.Tests.Autodiff;

/// <summary>Broadcasting, axis reductions, permutes, unary math and softmax over an axis: PyTorch values and finite differences.</summary>
public class ShapeOpsTests
{
    private static readonly Golden Gold = Golden.Load("engine", "shape_ops.json");

    private static readonly Dictionary<string, (string[] Inputs, Func<Graph, Tensor[], Tensor> Op)> Cases = new()
    {
        ["add_row"] = (["a", "b"], (g, t) => g.Add(t[0], t[1])),
        ["sub_col"] = (["a", "b"], (g, t) => g.Sub(t[0], t[1])),
        ["mul_fields"] = (["a", "b"], (g, t) => g.Mul(t[0], t[1])),
        ["mul_outer"] = (["a", "b"], (g, t) => g.Mul(t[0], t[1])),
        ["div_bcast"] = (["a", "b"], (g, t) => g.Div(t[0], t[1])),
        ["sum_axis1"] = (["x"], (g, t) => g.Sum(t[0], 1)),
        ["mean_axis0_keep"] = (["x"], (g, t) => g.Mean(t[0], 0, keepDim: true)),
        ["max_axis2"] = (["x"], (g, t) => g.Max(t[0], -1)),
        ["permute_021"] = (["x"], (g, t) => g.Permute(t[0], 0, 2, 1)),
        ["permute_201"] = (["x"], (g, t) => g.Permute(t[0], 2, 0, 1)),
        ["transpose_2d"] = (["x"], (g, t) => g.Transpose(t[0], 0, 1)),
        ["exp"] = (["x"], (g, t) => g.Exp(t[0])),
        ["log_clamped"] = (["x"], (g, t) => g.Log(t[0], 1e-4f)),
        ["square"] = (["x"], (g, t) => g.Square(t[0])),
        ["abs"] = (["x"], (g, t) => g.Abs(t[0])),
        ["leaky_relu"] = (["x"], (g, t) => g.LeakyRelu(t[0])),
        ["cat_axis1"] = (["a", "b", "c"], (g, t) => g.Concat(1, t[0], t[1], t[2])),
        ["cat_axis0"] = (["a", "b"], (g, t) => g.Concat(0, t[0], t[1])),
        ["stack_axis1"] = (["a", "b", "c"], (g, t) => g.Stack(1, t[0], t[1], t[2])),
        ["index_select_axis1"] = (["x"], (g, t) => g.IndexSelect(t[0], 1, Gold.Ints("index_select_axis1_index"))),
        ["softmax_axis1"] = (["x"], (g, t) => g.Softmax(t[0], 1)),
    };

    public static TheoryData<string> Names() => [.. Cases.Keys];

    private static Tensor[] Inputs(string name) =>
        [.. Cases[name].Inputs.Select(i =>
        {
            var t = Gold.Tensor($"{name}_{i}");
            var p = new Parameter(i, t.Shape);
            p.CopyFrom(t.Span);
            return (Tensor)p;
        })];

    [Theory]
    [MemberData(nameof(Names))]
    public void Matches_pytorch_forward_and_backward(string name)
    {
        var inputs = Inputs(name);
        var g = new Graph();
        var y = Cases[name].Op(g, inputs);
        Assert.Equal(Gold.ShapeOf($"{name}_out").Aggregate(1, (a, b) => a * b), y.Length);
        Gold.AssertClose($"{name}_out", y.Span);
        var loss = g.Sum(g.Mul(y, g.Constant(y.Shape, Gold.Floats($"{name}_dy"))));
        g.Backward(loss);
        foreach (var (input, t) in Cases[name].Inputs.Zip(inputs))
        {
            Gold.AssertClose($"{name}_d{input}", ((Parameter)t).GradSpan);
        }
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Has_finite_difference_gradients(string name)
    {
        if (name is "abs" or "leaky_relu" or "max_axis2" or "log_clamped")
        {
            // kinks: checked against PyTorch above, and here away from them
            var x = GradCheck.Param("x", new Shape(3, 4), 5, avoidZero: 0.2);
            if (name == "log_clamped")
            {
                for (var i = 0; i < x.Length; i++)
                {
                    x[i] = Math.Abs(x[i]) + 0.1f;
                }
            }
            GradCheck.Check(g => Cases[name].Op(g, [x]), [x]);
            return;
        }
        var inputs = Inputs(name);
        GradCheck.Check(g => Cases[name].Op(g, inputs), inputs);
    }

    [Fact]
    public void Shapes_that_do_not_broadcast_and_bad_axes_are_clear_errors()
    {
        var g = new Graph();
        var e = Assert.Throws<ArgumentException>(() => g.Add(new Tensor(4, 3), new Tensor(4, 2)));
        Assert.Contains("Add: shapes [4, 3] and [4, 2] do not broadcast", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => g.Sum(new Tensor(4, 3), 2));
        e = Assert.Throws<ArgumentException>(() => g.Permute(new Tensor(2, 3, 4), 0, 0, 1));
        Assert.Contains("not a permutation", e.Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Batched_matmul_in_parallel_and_with_a_shared_operand_matches_per_item_products(bool transB)
    {
        const int batch = 300, m = 4, k = 5, n = 3;
        var a = GradCheck.Param("a", new Shape(batch, m, k), 1);
        var b = GradCheck.Param("b", transB ? new Shape(batch, n, k) : new Shape(batch, k, n), 2);
        var shared = GradCheck.Param("s", transB ? new Shape(1, n, k) : new Shape(1, k, n), 3);
        var g = new Graph();
        var y = g.BatchMatMul(a, b, transB);
        var ys = g.BatchMatMul(a, shared, transB);
        for (var i = 0; i < batch; i += 37)
        {
            for (var r = 0; r < m; r++)
            {
                for (var c = 0; c < n; c++)
                {
                    double dot = 0, dots = 0;
                    for (var t = 0; t < k; t++)
                    {
                        var av = a[(i * m * k) + (r * k) + t];
                        dot += av * (transB ? b[(i * n * k) + (c * k) + t] : b[(i * k * n) + (t * n) + c]);
                        dots += av * (transB ? shared[(c * k) + t] : shared[(t * n) + c]);
                    }
                    Assert.Equal(dot, y[(i * m * n) + (r * n) + c], 4);
                    Assert.Equal(dots, ys[(i * m * n) + (r * n) + c], 4);
                }
            }
        }
        GradCheck.Check(gr => gr.BatchMatMul(a, b, transB), [a, b]);
        GradCheck.Check(gr => gr.BatchMatMul(a, shared, transB), [a, shared]);
    }

    [Theory]
    [InlineData("prelu", "w")]
    [InlineData("dice", "alpha")]
    public void Parametric_activations_match_pytorch_and_finite_differences(string name, string param)
    {
        var kind = name == "prelu" ? FsdNet.Layers.Activation.PRelu : FsdNet.Layers.Activation.Dice;
        var act = new FsdNet.Layers.ParametricActivation(kind, 3);
        var p = act.Parameters().Single();
        Gold.Into($"{name}_{param}", p);
        var x = new Parameter("x", Gold.Tensor($"{name}_x").Shape);
        Gold.Into($"{name}_x", x);
        var g = new Graph();
        var y = act.Forward(g, x);
        Gold.AssertClose($"{name}_out", y.Span);
        x.ZeroGrad();
        p.ZeroGrad();
        g.Backward(g.Sum(g.Mul(y, g.Constant(y.Shape, Gold.Floats($"{name}_dy")))));
        Gold.AssertClose($"{name}_dx", x.GradSpan);
        Gold.AssertClose($"{name}_d{param}", p.GradSpan);
        if (kind == FsdNet.Layers.Activation.PRelu)
        {
            for (var i = 0; i < x.Length; i++)
            {
                x[i] = Math.Abs(x[i]) < 0.2f ? 0.5f : x[i];   // away from the kink
            }
        }
        GradCheck.Check(gr => act.Forward(gr, x), [x, p]);
    }

    [Fact]
    public void The_shape_ops_allocate_nothing_in_steady_state()
    {
        var a = GradCheck.Param("a", new Shape(8, 3, 4), 1);
        var b = GradCheck.Param("b", new Shape(8, 3, 1), 2);
        var g = new Graph();
        void Step()
        {
            g.Reset();
            var y = g.Mul(a, b);
            y = g.Concat(1, y, g.Permute(a, 0, 1, 2), g.Softmax(y, 1));
            y = g.Add(g.Sum(y, 1), g.Mean(g.Square(g.Transpose(y, 1, 2)), 2));
            g.Backward(g.Sum(g.Max(g.Exp(g.IndexSelect(y, 1, Index)), 0)));
        }
        Step();
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 10; i++)
        {
            Step();
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    private static readonly int[] Index = [0, 2, 2, 1];
}
