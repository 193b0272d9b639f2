using FsdNet.Autodiff;
using FsdNet.Tensors;

namespace FsdNet.Layers;

/// <summary>One hidden layer of FuxiCTR's MLP_Block: Linear -> BatchNorm (optional) -> activation -> Dropout.</summary>
internal sealed class DenseLayer : Module
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

    /// <summary>Whether <see cref="FoldBatchNorm"/> has merged the BatchNorm into the linear layer (inference only from then on).</summary>
    internal bool NormFolded { get; private set; }

    /// <summary>
    /// Serving: merges the evaluation-mode BatchNorm (running statistics) into the linear layer, W' = s W and
    /// b' = s (b - mean) + beta with s = gamma / sqrt(var + eps) per output, so the forward pass skips the norm.
    /// Only for a model copy that scores and is never trained or saved again; false when there is no BatchNorm.
    /// </summary>
    internal bool FoldBatchNorm()
    {
        if (Norm is not { } bn || NormFolded)
        {
            return false;
        }
        var w = Linear.Weight.Span;
        var b = Linear.Bias!.Span;
        var n = Linear.InFeatures;
        for (var o = 0; o < Linear.OutFeatures; o++)
        {
            var scale = bn.Weight.Span[o] / Math.Sqrt(bn.RunningVar.Span[o] + (double)bn.Eps);
            var row = w.Slice(o * n, n);
            for (var i = 0; i < n; i++)
            {
                row[i] = (float)(row[i] * scale);
            }
            b[o] = (float)(((b[o] - (double)bn.RunningMean.Span[o]) * scale) + bn.Bias.Span[o]);
        }
        NormFolded = true;
        return true;
    }

    public Tensor Forward(Graph g, Tensor x)
    {
        if (NormFolded && g.Training)
        {
            throw new InvalidOperationException("a layer whose BatchNorm was folded for serving cannot train.");
        }
        if ((Norm is null || NormFolded) && Activation == Activation.Relu && Parametric is null && !g.Training
            && g.PackedLinearRelu(x, Linear.Weight, Linear.Bias) is { } fused)
        {
            return fused; // scoring: dropout is off, BatchNorm folded into the weight
        }
        var h = Linear.Forward(g, x);
        if (Norm is { } bn && !NormFolded && Activation == Activation.Relu)
        {
            // The usual tail (batch_norm with relu) as one op: same values, fewer passes over the batch.
            return g.BatchNormReluDropout(h, bn.Weight, bn.Bias, bn.RunningMean, bn.RunningVar, bn.Momentum, bn.Eps, DropoutRate);
        }
        if (Norm is not null && !NormFolded)
        {
            h = Norm.Forward(g, h);
        }
        h = Parametric is null ? g.Apply(Activation, h) : Parametric.Forward(g, h);
        return g.Dropout(h, DropoutRate);
    }
}
