using FsdNet.Autodiff;
using FsdNet.Layers;
using FsdNet.Tensors;

namespace FsdNet.Models;

/// <summary>Wide &amp; Deep (Cheng et al., DLRS 2016; FuxiCTR's model_zoo/WideDeep): y = sigmoid(LR + MLP(x0)).</summary>
internal sealed class WideDeepModel : CtrModel
{
    private readonly FeatureEmbedding embedding;
    private readonly LogisticRegression wide;
    private readonly MlpBlock deep;

    public WideDeepModel(InputSchema schema, DnnOptions options, Rng rng, bool loadPretrained = true)
        : base(schema)
    {
        embedding = AddChild("embedding", new FeatureEmbedding(schema, options.EmbeddingDim, rng, loadPretrained));
        wide = AddChild("lr_layer", new LogisticRegression(schema, rng));
        deep = AddChild("mlp", options.Mlp(embedding.OutFeatures, rng));
    }

    public override string ModelName => "WideDeep";

    protected override Tensor Logit(Graph g, in ModelInput x) => g.Add(wide.Forward(g, x), deep.Forward(g, embedding.Forward(g, x)));
}
