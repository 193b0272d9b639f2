using FsdNet.Autodiff;
using FsdNet.Layers;
using FsdNet.Tensors;
using FsdNet.Training;

namespace FsdNet.Models;

/// <summary>Factorization machine (Rendle, ICDM 2010; FuxiCTR's model_zoo/FM): y = sigmoid(LR + pairwise inner products of the field embeddings).</summary>
internal sealed class FmModel : CtrModel
{
    private readonly FeatureEmbedding embedding;
    private readonly FactorizationMachine fm;

    public FmModel(InputSchema schema, int embeddingDim, Rng rng, bool loadPretrained = true)
        : base(schema)
    {
        embedding = AddChild("embedding", new FeatureEmbedding(schema, embeddingDim, rng, loadPretrained));
        fm = AddChild("fm", new FactorizationMachine(schema, rng));
    }

    public static int EmbeddingDimFrom(ModelConfig cfg) => cfg.GetInt("embedding_dim", 10, min: 1);

    public override string ModelName => "FM";

    protected override Tensor Logit(Graph g, in ModelInput x) => fm.Forward(g, x, embedding.ForwardStacked(g, x, ModelName));
}
