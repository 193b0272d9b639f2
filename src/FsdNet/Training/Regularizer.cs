using System.Numerics;
using FsdNet.Autodiff;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace FsdNet.Training;

/// <summary>
/// The L2 penalty (lambda / 2) * sum(W^2) over whole tensors (FuxiCTR's embedding_regularizer / net_regularizer with
/// p = 2). Instead of building graph nodes, it adds the penalty's gradient lambda * W straight into the gradients
/// (before clipping, exactly as if the term had been part of the loss) and returns the penalty value. The L1 penalty
/// lambda * sum(|W|) (FuxiCTR's l1(x), p = 1) adds lambda * sign(W), with sign(0) = 0 as torch's norm gradient.
/// A table with row-sparse gradients (lazy embedding updates) is penalised on the rows the batch touched only: the
/// rows that move get exactly the dense gradient, and untouched rows are not read.
/// </summary>
internal static class Regularizer
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
            if (p.SparseGrad)
            {
                penalty += ApplyRows(p, l, static (w, l, g) =>
                {
                    TensorPrimitives.MultiplyAdd(w, l, g, g);
                    return TensorPrimitives.SumOfSquares<float>(w);
                });
                continue;
            }
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

    public static double ApplyL1(IReadOnlyList<Parameter> parameters, double lambda)
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
            if (p.SparseGrad)
            {
                penalty += ApplyRows(p, l, static (w, l, g) =>
                {
                    AddSign(w, l, g);
                    return TensorPrimitives.SumOfMagnitudes<float>(w);
                });
                continue;
            }
            var w = p.Span;
            penalty += TensorPrimitives.SumOfMagnitudes<float>(w);
            AddSign(w, l, p.LiveGrad());
        }
        return lambda * penalty;
    }

    /// <summary>The rows of a row-sparse table with a gradient this step (lazy embedding updates): penalty and gradient there only.</summary>
    private static double ApplyRows(Parameter p, float lambda, RowRule rule)
    {
        double penalty = 0;
        foreach (var r in p.TouchedRowList)
        {
            penalty += rule(p.Row(r), lambda, p.Grad!.Row(r));
        }
        return penalty;
    }

    private delegate float RowRule(ReadOnlySpan<float> w, float lambda, Span<float> g);

    /// <summary>g += lambda * sign(w), sign(0) = 0.</summary>
    private static void AddSign(ReadOnlySpan<float> w, float l, Span<float> g)
    {
        var vl = new Vector<float>(l);
        var j = 0;
        if (Vector.IsHardwareAccelerated)
        {
            for (; j <= w.Length - Vector<float>.Count; j += Vector<float>.Count)
            {
                var x = new Vector<float>(w[j..]);
                var sign = Vector.ConditionalSelect(Vector.GreaterThan(x, Vector<float>.Zero), vl, Vector<float>.Zero)
                           - Vector.ConditionalSelect(Vector.LessThan(x, Vector<float>.Zero), vl, Vector<float>.Zero);
                (new Vector<float>(g[j..]) + sign).CopyTo(g[j..]);
            }
        }
        for (; j < w.Length; j++)
        {
            g[j] += w[j] > 0 ? l : w[j] < 0 ? -l : 0;
        }
    }
}
