using FsdNet.Autodiff;
using FsdNet.Layers;
using FsdNet.Tensors;

namespace FsdNet.Models;

/// <summary>DeepFM (Guo et al., IJCAI 2017; FuxiCTR's model_zoo/DeepFM): y = sigmoid(FM(x) + MLP(x0)) on shared field embeddings.</summary>
internal sealed class DeepFmModel : CtrModel
{
    private readonly FeatureEmbedding embedding;
    private readonly FactorizationMachine fm;
    private readonly MlpBlock mlp;

    public DeepFmModel(InputSchema schema, DnnOptions options, Rng rng, bool loadPretrained = true)
        : base(schema)
    {
        embedding = AddChild("embedding", new FeatureEmbedding(schema, options.EmbeddingDim, rng, loadPretrained));
        fm = AddChild("fm", new FactorizationMachine(schema, rng));
        mlp = AddChild("mlp", options.Mlp(embedding.OutFeatures, rng));
    }

    public override string ModelName => "DeepFM";

    protected override Tensor Logit(Graph g, in ModelInput x)
    {
        var x0 = embedding.Forward(g, x);
        return g.Add(fm.Forward(g, x, embedding.AsFields(g, x0, ModelName)), mlp.Forward(g, x0));
    }
}
