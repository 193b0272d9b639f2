using FsdNet.Autodiff;
using FsdNet.Layers;
using FsdNet.Tensors;

namespace FsdNet.Models;

/// <summary>
/// GDCN, parallel (FuxiCTR's model_zoo/GDCN "GDCNP"): the gated cross network and an MLP both on x0, concatenated
/// into one logit; with fsd: true gated cross layer i and DNN layer i are fused by the FSD module, one head per layer.
/// </summary>
internal sealed class GdcnpModel : FsdCapableModel
{
    private readonly FeatureEmbedding embedding;
    private readonly MlpTower dnn;
    private readonly GatedCrossNet cross;
    private readonly Linear? fc;

    public GdcnpModel(InputSchema schema, DcnOptions options, Rng rng, bool loadPretrained = true)
        : base(schema)
    {
        options.RequireDnn("GDCNP");
        embedding = AddChild("embedding", new FeatureEmbedding(schema, options.EmbeddingDim, rng, loadPretrained));
        var x0 = embedding.OutFeatures;
        dnn = AddChild("dnn", new MlpTower(x0, options.DnnHiddenUnits, options.DnnActivations, options.NetDropout, options.BatchNorm, rng));
        cross = AddChild("cross_net", new GatedCrossNet(x0, options.NumCrossLayers, rng));
        if (options.Fsd is { } f)
        {
            var widths = FusionSelfDistillation.FusedWidths(cross, dnn, "num_cross_layers", $"dnn_hidden_units: [{string.Join(", ", options.DnnHiddenUnits)}]");
            UseFsd(widths, f, rng);
        }
        else
        {
            fc = AddChild("fc", new Linear(x0 + dnn.OutFeatures, 1, rng));
        }
    }

    public override string ModelName => "GDCNP";

    protected override (Tensor[] Logits, Tensor[] Fused) FuseLayers(Graph g, in ModelInput x, int layers) => Fsd!.Run(g, embedding.Forward(g, x), cross, dnn, layers);

    protected override Tensor Logit(Graph g, in ModelInput x)
    {
        var x0 = embedding.Forward(g, x);
        return fc!.Forward(g, g.Concat(cross.Forward(g, x0), dnn.Forward(g, x0)));
    }
}
