using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using FsdNet.Tensors;

namespace FsdNet.Autodiff;

internal sealed partial class Graph
{
    /// <summary>LayerNorm over the last axis of x [..., C]: per-row mean and biased variance, y = gamma * x_hat + beta.</summary>
    public unsafe Tensor LayerNorm(Tensor x, Tensor gamma, Tensor beta, float eps = 1e-5f)
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
        job.PlanRows(rows, cols, ElementGrain);
        (job.A, job.B, job.C, job.D, job.E, job.F) = (x, xhat, invstd, gamma, beta, y);
        (job.I0, job.F0) = (cols, eps);
        job.Run(&LayerNormPart);
        Trace?.Add(TraceKind.LayerNorm, y, [x, gamma, beta], floats: [eps]);
        if (track)
        {
            Record<NormOp>(y).Set(x, gamma, beta, xhat, invstd, batchStats: true, perRow: true);
        }
        return y;
    }

    private static void LayerNormPart(RangeJob j, int part, int start, int end)
    {
        Tensor x = j.A!, xhat = j.B!, gamma = j.D!, beta = j.E!, y = j.F!;
        var (cols, eps) = (j.I0, j.F0);
        var iv = j.C!.Span;
        for (var r = start; r < end; r++)
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
    }
}
