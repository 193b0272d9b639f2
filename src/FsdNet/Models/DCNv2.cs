using FsdNet.Autodiff;
using FsdNet.Layers;
using FsdNet.Tensors;
using FsdNet.Training;

namespace FsdNet.Models;

/// <summary>DCNv2's model_structure: where the deep network sits relative to the cross network.</summary>
internal enum Dcnv2Structure
{
    CrossNetOnly,
    Stacked,
    Parallel,
    StackedParallel,
}

/// <summary>DCNv2's keys, named and defaulted as FuxiCTR's model_zoo/DCNv2 constructor.</summary>
internal sealed record Dcnv2Options
{
    [ConfigKey("model_structure")]
    public Dcnv2Structure Structure { get; init; } = Dcnv2Structure.Parallel;

    /// <summary>use_low_rank_mixture: the cross network is CrossNetMix (low-rank experts) instead of CrossNetV2.</summary>
    public bool UseLowRankMixture { get; init; }

    public int LowRank { get; init; } = 32;

    public int NumExperts { get; init; } = 4;

    [ConfigKey("embedding_dim", Min = 1)]
    public int EmbeddingDim { get; init; } = 10;

    [ConfigKey("stacked_dnn_hidden_units")]
    public IReadOnlyList<int> StackedDnnHiddenUnits { get; init; } = [];

    [ConfigKey("parallel_dnn_hidden_units")]
    public IReadOnlyList<int> ParallelDnnHiddenUnits { get; init; } = [];

    [ConfigKey("dnn_activations")]
    public Activation DnnActivations { get; init; } = Activation.Relu;

    [ConfigKey("num_cross_layers", Min = 1)]
    public int NumCrossLayers { get; init; } = 3;

    [ConfigKey("net_dropout", Min = 0)]
    public float NetDropout { get; init; }

    [ConfigKey("batch_norm")]
    public bool BatchNorm { get; init; }

    /// <summary>The FSD plug-in (parallel structure only): one head per layer instead of the final fc.</summary>
    [ConfigKey("fsd")]
    public FsdOptions? Fsd { get; init; }

    public static Dcnv2Options From(ModelConfig cfg)
    {
        var o = OptionsBinder.Bind<Dcnv2Options>(cfg);
        if (!cfg.GetBool("use_low_rank_mixture", false))
        {
            cfg.Acknowledge("low_rank", "read only with use_low_rank_mixture: True");
            cfg.Acknowledge("num_experts", "read only with use_low_rank_mixture: True");
            return o;
        }
        return o with
        {
            UseLowRankMixture = true,
            LowRank = cfg.GetInt("low_rank", o.LowRank, min: 1),
            NumExperts = cfg.GetInt("num_experts", o.NumExperts, min: 1),
        };
    }

    /// <summary>FuxiCTR's model_structure names.</summary>
    public static Dcnv2Structure ParseStructure(string name) => name.Trim().ToLowerInvariant() switch
    {
        "crossnet_only" => Dcnv2Structure.CrossNetOnly,
        "stacked" => Dcnv2Structure.Stacked,
        "parallel" => Dcnv2Structure.Parallel,
        "stacked_parallel" => Dcnv2Structure.StackedParallel,
        var s => throw new ArgumentException($"model_structure '{s}' is not one of crossnet_only, stacked, parallel, stacked_parallel."),
    };
}

/// <summary>
/// DCNv2 (Wang et al., WWW 2021; FuxiCTR's model_zoo/DCNv2): a full-rank cross network (or, with
/// use_low_rank_mixture, the low-rank mixture <see cref="CrossNetMix"/>) over x0 and an MLP, stacked
/// (the MLP reads the cross output), parallel (both read x0, outputs concatenated) or both, then one logit. With the
/// FSD module the parallel towers are fused layer by layer, f_i = [c_i ; d_i], one head per layer (that is FSDNet).
/// </summary>
internal class Dcnv2Model : FsdCapableModel
{
    private readonly FeatureEmbedding embedding;
    private readonly ILayerwiseTower cross;
    private readonly MlpTower? stacked;
    private readonly MlpTower? parallel;
    private readonly Linear? fc;
    private readonly string name;

    public Dcnv2Model(InputSchema schema, Dcnv2Options options, Rng rng, bool loadPretrained = true, string modelName = "DCNv2")
        : base(schema)
    {
        name = modelName;
        embedding = AddChild("embedding", new FeatureEmbedding(schema, options.EmbeddingDim, rng, loadPretrained));
        var x0 = embedding.OutFeatures;
        cross = options.UseLowRankMixture
            ? AddChild("cross", new CrossNetMix(x0, options.NumCrossLayers, options.LowRank, options.NumExperts, rng))
            : AddChild("cross", new CrossNetV2(x0, options.NumCrossLayers, rng));
        var s = options.Structure;
        if (s is Dcnv2Structure.Stacked or Dcnv2Structure.StackedParallel)
        {
            stacked = AddChild("stacked_dnn", new MlpTower(x0, options.StackedDnnHiddenUnits, options.DnnActivations, options.NetDropout, options.BatchNorm, rng));
        }
        if (s is Dcnv2Structure.Parallel or Dcnv2Structure.StackedParallel)
        {
            parallel = AddChild("dnn", new MlpTower(x0, options.ParallelDnnHiddenUnits, options.DnnActivations, options.NetDropout, options.BatchNorm, rng));
        }
        if (options.Fsd is { } f)
        {
            if (parallel is null || stacked is not null)
            {
                throw new ArgumentException($"fsd: true needs model_structure: parallel (two towers side by side), not {s}.");
            }
            var widths = FusionSelfDistillation.FusedWidths(
                cross, parallel, "num_cross_layers", $"parallel_dnn_hidden_units: [{string.Join(", ", options.ParallelDnnHiddenUnits)}]");
            UseFsd(widths, f, rng);
        }
        else
        {
            var final = s switch
            {
                Dcnv2Structure.CrossNetOnly => x0,
                Dcnv2Structure.Stacked => stacked!.OutFeatures,
                Dcnv2Structure.Parallel => x0 + parallel!.OutFeatures,
                _ => stacked!.OutFeatures + parallel!.OutFeatures,
            };
            fc = AddChild("fc", new Linear(final, 1, rng));
        }
        Structure = s;
    }

    public override string ModelName => name;

    public Dcnv2Structure Structure { get; }

    /// <summary>With the FSD module: every head's logit z_i and every layer's fused features f_i (as <see cref="FsdCapableModel.Heads"/>).</summary>
    public (Tensor[] Logits, Tensor[] Fused) Forward(Graph g, in ModelInput x) => Heads(g, x);

    protected override (Tensor[] Logits, Tensor[] Fused) FuseLayers(Graph g, in ModelInput x, int layers) => Fsd!.Run(g, embedding.Forward(g, x), cross, parallel!, layers);

    protected override Tensor Logit(Graph g, in ModelInput x)
    {
        var x0 = embedding.Forward(g, x);
        var crossOut = x0;
        for (var i = 0; i < cross.LayerCount; i++)
        {
            crossOut = cross.Step(g, i, x0, crossOut);
        }
        var final = Structure switch
        {
            Dcnv2Structure.CrossNetOnly => crossOut,
            Dcnv2Structure.Stacked => stacked!.Forward(g, crossOut),
            Dcnv2Structure.Parallel => g.Concat(crossOut, parallel!.Forward(g, x0)),
            _ => g.Concat(stacked!.Forward(g, crossOut), parallel!.Forward(g, x0)),
        };
        return fc!.Forward(g, final);
    }
}
