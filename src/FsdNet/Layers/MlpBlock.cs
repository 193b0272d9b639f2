using FsdNet.Autodiff;
using FsdNet.Tensors;

namespace FsdNet.Layers;

/// <summary>
/// FuxiCTR's MLP_Block: hidden <see cref="DenseLayer"/>s, then an optional linear output layer (no activation).
/// </summary>
internal sealed class MlpBlock : Module
{
    private readonly DenseLayer[] layers;

    public MlpBlock(
        int inFeatures, IReadOnlyList<int> hiddenUnits, Activation activation, float dropout, bool batchNorm, Rng rng,
        int? outputDim = null)
    {
        layers = new DenseLayer[hiddenUnits.Count];
        var width = inFeatures;
        for (var i = 0; i < hiddenUnits.Count; i++)
        {
            layers[i] = AddChild($"hidden.{i}", new DenseLayer(width, hiddenUnits[i], activation, dropout, batchNorm, rng));
            width = hiddenUnits[i];
        }
        Output = outputDim is { } o ? AddChild("output", new Linear(width, o, rng)) : null;
        OutFeatures = Output?.OutFeatures ?? width;
    }

    public IReadOnlyList<DenseLayer> Layers => layers;

    public Linear? Output { get; }

    public int OutFeatures { get; }

    public Tensor Forward(Graph g, Tensor x)
    {
        foreach (var layer in layers)
        {
            x = layer.Forward(g, x);
        }
        return Output is null ? x : Output.Forward(g, x);
    }
}
