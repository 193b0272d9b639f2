using FsdNet.Autodiff;
using FsdNet.Layers;
using FsdNet.Tensors;
using FsdNet.Training;

namespace FsdNet.Models;

/// <summary>xDeepFM's keys, named and defaulted as FuxiCTR's model_zoo/xDeepFM constructor.</summary>
internal sealed record XDeepFmOptions
{
    [ConfigKey("embedding_dim", Min = 1)]
    public int EmbeddingDim { get; init; } = 10;

    [ConfigKey("dnn_hidden_units")]
    public IReadOnlyList<int> DnnHiddenUnits { get; init; } = [64, 64, 64];

    [ConfigKey("dnn_activations")]
    public Activation DnnActivations { get; init; } = Activation.Relu;

    [ConfigKey("cin_hidden_units")]
    public IReadOnlyList<int> CinHiddenUnits { get; init; } = [16, 16, 16];

    [ConfigKey("net_dropout", Min = 0)]
    public float NetDropout { get; init; }

    [ConfigKey("batch_norm")]
    public bool BatchNorm { get; init; }

    /// <summary>The FSD plug-in: CIN layer i (sum-pooled) fused with DNN layer i; one head per layer, each plus the LR logit.</summary>
    [ConfigKey("fsd")]
    public FsdOptions? Fsd { get; init; }

    public static XDeepFmOptions From(ModelConfig cfg) => OptionsBinder.Bind<XDeepFmOptions>(cfg);
}

/// <summary>
/// xDeepFM (Lian et al., KDD 2018; FuxiCTR's model_zoo/xDeepFM): logit = LR(x) (no bias) + CIN(field embeddings)
/// + MLP(x0) (when dnn_hidden_units is not empty). With fsd: true the CIN's sum-pooled layer i and DNN layer i are
/// fused, f_i = [p_i ; d_i], and head i's logit is w_i f_i + b_i + LR(x): the heads replace the CIN's fc and the
/// MLP's output layer, and the wide term joins every head, so each head is a whole xDeepFM of depth i + 1.
/// </summary>
internal sealed class XDeepFmModel : FsdCapableModel
{
    private readonly FeatureEmbedding embedding;
    private readonly MlpBlock? dnn;
    private readonly MlpTower? dnnTower;
    private readonly LogisticRegression lr;
    private readonly CompressedInteractionNet cin;

    public XDeepFmModel(InputSchema schema, XDeepFmOptions options, Rng rng, bool loadPretrained = true)
        : base(schema)
    {
        embedding = AddChild("embedding", new FeatureEmbedding(schema, options.EmbeddingDim, rng, loadPretrained));
        if (embedding.UniformDim is null)
        {
            throw new ArgumentException("xDeepFM needs every field embedded with the same dim (the CIN multiplies fields elementwise); remove the per-field embedding_dim.");
        }
        var x0 = embedding.OutFeatures;
        var fields = schema.Fields.Count;
        if (options.Fsd is { } f)
        {
            if (options.DnnHiddenUnits.Count == 0)
            {
                throw new ArgumentException("fsd: true needs the DNN tower beside the CIN (dnn_hidden_units).");
            }
            dnnTower = AddChild("dnn", new MlpTower(x0, options.DnnHiddenUnits, options.DnnActivations, options.NetDropout, options.BatchNorm, rng));
            lr = AddChild("lr_layer", new LogisticRegression(schema, rng, useBias: false));
            cin = AddChild("cin", new CompressedInteractionNet(fields, options.CinHiddenUnits, rng, outputDim: null));
            var widths = FusionSelfDistillation.FusedWidths(cin, dnnTower, $"cin_hidden_units: [{string.Join(", ", options.CinHiddenUnits)}]", $"dnn_hidden_units: [{string.Join(", ", options.DnnHiddenUnits)}]");
            UseFsd(widths, f, rng);
        }
        else
        {
            dnn = options.DnnHiddenUnits.Count > 0
                ? AddChild("dnn", new MlpBlock(x0, options.DnnHiddenUnits, options.DnnActivations, options.NetDropout, options.BatchNorm, rng, outputDim: 1))
                : null;
            lr = AddChild("lr_layer", new LogisticRegression(schema, rng, useBias: false));
            cin = AddChild("cin", new CompressedInteractionNet(fields, options.CinHiddenUnits, rng));
        }
    }

    public override string ModelName => "xDeepFM";

    protected override Tensor Logit(Graph g, in ModelInput x)
    {
        var x0 = embedding.Forward(g, x);
        var y = g.Add(lr.Forward(g, x), cin.Forward(g, x0));
        return dnn is null ? y : g.Add(y, dnn.Forward(g, x0));
    }

    /// <summary>CIN layer i, DNN layer i, then head i (plus the LR logit), layer by layer.</summary>
    protected override (Tensor[] Logits, Tensor[] Fused) FuseLayers(Graph g, in ModelInput x, int layers)
    {
        var x0 = embedding.Forward(g, x);
        var wide = lr.Forward(g, x);
        var (logits, fused) = Fsd!.Outputs(g);
        Tensor maps = x0, d = x0;
        for (var i = 0; i < layers; i++)
        {
            maps = cin.Step(g, i, x0, maps);
            d = dnnTower!.Step(g, i, x0, d);
            Fsd!.FuseLayer(g, i, CompressedInteractionNet.Pool(g, maps), d, logits, fused);
            logits[i] = g.Add(logits[i], wide);
        }
        return (logits, fused);
    }
}
