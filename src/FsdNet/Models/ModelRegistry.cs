using FsdNet.Layers;
using FsdNet.Tensors;
using FsdNet.Training;

namespace FsdNet.Models;

/// <summary>Builds a model from its FuxiCTR-style config (the <c>model</c> key names the class).</summary>
public static class ModelRegistry
{
    private static readonly Dictionary<string, Func<IReadOnlyList<FieldSpec>, ModelConfig, Rng, CtrModel>> Factories =
        new(StringComparer.OrdinalIgnoreCase)
        {
            ["FSDNet"] = (fields, cfg, rng) => new FsdNetModel(fields, FsdNetOptionsFrom(cfg), rng),
        };

    public static IReadOnlyList<string> Names => [.. Factories.Keys];

    public static CtrModel Create(IReadOnlyList<FieldSpec> fields, ModelConfig cfg, Rng rng) =>
        Factories.TryGetValue(cfg.Model, out var make)
            ? make(fields, cfg, rng)
            : throw new ConfigException($"{cfg.Source} [{cfg.ExpId}]: unknown model '{cfg.Model}'; known: {string.Join(", ", Factories.Keys)}.");

    /// <summary>FSDNet's keys as in the official model_config.yaml (plus soft_loss, detach_teacher, score_head).</summary>
    public static FsdNetOptions FsdNetOptionsFrom(ModelConfig cfg)
    {
        if (cfg.Has("model_structure") && !string.Equals(cfg.GetString("model_structure"), "parallel", StringComparison.OrdinalIgnoreCase))
        {
            throw new ConfigException($"{cfg.Source} [{cfg.ExpId}]: FSDNet only has model_structure: parallel (as the official code).");
        }
        var soft = cfg.GetString("soft_loss") ?? "official";
        return new FsdNetOptions
        {
            EmbeddingDim = cfg.GetInt("embedding_dim", 16),
            ParallelDnnHiddenUnits = cfg.GetIntList("parallel_dnn_hidden_units", [400, 400, 400]),
            DnnActivations = Activations.Parse(cfg.GetString("dnn_activations") ?? cfg.GetString("hidden_activations") ?? "relu"),
            NumCrossLayers = cfg.GetInt("num_cross_layers", 3),
            NetDropout = (float)cfg.GetDouble("net_dropout", 0),
            BatchNorm = cfg.GetBool("batch_norm", false),
            ScoreHead = cfg.GetNullableInt("score_head"),
            Distillation = new DistillationOptions(
                cfg.GetInt("choice", 0),
                cfg.GetDouble("loss_coefficient", 0.3),
                cfg.GetDouble("fea_coefficient", 0.01),
                cfg.GetDouble("Temp", 1),
                soft.ToLowerInvariant() switch
                {
                    "official" => SoftLoss.Official,
                    "paper" => SoftLoss.Paper,
                    _ => throw new ConfigException($"{cfg.Source} [{cfg.ExpId}]: soft_loss must be 'official' or 'paper', got '{soft}'."),
                },
                cfg.GetBool("detach_teacher", false)),
        };
    }
}
