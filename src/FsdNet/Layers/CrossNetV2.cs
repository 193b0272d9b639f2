using FsdNet.Autodiff;
using FsdNet.Tensors;

namespace FsdNet.Layers;

/// <summary>
/// DCNv2's cross network with full-rank weights: x_{l+1} = x_l + x_0 * (W_l x_l + b_l), W_l [d, d].
/// <see cref="Layer"/> runs one layer so that models can read every layer's output.
/// </summary>
internal sealed class CrossNetV2 : Module, ILayerwiseTower
{
    private readonly Linear[] layers;

    public CrossNetV2(int inputDim, int numLayers, Rng rng)
    {
        layers = new Linear[numLayers];
        for (var i = 0; i < numLayers; i++)
        {
            layers[i] = AddChild($"cross_layers.{i}", new Linear(inputDim, inputDim, rng));
        }
    }

    public int LayerCount => layers.Length;

    public int InputDim => layers.Length == 0 ? 0 : layers[0].InFeatures;

    public int LayerWidth(int i) => layers[i].OutFeatures;

    public Tensor Step(Graph g, int i, Tensor x0, Tensor previous) => Layer(g, i, x0, previous);

    /// <summary>Cross layer <paramref name="i"/>: x_l + x_0 * (W_i x_l + b_i).</summary>
    public Tensor Layer(Graph g, int i, Tensor x0, Tensor xl) => g.Add(xl, g.Mul(x0, layers[i].Forward(g, xl)));

    public Tensor Forward(Graph g, Tensor x0)
    {
        var x = x0;
        for (var i = 0; i < layers.Length; i++)
        {
            x = Layer(g, i, x0, x);
        }
        return x;
    }
}
