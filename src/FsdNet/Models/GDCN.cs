using FsdNet.Autodiff;
using FsdNet.Layers;
using FsdNet.Tensors;
using FsdNet.Training;

namespace FsdNet.Models;

/// <summary>
/// GDCN, stacked (Wang et al., CIKM 2023; FuxiCTR's model_zoo/GDCN "GDCN"): the gated cross network on x0, then an
/// MLP with one output logit on the cross output. The MLP reads the last cross layer only, so it has no FSD.
/// </summary>
internal sealed class GdcnModel : CtrModel
{
    private readonly FeatureEmbedding embedding;
    private readonly GatedCrossNet cross;
    private readonly MlpBlock dnn;

    public GdcnModel(InputSchema schema, DcnOptions options, Rng rng, bool loadPretrained = true)
        : base(schema)
    {
        options.RequireDnn("GDCN");
        if (options.Fsd is not null)
        {
            throw new ArgumentException("fsd: true needs parallel towers; GDCN stacks the DNN on the cross network (use GDCNP).");
        }
        embedding = AddChild("embedding", new FeatureEmbedding(schema, options.EmbeddingDim, rng, loadPretrained));
        var x0 = embedding.OutFeatures;
        dnn = AddChild("dnn", new MlpBlock(x0, options.DnnHiddenUnits, options.DnnActivations, options.NetDropout, options.BatchNorm, rng, outputDim: 1));
        cross = AddChild("cross_net", new GatedCrossNet(x0, options.NumCrossLayers, rng));
    }

    public override string ModelName => "GDCN";

    protected override Tensor Logit(Graph g, in ModelInput x) => dnn.Forward(g, cross.Forward(g, embedding.Forward(g, x)));
}
