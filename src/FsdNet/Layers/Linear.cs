using FsdNet.Autodiff;
using FsdNet.Tensors;

namespace FsdNet.Layers;

/// <summary>y = x W^T + b, W [out, in] Xavier-normal initialised, b zero.</summary>
internal sealed class Linear : Module
{
    public Linear(int inFeatures, int outFeatures, Rng rng, bool bias = true, ParameterKind kind = ParameterKind.Net)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(inFeatures);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(outFeatures);
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        Weight = AddParameter("weight", new Shape(outFeatures, inFeatures), kind);
        Init.XavierNormal(Weight, rng);
        Bias = bias ? AddParameter("bias", new Shape(outFeatures), kind) : null;
    }

    public int InFeatures { get; }

    public int OutFeatures { get; }

    public Parameter Weight { get; }

    public Parameter? Bias { get; }

    public Tensor Forward(Graph g, Tensor x) => g.Linear(x, Weight, Bias);
}
