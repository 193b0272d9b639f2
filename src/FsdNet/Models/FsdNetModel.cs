using FsdNet.Autodiff;
using FsdNet.Layers;
using FsdNet.Tensors;
using FsdNet.Training;

namespace FsdNet.Models;

/// <summary>
/// FSDNet's hyper-parameters, named as in the official model_config.yaml. The defaults here are the only ones:
/// they are the official constructor's (FSDNet.__init__), except parallel_dnn_hidden_units, whose official default
/// [] builds no deep tower; <see cref="From"/> falls back to them for every key a config leaves out.
/// </summary>
internal sealed record FsdNetOptions
{
    private static readonly FsdNetOptions Defaults = new();

    [ConfigKey("embedding_dim")]
    public int EmbeddingDim { get; init; } = 16;

    /// <summary>parallel_dnn_hidden_units: one width per layer, all equal, as many as num_cross_layers.</summary>
    [ConfigKey("parallel_dnn_hidden_units")]
    public IReadOnlyList<int> ParallelDnnHiddenUnits { get; init; } = [400, 400, 400];

    public Activation DnnActivations { get; init; } = Activation.Relu;

    [ConfigKey("num_cross_layers")]
    public int NumCrossLayers { get; init; } = 3;

    [ConfigKey("net_dropout")]
    public float NetDropout { get; init; }

    [ConfigKey("batch_norm")]
    public bool BatchNorm { get; init; }

    /// <summary>The FSD module's settings (distillation objective, score_head, hint_projection).</summary>
    public FsdOptions Fsd { get; init; } = FsdOptions.Default;

    /// <summary>FSDNet as what it is: DCNv2 with parallel towers and the FSD module.</summary>
    public Dcnv2Options ToDcnv2() => new()
    {
        Structure = Dcnv2Structure.Parallel,
        EmbeddingDim = EmbeddingDim,
        ParallelDnnHiddenUnits = ParallelDnnHiddenUnits,
        DnnActivations = DnnActivations,
        NumCrossLayers = NumCrossLayers,
        NetDropout = NetDropout,
        BatchNorm = BatchNorm,
        Fsd = Fsd,
    };

    public void Validate()
    {
        var units = ParallelDnnHiddenUnits;
        if (units.Count != NumCrossLayers)
        {
            throw new ArgumentException(
                $"FSDNet fuses cross layer i with DNN layer i, so num_cross_layers ({NumCrossLayers}) must equal the number of " +
                $"parallel_dnn_hidden_units ({units.Count}: [{string.Join(", ", units)}]).");
        }
        if (units.Count < 2)
        {
            throw new ArgumentException($"FSDNet needs at least 2 layers (a teacher and a student), got {units.Count}.");
        }
        if (!Fsd.HintProjection && units.Any(u => u != units[0]))
        {
            throw new ArgumentException(
                $"FSDNet's hint loss compares fused features of every layer, so all parallel_dnn_hidden_units must be equal, got [{string.Join(", ", units)}].");
        }
        if (Fsd.ScoreHead is { } h && (h < 0 || h >= units.Count))
        {
            throw new ArgumentException($"score_head {h} is not a head index in [0, {units.Count - 1}].");
        }
        Fsd.Distillation.Validate();
    }

    /// <summary>Reads FSDNet's keys from an experiment config (plus soft_loss, detach_teacher, score_head).</summary>
    public static FsdNetOptions From(ModelConfig cfg)
    {
        if (cfg.Has("model_structure") && !string.Equals(cfg.GetString("model_structure"), "parallel", StringComparison.OrdinalIgnoreCase))
        {
            throw new ConfigException($"{cfg.Source} [{cfg.ExpId}]: FSDNet only has model_structure: parallel (as the official code).");
        }
        var d = Defaults;
        // dnn_activations, or hidden_activations as some FuxiCTR configs name it; the FSD module's keys always (FSDNet is built on it).
        var o = OptionsBinder.Bind<FsdNetOptions>(cfg) with
        {
            DnnActivations = Activations.Parse(cfg.GetString("dnn_activations") ?? cfg.GetString("hidden_activations") ?? d.DnnActivations.ToString()),
            Fsd = FsdOptions.From(cfg),
        };
        if (o.EmbeddingDim < 1)
        {
            throw new ConfigException($"{cfg.Source} [{cfg.ExpId}]: embedding_dim must be >= 1, got {o.EmbeddingDim}.");
        }
        if (o.NetDropout is < 0 or >= 1)
        {
            throw new ConfigException($"{cfg.Source} [{cfg.ExpId}]: net_dropout must be in [0, 1), got {o.NetDropout}.");
        }
        try
        {
            o.Validate();
        }
        catch (ArgumentException e)
        {
            throw new ConfigException($"{cfg.Source} [{cfg.ExpId}]: {e.Message}");
        }
        return o;
    }
}

/// <summary>
/// FSDNet (Sang et al., arXiv 2411.07508): DCNv2's cross network (explicit interactions) and a parallel deep
/// network (implicit interactions) on the field embeddings x0, fused layer by layer by the FSD module,
/// f_i = [c_i ; d_i], one head per layer; the deepest head teaches the shallower ones and the prediction is the mean
/// of the heads' probabilities. Parameter names (embedding, cross.cross_layers.i, dnn.i, heads.i) and the order of
/// initialisation are those of every FsdNet release, so saved models load.
/// </summary>
internal sealed class FsdNetModel : Dcnv2Model
{
    public FsdNetModel(InputSchema schema, FsdNetOptions options, Rng rng, bool loadPretrained = true)
        : base(schema, Validated(options).ToDcnv2(), rng, loadPretrained, "FSDNet")
    {
        Options = options;
    }

    public FsdNetOptions Options { get; }

    private static FsdNetOptions Validated(FsdNetOptions o)
    {
        o.Validate();
        return o;
    }
}
