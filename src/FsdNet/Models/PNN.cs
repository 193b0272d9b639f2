using FsdNet.Autodiff;
using FsdNet.Layers;
using FsdNet.Tensors;
using FsdNet.Training;

namespace FsdNet.Models;

/// <summary>PNN's keys, named and defaulted as FuxiCTR's model_zoo/PNN constructor (only product_type: inner exists there).</summary>
public sealed record PnnOptions
{
    public int EmbeddingDim { get; init; } = 10;

    public IReadOnlyList<int> HiddenUnits { get; init; } = [64, 64, 64];

    public Activation HiddenActivations { get; init; } = Activation.Relu;

    public float NetDropout { get; init; }

    public bool BatchNorm { get; init; }

    public static PnnOptions From(ModelConfig cfg)
    {
        var d = new PnnOptions();
        var product = cfg.GetString("product_type") ?? "inner";
        if (!string.Equals(product, "inner", StringComparison.OrdinalIgnoreCase))
        {
            throw new ConfigException($"{cfg.Origin("product_type")}: product_type '{product}' is not implemented (FuxiCTR's PNN has only 'inner', the IPNN).");
        }
        return new PnnOptions
        {
            EmbeddingDim = cfg.GetInt("embedding_dim", d.EmbeddingDim, min: 1),
            HiddenUnits = cfg.GetIntList("hidden_units", d.HiddenUnits),
            HiddenActivations = Activations.Parse(cfg.GetString("hidden_activations") ?? d.HiddenActivations.ToString()),
            NetDropout = (float)cfg.GetDouble("net_dropout", d.NetDropout, min: 0),
            BatchNorm = cfg.GetBool("batch_norm", d.BatchNorm),
        };
    }
}

/// <summary>
/// Inner-product PNN (Qu et al., ICDM 2016; FuxiCTR's model_zoo/PNN): an MLP with one logit on
/// [x0 ; the inner products of every pair of field embeddings].
/// </summary>
public sealed class PnnModel : CtrModel
{
    private readonly FeatureEmbedding embedding;
    private readonly InnerProductInteraction inner;
    private readonly MlpBlock dnn;
    private readonly int dim;

    public PnnModel(InputSchema schema, PnnOptions options, Rng rng, bool loadPretrained = true)
    {
        embedding = AddChild("embedding", new FeatureEmbedding(schema, options.EmbeddingDim, rng, loadPretrained));
        dim = embedding.UniformDim ?? throw new ArgumentException("PNN takes the inner product of every pair of field embeddings, so every field needs the same dim; remove the per-field embedding_dim.");
        inner = AddChild("inner_product_layer", new InnerProductInteraction(embedding.FieldCount));
        dnn = AddChild("dnn", new MlpBlock(
            embedding.OutFeatures + inner.InteractionUnits, options.HiddenUnits, options.HiddenActivations, options.NetDropout, options.BatchNorm, rng, outputDim: 1));
    }

    public override string ModelName => "PNN";

    public override InputSchema Schema => embedding.Schema;

    public override Tensor Predict(Graph g, in ModelInput x) => g.Sigmoid(Logit(g, x));

    public override Tensor Loss(Graph g, in ModelInput x) => g.BceWithLogits(Logit(g, x), Labels(g, x));

    private Tensor Logit(Graph g, in ModelInput x)
    {
        var x0 = embedding.Forward(g, x);
        var products = inner.Forward(g, g.Reshape(x0, new Shape(x.Rows, inner.NumFields, dim)));
        return dnn.Forward(g, g.Concat(x0, products));
    }
}
