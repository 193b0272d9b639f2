using FsdNet.Autodiff;
using FsdNet.Layers;
using FsdNet.Tensors;

namespace FsdNet.Models;

/// <summary>A deep network on the flattened field embeddings (FuxiCTR's model_zoo/DNN): y = sigmoid(MLP(x0)).</summary>
internal sealed class DnnModel : CtrModel
{
    private readonly FeatureEmbedding embedding;
    private readonly MlpBlock mlp;

    public DnnModel(InputSchema schema, DnnOptions options, Rng rng, bool loadPretrained = true)
        : base(schema)
    {
        embedding = AddChild("embedding", new FeatureEmbedding(schema, options.EmbeddingDim, rng, loadPretrained));
        mlp = AddChild("mlp", options.Mlp(embedding.OutFeatures, rng));
    }

    public override string ModelName => "DNN";

    protected override Tensor Logit(Graph g, in ModelInput x) => mlp.Forward(g, embedding.Forward(g, x));
}
