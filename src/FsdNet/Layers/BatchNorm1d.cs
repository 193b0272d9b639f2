using FsdNet.Autodiff;
using FsdNet.Tensors;

namespace FsdNet.Layers;

/// <summary>PyTorch's BatchNorm1d (momentum 0.1, eps 1e-5): gamma 1, beta 0, running mean 0 and variance 1.</summary>
internal sealed class BatchNorm1d : Module
{
    public BatchNorm1d(int features, float momentum = 0.1f, float eps = 1e-5f)
    {
        Momentum = momentum;
        Eps = eps;
        Weight = AddParameter("weight", new Shape(features));
        Weight.Span.Fill(1f);
        Bias = AddParameter("bias", new Shape(features));
        RunningMean = AddBuffer("running_mean", new Shape(features));
        RunningVar = AddBuffer("running_var", new Shape(features));
        RunningVar.Span.Fill(1f);
    }

    public float Momentum { get; }

    public float Eps { get; }

    public Parameter Weight { get; }

    public Parameter Bias { get; }

    public Tensor RunningMean { get; }

    public Tensor RunningVar { get; }

    public Tensor Forward(Graph g, Tensor x) => g.BatchNorm(x, Weight, Bias, RunningMean, RunningVar, Momentum, Eps);
}
