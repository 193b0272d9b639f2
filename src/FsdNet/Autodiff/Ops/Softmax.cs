using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using FsdNet.Tensors;

namespace FsdNet.Autodiff;

internal sealed partial class Graph
{
    /// <summary>Softmax over the last axis of each row, rows split over the worker threads.</summary>
    public unsafe Tensor Softmax(Tensor x)
    {
        var track = Tracks(x);
        var y = Output(x.Shape, track);
        job.PlanRows(x.Shape.Rows, x.Shape.Last, ElementGrain);
        (job.A, job.B, job.Flag) = (x, y, false);
        job.Run(&SoftmaxPart);
        Trace?.Add(TraceKind.Softmax, y, [x], [x.Shape.Rank - 1]);
        if (track)
        {
            Record<SoftmaxOp>(y).Set(x);
        }
        return y;
    }

    /// <summary>Forward: B = softmax(A) row by row; backward (Flag): dx (+)= y * (dy - y . dy) with A = y, B = dy, C = dx.</summary>
    private static void SoftmaxPart(RangeJob j, int part, int start, int end)
    {
        for (var r = start; r < end; r++)
        {
            if (!j.Flag)
            {
                TensorPrimitives.SoftMax(j.A!.Row(r), j.B!.Row(r));
                continue;
            }
            var yr = j.A!.Row(r);
            var dyr = j.B!.Row(r);
            var gr = j.C!.Row(r);
            var dot = TensorPrimitives.Dot<float>(yr, dyr);
            var fresh = j.F0 != 0;
            for (var c = 0; c < yr.Length; c++)
            {
                var v = yr[c] * (dyr[c] - dot);
                gr[c] = fresh ? v : gr[c] + v;
            }
        }
    }

    private sealed class SoftmaxOp : Op
    {
        private Tensor x = null!;

        public void Set(Tensor input) => x = input;

        public override unsafe void Backward(Graph g)
        {
            g.GradFor(x, out var fresh);
            g.job.PlanRows(x.Shape.Rows, x.Shape.Last, ElementGrain);
            (g.job.A, g.job.B, g.job.C, g.job.Flag, g.job.F0) = (Out, Out.Grad, x.Grad, true, fresh ? 1f : 0f);
            g.job.Run(&SoftmaxPart);
        }
    }
}
