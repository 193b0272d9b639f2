using FsdNet.Autodiff;
using FsdNet.Layers;
using FsdNet.Tensors;
using FsdNet.Training;

namespace FsdNet.Models;

/// <summary>FiBiNET's keys, named and defaulted as FuxiCTR's model_zoo/FiBiNET constructor.</summary>
internal sealed record FibinetOptions
{
    [ConfigKey("embedding_dim", Min = 1)]
    public int EmbeddingDim { get; init; } = 10;

    [ConfigKey("hidden_units")]
    public IReadOnlyList<int> HiddenUnits { get; init; } = [];

    [ConfigKey("hidden_activations")]
    public Activation HiddenActivations { get; init; } = Activation.Relu;

    /// <summary>The SENET layer's output activation: ReLU or Sigmoid.</summary>
    [ConfigKey("excitation_activation")]
    public Activation ExcitationActivation { get; init; } = Activation.Relu;

    [ConfigKey("reduction_ratio", Min = 0, MinExclusive = true)]
    public double ReductionRatio { get; init; } = 3;

    [ConfigKey("bilinear_type")]
    public BilinearType BilinearType { get; init; } = BilinearType.FieldInteraction;

    [ConfigKey("net_dropout", Min = 0)]
    public float NetDropout { get; init; }

    [ConfigKey("batch_norm")]
    public bool BatchNorm { get; init; }

    public static FibinetOptions From(ModelConfig cfg)
    {
        var o = OptionsBinder.Bind<FibinetOptions>(cfg);
        if (o.ExcitationActivation is not (Activation.Relu or Activation.Sigmoid))
        {
            throw new ConfigException($"{cfg.Origin("excitation_activation")}: excitation_activation must be ReLU or Sigmoid (as FuxiCTR's SqueezeExcitation), got '{cfg.GetString("excitation_activation")}'.");
        }
        return o;
    }
}

/// <summary>
/// FiBiNET (Huang et al., RecSys 2019; FuxiCTR's model_zoo/FiBiNET): a SENET layer re-weights the field embeddings,
/// bilinear interactions of the embeddings (p) and of the re-weighted embeddings (q), an MLP with one logit on
/// [flatten(p) ; flatten(q)], plus logistic regression without bias: y = sigmoid(LR(x) + MLP).
/// </summary>
internal sealed class FibinetModel : CtrModel
{
    private readonly FeatureEmbedding embedding;
    private readonly SqueezeExcitation senet;
    private readonly BilinearInteraction bilinear1;
    private readonly BilinearInteraction bilinear2;
    private readonly LogisticRegression lr;
    private readonly MlpBlock dnn;
    private readonly int dim;

    public FibinetModel(InputSchema schema, FibinetOptions options, Rng rng, bool loadPretrained = true)
        : base(schema)
    {
        embedding = AddChild("embedding", new FeatureEmbedding(schema, options.EmbeddingDim, rng, loadPretrained));
        dim = embedding.UniformDim ?? throw new ArgumentException("FiBiNET's SENET and bilinear layers need every field embedded with the same dim; remove the per-field embedding_dim.");
        var f = embedding.FieldCount;
        senet = AddChild("senet_layer", new SqueezeExcitation(f, options.ReductionRatio, options.ExcitationActivation, rng));
        bilinear1 = AddChild("bilinear_interaction1", new BilinearInteraction(f, dim, options.BilinearType, rng));
        bilinear2 = AddChild("bilinear_interaction2", new BilinearInteraction(f, dim, options.BilinearType, rng));
        lr = AddChild("lr_layer", new LogisticRegression(schema, rng, useBias: false));
        dnn = AddChild("dnn", new MlpBlock(
            2 * bilinear1.Pairs * dim, options.HiddenUnits, options.HiddenActivations, options.NetDropout, options.BatchNorm, rng, outputDim: 1));
    }

    public override string ModelName => "FiBiNET";

    protected override Tensor Logit(Graph g, in ModelInput x)
    {
        var fields = g.Reshape(embedding.Forward(g, x), new Shape(x.Rows, embedding.FieldCount, dim));
        var senetEmb = senet.Forward(g, fields);
        var flat = new Shape(x.Rows, bilinear1.Pairs * dim);
        var p = g.Reshape(bilinear1.Forward(g, fields), flat);
        var q = g.Reshape(bilinear2.Forward(g, senetEmb), flat);
        return g.Add(lr.Forward(g, x), dnn.Forward(g, g.Concat(p, q)));
    }
}
