using FsdNet.Autodiff;
using FsdNet.Tensors;

namespace FsdNet.Layers;

/// <summary>
/// FuxiCTR's CrossInteraction, one cross layer without the residual: (w . x_i) x_0 + b, with w [d]
/// (Linear(d, 1, bias=False), child "weight") and b [d] ("bias", zeros). EDCN uses it as its cross layer.
/// </summary>
internal sealed class CrossInteraction : Module
{
    private readonly Linear weight;
    private readonly Parameter bias;

    public CrossInteraction(int inputDim, Rng rng)
    {
        weight = AddChild("weight", new Linear(inputDim, 1, rng, bias: false));
        bias = AddParameter("bias", new Shape(inputDim));
        InputDim = inputDim;
    }

    public int InputDim { get; }

    public Tensor Forward(Graph g, Tensor x0, Tensor xi) => g.AddRow(g.Mul(weight.Forward(g, xi), x0), bias);
}
