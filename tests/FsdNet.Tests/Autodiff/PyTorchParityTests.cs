using FsdNet.Autodiff;
using FsdNet.Layers;
using FsdNet.Tensors;
using FsdNet.Tests.Support;
using FsdNet.Training;
using Xunit;

namespace FsdNet.Tests.Autodiff;

/// <summary>Outputs and every gradient against PyTorch golden files (tools/golden/engine_golden.py).</summary>
public class PyTorchParityTests
{
    private static Parameter P(Golden gold, string name, ParameterKind kind = ParameterKind.Net)
    {
        var shape = gold.ShapeOf(name) switch
        {
            [var a] => new Shape(a),
            [var a, var b] => new Shape(a, b),
            [var a, var b, var c] => new Shape(a, b, c),
            _ => throw new NotSupportedException(),
        };
        var p = new Parameter(name, shape, kind);
        gold.Into(name, p);
        p.ZeroGrad();
        return p;
    }

    [Fact]
    public void Linear()
    {
        var gold = Golden.Load("engine", "linear.json");
        Parameter x = P(gold, "x"), w = P(gold, "W"), b = P(gold, "b");
        var g = new Graph();
        var y = g.Linear(x, w, b);
        gold.AssertClose("y", y.Span);
        g.Backward(g.Sum(g.Mul(y, g.Constant(y.Shape, gold.Floats("dy")))));
        gold.AssertClose("dx", x.GradSpan);
        gold.AssertClose("dW", w.GradSpan);
        gold.AssertClose("db", b.GradSpan);
    }

    [Fact]
    public void BatchNorm_train_then_eval_with_running_statistics()
    {
        var gold = Golden.Load("engine", "batchnorm_train_eval.json");
        var bn = new BatchNorm1d(6);
        gold.Into("gamma", bn.Weight);
        gold.Into("beta", bn.Bias);
        gold.Into("running_mean_before", bn.RunningMean);
        gold.Into("running_var_before", bn.RunningVar);
        var x = P(gold, "x");
        var g = new Graph { Training = true };
        bn.Weight.ZeroGrad();
        bn.Bias.ZeroGrad();
        var y = bn.Forward(g, x);
        gold.AssertClose("y", y.Span);
        g.Backward(g.Sum(g.Mul(y, g.Constant(y.Shape, gold.Floats("dy")))));
        gold.AssertClose("dx", x.GradSpan);
        gold.AssertClose("dgamma", bn.Weight.GradSpan);
        gold.AssertClose("dbeta", bn.Bias.GradSpan);
        gold.AssertClose("running_mean_after", bn.RunningMean.Span);
        gold.AssertClose("running_var_after", bn.RunningVar.Span);

        var xe = P(gold, "x_eval");
        bn.Weight.ZeroGrad();
        bn.Bias.ZeroGrad();
        g.Training = false;
        g.Reset();
        var ye = bn.Forward(g, xe);
        gold.AssertClose("y_eval", ye.Span);
        g.Backward(g.Sum(g.Mul(ye, g.Constant(ye.Shape, gold.Floats("dy_eval")))));
        gold.AssertClose("dx_eval", xe.GradSpan);
        gold.AssertClose("dgamma_eval", bn.Weight.GradSpan);
        gold.AssertClose("dbeta_eval", bn.Bias.GradSpan);
        gold.AssertClose("running_mean_after", bn.RunningMean.Span); // eval leaves the statistics alone
    }

