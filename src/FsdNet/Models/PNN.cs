using FsdNet.Autodiff;
using FsdNet.Layers;
using FsdNet.Tensors;
using FsdNet.Training;

namespace FsdNet.Models;

/// <summary>
/// Inner-product PNN (Qu et al., ICDM 2016; FuxiCTR's model_zoo/PNN): an MLP with one logit on
/// [x0 ; the inner products of every pair of field embeddings].
/// </summary>
internal sealed class PnnModel : CtrModel
{
    /// <summary>PNN's keys: those of the MLP models (<see cref="DnnOptions"/>), plus product_type, of which FuxiCTR has only 'inner'.</summary>
    public static DnnOptions OptionsFrom(ModelConfig cfg)
    {
        var product = cfg.GetString("product_type") ?? "inner";
        if (!string.Equals(product, "inner", StringComparison.OrdinalIgnoreCase))
        {
            throw new ConfigException($"{cfg.Origin("product_type")}: product_type '{product}' is not implemented (FuxiCTR's PNN has only 'inner', the IPNN).");
        }
        return DnnOptions.From(cfg);
    }

    private readonly FeatureEmbedding embedding;
    private readonly InnerProductInteraction inner;
    private readonly MlpBlock dnn;
    private readonly int dim;

    public PnnModel(InputSchema schema, DnnOptions options, Rng rng, bool loadPretrained = true)
        : base(schema)
    {
        embedding = AddChild("embedding", new FeatureEmbedding(schema, options.EmbeddingDim, rng, loadPretrained));
        dim = embedding.UniformDim ?? throw new ArgumentException("PNN takes the inner product of every pair of field embeddings, so every field needs the same dim; remove the per-field embedding_dim.");
        inner = AddChild("inner_product_layer", new InnerProductInteraction(embedding.FieldCount));
        dnn = AddChild("dnn", options.Mlp(embedding.OutFeatures + inner.InteractionUnits, rng));
    }

    public override string ModelName => "PNN";

    protected override Tensor Logit(Graph g, in ModelInput x)
    {
        var x0 = embedding.Forward(g, x);
        var products = inner.Forward(g, g.Reshape(x0, new Shape(x.Rows, inner.NumFields, dim)));
        return dnn.Forward(g, g.Concat(x0, products));
    }
}
