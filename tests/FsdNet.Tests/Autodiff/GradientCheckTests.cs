using FsdNet.Autodiff;
using FsdNet.Layers;
using FsdNet.Tensors;
using FsdNet.Tests.Support;
using Xunit;
using static FsdNet.Tests.Support.GradCheck;

namespace FsdNet.Tests.Autodiff;

/// <summary>Every op of the engine against central finite differences.</summary>
public class GradientCheckTests
{
    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void MatMul_all_transposes(bool ta, bool tb)
    {
        const int m = 5, k = 7, n = 3;
        var a = Param("a", ta ? new Shape(k, m) : new Shape(m, k), 1);
        var b = Param("b", tb ? new Shape(n, k) : new Shape(k, n), 2);
        Check(g => g.MatMul(a, b, ta, tb), [a, b]);
    }

    [Fact]
    public void Linear_with_and_without_bias()
    {
        var x = Param("x", new Shape(6, 4), 1);
        var w = Param("w", new Shape(3, 4), 2);
        var b = Param("b", new Shape(3), 3);
        Check(g => g.Linear(x, w, b), [x, w, b]);
        Check(g => g.Linear(x, w, null), [x, w]);
    }

    [Fact]
    public void Linear_over_the_last_axis_of_a_rank3_input()
    {
        var x = Param("x", new Shape(2, 3, 4), 1);
        var w = Param("w", new Shape(5, 4), 2);
        var b = Param("b", new Shape(5), 3);
        Check(g => g.Linear(x, w, b), [x, w, b]);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void BatchMatMul(bool transB)
    {
        var a = Param("a", new Shape(2, 3, 4), 1);
        var b = Param("b", transB ? new Shape(2, 5, 4) : new Shape(2, 4, 5), 2);
        Check(g => g.BatchMatMul(a, b, transB), [a, b]);
    }

    [Fact]
    public void Add_Sub_Mul()
    {
        var a = Param("a", new Shape(4, 5), 1);
        var b = Param("b", new Shape(4, 5), 2);
        Check(g => g.Add(a, b), [a, b]);
        Check(g => g.Sub(a, b), [a, b]);
        Check(g => g.Mul(a, b), [a, b]);
    }

    [Fact]
    public void Mul_of_a_tensor_with_itself_accumulates_both_paths()
    {
        var a = Param("a", new Shape(3, 4), 1);
        Check(g => g.Mul(a, a), [a]);
        Check(g => g.Add(g.Mul(a, a), a), [a]);
    }

    [Fact]
    public void Row_broadcasts()
    {
        var x = Param("x", new Shape(5, 4), 1);
        var r = Param("r", new Shape(4), 2);
        Check(g => g.AddRow(x, r), [x, r]);
        Check(g => g.MulRow(x, r), [x, r]);
    }

    [Fact]
    public void Affine_Sum_Mean_SumLast()
    {
        var x = Param("x", new Shape(4, 6), 1);
        Check(g => g.Affine(x, -2.5f, 0.75f), [x]);
        Check(g => g.Sum(x), [x]);
        Check(g => g.Mean(x), [x]);
        Check(g => g.SumLast(x), [x]);
    }

    [Fact]
    public void Concat_Slice_Reshape()
    {
        var a = Param("a", new Shape(3, 4), 1);
        var b = Param("b", new Shape(3, 2), 2);
        Check(g => g.Concat(a, b), [a, b]);
        Check(g => g.Slice(a, 1, 2), [a]);
        Check(g => g.Reshape(a, new Shape(2, 6)), [a]);
        // A slice of a concat mixes both inputs in one column range.
        Check(g => g.Slice(g.Concat(a, b), 3, 2), [a, b]);
    }

    [Fact]
    public void Activations()
    {
        var x = Param("x", new Shape(5, 6), 1, scale: 2, avoidZero: 0.05);
        Check(g => g.Relu(x), [x]);
        Check(g => g.Sigmoid(x), [x]);
        Check(g => g.Tanh(x), [x]);
        Check(g => g.LogSigmoid(x), [x]);
    }

    [Fact]
    public void Mean_squared_error_both_inputs()
    {
        var a = Param("a", new Shape(5, 7), 1);
        var b = Param("b", new Shape(5, 7), 2);
        Check(g => g.MeanSquaredError(a, b), [a, b]);
        var graph = new Graph();
        var expected = a.Span.ToArray().Zip(b.Span.ToArray(), (x, y) => (double)(x - y) * (x - y)).Average();
        Assert.Equal(expected, graph.MeanSquaredError(a, b).Span[0], 1e-6);
    }

    [Fact]
    public void Softmax_rows()
    {
        var x = Param("x", new Shape(4, 5), 1, scale: 2);
        Check(g => g.Softmax(x), [x]);
    }

    [Fact]
    public void BceWithLogits_wrt_logits()
    {
        var z = Param("z", new Shape(12), 1, scale: 3);
        var yv = new float[12];
        for (var i = 0; i < yv.Length; i++)
        {
            yv[i] = i % 3 == 0 ? 1f : i % 3 == 1 ? 0f : 0.3f;
        }
        var targets = new Tensor(12);
        targets.CopyFrom(yv);
        Check(g => g.BceWithLogits(z, targets), [z], atol: 1e-3);
    }

    [Fact]
    public void Embedding_gather_scatter_with_padding()
    {
        var t0 = Param("t0", new Shape(6, 3), 1);
        var t1 = Param("t1", new Shape(4, 3), 2);
        // Finite differences see the padding row too, so check the scatter-add on codes without padding ...
        int[] dense = [1, 3, 4, 2, 5, 3, 1, 1, 5, 1];
        Check(g => g.Embedding([t0, t1], dense, 5), [t0, t1]);

        // ... and separately that padding (code 0) gets no gradient, as PyTorch's padding_idx.
        int[] codes = [1, 3, 0, 2, 5, 3, 1, 0, 5, 1];

        var graph = new Graph();
        t0.ZeroGrad();
        t1.ZeroGrad();
        var y = graph.Embedding([t0, t1], codes, 5);
        graph.Backward(graph.Sum(y));
        Assert.All(t0.Grad!.Row(0).ToArray(), v => Assert.Equal(0f, v));
        Assert.All(t1.Grad!.Row(0).ToArray(), v => Assert.Equal(0f, v));
        Assert.All(t0.Grad!.Row(5).ToArray(), v => Assert.Equal(2f, v)); // code 5 appears twice in field 0
    }

    [Fact]
    public void Embedding_rejects_out_of_range_codes_naming_the_field()
    {
        var t0 = new Parameter("user.weight", new Shape(4, 2), ParameterKind.Embedding);
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new Graph().Embedding([t0], [1, 4], 2));
        Assert.Contains("user.weight", ex.Message);
        Assert.Contains("row 1", ex.Message);
    }