    [Fact]
    public void Mlp_block_linear_batchnorm_relu_dropout0()
    {
        var gold = Golden.Load("engine", "mlp_block.json");
        var layer = new DenseLayer(5, 7, Activation.Relu, 0f, batchNorm: true, new Rng(1));
        gold.Into("W", layer.Linear.Weight);
        gold.Into("b", layer.Linear.Bias!);
        gold.Into("gamma", layer.Norm!.Weight);
        gold.Into("beta", layer.Norm.Bias);
        var x = P(gold, "x");
        foreach (var p in layer.Parameters())
        {
            p.ZeroGrad();
        }
        var g = new Graph();
        var y = layer.Forward(g, x);
        gold.AssertClose("y", y.Span);
        g.Backward(g.Sum(g.Mul(y, g.Constant(y.Shape, gold.Floats("dy")))));
        gold.AssertClose("dx", x.GradSpan);
        gold.AssertClose("dW", layer.Linear.Weight.GradSpan);
        gold.AssertClose("db", layer.Linear.Bias!.GradSpan);
        gold.AssertClose("dgamma", layer.Norm.Weight.GradSpan);
        gold.AssertClose("dbeta", layer.Norm.Bias.GradSpan);
        gold.AssertClose("running_mean_after", layer.Norm.RunningMean.Span);
        gold.AssertClose("running_var_after", layer.Norm.RunningVar.Span);
    }

    [Fact]
    public void CrossNetV2_three_layers()
    {
        var gold = Golden.Load("engine", "crossnet_v2.json");
        var cross = new CrossNetV2(5, 3, new Rng(1));
        var ps = cross.NamedParameters().ToList();
        for (var l = 0; l < 3; l++)
        {
            gold.Into($"W{l}", ps[2 * l].Value);
            gold.Into($"b{l}", ps[(2 * l) + 1].Value);
            ps[2 * l].Value.ZeroGrad();
            ps[(2 * l) + 1].Value.ZeroGrad();
        }
        var x0 = P(gold, "x0");
        var g = new Graph();
        var y = cross.Forward(g, x0);
        gold.AssertClose("y", y.Span);
        g.Backward(g.Sum(g.Mul(y, g.Constant(y.Shape, gold.Floats("dy")))));
        gold.AssertClose("dx0", x0.GradSpan);
        for (var l = 0; l < 3; l++)
        {
            gold.AssertClose($"dW{l}", ps[2 * l].Value.GradSpan);
            gold.AssertClose($"db{l}", ps[(2 * l) + 1].Value.GradSpan);
        }
    }

    [Theory]
    [InlineData("embedding_l2.json")]
    [InlineData("embedding_l2_nonzero_pad.json")]
    public void Embedding_lookup_with_l2_table_penalty(string file)
    {
        var gold = Golden.Load("engine", file);
        var table = P(gold, "table", ParameterKind.Embedding);
        var idx = gold.Ints("idx");
        var (rows, fields) = (gold.ShapeOf("idx")[0], gold.ShapeOf("idx")[1]);
        var lambda = gold.Params.GetProperty("lambda").GetDouble();
        var g = new Graph();
        var tables = Enumerable.Repeat<Tensor>(table, fields).ToArray();
        var y = g.Embedding(tables, idx, rows);
        gold.AssertClose("out", y.Span);
        var lookupLoss = g.Sum(g.Mul(y, g.Constant(y.Shape, gold.Floats("dy"))));
        g.Backward(lookupLoss);
        gold.AssertClose("dtable_lookup", table.GradSpan);
        var penalty = Regularizer.ApplyL2([table], lambda);
        gold.AssertClose("loss", [(float)(lookupLoss.Span[0] + penalty)]);
        gold.AssertClose("dtable", table.GradSpan);
    }

    [Fact]
    public void Bce_with_logits_and_log_sigmoid_at_extremes()
    {
        var gold = Golden.Load("engine", "bce_with_logits.json");
        var z = P(gold, "logits");
        var g = new Graph();
        var loss = g.BceWithLogits(z, gold.Tensor("labels"));
        gold.AssertClose("loss", loss.Span);
        g.Backward(loss);
        gold.AssertClose("dlogits", z.GradSpan, abs: 1e-9);

        var ls = Golden.Load("engine", "logsigmoid.json");
        var x = P(ls, "x");
        g.Reset();
        var y = g.LogSigmoid(x);
        ls.AssertClose("y", y.Span, abs: 1e-12);
        g.Backward(g.Sum(g.Mul(y, g.Constant(y.Shape, ls.Floats("dy")))));
        ls.AssertClose("dx", x.GradSpan, abs: 1e-12);
    }

