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
public sealed record FsdNetOptions
{
    private static readonly FsdNetOptions Defaults = new();

    public int EmbeddingDim { get; init; } = 16;

    /// <summary>parallel_dnn_hidden_units: one width per layer, all equal, as many as num_cross_layers.</summary>
    public IReadOnlyList<int> ParallelDnnHiddenUnits { get; init; } = [400, 400, 400];

    public Activation DnnActivations { get; init; } = Activation.Relu;

    public int NumCrossLayers { get; init; } = 3;

    public float NetDropout { get; init; }

    public bool BatchNorm { get; init; }

    public DistillationOptions Distillation { get; init; } = new();

    /// <summary>Score with one head only (0-based; the last is the teacher) instead of the mean of all heads.</summary>
    public int? ScoreHead { get; init; }

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
        if (units.Any(u => u != units[0]))
        {
            throw new ArgumentException(
                $"FSDNet's hint loss compares fused features of every layer, so all parallel_dnn_hidden_units must be equal, got [{string.Join(", ", units)}].");
        }
        if (ScoreHead is { } h && (h < 0 || h >= units.Count))
        {
            throw new ArgumentException($"score_head {h} is not a head index in [0, {units.Count - 1}].");
        }
        Distillation.Validate();
    }

    /// <summary>Reads FSDNet's keys from an experiment config (plus soft_loss, detach_teacher, score_head).</summary>
    public static FsdNetOptions From(ModelConfig cfg)
    {
        if (cfg.Has("model_structure") && !string.Equals(cfg.GetString("model_structure"), "parallel", StringComparison.OrdinalIgnoreCase))
        {
            throw new ConfigException($"{cfg.Source} [{cfg.ExpId}]: FSDNet only has model_structure: parallel (as the official code).");
        }
        var d = Defaults;
        var dd = d.Distillation;
        var soft = cfg.GetString("soft_loss") ?? dd.Soft.ToString();
        var o = new FsdNetOptions
        {
            EmbeddingDim = cfg.GetInt("embedding_dim", d.EmbeddingDim),
            ParallelDnnHiddenUnits = cfg.GetIntList("parallel_dnn_hidden_units", d.ParallelDnnHiddenUnits),
            DnnActivations = Activations.Parse(cfg.GetString("dnn_activations") ?? cfg.GetString("hidden_activations") ?? d.DnnActivations.ToString()),
            NumCrossLayers = cfg.GetInt("num_cross_layers", d.NumCrossLayers),
            NetDropout = (float)cfg.GetDouble("net_dropout", d.NetDropout),
            BatchNorm = cfg.GetBool("batch_norm", d.BatchNorm),
            ScoreHead = cfg.GetNullableInt("score_head"),
            Distillation = new DistillationOptions(
                cfg.GetInt("choice", dd.Choice),
                cfg.GetDouble("loss_coefficient", dd.LossCoefficient),
                cfg.GetDouble("fea_coefficient", dd.FeaCoefficient),
                cfg.GetDouble("Temp", dd.Temperature),
                soft.ToLowerInvariant() switch
                {
                    "official" => SoftLoss.Official,
                    "paper" => SoftLoss.Paper,
                    _ => throw new ConfigException($"{cfg.Source} [{cfg.ExpId}]: soft_loss must be 'official' or 'paper', got '{soft}'."),
                },
                cfg.GetBool("detach_teacher", dd.DetachTeacher)),
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
/// FSDNet (Sang et al., arXiv 2411.07508). A cross network (explicit interactions) and a deep network (implicit
/// interactions) run in parallel on the field embeddings x0; at every layer i their outputs are fused,
/// f_i = [c_i ; d_i], and head i turns f_i into a logit z_i. The deepest head teaches the shallower ones
/// (<see cref="SelfDistillation"/>); the prediction is the mean of the heads' probabilities.
/// </summary>
public sealed class FsdNetModel : CtrModel
{
    private readonly FeatureEmbedding embedding;
    private readonly CrossNetV2 cross;
    private readonly DenseLayer[] dnn;
    private readonly Linear[] heads;

    public FsdNetModel(InputSchema schema, FsdNetOptions options, Rng rng, bool loadPretrained = true)
    {
        options.Validate();
        Options = options;
        var layers = options.NumCrossLayers;
        embedding = AddChild("embedding", new FeatureEmbedding(schema, options.EmbeddingDim, rng, loadPretrained));
        var x0 = embedding.OutFeatures;
        cross = AddChild("cross", new CrossNetV2(x0, layers, rng));
        dnn = new DenseLayer[layers];
        heads = new Linear[layers];
        var width = x0;
        for (var i = 0; i < layers; i++)
        {
            var h = options.ParallelDnnHiddenUnits[i];
            dnn[i] = AddChild($"dnn.{i}", new DenseLayer(width, h, options.DnnActivations, options.NetDropout, options.BatchNorm, rng));
            width = h;
        }
        for (var i = 0; i < layers; i++)
        {
            heads[i] = AddChild($"heads.{i}", new Linear(x0 + options.ParallelDnnHiddenUnits[i], 1, rng));
        }
    }

    public override string ModelName => "FSDNet";

    public override InputSchema Schema => embedding.Schema;

    public FsdNetOptions Options { get; }

    public override Tensor Predict(Graph g, in ModelInput x)
    {
        var logits = Forward(g, x).Logits;
        if (Options.ScoreHead is { } h)
        {
            return g.Sigmoid(logits[h]);
        }
        var sum = g.Sigmoid(logits[0]);
        for (var i = 1; i < logits.Length; i++)
        {
            sum = g.Add(sum, g.Sigmoid(logits[i]));
        }
        return g.Affine(sum, 1f / logits.Length);
    }

    public override Tensor Loss(Graph g, in ModelInput x)
    {
        var (logits, fused) = Forward(g, x);
        return SelfDistillation.Loss(g, logits, fused, Labels(g, x), Options.Distillation);
    }

    /// <summary>Every head's logit z_i and every layer's fused features f_i (arrays pooled by the graph for this step).</summary>
    public (Tensor[] Logits, Tensor[] Fused) Forward(Graph g, in ModelInput x)
    {
        var x0 = embedding.Forward(g, x);
        var logits = g.TensorList(dnn.Length);
        var fused = g.TensorList(dnn.Length);
        Tensor c = x0, d = x0;
        for (var i = 0; i < dnn.Length; i++)
        {
            c = cross.Layer(g, i, x0, c);
            d = dnn[i].Forward(g, d);
            fused[i] = g.Concat(c, d);
            logits[i] = heads[i].Forward(g, fused[i]);
        }
        return (logits, fused);
    }
}
