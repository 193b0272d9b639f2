using FsdNet.Autodiff;
using FsdNet.Layers;
using FsdNet.Tensors;
using FsdNet.Training;

namespace FsdNet.Models;

/// <summary>
/// DCN's keys, named and defaulted as FuxiCTR's model_zoo/DCN constructor; GDCN and GDCNP take the same keys. The
/// depth may also be spelt crossing_layers (FuxiCTR 1.x's and BARS' name, and that of FuxiCTR's own GDCN test configs,
/// which its 2.x constructors ignore): FsdNet reads it when num_cross_layers is absent (see docs/MODELS.md).
/// </summary>
internal sealed record DcnOptions
{
    [ConfigKey("embedding_dim", Min = 1)]
    public int EmbeddingDim { get; init; } = 10;

    [ConfigKey("dnn_hidden_units")]
    public IReadOnlyList<int> DnnHiddenUnits { get; init; } = [];

    [ConfigKey("dnn_activations")]
    public Activation DnnActivations { get; init; } = Activation.Relu;

    [ConfigKey("num_cross_layers", Min = 1)]
    public int NumCrossLayers { get; init; } = 3;

    [ConfigKey("net_dropout", Min = 0)]
    public float NetDropout { get; init; }

    [ConfigKey("batch_norm")]
    public bool BatchNorm { get; init; }

    /// <summary>The FSD plug-in: cross layer i fused with DNN layer i, one head per layer instead of the fc.</summary>
    [ConfigKey("fsd")]
    public FsdOptions? Fsd { get; init; }

    public static DcnOptions From(ModelConfig cfg)
    {
        var o = OptionsBinder.Bind<DcnOptions>(cfg);
        // GDCN's model_zoo configs name the depth crossing_layers: an alias, refused when both are given and differ.
        if (cfg.Has("crossing_layers"))
        {
            var alias = cfg.GetInt("crossing_layers", o.NumCrossLayers, min: 1);
            if (!cfg.Has("num_cross_layers"))
            {
                return o with { NumCrossLayers = alias };
            }
            if (alias != o.NumCrossLayers)
            {
                throw new ConfigException(
                    $"{cfg.Origin("crossing_layers")}: crossing_layers ({alias}) and num_cross_layers ({o.NumCrossLayers}) differ; give the depth once (num_cross_layers).");
            }
        }
        return o;
    }

    internal void RequireDnn(string model)
    {
        if (DnnHiddenUnits.Count == 0)
        {
            throw new ArgumentException($"{model} needs dnn_hidden_units (FuxiCTR's {model} has no network without them either), e.g. dnn_hidden_units: [400, 400, 400].");
        }
    }
}

/// <summary>
/// Deep &amp; Cross Network (Wang et al., ADKDD 2017; FuxiCTR's model_zoo/DCN): a cross network and (when
/// dnn_hidden_units is not empty) an MLP on x0 in parallel, concatenated into one logit; with fsd: true the two
/// towers are fused layer by layer by the FSD module.
/// </summary>
internal sealed class DcnModel : FsdCapableModel
{
    private readonly FeatureEmbedding embedding;
    private readonly MlpTower? dnn;
    private readonly CrossNet cross;
    private readonly Linear? fc;

    public DcnModel(InputSchema schema, DcnOptions options, Rng rng, bool loadPretrained = true)
        : base(schema)
    {
        embedding = AddChild("embedding", new FeatureEmbedding(schema, options.EmbeddingDim, rng, loadPretrained));
        var x0 = embedding.OutFeatures;
        dnn = options.DnnHiddenUnits.Count > 0
            ? AddChild("dnn", new MlpTower(x0, options.DnnHiddenUnits, options.DnnActivations, options.NetDropout, options.BatchNorm, rng))
            : null;
        cross = AddChild("crossnet", new CrossNet(x0, options.NumCrossLayers, rng));
        if (options.Fsd is { } f)
        {
            if (dnn is null)
            {
                throw new ArgumentException("fsd: true needs the DNN tower beside the cross network (dnn_hidden_units).");
            }
            var widths = FusionSelfDistillation.FusedWidths(cross, dnn, "num_cross_layers", $"dnn_hidden_units: [{string.Join(", ", options.DnnHiddenUnits)}]");
            UseFsd(widths, f, rng);
        }
        else
        {
            fc = AddChild("fc", new Linear(x0 + (dnn?.OutFeatures ?? 0), 1, rng));
        }
    }

    public override string ModelName => "DCN";

    protected override (Tensor[] Logits, Tensor[] Fused) FuseLayers(Graph g, in ModelInput x, int layers) => Fsd!.Run(g, embedding.Forward(g, x), cross, dnn!, layers);

    protected override Tensor Logit(Graph g, in ModelInput x)
    {
        var x0 = embedding.Forward(g, x);
        var crossOut = cross.Forward(g, x0);
        return fc!.Forward(g, dnn is null ? crossOut : g.Concat(crossOut, dnn.Forward(g, x0)));
    }
}
