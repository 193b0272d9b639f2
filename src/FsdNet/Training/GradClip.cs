using FsdNet.Autodiff;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace FsdNet.Training;

/// <summary>Global gradient-norm clipping as torch.nn.utils.clip_grad_norm_ (L2 norm).</summary>
internal static class GradClip
{
    /// <summary>
    /// Scales all gradients by min(1, maxNorm / (norm + 1e-6)) where norm is the L2 norm over all of them, and returns
    /// that norm (before clipping). Parameters without a gradient count as zero; a row-sparse gradient (lazy embedding
    /// updates) counts its touched rows only.
    /// </summary>
    public static double ClipGradNorm(IReadOnlyList<Parameter> parameters, double maxNorm) =>
        Scale(parameters, Math.Sqrt(SumOfSquares(parameters)), maxNorm);

    /// <summary>The squared L2 norm of the gradients (a row-sparse one over its touched rows).</summary>
    public static double SumOfSquares(IReadOnlyList<Parameter> parameters)
    {
        double sumSq = 0;
        for (var i = 0; i < parameters.Count; i++)
        {
            var p = parameters[i];
            if (p.SparseGrad)
            {
                foreach (var r in p.TouchedRowList)
                {
                    sumSq += TensorPrimitives.SumOfSquares<float>(p.Grad!.Row(r));
                }
            }
            else if (p.HasGrad)
            {
                double s = TensorPrimitives.SumOfSquares<float>(p.GradSpan);
                sumSq += s;
            }
        }
        return sumSq;
    }

    /// <summary>
    /// Scales the gradients by min(1, maxNorm / (norm + 1e-6)) for a global <paramref name="norm"/> measured beforehand
    /// (over these parameters, or over the ranks' shards too), and returns it.
    /// </summary>
    public static double Scale(IReadOnlyList<Parameter> parameters, double norm, double maxNorm)
    {
        var coef = maxNorm / (norm + 1e-6);
        if (coef < 1)
        {
            var c = (float)coef;
            for (var i = 0; i < parameters.Count; i++)
            {
                var p = parameters[i];
                if (p.SparseGrad)
                {
                    foreach (var r in p.TouchedRowList)
                    {
                        var g = p.Grad!.Row(r);
                        TensorPrimitives.Multiply(g, c, g);
                    }
                }
                else if (p.HasGrad)
                {
                    TensorPrimitives.Multiply(p.GradSpan, c, p.GradSpan);
                }
            }
        }
        return norm;
    }
}
