using FsdNet.Autodiff;
using FsdNet.Layers;
using FsdNet.Models;
using FsdNet.Tensors;
using FsdNet.Tests.Support;
using FsdNet.Training;
using Xunit;

namespace FsdNet.Tests.Models;

/// <summary>FinalMLP (and FinalMLP with FSD) against the PyTorch mirror of FuxiCTR's definition (tools/zoo_torch/finalmlp_golden.py).</summary>
public class FinalMlpParityTests
{
    private static readonly Golden Gold = Golden.Load("zoo", "finalmlp.json");

    private static readonly InputSchema Schema = StepAllocation.Schema;

    private static FinalMlpOptions Options(string name) => name switch
    {
        "ctx" => new FinalMlpOptions
        {
            EmbeddingDim = 3, Fs1Context = ["f2"], FsHiddenUnits = [5], Mlp1HiddenUnits = [6, 4], Mlp1BatchNorm = true, Mlp2HiddenUnits = [5],
        },
        "heads" => new FinalMlpOptions
        {
            EmbeddingDim = 4, Fs1Context = ["f1", "f0"], Fs2Context = ["f1"], FsHiddenUnits = [], NumHeads = 2, Mlp1HiddenUnits = [6, 4], Mlp2HiddenUnits = [8, 6],
        },
        "nofs" => new FinalMlpOptions
        {
            EmbeddingDim = 3, UseFs = false, Mlp1HiddenUnits = [5], Mlp1HiddenActivations = Activation.Tanh, Mlp2HiddenUnits = [6], Mlp2BatchNorm = true,
        },
        _ => new FinalMlpOptions
        {
            EmbeddingDim = 3, Mlp1HiddenUnits = [6, 6], Mlp1BatchNorm = true, Mlp2HiddenUnits = [5, 5], FsHiddenUnits = [4],
            Fsd = new FsdOptions(new DistillationOptions(2, 0.7, 0.05, 1.5)),
        },
    };

    [Theory]
    [InlineData("ctx")]
    [InlineData("heads")]
    [InlineData("nofs")]
    [InlineData("fsd")]
    public void Forward_loss_and_every_gradient_match_pytorch(string name)
    {
        var x = new ModelInput(8, Gold.Ints("codes"), 3, Gold.Floats("labels"));
        ModelParity.Check(Gold, name, new FinalMlpModel(Schema, Options(name), new Rng(1)), x);
    }

    [Fact]
    public void Registry_reads_fuxictr_keys_and_defaults()
    {
        var d = new FinalMlpOptions();
        Assert.Equal((10, true, 1), (d.EmbeddingDim, d.UseFs, d.NumHeads));
        Assert.Equal([64], d.FsHiddenUnits);
        Assert.Equal([64, 64, 64], d.Mlp1HiddenUnits);
        Assert.Equal([64, 64, 64], d.Mlp2HiddenUnits);
        var cfg = ModelConfig.Parse(
            "e:\n    model: FinalMLP\n    mlp1_hidden_units: [8, 4]\n    mlp2_hidden_units: [6, 2]\n    fs1_context: [f2]\n    fs2_context: []\n    num_heads: 2\n",
            "m.yaml", "e");
        var model = ModelRegistry.Create(Schema, cfg, new Rng(1));
        var names = model.NamedParameters().ToDictionary(p => p.Name, p => p.Value.Shape);
        Assert.Equal(new Shape(4, 10), names["fs_module.fs1_ctx_emb.embedding_layer.f2.weight"]);
        Assert.Equal(new Shape(1, 10), names["fs_module.fs2_ctx_bias"]);
        Assert.Equal(new Shape(2 * 2 * 1, 1), names["fusion_module.w_xy"]);
        Assert.Equal(new Shape(30, 64), names["fs_module.fs1_gate.output.weight"]);
        Assert.Contains("FinalMLP", ModelRegistry.FsdCapable);
    }

    [Fact]
    public void Fsd_replaces_the_aggregation_with_one_head_per_layer()
    {
        var cfg = ModelConfig.Parse("e:\n    model: FinalMLP\n    fsd: true\n    mlp1_hidden_units: [8, 4]\n    mlp2_hidden_units: [6, 2]\n    choice: 0\n", "m.yaml", "e");
        var names = ModelRegistry.Create(Schema, cfg, new Rng(1)).NamedParameters().Select(p => p.Name).ToList();
        Assert.Contains("heads.0.weight", names);
        Assert.Contains("heads.1.weight", names);
        Assert.DoesNotContain(names, n => n.StartsWith("fusion_module.", StringComparison.Ordinal));
    }

    [Fact]
    public void Fsd_towers_of_different_depth_are_a_config_error()
    {
        var cfg = ModelConfig.Parse("e:\n    model: FinalMLP\n    fsd: true\n    mlp1_hidden_units: [8, 4]\n    mlp2_hidden_units: [6]\n", "m.yaml", "e");
        var e = Assert.Throws<ConfigException>(() => ModelRegistry.Create(Schema, cfg, new Rng(1)));
        Assert.Contains("the number of mlp1_hidden_units [8, 4] (2) must equal the number of mlp2_hidden_units [6] (1)", e.Message);
        Assert.Contains("m.yaml", e.Message);
    }

    [Theory]
    [InlineData("fs1_context: [f1, user]", "fs1_context names 'user', which is not an input feature (features: f0, f1, f2)")]
    [InlineData("fs2_context: [item]", "fs2_context names 'item', which is not an input feature")]
    [InlineData("num_heads: 3", "num_heads (3) must divide both towers' output widths (64 and 64)")]
    public void Bad_values_are_config_errors_naming_the_key(string line, string message)
    {
        var cfg = ModelConfig.Parse($"e:\n    model: FinalMLP\n    {line}\n", "m.yaml", "e");
        var e = Assert.Throws<ConfigException>(() => ModelRegistry.Create(Schema, cfg, new Rng(1)));
        Assert.Contains("m.yaml", e.Message);
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void Interaction_aggregation_gradients_match_finite_differences()
    {
        var x = GradCheck.Param("x", new Shape(5, 6), 51);
        var y = GradCheck.Param("y", new Shape(5, 4), 52);
        foreach (var heads in new[] { 1, 2 })
        {
            var agg = new InteractionAggregation(6, 4, heads, new Rng(7));
            GradCheck.Check(g => agg.Forward(g, x, y), [x, y, .. agg.NamedParameters().Select(p => (Tensor)p.Value)]);
        }
    }
}

[Collection(ThreadingCollection.Name)]
public class FinalMlpAllocationTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_steady_state_training_step_allocates_nothing(bool fsd)
    {
        var model = new FinalMlpModel(StepAllocation.Schema, new FinalMlpOptions
        {
            EmbeddingDim = 4, Mlp1HiddenUnits = [16, 16], Mlp2HiddenUnits = [8, 8], FsHiddenUnits = [8], Fs1Context = fsd ? [] : ["f0"], Mlp1BatchNorm = true,
            Fsd = fsd ? new FsdOptions(new DistillationOptions(2, 0.7, 0.05, 1.5)) : null,
        }, new Rng(3));
        StepAllocation.AssertNone(model);
    }
}
