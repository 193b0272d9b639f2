using FsdNet.Autodiff;
using FsdNet.Tensors;

namespace FsdNet.Layers;

/// <summary>
/// A network whose every layer's output a model can read: the towers the FSD module fuses layer by layer
/// (cross networks, MLPs). Layer i maps the previous layer's output (x0 for the first) to output i.
/// </summary>
internal interface ILayerwiseTower
{
    int LayerCount { get; }

    /// <summary>Width of layer <paramref name="i"/>'s output.</summary>
    int LayerWidth(int i);

    /// <summary>Layer <paramref name="i"/> on <paramref name="previous"/> (x0 for layer 0); <paramref name="x0"/> for towers that reuse it.</summary>
    Tensor Step(Graph g, int i, Tensor x0, Tensor previous);
}

/// <summary>FuxiCTR's MLP_Block without an output layer, as a layer-wise tower: children "0", "1", ... are <see cref="DenseLayer"/>s.</summary>
internal sealed class MlpTower : Module, ILayerwiseTower
{
    private readonly DenseLayer[] layers;

    public MlpTower(int inFeatures, IReadOnlyList<int> hiddenUnits, Activation activation, float dropout, bool batchNorm, Rng rng)
    {
        layers = new DenseLayer[hiddenUnits.Count];
        var width = inFeatures;
        for (var i = 0; i < hiddenUnits.Count; i++)
        {
            layers[i] = AddChild(i.ToString(System.Globalization.CultureInfo.InvariantCulture), new DenseLayer(width, hiddenUnits[i], activation, dropout, batchNorm, rng));
            width = hiddenUnits[i];
        }
        OutFeatures = width;
    }

    public int LayerCount => layers.Length;

    /// <summary>Width of the last layer (the input width when there are none).</summary>
    public int OutFeatures { get; }

    public int LayerWidth(int i) => layers[i].OutFeatures;

    public Tensor Step(Graph g, int i, Tensor x0, Tensor previous) => layers[i].Forward(g, previous);

    public Tensor Forward(Graph g, Tensor x)
    {
        foreach (var layer in layers)
        {
            x = layer.Forward(g, x);
        }
        return x;
    }
}
