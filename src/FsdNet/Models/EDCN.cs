using FsdNet.Autodiff;
using FsdNet.Layers;
using FsdNet.Tensors;
using FsdNet.Training;

namespace FsdNet.Models;

/// <summary>EDCN's keys, named and defaulted as FuxiCTR's model_zoo/EDCN constructor (plus use_regulation_module).</summary>
internal sealed record EdcnOptions
{
    [ConfigKey("embedding_dim", Min = 1)]
    public int EmbeddingDim { get; init; } = 10;

    [ConfigKey("num_cross_layers", Min = 1)]
    public int NumCrossLayers { get; init; } = 3;

    [ConfigKey("hidden_activations")]
    public Activation HiddenActivations { get; init; } = Activation.Relu;

    [ConfigKey("bridge_type")]
    public BridgeType BridgeType { get; init; } = BridgeType.HadamardProduct;

    /// <summary>temperature: tau of the regulation module's field softmax.</summary>
    [ConfigKey("temperature", Min = 0, MinExclusive = true)]
    public double Temperature { get; init; } = 1;

    /// <summary>use_regulation_module: false replaces the field gates by the identity (FsdNet's addition; FuxiCTR always gates).</summary>
    [ConfigKey("use_regulation_module")]
    public bool UseRegulationModule { get; init; } = true;

    [ConfigKey("net_dropout", Min = 0)]
    public float NetDropout { get; init; }

    /// <summary>batch_norm: the regulation module's BatchNorms (FuxiCTR's dense layers never have one).</summary>
    [ConfigKey("batch_norm")]
    public bool BatchNorm { get; init; }

    /// <summary>The FSD plug-in: layer i's cross, deep and bridge outputs fused, one head per layer instead of the fc.</summary>
    [ConfigKey("fsd")]
    public FsdOptions? Fsd { get; init; }

    public static EdcnOptions From(ModelConfig cfg) => OptionsBinder.Bind<EdcnOptions>(cfg);
}

/// <summary>
/// EDCN (Chen et al., CIKM 2021; FuxiCTR's model_zoo/EDCN): per layer i a cross layer (FuxiCTR's CrossInteraction,
/// no residual) and a dense layer of width fields x embedding_dim, joined by a bridge module whose output, through
/// the next layer's regulation module, feeds both towers; the logit is fc([c_L ; d_L ; b_L]). With fsd: true head i
/// reads f_i = [c_i ; d_i ; b_i], so the last head sees what FuxiCTR's fc sees.
/// </summary>
internal sealed class EdcnModel : FsdCapableModel
{
    private readonly FeatureEmbedding embedding;
    private readonly DenseLayer[] dense;
    private readonly CrossInteraction[] cross;
    private readonly BridgeModule[] bridges;
    private readonly RegulationModule[] regulation;
    private readonly Linear? fc;

    public EdcnModel(InputSchema schema, EdcnOptions options, Rng rng, bool loadPretrained = true)
        : base(schema)
    {
        embedding = AddChild("embedding", new FeatureEmbedding(schema, options.EmbeddingDim, rng, loadPretrained));
        var fields = schema.Fields.Count;
        var hidden = embedding.OutFeatures;
        if (hidden != fields * options.EmbeddingDim)
        {
            throw new ArgumentException(
                $"EDCN gates each field's embedding_dim ({options.EmbeddingDim}) entries, so every field must embed to embedding_dim; the inputs give {hidden} features for {fields} fields.");
        }
        var n = options.NumCrossLayers;
        dense = new DenseLayer[n];
        cross = new CrossInteraction[n];
        bridges = new BridgeModule[n];
        regulation = new RegulationModule[n];
        for (var i = 0; i < n; i++)
        {
            dense[i] = AddChild($"dense_layers.{i}", new DenseLayer(hidden, hidden, options.HiddenActivations, options.NetDropout, batchNorm: false, rng));
        }
        for (var i = 0; i < n; i++)
        {
            cross[i] = AddChild($"cross_layers.{i}", new CrossInteraction(hidden, rng));
        }
        for (var i = 0; i < n; i++)
        {
            bridges[i] = AddChild($"bridge_modules.{i}", new BridgeModule(hidden, options.BridgeType, rng));
        }
        for (var i = 0; i < n; i++)
        {
            regulation[i] = AddChild($"regulation_modules.{i}", new RegulationModule(fields, options.EmbeddingDim, options.Temperature, options.BatchNorm, options.UseRegulationModule));
        }
        if (options.Fsd is { } f)
        {
            UseFsd([.. Enumerable.Repeat(3 * hidden, n)], f, rng);
        }
        else
        {
            fc = AddChild("fc", new Linear(3 * hidden, 1, rng));
        }
    }

    public override string ModelName => "EDCN";

    /// <summary>With the FSD module: every head's logit and fused features [c_i ; d_i ; b_i].</summary>
    protected override (Tensor[] Logits, Tensor[] Fused) FuseLayers(Graph g, in ModelInput x, int layers)
    {
        var (logits, fused) = Fsd!.Outputs(g);
        Layers(g, x, logits, fused, layers);
        return (logits, fused);
    }

    protected override Tensor Logit(Graph g, in ModelInput x)
    {
        var (c, d, b) = Layers(g, x, null, null, cross.Length);
        return fc!.Forward(g, g.Concat(g.Concat(c, d), b));
    }

    /// <summary>Runs the first <paramref name="layers"/> layers; with FSD arrays, fuses layer i right after its bridge.</summary>
    private (Tensor Cross, Tensor Deep, Tensor Bridge) Layers(Graph g, in ModelInput x, Tensor[]? logits, Tensor[]? fused, int layers)
    {
        var (c, d) = regulation[0].Forward(g, embedding.Forward(g, x));
        var c0 = c;
        Tensor b = c;
        for (var i = 0; i < layers; i++)
        {
            c = cross[i].Forward(g, c0, c);
            d = dense[i].Forward(g, d);
            b = bridges[i].Forward(g, c, d);
            if (fused is not null)
            {
                Fsd!.FuseLayer(g, i, c, g.Concat(d, b), logits!, fused);
            }
            if (i + 1 < layers)
            {
                (c, d) = regulation[i + 1].Forward(g, b);
            }
        }
        return (c, d, b);
    }
}
