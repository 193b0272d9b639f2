using FsdNet.Autodiff;
using FsdNet.Layers;
using FsdNet.Models;
using FsdNet.Tensors;
using FsdNet.Tests.Support;
using FsdNet.Training;
using Xunit;

namespace FsdNet.Tests.Models;

/// <summary>AFN and AFN+ against the PyTorch mirror of FuxiCTR's definition (tools/zoo_torch/afn_golden.py).</summary>
public class AfnParityTests
{
    private static readonly Golden Gold = Golden.Load("zoo", "afn.json");

    private static readonly InputSchema Schema = StepAllocation.Schema;

    [Theory]
    [InlineData("plus")]
    [InlineData("afn")]
    public void Forward_loss_and_every_gradient_match_pytorch(string name)
    {
        var options = name == "plus"
            ? new AfnOptions { EmbeddingDim = 3, AfnHiddenUnits = [7, 5], DnnHiddenUnits = [6], LogarithmicNeurons = 4 }
            : new AfnOptions { EmbeddingDim = 4, EnsembleDnn = false, BatchNorm = false, AfnHiddenUnits = [6], LogarithmicNeurons = 3 };
        var x = new ModelInput(8, Gold.Ints("codes"), 3, Gold.Floats("labels"));
        ModelParity.Check(Gold, name, new AfnModel(Schema, options, new Rng(1)), x);
    }

    [Fact]
    public void Registry_reads_fuxictr_keys_and_defaults()
    {
        var d = new AfnOptions();
        Assert.Equal((10, true, 5, true), (d.EmbeddingDim, d.EnsembleDnn, d.LogarithmicNeurons, d.BatchNorm));
        Assert.Equal([64, 64, 64], d.AfnHiddenUnits);
        Assert.Equal([64, 64, 64], d.DnnHiddenUnits);
        var cfg = ModelConfig.Parse("e:\n    model: AFN\n    ensemble_dnn: false\n    afn_hidden_units: [8]\n    logarithmic_neurons: 6\n", "m.yaml", "e");
        var names = ModelRegistry.Create(Schema, cfg, new Rng(1)).NamedParameters().ToDictionary(p => p.Name, p => p.Value.Shape);
        Assert.Equal(new Shape(6, 3), names["coefficient_W.weight"]);
        Assert.Equal(new Shape(8, 60), names["dense_layer.hidden.0.linear.weight"]);
        Assert.Equal(new Shape(3), names["log_batch_norm.weight"]);
        Assert.DoesNotContain("fc.weight", names.Keys);
        Assert.DoesNotContain(names.Keys, n => n.StartsWith("embedding2.", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("logarithmic_neurons: 0", "'logarithmic_neurons' must be at least 1")]
    [InlineData("afn_activations: swish", "Unknown activation 'swish'")]
    public void Bad_values_are_config_errors_naming_the_line(string line, string message)
    {
        var cfg = ModelConfig.Parse($"e:\n    model: AFN\n    {line}\n", "m.yaml", "e");
        var e = Assert.Throws<ConfigException>(() => ModelRegistry.Create(Schema, cfg, new Rng(1)));
        Assert.Contains("m.yaml:3", e.Message);
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void Log_abs_clamps_at_1e5_and_passes_no_gradient_below()
    {
        var x = new Parameter("x", new Shape(4));
        x.CopyFrom([0f, -1e-6f, -2f, 0.5f]);
        var g = new Graph();
        var y = g.LogAbs(x, LogarithmicTransformation.Clamp);
        Assert.Equal([MathF.Log(1e-5f), MathF.Log(1e-5f), MathF.Log(2f), MathF.Log(0.5f)], y.Span.ToArray());
        g.Backward(g.Sum(y));
        Assert.Equal([0f, 0f, -0.5f, 2f], x.GradSpan.ToArray());
    }

    [Fact]
    public void Log_abs_and_the_logarithmic_layer_match_finite_differences()
    {
        var x = GradCheck.Param("x", new Shape(70, 9), 41, avoidZero: 0.2);
        GradCheck.Check(g => g.LogAbs(x, 1e-5f), [x], eps: 1e-3);
        var e = GradCheck.Param("e", new Shape(6, 4, 3), 42, avoidZero: 0.3);
        var layer = new LogarithmicTransformation(4, 3, 2, new Rng(6));
        GradCheck.Check(g => layer.Forward(g, e), [e, .. layer.NamedParameters().Select(p => (Tensor)p.Value)], eps: 1e-3);
    }
}

[Collection(ThreadingCollection.Name)]
public class AfnAllocationTests
{
    [Fact]
    public void A_steady_state_training_step_allocates_nothing()
    {
        var model = new AfnModel(StepAllocation.Schema, new AfnOptions { EmbeddingDim = 4, AfnHiddenUnits = [16], DnnHiddenUnits = [16] }, new Rng(3));
        StepAllocation.AssertNone(model);
    }
}
