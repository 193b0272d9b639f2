using FsdNet.Autodiff;
using FsdNet.Layers;
using FsdNet.Models;
using FsdNet.Tensors;
using FsdNet.Tests.Support;
using FsdNet.Training;
using Xunit;

namespace FsdNet.Tests.Models;

/// <summary>FiBiNET against the PyTorch mirror of FuxiCTR's definition (tools/zoo_torch/fibinet_golden.py).</summary>
public class FibinetParityTests
{
    private static readonly Golden Gold = Golden.Load("zoo", "fibinet.json");

    private static readonly InputSchema Schema = StepAllocation.Schema;

    [Theory]
    [InlineData("interaction")]
    [InlineData("all")]
    [InlineData("each")]
    public void Forward_loss_and_every_gradient_match_pytorch(string name)
    {
        var options = name switch
        {
            "interaction" => new FibinetOptions { EmbeddingDim = 3, HiddenUnits = [7, 5], BatchNorm = true, ReductionRatio = 1.5 },
            "all" => new FibinetOptions { EmbeddingDim = 4, BilinearType = BilinearType.FieldAll, ExcitationActivation = Activation.Sigmoid },
            _ => new FibinetOptions
            {
                EmbeddingDim = 3, BilinearType = BilinearType.FieldEach, ReductionRatio = 2, HiddenUnits = [6], ExcitationActivation = Activation.Sigmoid,
            },
        };
        var x = new ModelInput(8, Gold.Ints("codes"), 3, Gold.Floats("labels"));
        ModelParity.Check(Gold, name, new FibinetModel(Schema, options, new Rng(1)), x);
    }

    [Fact]
    public void Registry_reads_fuxictr_keys_and_defaults()
    {
        var d = new FibinetOptions();
        Assert.Equal((10, 3.0, BilinearType.FieldInteraction, Activation.Relu, 0), (d.EmbeddingDim, d.ReductionRatio, d.BilinearType, d.ExcitationActivation, d.HiddenUnits.Count));
        var cfg = ModelConfig.Parse("e:\n    model: FiBiNET\n    bilinear_type: field_each\n    excitation_activation: sigmoid\n    reduction_ratio: 2\n    hidden_units: [4]\n", "m.yaml", "e");
        var o = FibinetOptions.From(cfg);
        Assert.Equal((BilinearType.FieldEach, Activation.Sigmoid, 2.0), (o.BilinearType, o.ExcitationActivation, o.ReductionRatio));
        var names = ModelRegistry.Create(Schema, cfg, new Rng(1)).NamedParameters().ToDictionary(p => p.Name, p => p.Value.Shape);
        Assert.Equal(new Shape(3, 10, 10), names["bilinear_interaction1.bilinear_W"]);
        Assert.Equal(new Shape(1, 3), names["senet_layer.excitation.0.weight"]);
        Assert.Equal(new Shape(4, 60), names["dnn.hidden.0.linear.weight"]);
        Assert.DoesNotContain("lr_layer.bias", names.Keys);
    }

    [Theory]
    [InlineData("bilinear_type: field_pair", "bilinear_type 'field_pair' is not one of field_all, field_each, field_interaction")]
    [InlineData("excitation_activation: tanh", "excitation_activation must be ReLU or Sigmoid")]
    [InlineData("reduction_ratio: 0", "'reduction_ratio' must be > 0")]
    public void Bad_values_are_config_errors_naming_the_line(string line, string message)
    {
        var cfg = ModelConfig.Parse($"e:\n    model: FiBiNET\n    {line}\n", "m.yaml", "e");
        var e = Assert.Throws<ConfigException>(() => ModelRegistry.Create(Schema, cfg, new Rng(1)));
        Assert.Contains("m.yaml:3", e.Message);
        Assert.Contains(message, e.Message);
    }
}

[Collection(ThreadingCollection.Name)]
public class FibinetAllocationTests
{
    [Fact]
    public void A_steady_state_training_step_allocates_nothing()
    {
        var model = new FibinetModel(StepAllocation.Schema, new FibinetOptions { EmbeddingDim = 4, HiddenUnits = [16], BatchNorm = true }, new Rng(3));
        StepAllocation.AssertNone(model);
    }
}
