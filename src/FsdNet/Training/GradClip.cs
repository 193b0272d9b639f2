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
    public static double ClipGradNorm(IReadOnlyList<Parameter> parameters, double maxNorm)
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
        var norm = Math.Sqrt(sumSq);
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
