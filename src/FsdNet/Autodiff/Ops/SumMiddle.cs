using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using FsdNet.Tensors;

namespace FsdNet.Autodiff;

internal sealed partial class Graph
{
    /// <summary>
    /// The sum over the middle axis of x [B, M, N], [B, N] (torch.sum(x, dim=1)), vectorised over N and parallel over
    /// B (the generic <see cref="Sum(Tensor, int, bool)"/> walks elements one by one); CIN's sum pooling.
    /// </summary>
    public unsafe Tensor SumMiddle(Tensor x)
    {
        if (x.Shape.Rank != 3)
        {
            throw new ArgumentException($"SumMiddle needs a [B, M, N] tensor, got {x.Shape}.");
        }
        var track = Tracks(x);
        var y = Output(new Shape(x.Shape.D0, x.Shape.D2), track);
        job.PlanRows(x.Shape.D0, x.Shape.D1 * x.Shape.D2, ElementGrain);
        (job.A, job.B, job.I0, job.Flag) = (x, y, x.Shape.D1, false);
        job.Run(&SumMiddlePart);
        Trace?.Add(TraceKind.SumMiddle, y, [x]);
        if (track)
        {
            Record<SumMiddleOp>(y).Set(x);
        }
        return y;
    }

    /// <summary>Forward: y[b] = sum_m x[b, m]; backward (Flag): dx[b, m] (+)= dy[b] (fresh: F0 != 0).</summary>
    private static void SumMiddlePart(RangeJob j, int part, int start, int end)
    {
        var (m, backward, fresh) = (j.I0, j.Flag, j.F0 != 0);
        var n = j.B!.Shape.Last;
        for (var b = start; b < end; b++)
        {
            var block = j.A!.Span.Slice(b * m * n, m * n);
            var row = j.B!.Row(b);
            for (var i = 0; i < m; i++)
            {
                var slab = block.Slice(i * n, n);
                if (backward)
                {
                    if (fresh)
                    {
                        row.CopyTo(slab);
                    }
                    else
                    {
                        TensorPrimitives.Add(slab, row, slab);
                    }
                }
                else if (i == 0)
                {
                    slab.CopyTo(row);
                }
                else
                {
                    TensorPrimitives.Add(row, slab, row);
                }
            }
        }
    }

    private sealed class SumMiddleOp : Op
    {
        private Tensor x = null!;

        public void Set(Tensor input) => x = input;

        public override unsafe void Backward(Graph g)
        {
            g.GradFor(x, out var fresh);
            g.job.PlanRows(x.Shape.D0, x.Shape.D1 * x.Shape.D2, ElementGrain);
            (g.job.A, g.job.B, g.job.I0, g.job.Flag, g.job.F0) = (x.Grad, Out.Grad, x.Shape.D1, true, fresh ? 1f : 0f);
            g.job.Run(&SumMiddlePart);
        }
    }
}
