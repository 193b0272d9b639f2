using FsdNet.Autodiff;
using FsdNet.Layers;
using FsdNet.Tensors;
using FsdNet.Training;

namespace FsdNet.Models;

/// <summary>FinalMLP's keys, named and defaulted as FuxiCTR's model_zoo/FinalMLP constructor, plus the FSD plug-in.</summary>
internal sealed record FinalMlpOptions
{
    public int EmbeddingDim { get; init; } = 10;

    public IReadOnlyList<int> Mlp1HiddenUnits { get; init; } = [64, 64, 64];

    public Activation Mlp1HiddenActivations { get; init; } = Activation.Relu;

    public float Mlp1Dropout { get; init; }

    public bool Mlp1BatchNorm { get; init; }

    public IReadOnlyList<int> Mlp2HiddenUnits { get; init; } = [64, 64, 64];

    public Activation Mlp2HiddenActivations { get; init; } = Activation.Relu;

    public float Mlp2Dropout { get; init; }

    public bool Mlp2BatchNorm { get; init; }

    public bool UseFs { get; init; } = true;

    public IReadOnlyList<int> FsHiddenUnits { get; init; } = [64];

    public IReadOnlyList<string> Fs1Context { get; init; } = [];

    public IReadOnlyList<string> Fs2Context { get; init; } = [];

    public int NumHeads { get; init; } = 1;

    /// <summary>The FSD plug-in: layer i of mlp1 fused with layer i of mlp2, one head per layer instead of the aggregation.</summary>
    public FsdOptions? Fsd { get; init; }

    public static FinalMlpOptions From(ModelConfig cfg)
    {
        var d = new FinalMlpOptions();
        Activation Act(string key)
        {
            try
            {
                return Activations.Parse(cfg.GetString(key) ?? "ReLU");
            }
            catch (ArgumentException e)
            {
                throw new ConfigException($"{cfg.Origin(key)}: {e.Message}");
            }
        }
        IReadOnlyList<string> Names(string key) =>
            [.. cfg.GetStringList(key, []).Where(n => n.Length > 0 && n is not ("null" or "None" or "~"))];
        return new FinalMlpOptions
        {
            EmbeddingDim = cfg.GetInt("embedding_dim", d.EmbeddingDim, min: 1),
            Mlp1HiddenUnits = cfg.GetIntList("mlp1_hidden_units", d.Mlp1HiddenUnits),
            Mlp1HiddenActivations = Act("mlp1_hidden_activations"),
            Mlp1Dropout = (float)cfg.GetDouble("mlp1_dropout", d.Mlp1Dropout, min: 0),
            Mlp1BatchNorm = cfg.GetBool("mlp1_batch_norm", d.Mlp1BatchNorm),
            Mlp2HiddenUnits = cfg.GetIntList("mlp2_hidden_units", d.Mlp2HiddenUnits),
            Mlp2HiddenActivations = Act("mlp2_hidden_activations"),
            Mlp2Dropout = (float)cfg.GetDouble("mlp2_dropout", d.Mlp2Dropout, min: 0),
            Mlp2BatchNorm = cfg.GetBool("mlp2_batch_norm", d.Mlp2BatchNorm),
            UseFs = cfg.GetBool("use_fs", d.UseFs),
            FsHiddenUnits = cfg.GetIntList("fs_hidden_units", d.FsHiddenUnits),
            Fs1Context = Names("fs1_context"),
            Fs2Context = Names("fs2_context"),
            NumHeads = cfg.GetInt("num_heads", d.NumHeads, min: 1),
            Fsd = FsdOptions.FromIfOn(cfg),
        };
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
