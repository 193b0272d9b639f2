using FsdNet.Layers;
using FsdNet.Training;

namespace FsdNet.Models;

/// <summary>
/// The keys of FuxiCTR's MLP-based models (DNN, WideDeep, DeepFM), named and defaulted as their constructors:
/// embedding_dim 10, hidden_units [64, 64, 64], hidden_activations ReLU, net_dropout 0, batch_norm false.
/// </summary>
internal sealed record DnnOptions
{
    [ConfigKey("embedding_dim", Min = 1)]
    public int EmbeddingDim { get; init; } = 10;

    [ConfigKey("hidden_units")]
    public IReadOnlyList<int> HiddenUnits { get; init; } = [64, 64, 64];

    [ConfigKey("hidden_activations")]
    public Activation HiddenActivations { get; init; } = Activation.Relu;

    [ConfigKey("net_dropout", Min = 0)]
    public float NetDropout { get; init; }

    [ConfigKey("batch_norm")]
    public bool BatchNorm { get; init; }

    public static DnnOptions From(ModelConfig cfg) => OptionsBinder.Bind<DnnOptions>(cfg);

    /// <summary>The MLP of these options on an input of <paramref name="inFeatures"/>, ending in one logit.</summary>
    public MlpBlock Mlp(int inFeatures, FsdNet.Tensors.Rng rng) =>
        new(inFeatures, HiddenUnits, HiddenActivations, NetDropout, BatchNorm, rng, outputDim: 1);
}
