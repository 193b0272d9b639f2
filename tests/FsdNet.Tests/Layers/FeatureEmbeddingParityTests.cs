using FsdNet.Autodiff;
using FsdNet.Layers;
using FsdNet.Models;
using FsdNet.Tensors;
using FsdNet.Tests.Support;
using FsdNet.Training;
using Xunit;

namespace FsdNet.Tests.Layers;

/// <summary>
/// FSDNet on every input type against PyTorch (tools/fsdnet_torch/make_inputs_golden.py, FuxiCTR's
/// FeatureEmbeddingDict definitions): categorical, numeric, mean- and sum-pooled sequences, a shared table, an
/// embedding-type field and a per-field embedding_dim; x0, the heads, the loss and every gradient.
/// </summary>
public class FeatureEmbeddingParityTests
{
    private static readonly Golden Gold = Golden.Load("fsdnet", "inputs.json");

    /// <summary>The golden model's fields, in feature-map order, with their places in the input arrays.</summary>
    internal static InputSchema Schema() => new(
        [
            new InputField { Name = "a", Kind = InputKind.Categorical, Column = 0, VocabSize = 6 },
            new InputField { Name = "n1", Kind = InputKind.Numeric, Column = 0 },
            new InputField { Name = "s", Kind = InputKind.Sequence, Column = 0, VocabSize = 7, MaxLen = 4 },
            new InputField { Name = "t", Kind = InputKind.Sequence, Column = 4, VocabSize = 6, MaxLen = 3, Pooling = SequencePooling.Sum, ShareEmbedding = "a" },
            new InputField { Name = "e", Kind = InputKind.Embedding, Column = 0, Width = 5 },
            new InputField { Name = "n2", Kind = InputKind.Numeric, Column = 1, EmbeddingDim = 3 },
        ],
        categoricalCount: 1, numericCount: 2, sequenceWidth: 7, embeddingWidth: 5);

    internal static ModelInput Input() =>
        new(6, Gold.Ints("cat"), 1, Gold.Floats("labels"), Gold.Floats("num"), 2, Gold.Ints("seq"), 7, Gold.Floats("dense"), 5);

    private static string GoldenName(string name) => name.Split('.') switch
    {
        ["embedding", "embedding_layer", "a", "weight"] => "emb_a",
        ["embedding", "embedding_layer", "s", "weight"] => "emb_s",
        ["embedding", "embedding_layer", var n, "weight"] => $"num_{n}",
        ["embedding", "feature_encoders", "e", "weight"] => "proj_e",
        var parts => FsdNetGoldenNames.Tower(parts) ?? throw new InvalidOperationException($"unmapped parameter {name}"),
    };

    private static FsdNetModel Model()
    {
        var p = Gold.Params;
        var model = new FsdNetModel(Schema(), new FsdNetOptions
        {
            EmbeddingDim = p.GetProperty("embedding_dim").GetInt32(),
            NumCrossLayers = 2,
            ParallelDnnHiddenUnits = [6, 6],
            BatchNorm = true,
            Fsd = new FsdOptions(new DistillationOptions(2, p.GetProperty("mu").GetDouble(), p.GetProperty("beta").GetDouble(), p.GetProperty("tau").GetDouble())),
        }, new Rng(3));
        foreach (var (name, param) in model.NamedParameters())
        {
            Gold.Into(GoldenName(name), param);
            param.ZeroGrad();
        }
        return model;
    }

    [Fact]
    public void Every_input_type_matches_pytorch_forward_loss_and_gradients()
    {
        var model = Model();
        Assert.Equal(21, model.NamedParameters().Count());
        var g = new Graph();
        var x = Input();
        var (logits, fused) = model.Forward(g, x);
        Gold.AssertClose("f0", fused[0].Span);
        Gold.AssertClose("f1", fused[1].Span);
        Gold.AssertClose("logits0", logits[0].Span);
        Gold.AssertClose("logits1", logits[1].Span);
        // x0 is the first 23 columns of every fused row (the cross tower's input is x0 itself before layer 0).
        g.Reset();
        var loss = model.Loss(g, x);
        Gold.AssertClose("loss", loss.Span);
        g.Backward(loss);
        foreach (var (name, param) in model.NamedParameters())
        {
            Gold.AssertClose("d" + GoldenName(name), param.GradSpan);
        }
    }

    [Fact]
    public void The_input_layer_alone_gives_pytorchs_x0()
    {
        var layer = new FeatureEmbedding(Schema(), 4, new Rng(1));
        foreach (var (name, param) in layer.NamedParameters())
        {
            Gold.Into(GoldenName("embedding." + name), param);
        }
        Assert.Equal(23, layer.OutFeatures);
        Assert.Null(layer.UniformDim);
        var g = new Graph();
        Gold.AssertClose("x0", layer.Forward(g, Input()).Span);
        var ex = Assert.Throws<ArgumentException>(() => layer.ForwardStacked(g, Input(), "FM"));
        Assert.Contains("FM needs every field embedded with the same dim", ex.Message);
        Assert.Contains("n2 has 3", ex.Message);
    }
}
