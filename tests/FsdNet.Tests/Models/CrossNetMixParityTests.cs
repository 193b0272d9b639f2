using FsdNet.Autodiff;
using FsdNet.Layers;
using FsdNet.Models;
using FsdNet.Tensors;
using FsdNet.Tests.Support;
using FsdNet.Training;
using Xunit;

namespace FsdNet.Tests.Models;

/// <summary>DCNv2 with use_low_rank_mixture (CrossNetMix) against FuxiCTR's definition (tools/zoo_torch/crossnetmix_golden.py).</summary>
public class CrossNetMixParityTests
{
    private static readonly Golden Gold = Golden.Load("zoo", "crossnetmix.json");
    private static readonly InputSchema Schema = InputSchema.Categorical(("f0", 6), ("f1", 5), ("f2", 4));

    private static Dcnv2Options Options(Dcnv2Structure s) => new()
    {
        Structure = s,
        UseLowRankMixture = true,
        LowRank = 3,
        NumExperts = 3,
        EmbeddingDim = 3,
        NumCrossLayers = 2,
        StackedDnnHiddenUnits = [7, 5],
        ParallelDnnHiddenUnits = [6, 4],
        BatchNorm = true,
    };

    private static ModelInput Batch => new(8, Gold.Ints("codes"), 3, Gold.Floats("labels"));

    [Theory]
    [InlineData("crossnet_only", nameof(Dcnv2Structure.CrossNetOnly))]
    [InlineData("stacked", nameof(Dcnv2Structure.Stacked))]
    [InlineData("parallel", nameof(Dcnv2Structure.Parallel))]
    [InlineData("stacked_parallel", nameof(Dcnv2Structure.StackedParallel))]
    public void Every_structure_matches_pytorch(string name, string structure) =>
        ModelParity.Check(Gold, name, new Dcnv2Model(Schema, Options(Enum.Parse<Dcnv2Structure>(structure)), new Rng(1)), Batch);

    [Fact]
    public void Fsd_on_the_parallel_structure_matches_pytorch()
    {
        var fsd = new FsdOptions(new DistillationOptions(2, 0.7, 0.05, 1.5));
        var model = new Dcnv2Model(Schema, Options(Dcnv2Structure.Parallel) with { ParallelDnnHiddenUnits = [5, 5], Fsd = fsd }, new Rng(1));
        ModelParity.Check(Gold, "parallel_fsd", model, Batch);
    }

    [Fact]
    public void Cross_net_mix_has_finite_difference_gradients_and_fuxictr_shapes()
    {
        var net = new CrossNetMix(5, 2, 3, 2, new Rng(2));
        var rng = new Rng(3);
        foreach (var p in net.Parameters())
        {
            rng.FillNormal(p.Span, 0, 0.5);
        }
        var x0 = GradCheck.Param("x0", new Shape(4, 5), 9);
        GradCheck.Check(g => net.Forward(g, x0), [x0, .. net.Parameters()]);
        var shapes = net.NamedParameters().ToDictionary(p => p.Name, p => p.Value.Shape);
        Assert.Equal(new Shape(2, 5, 3), shapes["U_list.1"]);
        Assert.Equal(new Shape(2, 3, 3), shapes["C_list.0"]);
        Assert.Equal(new Shape(1, 5), shapes["gating.1.weight"]);
        Assert.Equal(new Shape(5, 1), shapes["bias.1"]);
        Assert.False(shapes.ContainsKey("gating.2.weight"));
    }

    private static ModelConfig Config(string body) => ModelConfig.Parse("e:\n    model: DCNv2\n    embedding_dim: 3\n" + body, "m.yaml", "e");

    [Fact]
    public void Keys_follow_fuxictr_and_bad_values_name_the_key()
    {
        var cfg = Config("    use_low_rank_mixture: true\n    low_rank: 4\n    num_experts: 2\n    parallel_dnn_hidden_units: [8]\n");
        var m = ModelRegistry.Create(Schema, cfg, new Rng(1));
        Assert.Equal(new Shape(2, 9, 4), m.NamedParameters().Single(p => p.Name == "cross.V_list.0").Value.Shape);
        Assert.Empty(cfg.UnreadKeys());
        // FuxiCTR's defaults: low_rank 32, num_experts 4.
        m = ModelRegistry.Create(Schema, Config("    use_low_rank_mixture: true\n    parallel_dnn_hidden_units: [8]\n"), new Rng(1));
        Assert.Equal(new Shape(4, 9, 32), m.NamedParameters().Single(p => p.Name == "cross.U_list.2").Value.Shape);
        var e = Assert.Throws<ConfigException>(() => ModelRegistry.Create(Schema, Config("    use_low_rank_mixture: true\n    low_rank: 0\n"), new Rng(1)));
        Assert.Contains("m.yaml:5", e.Message);
        Assert.Contains("'low_rank' must be at least 1", e.Message);
        e = Assert.Throws<ConfigException>(() => ModelRegistry.Create(Schema, Config("    use_low_rank_mixture: true\n    num_experts: 0.5\n"), new Rng(1)));
        Assert.Contains("m.yaml:5", e.Message);
        // Without the mixture the two keys mean nothing and are acknowledged, as FuxiCTR ignores them.
        cfg = Config("    low_rank: 4\n    parallel_dnn_hidden_units: [8]\n");
        m = ModelRegistry.Create(Schema, cfg, new Rng(1));
        Assert.Contains(m.NamedParameters(), p => p.Name == "cross.cross_layers.0.weight");
        Assert.True(cfg.Acknowledged.ContainsKey("low_rank"));
    }
}

/// <summary>Steady-state training steps of DCNv2 with CrossNetMix allocate nothing.</summary>
[Collection(ThreadingCollection.Name)]
public class CrossNetMixAllocationTests
{
    [Fact]
    public void Training_steps_allocate_nothing()
    {
        var schema = InputSchema.Categorical(("a", 4), ("b", 4), ("c", 4));
        var fsd = new FsdOptions(new DistillationOptions(2, 0.7, 0.05, 1.5));
        ZooStepAllocations.AssertNone(new Dcnv2Model(schema, new Dcnv2Options
        {
            EmbeddingDim = 4, UseLowRankMixture = true, LowRank = 4, NumExperts = 3, NumCrossLayers = 2,
            ParallelDnnHiddenUnits = [16, 16], BatchNorm = true, Fsd = fsd,
        }, new Rng(1)));
    }
}
