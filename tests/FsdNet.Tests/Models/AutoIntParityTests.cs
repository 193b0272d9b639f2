using FsdNet.Autodiff;
using FsdNet.Layers;
using FsdNet.Models;
using FsdNet.Tensors;
using FsdNet.Tests.Support;
using FsdNet.Training;
using Xunit;

namespace FsdNet.Tests.Models;

/// <summary>AutoInt / AutoInt+ against its PyTorch mirror (tools/zoo_torch/mirrors/AutoInt.py, golden by tools/zoo_torch/autoint_golden.py).</summary>
public class AutoIntParityTests
{
    private static readonly Golden Gold = Golden.Load("zoo", "autoint.json");

    private static readonly InputSchema Schema = InputSchema.Categorical(("f0", 6), ("f1", 5), ("f2", 4));

    internal static AutoIntOptions Options(string name)
    {
        var o = new AutoIntOptions { EmbeddingDim = 3, AttentionDim = 4, AttentionLayers = 2, BatchNorm = true };
        return name switch
        {
            "plain" => o with { NumHeads = 1, DnnHiddenUnits = [] },
            "plus" => o with { NumHeads = 2, UseScale = true, LayerNorm = true, UseWide = true, DnnHiddenUnits = [6, 5] },
            "no_residual" => o with { NumHeads = 2, UseResidual = false, DnnHiddenUnits = [] },
            _ => o with
            {
                NumHeads = 2, LayerNorm = true, UseWide = true, DnnHiddenUnits = [5, 5],
                Fsd = new FsdOptions(new DistillationOptions(2, 0.8, 0.05, 1.5)),
            },
        };
    }

    [Theory]
    [InlineData("plain")]
    [InlineData("plus")]
    [InlineData("no_residual")]
    [InlineData("fsd")]
    public void Forward_loss_and_every_gradient_match_pytorch(string name)
    {
        var model = new AutoIntModel(Schema, Options(name), new Rng(1));
        ModelParity.Check(Gold, name, model, new ModelInput(8, Gold.Ints("codes"), 3, Gold.Floats("labels")));
    }

    [Fact]
    public void Self_attention_gradients_match_finite_differences()
    {
        var layer = new MultiHeadSelfAttention(3, 4, 2, 0f, useResidual: true, useScale: true, layerNorm: true, new Rng(2));
        var rng = new Rng(3);
        foreach (var p in layer.Parameters())
        {
            rng.FillNormal(p.Span, 0, 0.7);
        }
        var x = GradCheck.Param("x", new Shape(3, 4, 3), 4);
        GradCheck.Check(g => layer.Forward(g, x), [x, .. layer.Parameters()], eps: 1e-3);
    }

    [Theory]
    [InlineData(3, 2, 3, 0f)] // head_dim 3: the general path
    [InlineData(4, 2, 16, 0f)] // head_dim 16: the AVX-512 block kernels (where the CPU has them)
    [InlineData(3, 1, 32, 0.4f)] // with a dropout mask (fixed by reseeding)
    [InlineData(17, 1, 16, 0.3f)] // F > 16: the general path
    public void Fused_attention_op_gradients_match_finite_differences(int fields, int heads, int headDim, float dropout)
    {
        var shape = new Shape(2 * fields, heads * headDim);
        var q = GradCheck.Param("q", shape, 1, scale: 0.5);
        var k = GradCheck.Param("k", shape, 2, scale: 0.5);
        var v = GradCheck.Param("v", shape, 3);
        GradCheck.Check(g => g.SelfAttention(q, k, v, fields, heads, 0.7f, dropout), [q, k, v], eps: 1e-2, reseed: g => g.Random = new Rng(99));
    }

    [Fact]
    public void Keys_and_defaults_are_fuxictrs()
    {
        var d = AutoIntOptions.From(ModelConfig.Parse("e:\n    model: AutoInt\n", "m.yaml", "e"));
        Assert.Equal((10, 2, 1, 8, true, false, false, false), (d.EmbeddingDim, d.AttentionLayers, d.NumHeads, d.AttentionDim, d.UseResidual, d.UseScale, d.LayerNorm, d.UseWide));
        Assert.Equal([64, 64, 64], d.DnnHiddenUnits);
        var cfg = ModelConfig.Parse("e:\n    model: AutoInt\n    embedding_dim: 4\n    dnn_hidden_units: [8]\n    num_heads: 2\n    attention_layers: 3\n    use_wide: true\n", "m.yaml", "e");
        var model = ModelRegistry.Create(Schema, cfg, new Rng(1));
        Assert.Equal("AutoInt", model.ModelName);
        Assert.Contains(model.NamedParameters(), p => p.Name == "self_attention.2.W_q.weight");
        Assert.Contains(model.NamedParameters(), p => p.Name == "lr_layer.embedding_layer.embedding_layer.f0.weight");
        Assert.Empty(cfg.UnreadKeys());
    }

    [Theory]
    [InlineData("    num_heads: 3\n", "attention_dim (8) must be a multiple of num_heads (3)")]
    [InlineData("    fsd: true\n    attention_layers: 2\n    dnn_hidden_units: [16, 16, 16]\n", "attention_layers (2) must equal the number of dnn_hidden_units: [16, 16, 16] (3)")]
    [InlineData("    fsd: true\n    dnn_hidden_units: []\n", "fsd: true needs the DNN tower beside the attention layers")]
    [InlineData("    num_heads: 0\n", "m.yaml:3 [e]: 'num_heads' must be at least 1")]
    public void Bad_keys_are_config_errors_that_name_the_key(string yaml, string message)
    {
        var cfg = ModelConfig.Parse("e:\n    model: AutoInt\n" + yaml, "m.yaml", "e");
        var e = Assert.Throws<ConfigException>(() => ModelRegistry.Create(Schema, cfg, new Rng(1)));
        Assert.Contains(message, e.Message);
        Assert.Contains("m.yaml", e.Message);
    }
}