    [Fact]
    public void Softmax_and_layer_norm()
    {
        var gold = Golden.Load("engine", "softmax_layernorm.json");
        var x = P(gold, "x");
        var g = new Graph();
        var y = g.Softmax(x);
        gold.AssertClose("y", y.Span);
        g.Backward(g.Sum(g.Mul(y, g.Constant(y.Shape, gold.Floats("dy")))));
        gold.AssertClose("dx", x.GradSpan);

        var ln = new LayerNorm(6);
        gold.Into("gamma", ln.Weight);
        gold.Into("beta", ln.Bias);
        ln.Weight.ZeroGrad();
        ln.Bias.ZeroGrad();
        var x2 = P(gold, "x2");
        g.Reset();
        var y2 = ln.Forward(g, x2);
        gold.AssertClose("y2", y2.Span);
        g.Backward(g.Sum(g.Mul(y2, g.Constant(y2.Shape, gold.Floats("dy2")))));
        gold.AssertClose("dx2", x2.GradSpan);
        gold.AssertClose("dgamma", ln.Weight.GradSpan);
        gold.AssertClose("dbeta", ln.Bias.GradSpan);
    }

    [Fact]
    public void Attention_batched_matmul_softmax()
    {
        var gold = Golden.Load("engine", "attention_bmm.json");
        Parameter q = P(gold, "Q"), k = P(gold, "K"), v = P(gold, "V");
        var g = new Graph();
        var s = g.BatchMatMul(q, k, transB: true);
        gold.AssertClose("S", s.Span);
        var a = g.Softmax(s);
        gold.AssertClose("A", a.Span);
        var o = g.BatchMatMul(a, v);
        gold.AssertClose("O", o.Span);
        g.Backward(g.Sum(g.Mul(o, g.Constant(o.Shape, gold.Floats("dy")))));
        gold.AssertClose("dQ", q.GradSpan);
        gold.AssertClose("dK", k.GradSpan);
        gold.AssertClose("dV", v.GradSpan);
    }

    [Fact]
    public void Ten_adam_steps_with_gradient_clipping_at_norm_10()
    {
        var gold = Golden.Load("engine", "adam_clip.json");
        var rng = new Rng(1);
        var l0 = new Linear(5, 4, rng);
        var l1 = new Linear(4, 1, rng);
        gold.Into("W0", l0.Weight);
        gold.Into("b0", l0.Bias!);
        gold.Into("W1", l1.Weight);
        gold.Into("b1", l1.Bias!);
        Parameter[] ps = [l0.Weight, l0.Bias!, l1.Weight, l1.Bias!];
        var scale = (float)gold.Params.GetProperty("loss_scale").GetDouble();
        var adam = new Adam(ps, learningRate: gold.Params.GetProperty("lr").GetDouble());
        var x = gold.Tensor("X");
        var labels = gold.Tensor("y");
        var losses = gold.Floats("loss");
        var norms = gold.Floats("grad_norm");
        var g = new Graph();
        for (var step = 1; step <= 10; step++)
        {
            g.Reset();
            adam.ZeroGrad();
            var logits = l1.Forward(g, g.Relu(l0.Forward(g, x)));
            var loss = g.Affine(g.BceWithLogits(logits, labels), scale);
            Assert.Equal(losses[step - 1], loss.Span[0], 4e-4f * Math.Abs(losses[step - 1]));
            g.Backward(loss);
            var norm = GradClip.ClipGradNorm(ps, 10.0);
            Assert.Equal(norms[step - 1], norm, 1e-4 * norms[step - 1]);
            adam.Step();
            if (step is 1 or 10)
            {
                gold.AssertClose($"W0_step{step}", l0.Weight.Span);
                gold.AssertClose($"b0_step{step}", l0.Bias!.Span);
                gold.AssertClose($"W1_step{step}", l1.Weight.Span);
                gold.AssertClose($"b1_step{step}", l1.Bias!.Span);
            }
        }
    }
}
