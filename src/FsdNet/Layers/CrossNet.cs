using FsdNet.Autodiff;
using FsdNet.Tensors;

namespace FsdNet.Layers;

/// <summary>
/// DCN's cross network (FuxiCTR's CrossNet / CrossInteraction): x_{l+1} = x_l + (w_l . x_l) x_0 + b_l, with a weight
/// vector w_l [d] (Linear(d, 1, bias=False)) and a bias b_l [d] (zeros) per layer.
/// </summary>
internal sealed class CrossNet : Module, ILayerwiseTower
{
    private readonly Linear[] weights;
    private readonly Parameter[] biases;

    public CrossNet(int inputDim, int numLayers, Rng rng)
    {
        InputDim = inputDim;
        weights = new Linear[numLayers];
        biases = new Parameter[numLayers];
        for (var i = 0; i < numLayers; i++)
        {
            weights[i] = AddChild($"cross_net.{i}.weight", new Linear(inputDim, 1, rng, bias: false));
            biases[i] = AddParameter($"cross_net.{i}.bias", new Shape(inputDim));
        }
    }

    public int InputDim { get; }

    public int LayerCount => weights.Length;

    public int LayerWidth(int i) => InputDim;

    public Tensor Step(Graph g, int i, Tensor x0, Tensor previous) =>
        g.Add(previous, g.AddRow(g.Mul(weights[i].Forward(g, previous), x0), biases[i]));

    public Tensor Forward(Graph g, Tensor x0)
    {
        var x = x0;
        for (var i = 0; i < weights.Length; i++)
        {
            x = Step(g, i, x0, x);
        }
        return x;
    }
}
