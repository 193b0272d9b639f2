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
    {
        embedding = AddChild("embedding", new FeatureEmbedding(schema, options.EmbeddingDim, rng, loadPretrained));
        mlp = AddChild("mlp", options.Mlp(embedding.OutFeatures, rng));
    }

    public override string ModelName => "DNN";

    public override InputSchema Schema => embedding.Schema;

    public override Tensor Predict(Graph g, in ModelInput x) => g.Sigmoid(Logit(g, x));

    public override Tensor Loss(Graph g, in ModelInput x) => g.BceWithLogits(Logit(g, x), Labels(g, x));

    private Tensor Logit(Graph g, in ModelInput x) => mlp.Forward(g, embedding.Forward(g, x));
}
