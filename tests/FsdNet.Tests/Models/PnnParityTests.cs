using FsdNet.Layers;
using FsdNet.Models;
using FsdNet.Tensors;
using FsdNet.Tests.Support;
using FsdNet.Training;
using Xunit;

namespace FsdNet.Tests.Models;

/// <summary>PNN against the PyTorch mirror of FuxiCTR's definition (tools/zoo_torch/pnn_golden.py).</summary>
public class PnnParityTests
{
    private static readonly Golden Gold = Golden.Load("zoo", "pnn.json");

    private static readonly InputSchema Schema = StepAllocation.Schema;

    [Theory]
    [InlineData("bn")]
    [InlineData("plain")]
    public void Forward_loss_and_every_gradient_match_pytorch(string name)
    {
        var options = name == "bn"
            ? new DnnOptions { EmbeddingDim = 3, HiddenUnits = [7, 5], BatchNorm = true }
            : new DnnOptions { EmbeddingDim = 4, HiddenUnits = [6], HiddenActivations = Activation.Tanh };
        var x = new ModelInput(8, Gold.Ints("codes"), 3, Gold.Floats("labels"));
        ModelParity.Check(Gold, name, new PnnModel(Schema, options, new Rng(1)), x);
    }

    [Fact]
    public void Registry_reads_fuxictr_keys_and_defaults()
    {
        var cfg = ModelConfig.Parse("e:\n    model: PNN\n    hidden_units: [8, 4]\n    batch_norm: true\n", "m.yaml", "e");
        var o = PnnModel.OptionsFrom(cfg);
        Assert.Equal([8, 4], o.HiddenUnits);
        Assert.True(o.BatchNorm);
        Assert.Equal(10, o.EmbeddingDim);
        var model = ModelRegistry.Create(Schema, cfg, new Rng(1));
        Assert.Equal("PNN", model.ModelName);
        // 3 fields x 10 + 3 pairs in, then 8, 4 and the output layer.
        Assert.Equal(33 * 8, model.NamedParameters().Single(p => p.Name == "dnn.hidden.0.linear.weight").Value.Length);
        Assert.Equal([64, 64, 64], new DnnOptions().HiddenUnits);
    }

    [Fact]
    public void Product_type_other_than_inner_is_a_config_error()
    {
        var cfg = ModelConfig.Parse("e:\n    model: PNN\n    product_type: outer\n", "m.yaml", "e");
        var e = Assert.Throws<ConfigException>(() => ModelRegistry.Create(Schema, cfg, new Rng(1)));
        Assert.Contains("m.yaml:3", e.Message);
        Assert.Contains("product_type 'outer' is not implemented", e.Message);
    }

    [Fact]
    public void Fields_of_different_dims_are_refused()
    {
        var schema = new InputSchema(
            [.. Schema.Fields.Select((f, i) => i == 1 ? f with { EmbeddingDim = 5 } : f)], 3, 0, 0, 0);
        var cfg = ModelConfig.Parse("e:\n    model: PNN\n", "m.yaml", "e");
        var e = Assert.Throws<ConfigException>(() => ModelRegistry.Create(schema, cfg, new Rng(1)));
        Assert.Contains("every field needs the same dim", e.Message);
    }
}

[Collection(ThreadingCollection.Name)]
public class PnnAllocationTests
{
    [Fact]
    public void A_steady_state_training_step_allocates_nothing()
    {
        var model = new PnnModel(StepAllocation.Schema, new DnnOptions { EmbeddingDim = 4, HiddenUnits = [16, 8], BatchNorm = true }, new Rng(3));
        StepAllocation.AssertNone(model);
    }
}
