using FsdNet.Autodiff;
using FsdNet.Tensors;

namespace FsdNet.Layers;

/// <summary>One hidden layer of FuxiCTR's MLP_Block: Linear -> BatchNorm (optional) -> activation -> Dropout.</summary>
public sealed class DenseLayer : Module
{
    public DenseLayer(int inFeatures, int outFeatures, Activation activation, float dropout, bool batchNorm, Rng rng)
    {
        if (dropout is < 0f or >= 1f)
        {
            throw new ArgumentOutOfRangeException(nameof(dropout), dropout, "net_dropout must be in [0, 1).");
        }
        Linear = AddChild("linear", new Linear(inFeatures, outFeatures, rng));
        Norm = batchNorm ? AddChild("batch_norm", new BatchNorm1d(outFeatures)) : null;
        Activation = activation;
        Parametric = activation.HasParameters() ? AddChild("activation", new ParametricActivation(activation, outFeatures)) : null;
        DropoutRate = dropout;
    }

    /// <summary>The activation's module when it has parameters (PReLU, Dice).</summary>
    public ParametricActivation? Parametric { get; }

    public Linear Linear { get; }

    public BatchNorm1d? Norm { get; }

    public Activation Activation { get; }

    public float DropoutRate { get; }

    public int OutFeatures => Linear.OutFeatures;

    public Tensor Forward(Graph g, Tensor x)
    {
        var h = Linear.Forward(g, x);
        if (Norm is not null)
        {
            h = Norm.Forward(g, h);
        }
        h = Parametric is null ? g.Apply(Activation, h) : Parametric.Forward(g, h);
        return g.Dropout(h, DropoutRate);
    }
}
