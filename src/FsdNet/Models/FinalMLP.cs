using FsdNet.Autodiff;
using FsdNet.Layers;
using FsdNet.Tensors;
using FsdNet.Training;

namespace FsdNet.Models;

/// <summary>FinalMLP's keys, named and defaulted as FuxiCTR's model_zoo/FinalMLP constructor, plus the FSD plug-in.</summary>
internal sealed record FinalMlpOptions
{
    [ConfigKey("embedding_dim", Min = 1)]
    public int EmbeddingDim { get; init; } = 10;

    [ConfigKey("mlp1_hidden_units")]
    public IReadOnlyList<int> Mlp1HiddenUnits { get; init; } = [64, 64, 64];

    [ConfigKey("mlp1_hidden_activations")]
    public Activation Mlp1HiddenActivations { get; init; } = Activation.Relu;

    [ConfigKey("mlp1_dropout", Min = 0)]
    public float Mlp1Dropout { get; init; }

    [ConfigKey("mlp1_batch_norm")]
    public bool Mlp1BatchNorm { get; init; }

    [ConfigKey("mlp2_hidden_units")]
    public IReadOnlyList<int> Mlp2HiddenUnits { get; init; } = [64, 64, 64];

    [ConfigKey("mlp2_hidden_activations")]
    public Activation Mlp2HiddenActivations { get; init; } = Activation.Relu;

    [ConfigKey("mlp2_dropout", Min = 0)]
    public float Mlp2Dropout { get; init; }

    [ConfigKey("mlp2_batch_norm")]
    public bool Mlp2BatchNorm { get; init; }

    [ConfigKey("use_fs")]
    public bool UseFs { get; init; } = true;

    [ConfigKey("fs_hidden_units")]
    public IReadOnlyList<int> FsHiddenUnits { get; init; } = [64];

    public IReadOnlyList<string> Fs1Context { get; init; } = [];

    public IReadOnlyList<string> Fs2Context { get; init; } = [];

    [ConfigKey("num_heads", Min = 1)]
    public int NumHeads { get; init; } = 1;

    /// <summary>The FSD plug-in: layer i of mlp1 fused with layer i of mlp2, one head per layer instead of the aggregation.</summary>
    [ConfigKey("fsd")]
    public FsdOptions? Fsd { get; init; }

    public static FinalMlpOptions From(ModelConfig cfg)
    {
        IReadOnlyList<string> Names(string key) =>
            [.. cfg.GetStringList(key, []).Where(n => n.Length > 0 && n is not ("null" or "None" or "~"))];
        return OptionsBinder.Bind<FinalMlpOptions>(cfg) with { Fs1Context = Names("fs1_context"), Fs2Context = Names("fs2_context") };
    }
}

/// <summary>
/// FinalMLP (Mao et al., AAAI 2023; FuxiCTR's model_zoo/FinalMLP): two MLP towers on the flattened embeddings, each
/// through its own feature-selection gate (use_fs), combined by bilinear interaction aggregation into one logit. With
/// fsd: true the towers are fused layer by layer, f_i = [mlp1_i ; mlp2_i], one head per layer (the FSD module) instead
/// of the aggregation.
/// </summary>
internal sealed class FinalMlpModel : FsdCapableModel
{
    private readonly FeatureEmbedding embedding;
    private readonly MlpTower mlp1;
    private readonly MlpTower mlp2;
    private readonly FeatureSelection? fs;
    private readonly InteractionAggregation? fusion;

    public FinalMlpModel(InputSchema schema, FinalMlpOptions options, Rng rng, bool loadPretrained = true)
        : base(schema)
    {
        embedding = AddChild("embedding", new FeatureEmbedding(schema, options.EmbeddingDim, rng, loadPretrained));
        var x0 = embedding.OutFeatures;
        mlp1 = AddChild("mlp1", new MlpTower(x0, options.Mlp1HiddenUnits, options.Mlp1HiddenActivations, options.Mlp1Dropout, options.Mlp1BatchNorm, rng));
        mlp2 = AddChild("mlp2", new MlpTower(x0, options.Mlp2HiddenUnits, options.Mlp2HiddenActivations, options.Mlp2Dropout, options.Mlp2BatchNorm, rng));
        if (options.UseFs)
        {
            fs = AddChild("fs_module", new FeatureSelection(
                schema, x0, options.EmbeddingDim, options.FsHiddenUnits, options.Fs1Context, options.Fs2Context, rng, loadPretrained));
        }
        if (options.Fsd is { } f)
        {
            var widths = FusionSelfDistillation.FusedWidths(
                mlp1, mlp2, $"the number of mlp1_hidden_units [{string.Join(", ", options.Mlp1HiddenUnits)}]", $"mlp2_hidden_units [{string.Join(", ", options.Mlp2HiddenUnits)}]");
            UseFsd(widths, f, rng);
        }
        else
        {
            fusion = AddChild("fusion_module", new InteractionAggregation(mlp1.OutFeatures, mlp2.OutFeatures, options.NumHeads, rng));
        }
    }

    public override string ModelName => "FinalMLP";

    private (Tensor Feature1, Tensor Feature2) Inputs(Graph g, in ModelInput x)
    {
        var x0 = embedding.Forward(g, x);
        return fs is null ? (x0, x0) : fs.Forward(g, x, x0);
    }

    protected override Tensor Logit(Graph g, in ModelInput x)
    {
        var (f1, f2) = Inputs(g, x);
        return fusion!.Forward(g, mlp1.Forward(g, f1), mlp2.Forward(g, f2));
    }

    /// <summary>Every layer's logit and fused features: layer i of mlp1, layer i of mlp2, then f_i and z_i (a fixed tape order).</summary>
    protected override (Tensor[] Logits, Tensor[] Fused) FuseLayers(Graph g, in ModelInput x, int layers)
    {
        var (f1, f2) = Inputs(g, x);
        var (logits, fused) = Fsd!.Outputs(g);
        Tensor c = f1, d = f2;
        for (var i = 0; i < layers; i++)
        {
            c = mlp1.Step(g, i, f1, c);
            d = mlp2.Step(g, i, f2, d);
            Fsd!.FuseLayer(g, i, c, d, logits, fused);
        }
        return (logits, fused);
    }
}
