using FsdNet.Autodiff;
using FsdNet.Layers;
using FsdNet.Tensors;
using FsdNet.Training;

namespace FsdNet.Models;

/// <summary>
/// The keys of GDCN and GDCNP, named and defaulted as FuxiCTR's model_zoo/GDCN constructors (both take the same).
/// FuxiCTR's own GDCN test configs spell the depth crossing_layers, which its constructors do not read; FsdNet
/// takes it as num_cross_layers when num_cross_layers is absent (see docs/MODELS.md).
/// </summary>
public sealed record GdcnOptions
{
    public int EmbeddingDim { get; init; } = 10;

    public IReadOnlyList<int> DnnHiddenUnits { get; init; } = [];

    public Activation DnnActivations { get; init; } = Activation.Relu;

    public int NumCrossLayers { get; init; } = 3;

    public float NetDropout { get; init; }

    public bool BatchNorm { get; init; }

    /// <summary>The FSD plug-in (GDCNP only): gated cross layer i fused with DNN layer i, one head per layer instead of the fc.</summary>
    public FsdOptions? Fsd { get; init; }

    public static GdcnOptions From(ModelConfig cfg)
    {
        var d = new GdcnOptions();
        var layers = cfg.GetInt("num_cross_layers", d.NumCrossLayers, min: 1);
        if (cfg.Has("crossing_layers"))
        {
            var alias = cfg.GetInt("crossing_layers", d.NumCrossLayers, min: 1);
            if (!cfg.Has("num_cross_layers"))
            {
                layers = alias;
            }
            else if (alias != layers)
            {
                throw new ConfigException(
                    $"{cfg.Origin("crossing_layers")}: crossing_layers ({alias}) and num_cross_layers ({layers}) differ; give the depth once (num_cross_layers).");
            }
        }
        return new GdcnOptions
        {
            EmbeddingDim = cfg.GetInt("embedding_dim", d.EmbeddingDim, min: 1),
            DnnHiddenUnits = cfg.GetIntList("dnn_hidden_units", d.DnnHiddenUnits),
            DnnActivations = Activations.Parse(cfg.GetString("dnn_activations") ?? d.DnnActivations.ToString()),
            NumCrossLayers = layers,
            NetDropout = (float)cfg.GetDouble("net_dropout", d.NetDropout, min: 0),
            BatchNorm = cfg.GetBool("batch_norm", d.BatchNorm),
            Fsd = FsdConfig.ReadIfOn(cfg),
        };
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
/// GDCN, stacked (Wang et al., CIKM 2023; FuxiCTR's model_zoo/GDCN "GDCN"): the gated cross network on x0, then an
/// MLP with one output logit on the cross output. The MLP reads the last cross layer only, so it has no FSD.
/// </summary>
public sealed class GdcnModel : CtrModel
{
    private readonly FeatureEmbedding embedding;
    private readonly GatedCrossNet cross;
    private readonly MlpBlock dnn;

    public GdcnModel(InputSchema schema, GdcnOptions options, Rng rng, bool loadPretrained = true)
    {
        options.RequireDnn("GDCN");
        if (options.Fsd is not null)
        {
            throw new ArgumentException("fsd: true needs parallel towers; GDCN stacks the DNN on the cross network (use GDCNP).");
        }
        embedding = AddChild("embedding", new FeatureEmbedding(schema, options.EmbeddingDim, rng, loadPretrained));
        var x0 = embedding.OutFeatures;
        dnn = AddChild("dnn", new MlpBlock(x0, options.DnnHiddenUnits, options.DnnActivations, options.NetDropout, options.BatchNorm, rng, outputDim: 1));
        cross = AddChild("cross_net", new GatedCrossNet(x0, options.NumCrossLayers, rng));
    }

    public override string ModelName => "GDCN";

    public override InputSchema Schema => embedding.Schema;

    public override Tensor Predict(Graph g, in ModelInput x) => g.Sigmoid(Logit(g, x));

    public override Tensor Loss(Graph g, in ModelInput x) => g.BceWithLogits(Logit(g, x), Labels(g, x));

    private Tensor Logit(Graph g, in ModelInput x) => dnn.Forward(g, cross.Forward(g, embedding.Forward(g, x)));
}
