using FsdNet.Autodiff;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace FsdNet.Training;

/// <summary>
/// The L2 penalty (lambda / 2) * sum(W^2) over whole tensors (FuxiCTR's embedding_regularizer / net_regularizer with
/// p = 2). Instead of building graph nodes, it adds the penalty's gradient lambda * W straight into the gradients
/// (before clipping, exactly as if the term had been part of the loss) and returns the penalty value.
/// </summary>
public static class Regularizer
{
    public static double ApplyL2(IReadOnlyList<Parameter> parameters, double lambda)
    {
        if (lambda == 0)
        {
            return 0;
        }
        double penalty = 0;
        var l = (float)lambda;
        for (var i = 0; i < parameters.Count; i++)
        {
            var p = parameters[i];
            var w = p.Span;
            penalty += TensorPrimitives.SumOfSquares<float>(w);
            if (p.HasGrad)
            {
                TensorPrimitives.MultiplyAdd(w, l, p.GradSpan, p.GradSpan);
            }
            else
            {
                TensorPrimitives.Multiply(w, l, p.LiveGrad());
            }
        }
        return lambda / 2 * penalty;
    }
}
