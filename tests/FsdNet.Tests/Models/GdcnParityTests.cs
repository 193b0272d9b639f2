using FsdNet.Autodiff;
using FsdNet.Layers;
using FsdNet.Models;
using FsdNet.Tensors;
using FsdNet.Tests.Support;
using FsdNet.Training;
using Xunit;

namespace FsdNet.Tests.Models;

/// <summary>GDCN and GDCNP against the PyTorch mirrors of FuxiCTR's definition (tools/zoo_torch/gdcn_golden.py).</summary>
public class GdcnParityTests
{
    private static readonly Golden Gold = Golden.Load("zoo", "gdcn.json");
    private static readonly InputSchema Schema = InputSchema.Categorical(("f0", 6), ("f1", 5), ("f2", 4));

    private static DcnOptions Options(params int[] units) => new()
    {
        EmbeddingDim = 3,
        NumCrossLayers = 2,
        DnnHiddenUnits = units,
        BatchNorm = true,
    };

    private static ModelInput Batch => new(8, Gold.Ints("codes"), 3, Gold.Floats("labels"));

    [Fact]
    public void Gdcn_stacked_matches_pytorch() =>
        ModelParity.Check(Gold, "gdcn", new GdcnModel(Schema, Options(7, 5), new Rng(1)), Batch);

    [Fact]
    public void Gdcnp_parallel_matches_pytorch() =>
        ModelParity.Check(Gold, "gdcnp", new GdcnpModel(Schema, Options(6, 4), new Rng(1)), Batch);

    [Fact]
    public void Gdcnp_with_fsd_matches_pytorch()
    {
        var fsd = new FsdOptions(new DistillationOptions(2, 0.7, 0.05, 1.5));
        var model = new GdcnpModel(Schema, Options(5, 5) with { Fsd = fsd }, new Rng(1));
        Assert.DoesNotContain(model.NamedParameters(), p => p.Name.StartsWith("fc.", StringComparison.Ordinal));
        ModelParity.Check(Gold, "gdcnp_fsd", model, Batch);
    }

    [Fact]
    public void Gated_cross_op_has_finite_difference_gradients_also_when_c_is_x0()
    {
        var c = GradCheck.Param("c", new Shape(5, 7), 1);
        var x0 = GradCheck.Param("x0", new Shape(5, 7), 2);
        var h = GradCheck.Param("h", new Shape(5, 7), 3);
        var z = GradCheck.Param("z", new Shape(5, 7), 4);
        GradCheck.Check(g => g.GatedCross(c, x0, h, z), [c, x0, h, z]);
        GradCheck.Check(g => g.GatedCross(x0, x0, h, z), [x0, h, z]);
        // Reading the same tensor twice: the two gradient paths add up (checked against the unfused formula).
        var g1 = new Graph();
        var y = g1.GatedCross(x0, x0, h, z);
        var fused = y.Span.ToArray();
        var g2 = new Graph();
        var reference = g2.Add(x0, g2.Mul(g2.Mul(x0, h), g2.Sigmoid(z)));
        Assert.Equal(reference.Span.ToArray(), fused, (a, b) => Math.Abs(a - b) <= 1e-6f * (1 + Math.Abs(a)));
    }

    [Fact]
    public void Gated_cross_net_has_finite_difference_gradients()
    {
        var net = new GatedCrossNet(6, 2, new Rng(3));
        var x0 = GradCheck.Param("x0", new Shape(4, 6), 9);
        GradCheck.Check(g => net.Forward(g, x0), [x0, .. net.Parameters()]);
        Assert.Equal(["b.0", "b.1", "w.0.weight", "w.1.weight", "wg.0.weight", "wg.1.weight"], net.NamedParameters().Select(p => p.Name));
        Assert.All(net.NamedParameters().Where(p => p.Name.StartsWith("b.", StringComparison.Ordinal)).SelectMany(p => p.Value.Span.ToArray()), v => Assert.InRange(v, 0f, 1f));
    }

    private static ModelConfig Config(string body) => ModelConfig.Parse("e:\n    model: GDCNP\n    embedding_dim: 3\n" + body, "m.yaml", "e");

    [Fact]
    public void Keys_follow_fuxictr_and_bad_values_name_the_key()
    {
        var m = ModelRegistry.Create(Schema, Config("    dnn_hidden_units: [4, 4]\n    crossing_layers: 2\n    fsd: true\n    choice: 0\n"), new Rng(1));
        Assert.Contains(m.NamedParameters(), p => p.Name == "heads.1.weight");
        Assert.DoesNotContain(m.NamedParameters(), p => p.Name == "cross_net.b.2");
        var e = Assert.Throws<ConfigException>(() => ModelRegistry.Create(Schema, Config("    dnn_hidden_units: [4]\n    num_cross_layers: 3\n    crossing_layers: 2\n"), new Rng(1)));
        Assert.Contains("m.yaml:6", e.Message);
        Assert.Contains("crossing_layers (2) and num_cross_layers (3) differ", e.Message);
        e = Assert.Throws<ConfigException>(() => ModelRegistry.Create(Schema, Config("    num_cross_layers: 2\n"), new Rng(1)));
        Assert.Contains("GDCNP needs dnn_hidden_units", e.Message);
        e = Assert.Throws<ConfigException>(() => ModelRegistry.Create(Schema, Config("    dnn_hidden_units: [4]\n    num_cross_layers: 0\n"), new Rng(1)));
        Assert.Contains("m.yaml:5", e.Message);
        Assert.Contains("'num_cross_layers' must be at least 1", e.Message);
        e = Assert.Throws<ConfigException>(() => ModelRegistry.Create(Schema, Config("    dnn_hidden_units: [4, 4]\n    fsd: true\n"), new Rng(1)));
        Assert.Contains("num_cross_layers (3) must equal the number of dnn_hidden_units: [4, 4] (2)", e.Message);
        var stacked = ModelConfig.Parse("e:\n    model: GDCN\n    dnn_hidden_units: [4]\n    fsd: true\n", "m.yaml", "e");
        e = Assert.Throws<ConfigException>(() => ModelRegistry.Create(Schema, stacked, new Rng(1)));
        Assert.Contains("m.yaml:4", e.Message);
    }
}

/// <summary>Steady-state training steps of the GDCN models allocate nothing.</summary>
[Collection(ThreadingCollection.Name)]
public class GdcnAllocationTests
{
    [Fact]
    public void Training_steps_allocate_nothing()
    {
        var schema = InputSchema.Categorical(("a", 4), ("b", 4), ("c", 4));
        var o = new DcnOptions { EmbeddingDim = 4, DnnHiddenUnits = [16, 16], NumCrossLayers = 2, BatchNorm = true };
        ZooStepAllocations.AssertNone(new GdcnModel(schema, o, new Rng(1)));
        ZooStepAllocations.AssertNone(new GdcnpModel(schema, o, new Rng(1)));
        var fsd = new FsdOptions(new DistillationOptions(2, 0.7, 0.05, 1.5));
        ZooStepAllocations.AssertNone(new GdcnpModel(schema, o with { Fsd = fsd }, new Rng(1)));
    }
}
