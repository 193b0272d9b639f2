using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using FsdNet.Tensors;

namespace FsdNet.Autodiff;

public sealed partial class Graph
{
    /// <summary>LayerNorm over the last axis of x [..., C]: per-row mean and biased variance, y = gamma * x_hat + beta.</summary>
    public Tensor LayerNorm(Tensor x, Tensor gamma, Tensor beta, float eps = 1e-5f)
    {
        var cols = x.Shape.Last;
        var rows = x.Shape.Rows;
        if (gamma.Shape != new Shape(cols) || beta.Shape != new Shape(cols))
        {
            throw new ArgumentException($"LayerNorm: gamma {gamma.Shape} / beta {beta.Shape} do not fit input {x.Shape}.");
        }
        var track = Tracks(x, gamma, beta);
        var y = Output(x.Shape, track);
        var xhat = Scratch(x.Shape);
        var invstd = Scratch(new Shape(rows));
        var iv = invstd.Span;
        for (var r = 0; r < rows; r++)
        {
            var xr = x.Row(r);
            var hr = xhat.Row(r);
            var mu = TensorPrimitives.Sum<float>(xr) / cols;
            TensorPrimitives.Subtract(xr, mu, hr);
            var variance = TensorPrimitives.SumOfSquares<float>(hr) / cols;
            iv[r] = 1f / MathF.Sqrt(variance + eps);
            TensorPrimitives.Multiply(hr, iv[r], hr);
            TensorPrimitives.MultiplyAdd(hr, gamma.Span, beta.Span, y.Row(r));
        }
        if (track)
        {
            Record<NormOp>(y).Set(x, gamma, beta, xhat, invstd, batchStats: true, perRow: true);
        }
        return y;
    }
}
