using FsdNet.Layers;
using FsdNet.Models;
using FsdNet.Tensors;
using FsdNet.Tests.Support;
using FsdNet.Training;
using Xunit;

namespace FsdNet.Tests.Models;

/// <summary>xDeepFM against its PyTorch mirror (tools/zoo_torch/mirrors/xDeepFM.py, golden by tools/zoo_torch/xdeepfm_golden.py).</summary>
public class XDeepFmParityTests
{
    private static readonly Golden Gold = Golden.Load("zoo", "xdeepfm.json");

    private static readonly InputSchema Schema = InputSchema.Categorical(("f0", 6), ("f1", 5), ("f2", 4));

    internal static XDeepFmOptions Options(string name) => name switch
    {
        "cin_only" => new XDeepFmOptions { EmbeddingDim = 3, CinHiddenUnits = [4, 3], DnnHiddenUnits = [], BatchNorm = true },
        "with_dnn" => new XDeepFmOptions { EmbeddingDim = 3, CinHiddenUnits = [4, 3], DnnHiddenUnits = [6, 5], BatchNorm = true },
        _ => new XDeepFmOptions
        {
            EmbeddingDim = 3, CinHiddenUnits = [4, 4], DnnHiddenUnits = [5, 5], BatchNorm = true,
            Fsd = new FsdOptions(new DistillationOptions(2, 0.8, 0.05, 1.5)),
        },
    };

    [Theory]
    [InlineData("cin_only")]
    [InlineData("with_dnn")]
    [InlineData("fsd")]
    public void Forward_loss_and_every_gradient_match_pytorch(string name)
    {
        var model = new XDeepFmModel(Schema, Options(name), new Rng(1));
        ModelParity.Check(Gold, name, model, new ModelInput(8, Gold.Ints("codes"), 3, Gold.Floats("labels")));
    }

    [Fact]
    public void Fsd_replaces_both_output_layers_by_heads_and_keeps_the_wide_term()
    {
        var model = new XDeepFmModel(Schema, Options("fsd"), new Rng(1));
        var names = model.NamedParameters().Select(p => p.Name).ToList();
        Assert.Contains("heads.1.weight", names);
        Assert.Contains("lr_layer.embedding_layer.embedding_layer.f0.weight", names);
        Assert.DoesNotContain(names, n => n.StartsWith("cin.fc.", StringComparison.Ordinal) || n.StartsWith("dnn.output.", StringComparison.Ordinal));
    }

    [Fact]
    public void Keys_and_defaults_are_fuxictrs()
    {
        var cfg = ModelConfig.Parse("e:\n    model: xDeepFM\n    cin_hidden_units: [8, 4]\n    dnn_hidden_units: []\n    dnn_activations: tanh\n", "m.yaml", "e");
        var o = XDeepFmOptions.From(cfg);
        Assert.Equal([8, 4], o.CinHiddenUnits);
        Assert.Empty(o.DnnHiddenUnits);
        Assert.Equal(Activation.Tanh, o.DnnActivations);
        var d = XDeepFmOptions.From(ModelConfig.Parse("e:\n    model: xDeepFM\n", "m.yaml", "e"));
        Assert.Equal([16, 16, 16], d.CinHiddenUnits);
        Assert.Equal([64, 64, 64], d.DnnHiddenUnits);
        Assert.Equal(10, d.EmbeddingDim);
        Assert.Null(d.Fsd);
        var model = ModelRegistry.Create(Schema, cfg, new Rng(1));
        Assert.Equal("xDeepFM", model.ModelName);
    }

    [Theory]
    [InlineData("    fsd: true\n    cin_hidden_units: [4, 4]\n    dnn_hidden_units: [5]\n", "cin_hidden_units: [4, 4] (2) must equal the number of dnn_hidden_units: [5] (1)")]
    [InlineData("    fsd: true\n    dnn_hidden_units: []\n", "fsd: true needs the DNN tower beside the CIN (dnn_hidden_units)")]
    [InlineData("    cin_hidden_units: []\n", "cin_hidden_units must list at least one layer")]
    [InlineData("    embedding_dim: 0\n", "m.yaml:3 [e]: 'embedding_dim' must be at least 1")]
    public void Bad_keys_are_config_errors_that_name_the_key(string yaml, string message)
    {
        var cfg = ModelConfig.Parse("e:\n    model: xDeepFM\n" + yaml, "m.yaml", "e");
        var e = Assert.Throws<ConfigException>(() => ModelRegistry.Create(Schema, cfg, new Rng(1)));
        Assert.Contains(message, e.Message);
        Assert.Contains("m.yaml", e.Message);
    }
}
