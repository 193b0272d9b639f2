using FsdNet.Autodiff;
using FsdNet.Layers;
using FsdNet.Models;
using FsdNet.Tensors;
using FsdNet.Tests.Support;
using FsdNet.Training;
using Xunit;

namespace FsdNet.Tests.Models;

/// <summary>LR, FM, DNN, WideDeep and DeepFM against PyTorch mirrors of FuxiCTR's definitions (tools/zoo_torch/basic_golden.py).</summary>
public class BasicZooParityTests
{
    private static readonly Golden Gold = Golden.Load("zoo", "basic.json");

    private static readonly InputSchema Schema = new(
        [
            new InputField { Name = "f0", Kind = InputKind.Categorical, Column = 0, VocabSize = 6 },
            new InputField { Name = "f1", Kind = InputKind.Categorical, Column = 1, VocabSize = 5 },
            new InputField { Name = "f2", Kind = InputKind.Categorical, Column = 2, VocabSize = 4 },
            new InputField { Name = "n", Kind = InputKind.Numeric, Column = 0 },
        ],
        3, 1, 0, 0);

    private static CtrModel Build(string name)
    {
        var dnn = new DnnOptions { EmbeddingDim = 3, HiddenUnits = [7, 5], BatchNorm = true };
        var rng = new Rng(1);
        return name switch
        {
            "LR" => new LrModel(Schema, rng),
            "FM" => new FmModel(Schema, 3, rng),
            "DNN" => new DnnModel(Schema, dnn, rng),
            "WideDeep" => new WideDeepModel(Schema, dnn, rng),
            _ => new DeepFmModel(Schema, dnn, rng),
        };
    }

    [Theory]
    [InlineData("LR")]
    [InlineData("FM")]
    [InlineData("DNN")]
    [InlineData("WideDeep")]
    [InlineData("DeepFM")]
    public void Forward_loss_and_every_gradient_match_pytorch(string name)
    {
        var x = new ModelInput(8, Gold.Ints("codes"), 3, Gold.Floats("labels"), Gold.Floats("values"), 1);
        ModelParity.Check(Gold, name, Build(name), x);
    }

    [Fact]
    public void Fsd_on_a_model_without_parallel_towers_is_a_config_error()
    {
        var cfg = ModelConfig.Parse("e:\n    model: DeepFM\n    fsd: true\n", "m.yaml", "e");
        var e = Assert.Throws<ConfigException>(() => ModelRegistry.Create(Schema, cfg, new Rng(1)));
        Assert.Contains("fsd: true needs a model with two parallel towers", e.Message);
        Assert.Contains("m.yaml:3", e.Message);
        // The list in the message is derived from the model classes (those with two layer-wise towers).
        Assert.Contains("(FSDNet, DCNv2, DCN, xDeepFM, AutoInt, FinalMLP, GDCNP, EDCN)", e.Message);
    }

    [Fact]
    public void The_fsd_capable_models_are_those_built_on_layer_wise_towers()
    {
        Assert.Equal(["AutoInt", "DCN", "DCNv2", "EDCN", "FinalMLP", "FSDNet", "GDCNP", "xDeepFM"], ModelRegistry.FsdCapable.Order(StringComparer.OrdinalIgnoreCase));
        // Each of them builds the FSD module with fsd: true, and none of the others is an FsdCapableModel.
        foreach (var name in ModelRegistry.Names)
        {
            var cfg = ModelConfig.Parse($"e:\n    model: {name}\n    embedding_dim: 2\n    dnn_hidden_units: [4]\n", "m.yaml", "e");
            Assert.Equal(ModelRegistry.FsdCapable.Contains(name), ModelRegistry.Create(Schema, cfg, new Rng(1)) is FsdCapableModel);
        }
    }
}