    /// <summary>x [8, 5], gamma, beta, and running statistics (mean 0, variance 1.5) for the BatchNorm checks.</summary>
    private static (Parameter X, Parameter Gamma, Parameter Beta, Tensor Mean, Tensor Var) BatchNormInputs()
    {
        var rv = new Tensor(5);
        rv.Span.Fill(1.5f);
        return (Param("x", new Shape(8, 5), 1, scale: 2), Param("gamma", new Shape(5), 2), Param("beta", new Shape(5), 3), new Tensor(5), rv);
    }

    [Fact]
    public void BatchNorm_training_and_eval()
    {
        var (x, gamma, beta, rm, rv) = BatchNormInputs();
        Check(g => g.BatchNorm(x, gamma, beta, rm, rv), [x, gamma, beta], eps: 5e-3);
        Check(g => g.BatchNorm(x, gamma, beta, rm, rv), [x, gamma, beta], training: false);
    }

    [Fact]
    public void BatchNormReluDropout_training_and_eval()
    {
        var (x, gamma, beta, rm, rv) = BatchNormInputs();
        Check(g => g.BatchNormReluDropout(x, gamma, beta, rm, rv, 0.1f, 1e-5f, 0.4f), [x, gamma, beta], eps: 5e-3, reseed: g => g.Random = new Rng(99));
        Check(g => g.BatchNormReluDropout(x, gamma, beta, rm, rv, 0.1f, 1e-5f, 0f), [x, gamma, beta], eps: 5e-3);
        Check(g => g.BatchNormReluDropout(x, gamma, beta, rm, rv, 0.1f, 1e-5f, 0.4f), [x, gamma, beta], training: false);
    }

    [Fact]
    public void LayerNorm_rows()
    {
        var x = Param("x", new Shape(4, 6), 1, scale: 2);
        var gamma = Param("gamma", new Shape(6), 2);
        var beta = Param("beta", new Shape(6), 3);
        Check(g => g.LayerNorm(x, gamma, beta), [x, gamma, beta], eps: 5e-3);
    }

    [Fact]
    public void Dropout_with_a_fixed_mask()
    {
        var x = Param("x", new Shape(6, 5), 1);
        Check(g => g.Dropout(x, 0.4f), [x], reseed: g => g.Random = new Rng(99));
    }

    [Fact]
    public void CrossNetV2_stack_and_dense_layer()
    {
        var rng = new Rng(5);
        var cross = new CrossNetV2(4, 3, rng);
        var dense = new DenseLayer(4, 3, Activation.Relu, 0f, batchNorm: true, rng);
        var x0 = Param("x0", new Shape(6, 4), 1);
        Check(g => cross.Forward(g, x0), [x0, .. cross.Parameters()]);
        Check(g => dense.Forward(g, x0), [x0, .. dense.Parameters()], eps: 5e-3);
    }

    [Fact]
    public void Inputs_that_need_no_gradient_get_none()
    {
        var x = new Tensor(3, 4);
        new Rng(1).FillNormal(x.Span, 0, 1);
        var w = Param("w", new Shape(2, 4), 2);
        var g = new Graph();
        var y = g.Linear(x, w, null);
        w.ZeroGrad();
        g.Backward(g.Sum(y));
        Assert.Null(x.Grad);
        Assert.True(w.HasGrad);
    }

    [Fact]
    public void Nothing_is_recorded_when_gradients_are_off()
    {
        var w = Param("w", new Shape(2, 4), 2);
        var x = new Tensor(3, 4);
        var g = new Graph { GradEnabled = false };
        var loss = g.Sum(g.Linear(x, w, null));
        Assert.False(loss.RequiresGrad);
        Assert.Throws<InvalidOperationException>(() => g.Backward(loss));
    }

    [Fact]
    public void Shape_mismatches_name_both_shapes()
    {
        var g = new Graph();
        var ex = Assert.Throws<ArgumentException>(() => g.Add(new Tensor(2, 3), new Tensor(3, 2)));
        Assert.Contains("[2, 3]", ex.Message);
        Assert.Contains("[3, 2]", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => g.MatMul(new Tensor(2, 3), new Tensor(4, 5)));
        Assert.Contains("[2, 3]", ex.Message);
        Assert.Contains("[4, 5]", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => g.Linear(new Tensor(2, 3), new Tensor(4, 5), null));
        Assert.Contains("[4, 5]", ex.Message);
    }
}
