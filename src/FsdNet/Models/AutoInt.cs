using FsdNet.Autodiff;
using FsdNet.Layers;
using FsdNet.Tensors;
using FsdNet.Training;

namespace FsdNet.Models;

/// <summary>AutoInt's keys, named and defaulted as FuxiCTR's model_zoo/AutoInt constructor (AutoInt+ is AutoInt with dnn_hidden_units).</summary>
internal sealed record AutoIntOptions
{
    [ConfigKey("embedding_dim", Min = 1)]
    public int EmbeddingDim { get; init; } = 10;

    [ConfigKey("dnn_hidden_units")]
    public IReadOnlyList<int> DnnHiddenUnits { get; init; } = [64, 64, 64];

    [ConfigKey("dnn_activations")]
    public Activation DnnActivations { get; init; } = Activation.Relu;

    [ConfigKey("attention_layers", Min = 0)]
    public int AttentionLayers { get; init; } = 2;

    [ConfigKey("num_heads", Min = 1)]
    public int NumHeads { get; init; } = 1;

    [ConfigKey("attention_dim", Min = 1)]
    public int AttentionDim { get; init; } = 8;

    [ConfigKey("net_dropout", Min = 0)]
    public float NetDropout { get; init; }

    [ConfigKey("batch_norm")]
    public bool BatchNorm { get; init; }

    [ConfigKey("layer_norm")]
    public bool LayerNorm { get; init; }

    [ConfigKey("use_scale")]
    public bool UseScale { get; init; }

    [ConfigKey("use_wide")]
    public bool UseWide { get; init; }

    [ConfigKey("use_residual")]
    public bool UseResidual { get; init; } = true;

    /// <summary>The FSD plug-in: attention layer i (flattened) fused with DNN layer i; the heads replace fc and the DNN output.</summary>
    [ConfigKey("fsd")]
    public FsdOptions? Fsd { get; init; }

    public static AutoIntOptions From(ModelConfig cfg) => OptionsBinder.Bind<AutoIntOptions>(cfg);
}

/// <summary>
/// AutoInt / AutoInt+ (Song et al., CIKM 2019; FuxiCTR's model_zoo/AutoInt): stacked multi-head self-attention over the
/// field embeddings, flattened into the linear "fc", plus an MLP on x0 (when dnn_hidden_units is not empty) and the
/// LR term (use_wide). With fsd: true attention layer i (flattened) and DNN layer i are fused, f_i = [a_i ; d_i], and
/// head i's logit (plus the LR logit with use_wide) replaces fc and the MLP's output layer.
/// </summary>
internal sealed class AutoIntModel : FsdCapableModel
{
    private readonly FeatureEmbedding embedding;
    private readonly LogisticRegression? lr;
    private readonly MlpBlock? dnn;
    private readonly MlpTower? dnnTower;
    private readonly SelfAttentionTower attention;
    private readonly Linear? fc;

    public AutoIntModel(InputSchema schema, AutoIntOptions options, Rng rng, bool loadPretrained = true)
        : base(schema)
    {
        embedding = AddChild("embedding", new FeatureEmbedding(schema, options.EmbeddingDim, rng, loadPretrained));
        if (embedding.UniformDim is null)
        {
            throw new ArgumentException("AutoInt needs every field embedded with the same dim (the attention reads one vector per field); remove the per-field embedding_dim.");
        }
        var x0 = embedding.OutFeatures;
        var fields = schema.Fields.Count;
        lr = options.UseWide ? AddChild("lr_layer", new LogisticRegression(schema, rng, useBias: false)) : null;
        if (options.Fsd is not null)
        {
            if (options.DnnHiddenUnits.Count == 0)
            {
                throw new ArgumentException("fsd: true needs the DNN tower beside the attention layers (dnn_hidden_units).");
            }
            dnnTower = AddChild("dnn", new MlpTower(x0, options.DnnHiddenUnits, options.DnnActivations, options.NetDropout, options.BatchNorm, rng));
        }
        else if (options.DnnHiddenUnits.Count > 0)
        {
            dnn = AddChild("dnn", new MlpBlock(x0, options.DnnHiddenUnits, options.DnnActivations, options.NetDropout, options.BatchNorm, rng, outputDim: 1));
        }
        attention = AddChild("self_attention", new SelfAttentionTower(
            fields, embedding.UniformDim.Value, options.AttentionLayers, options.AttentionDim, options.NumHeads, options.NetDropout,
            options.UseResidual, options.UseScale, options.LayerNorm, rng));
        if (options.Fsd is { } f)
        {
            var widths = FusionSelfDistillation.FusedWidths(attention, dnnTower!, "attention_layers", $"dnn_hidden_units: [{string.Join(", ", options.DnnHiddenUnits)}]");
            UseFsd(widths, f, rng);
        }
        else
        {
            fc = AddChild("fc", new Linear(attention.OutFeatures, 1, rng));
        }
    }

    public override string ModelName => "AutoInt";

    protected override Tensor Logit(Graph g, in ModelInput x)
    {
        var x0 = embedding.Forward(g, x);
        var y = fc!.Forward(g, attention.Forward(g, x0));
        if (dnn is not null)
        {
            y = g.Add(y, dnn.Forward(g, x0));
        }
        return lr is null ? y : g.Add(y, lr.Forward(g, x));
    }

    protected override (Tensor[] Logits, Tensor[] Fused) FuseLayers(Graph g, in ModelInput x, int layers)
    {
        var x0 = embedding.Forward(g, x);
        var (logits, fused) = Fsd!.Run(g, x0, attention, dnnTower!, layers);
        if (lr is not null)
        {
            var wide = lr.Forward(g, x);
            for (var i = 0; i < layers; i++)
            {
                logits[i] = g.Add(logits[i], wide);
            }
        }
        return (logits, fused);
    }
}
