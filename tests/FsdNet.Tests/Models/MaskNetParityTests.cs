using FsdNet.Layers;
using FsdNet.Models;
using FsdNet.Tensors;
using FsdNet.Tests.Support;
using FsdNet.Training;
using Xunit;

namespace FsdNet.Tests.Models;

/// <summary>MaskNet, serial and parallel, against its PyTorch mirror (tools/zoo_torch/mirrors/MaskNet.py, golden by tools/zoo_torch/masknet_golden.py).</summary>
public class MaskNetParityTests
{
    private static readonly Golden Gold = Golden.Load("zoo", "masknet.json");

    private static readonly InputSchema Schema = InputSchema.Categorical(("f0", 6), ("f1", 5), ("f2", 4));

    internal static MaskNetOptions Options(string name) => name switch
    {
        "serial" => new MaskNetOptions { EmbeddingDim = 3, DnnHiddenUnits = [6, 5], ReductionRatio = 1.5 },
        "serial_plain" => new MaskNetOptions { EmbeddingDim = 3, DnnHiddenUnits = [6, 5], EmbLayerNorm = false, NetLayerNorm = false, DnnHiddenActivations = Activation.Tanh },
        _ => new MaskNetOptions
        {
            EmbeddingDim = 3, ModelType = MaskNetType.ParallelMaskNet, ParallelNumBlocks = 2, ParallelBlockDim = 5, ReductionRatio = 0.5, DnnHiddenUnits = [6, 4],
        },
    };

    [Theory]
    [InlineData("serial")]
    [InlineData("serial_plain")]
    [InlineData("parallel")]
    public void Forward_loss_and_every_gradient_match_pytorch(string name)
    {
        var model = new MaskNetModel(Schema, Options(name), new Rng(1));
        ModelParity.Check(Gold, name, model, new ModelInput(8, Gold.Ints("codes"), 3, Gold.Floats("labels")));
    }

    [Fact]
    public void Mask_block_gradients_match_finite_differences()
    {
        var block = new MaskBlock(6, 4, 3, Activation.Tanh, 0.5, 0f, layerNorm: true, new Rng(2));
        var rng = new Rng(3);
        foreach (var p in block.Parameters())
        {
            rng.FillNormal(p.Span, 0, 0.7);
        }
        var emb = GradCheck.Param("emb", new Shape(5, 6), 4);
        var hidden = GradCheck.Param("hidden", new Shape(5, 4), 5);
        GradCheck.Check(g => block.Forward(g, emb, hidden), [emb, hidden, .. block.Parameters()], eps: 1e-3);
    }

    [Fact]
    public void Keys_and_defaults_are_fuxictrs()
    {
        var d = MaskNetOptions.From(ModelConfig.Parse("e:\n    model: MaskNet\n", "m.yaml", "e"));
        Assert.Equal((10, MaskNetType.SerialMaskNet, 1, 64, 1.0, true, true), (d.EmbeddingDim, d.ModelType, d.ParallelNumBlocks, d.ParallelBlockDim, d.ReductionRatio, d.EmbLayerNorm, d.NetLayerNorm));
        Assert.Equal([64, 64, 64], d.DnnHiddenUnits);
        var cfg = ModelConfig.Parse("e:\n    model: MaskNet\n    embedding_dim: 4\n    model_type: ParallelMaskNet\n    parallel_num_blocks: 3\n    parallel_block_dim: 8\n    dnn_hidden_units: [8]\n", "m.yaml", "e");
        var model = ModelRegistry.Create(Schema, cfg, new Rng(1));
        Assert.Contains(model.NamedParameters(), p => p.Name == "mask_net.mask_blocks.2.hidden_layer.0.weight");
        Assert.Contains(model.NamedParameters(), p => p.Name == "emb_norm.2.bias");
    }

    [Theory]
    [InlineData("    model_type: DeepMaskNet\n", "m.yaml:3 [e]: model_type must be SerialMaskNet or ParallelMaskNet, got 'DeepMaskNet'")]
    [InlineData("    fsd: true\n", "m.yaml:3 [e]: fsd: true needs a model with two parallel towers")]
    [InlineData("    dnn_hidden_activations: prelu\n", "dnn_hidden_activations: PRelu has parameters")]
    [InlineData("    reduction_ratio: 0\n", "m.yaml:3 [e]: 'reduction_ratio' must be > 0")]
    [InlineData("    reduction_ratio: 0.01\n", "reduction_ratio 0.01 leaves int(12 x 0.01) = 0 units")]
    public void Bad_keys_are_config_errors_that_name_the_key(string yaml, string message)
    {
        var cfg = ModelConfig.Parse("e:\n    model: MaskNet\n    embedding_dim: 4\n".Replace("    embedding_dim: 4\n", yaml.Contains("model_type") || yaml.Contains("fsd") || yaml.Contains("reduction_ratio: 0\n") ? "" : "    embedding_dim: 4\n") + yaml, "m.yaml", "e");
        var e = Assert.Throws<ConfigException>(() => ModelRegistry.Create(Schema, cfg, new Rng(1)));
        Assert.Contains(message, e.Message);
        Assert.Contains("m.yaml", e.Message);
    }
}
