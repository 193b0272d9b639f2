using FsdNet.Autodiff;
using FsdNet.Layers;
using FsdNet.Tensors;
using FsdNet.Training;

namespace FsdNet.Models;

/// <summary>AFN's keys, named and defaulted as FuxiCTR's model_zoo/AFN constructor (ensemble_dnn true is AFN+).</summary>
internal sealed record AfnOptions
{
    [ConfigKey("embedding_dim", Min = 1)]
    public int EmbeddingDim { get; init; } = 10;

    [ConfigKey("ensemble_dnn")]
    public bool EnsembleDnn { get; init; } = true;

    [ConfigKey("dnn_hidden_units")]
    public IReadOnlyList<int> DnnHiddenUnits { get; init; } = [64, 64, 64];

    [ConfigKey("dnn_activations")]
    public Activation DnnActivations { get; init; } = Activation.Relu;

    [ConfigKey("dnn_dropout", Min = 0)]
    public float DnnDropout { get; init; }

    [ConfigKey("afn_hidden_units")]
    public IReadOnlyList<int> AfnHiddenUnits { get; init; } = [64, 64, 64];

    [ConfigKey("afn_activations")]
    public Activation AfnActivations { get; init; } = Activation.Relu;

    [ConfigKey("afn_dropout", Min = 0)]
    public float AfnDropout { get; init; }

    [ConfigKey("logarithmic_neurons", Min = 1)]
    public int LogarithmicNeurons { get; init; } = 5;

    /// <summary>BatchNorm in both MLPs (the logarithmic layer's two BatchNorms are always on, as in FuxiCTR).</summary>
    [ConfigKey("batch_norm")]
    public bool BatchNorm { get; init; } = true;

    public static AfnOptions From(ModelConfig cfg) => OptionsBinder.Bind<AfnOptions>(cfg);
}

/// <summary>
/// Adaptive Factorization Network (Cheng et al., AAAI 2020; FuxiCTR's model_zoo/AFN): the logarithmic transformation
/// layer learns arbitrary-order cross features, an MLP ("dense_layer") turns them into one logit. With ensemble_dnn
/// (AFN+, the default) a second embedding ("embedding2") feeds an MLP ("dnn") with one logit, and fc = Linear(2, 1)
/// weighs the two logits: y = sigmoid(fc([afn ; dnn])); without it y = sigmoid(afn).
/// </summary>
internal sealed class AfnModel : CtrModel
{
    private readonly FeatureEmbedding embedding;
    private readonly LogarithmicTransformation logNet;
    private readonly MlpBlock denseLayer;
    private readonly FeatureEmbedding? embedding2;
    private readonly MlpBlock? dnn;
    private readonly Linear? fc;
    private readonly int dim;

    public AfnModel(InputSchema schema, AfnOptions options, Rng rng, bool loadPretrained = true)
        : base(schema)
    {
        embedding = AddChild("embedding", new FeatureEmbedding(schema, options.EmbeddingDim, rng, loadPretrained));
        dim = embedding.UniformDim ?? throw new ArgumentException("AFN's logarithmic layer combines the fields' vectors, so every field needs the same embedding dim; remove the per-field embedding_dim.");
        logNet = AddChild("", new LogarithmicTransformation(embedding.FieldCount, dim, options.LogarithmicNeurons, rng));
        denseLayer = AddChild("dense_layer", new MlpBlock(
            logNet.OutFeatures, options.AfnHiddenUnits, options.AfnActivations, options.AfnDropout, options.BatchNorm, rng, outputDim: 1));
        if (options.EnsembleDnn)
        {
            embedding2 = AddChild("embedding2", new FeatureEmbedding(schema, options.EmbeddingDim, rng, loadPretrained));
            dnn = AddChild("dnn", new MlpBlock(
                embedding2.OutFeatures, options.DnnHiddenUnits, options.DnnActivations, options.DnnDropout, options.BatchNorm, rng, outputDim: 1));
            fc = AddChild("fc", new Linear(2, 1, rng));
        }
    }

    public override string ModelName => "AFN";

    protected override Tensor Logit(Graph g, in ModelInput x)
    {
        var fields = g.Reshape(embedding.Forward(g, x), new Shape(x.Rows, embedding.FieldCount, dim));
        var afn = denseLayer.Forward(g, logNet.Forward(g, fields));
        if (fc is null)
        {
            return afn;
        }
        return fc.Forward(g, g.Concat(afn, dnn!.Forward(g, embedding2!.Forward(g, x))));
    }
}
