using FsdNet.Autodiff;
using FsdNet.Tensors;

namespace FsdNet.Layers;

/// <summary>LayerNorm over the last axis (eps 1e-5): gamma 1, beta 0.</summary>
internal sealed class LayerNorm : Module
{
    public LayerNorm(int features, float eps = 1e-5f)
    {
        Eps = eps;
        Weight = AddParameter("weight", new Shape(features));
        Weight.Span.Fill(1f);
        Bias = AddParameter("bias", new Shape(features));
    }

    public float Eps { get; }

    public Parameter Weight { get; }

    public Parameter Bias { get; }

    public Tensor Forward(Graph g, Tensor x) => g.LayerNorm(x, Weight, Bias, Eps);
}
