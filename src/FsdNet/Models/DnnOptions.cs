using FsdNet.Layers;
using FsdNet.Training;

namespace FsdNet.Models;

/// <summary>
/// The keys of FuxiCTR's MLP-based models (DNN, WideDeep, DeepFM), named and defaulted as their constructors:
/// embedding_dim 10, hidden_units [64, 64, 64], hidden_activations ReLU, net_dropout 0, batch_norm false.
/// </summary>
internal sealed record DnnOptions
{
    public int EmbeddingDim { get; init; } = 10;

    public IReadOnlyList<int> HiddenUnits { get; init; } = [64, 64, 64];

    public Activation HiddenActivations { get; init; } = Activation.Relu;

    public float NetDropout { get; init; }

    public bool BatchNorm { get; init; }

    public static DnnOptions From(ModelConfig cfg)
    {
        var d = new DnnOptions();
        return new DnnOptions
        {
            EmbeddingDim = cfg.GetInt("embedding_dim", d.EmbeddingDim, min: 1),
            HiddenUnits = cfg.GetIntList("hidden_units", d.HiddenUnits),
            HiddenActivations = Activations.Parse(cfg.GetString("hidden_activations") ?? d.HiddenActivations.ToString()),
            NetDropout = (float)cfg.GetDouble("net_dropout", d.NetDropout, min: 0),
            BatchNorm = cfg.GetBool("batch_norm", d.BatchNorm),
        };
    }

    /// <summary>The MLP of these options on an input of <paramref name="inFeatures"/>, ending in one logit.</summary>
    public MlpBlock Mlp(int inFeatures, FsdNet.Tensors.Rng rng) =>
        new(inFeatures, HiddenUnits, HiddenActivations, NetDropout, BatchNorm, rng, outputDim: 1);
}
