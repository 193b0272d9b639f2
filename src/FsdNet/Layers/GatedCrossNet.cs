using FsdNet.Autodiff;
using FsdNet.Tensors;

namespace FsdNet.Layers;

/// <summary>
/// GDCN's gated cross network (FuxiCTR's GateCorssLayer): c_{l+1} = x0 * (W_l c_l + b_l) * sigmoid(Wg_l c_l) + c_l,
/// with W_l, Wg_l [d, d] (bias-free Linears "w.{l}", "wg.{l}", Xavier-normal) and b_l [d] ("b.{l}", uniform in
/// [0, 1) as FuxiCTR's nn.init.uniform_). The gating and the residual run as one fused op (<see cref="Graph.GatedCross"/>).
/// </summary>
internal sealed class GatedCrossNet : Module, ILayerwiseTower
{
    private readonly Linear[] w;
    private readonly Linear[] wg;
    private readonly Parameter[] b;

    public GatedCrossNet(int inputDim, int numLayers, Rng rng)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(inputDim);
        ArgumentOutOfRangeException.ThrowIfNegative(numLayers);
        InputDim = inputDim;
        w = new Linear[numLayers];
        wg = new Linear[numLayers];
        b = new Parameter[numLayers];
        for (var i = 0; i < numLayers; i++)
        {
            w[i] = AddChild($"w.{i}", new Linear(inputDim, inputDim, rng, bias: false));
        }
        for (var i = 0; i < numLayers; i++)
        {
            wg[i] = AddChild($"wg.{i}", new Linear(inputDim, inputDim, rng, bias: false));
        }
        for (var i = 0; i < numLayers; i++)
        {
            b[i] = AddParameter($"b.{i}", new Shape(inputDim));
            var s = b[i].Span;
            for (var k = 0; k < s.Length; k++)
            {
                s[k] = rng.NextFloat();
            }
        }
    }

    public int InputDim { get; }

    public int LayerCount => w.Length;

    public int LayerWidth(int i) => InputDim;

    /// <summary>Gated cross layer <paramref name="i"/> on c_i (<paramref name="previous"/>).</summary>
    public Tensor Step(Graph g, int i, Tensor x0, Tensor previous) =>
        g.GatedCross(previous, x0, g.Linear(previous, w[i].Weight, b[i]), wg[i].Forward(g, previous));

    public Tensor Forward(Graph g, Tensor x0)
    {
        var x = x0;
        for (var i = 0; i < w.Length; i++)
        {
            x = Step(g, i, x0, x);
        }
        return x;
    }
}
