using FsdNet.Autodiff;
using FsdNet.Layers;
using FsdNet.Models;
using FsdNet.Tensors;
using FsdNet.Tests.Support;
using FsdNet.Training;
using Xunit;

namespace FsdNet.Tests.Models;

/// <summary>EDCN against the PyTorch mirror of FuxiCTR's definition (tools/zoo_torch/edcn_golden.py).</summary>
public class EdcnParityTests
{
    private static readonly Golden Gold = Golden.Load("zoo", "edcn.json");
    private static readonly InputSchema Schema = InputSchema.Categorical(("f0", 6), ("f1", 5), ("f2", 4));
    private static readonly EdcnOptions Base = new() { EmbeddingDim = 3, NumCrossLayers = 2, Temperature = 0.7 };

    private static ModelInput Batch => new(8, Gold.Ints("codes"), 3, Gold.Floats("labels"));

    [Theory]
    [InlineData("hadamard_product", nameof(BridgeType.HadamardProduct), true)]
    [InlineData("pointwise_addition", nameof(BridgeType.PointwiseAddition), false)]
    [InlineData("concatenation", nameof(BridgeType.Concatenation), true)]
    [InlineData("attention_pooling", nameof(BridgeType.AttentionPooling), false)]
    public void Every_bridge_type_matches_pytorch(string name, string bridge, bool batchNorm) =>
        ModelParity.Check(Gold, name, new EdcnModel(Schema, Base with { BridgeType = Enum.Parse<BridgeType>(bridge), BatchNorm = batchNorm }, new Rng(1)), Batch);

    [Fact]
    public void Fsd_fuses_cross_deep_and_bridge_outputs_of_every_layer_as_pytorch()
    {
        var fsd = new FsdOptions(new DistillationOptions(2, 0.7, 0.05, 1.5));
        var model = new EdcnModel(Schema, Base with { BatchNorm = true, Fsd = fsd }, new Rng(1));
        ModelParity.Check(Gold, "hadamard_fsd", model, Batch);
        var (_, fused) = model.Heads(new Graph(), Batch);
        Assert.All(fused, f => Assert.Equal(27, f.Shape.Last));
    }

    [Fact]
    public void Without_the_regulation_module_matches_pytorch()
    {
        var model = new EdcnModel(Schema, Base with { BridgeType = BridgeType.PointwiseAddition, UseRegulationModule = false }, new Rng(1));
        Assert.DoesNotContain(model.NamedParameters(), p => p.Name.EndsWith(".g1", StringComparison.Ordinal));
        ModelParity.Check(Gold, "no_regulation", model, Batch);
    }

    [Fact]
    public void Layers_have_finite_difference_gradients()
    {
        var x1 = GradCheck.Param("x1", new Shape(4, 6), 1);
        var x2 = GradCheck.Param("x2", new Shape(4, 6), 2);
        foreach (var type in Enum.GetValues<BridgeType>())
        {
            var bridge = new BridgeModule(6, type, new Rng(3));
            GradCheck.Check(g => bridge.Forward(g, x1, x2), [x1, x2, .. bridge.Parameters()]);
        }
        var reg = new RegulationModule(2, 3, 0.6, batchNorm: true);
        var rng = new Rng(4);
        foreach (var p in reg.Parameters())
        {
            rng.FillNormal(p.Span, 0.5, 0.5);
        }
        GradCheck.Check(g =>
        {
            var (c, d) = reg.Forward(g, x1);
            return g.Concat(c, g.Affine(d, 2f));
        }, [x1, .. reg.Parameters()]);
        var cross = new CrossInteraction(6, new Rng(5));
        GradCheck.Check(g => cross.Forward(g, x1, x2), [x1, x2, .. cross.Parameters()]);
    }

    private static ModelConfig Config(string body) => ModelConfig.Parse("e:\n    model: EDCN\n    embedding_dim: 3\n" + body, "m.yaml", "e");

    [Fact]
    public void Keys_follow_fuxictr_and_bad_values_name_the_key()
    {
        var m = ModelRegistry.Create(Schema, Config("    num_cross_layers: 2\n    bridge_type: concatenation\n    temperature: 2\n    batch_norm: true\n"), new Rng(1));
        Assert.Contains(m.NamedParameters(), p => p.Name == "bridge_modules.1.concat_pooling.0.weight");
        Assert.Contains(m.NamedParameters(), p => p.Name == "regulation_modules.1.bn2.weight");
        var e = Assert.Throws<ConfigException>(() => ModelRegistry.Create(Schema, Config("    bridge_type: gating\n"), new Rng(1)));
        Assert.Contains("m.yaml:4", e.Message);
        Assert.Contains("bridge_type 'gating' is not one of", e.Message);
        e = Assert.Throws<ConfigException>(() => ModelRegistry.Create(Schema, Config("    temperature: 0\n"), new Rng(1)));
        Assert.Contains("m.yaml:4", e.Message);
        Assert.Contains("'temperature' must be > 0", e.Message);
        e = Assert.Throws<ConfigException>(() => ModelRegistry.Create(Schema, Config("    num_cross_layers: 1\n    fsd: true\n"), new Rng(1)));
        Assert.Contains("at least 2 layers", e.Message);
    }
}

/// <summary>Steady-state training steps of EDCN allocate nothing.</summary>
[Collection(ThreadingCollection.Name)]
public class EdcnAllocationTests
{
    [Fact]
    public void Training_steps_allocate_nothing()
    {
        var schema = InputSchema.Categorical(("a", 4), ("b", 4), ("c", 4));
        var o = new EdcnOptions { EmbeddingDim = 4, NumCrossLayers = 2, BatchNorm = true, BridgeType = BridgeType.AttentionPooling };
        ZooStepAllocations.AssertNone(new EdcnModel(schema, o, new Rng(1)));
        var fsd = new FsdOptions(new DistillationOptions(2, 0.7, 0.05, 1.5));
        ZooStepAllocations.AssertNone(new EdcnModel(schema, o with { BridgeType = BridgeType.Concatenation, Fsd = fsd }, new Rng(1)));
    }
}
