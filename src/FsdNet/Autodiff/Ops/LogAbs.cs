using System.Numerics;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using FsdNet.Tensors;

namespace FsdNet.Autodiff;

internal sealed partial class Graph
{
    /// <summary>
    /// log(max(|x|, <paramref name="min"/>)) in one pass (AFN's torch.log(torch.clamp(torch.abs(x), min))): the
    /// gradient is 1 / x where |x| &gt;= min (torch's clamp passes the gradient at the bound) and 0 below it.
    /// Split over the workers, vectorised.
    /// </summary>
    public unsafe Tensor LogAbs(Tensor x, float min)
    {
        if (!(min > 0))
        {
            throw new ArgumentOutOfRangeException(nameof(min), min, "LogAbs needs a positive clamp.");
        }
        var track = Tracks(x);
        var y = Output(x.Shape, track);
        job.Plan(x.Length, ElementGrain);
        (job.A, job.B, job.F0) = (x, y, min);
        job.Run(&LogAbsPart);
        Trace?.Add(TraceKind.LogAbs, y, [x], floats: [min]);
        if (track)
        {
            Record<LogAbsOp>(y).Set(x, min);
        }
        return y;
    }

    private static void LogAbsPart(RangeJob j, int part, int start, int end)
    {
        var x = j.A!.Span[start..end];
        var y = j.B!.Span[start..end];
        TensorPrimitives.Abs(x, y);
        TensorPrimitives.Max(y, j.F0, y);
        TensorPrimitives.Log(y, y);
    }

    private static void LogAbsBackPart(RangeJob j, int part, int start, int end)
    {
        ReadOnlySpan<float> x = j.A!.Span[start..end], dy = j.B!.Span[start..end];
        var gx = j.C!.Span[start..end];
        var fresh = j.Flag;
        var min = j.F0;
        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var vmin = new Vector<float>(min);
            for (; i <= x.Length - Vector<float>.Count; i += Vector<float>.Count)
            {
                var xv = new Vector<float>(x[i..]);
                var v = Vector.ConditionalSelect(Vector.GreaterThanOrEqual(Vector.Abs(xv), vmin), new Vector<float>(dy[i..]) / xv, Vector<float>.Zero);
                (fresh ? v : v + new Vector<float>(gx[i..])).CopyTo(gx[i..]);
            }
        }
        for (; i < x.Length; i++)
        {
            var v = MathF.Abs(x[i]) >= min ? dy[i] / x[i] : 0f;
            gx[i] = fresh ? v : gx[i] + v;
        }
    }

    private sealed class LogAbsOp : Op
    {
        private Tensor x = null!;
        private float min;

        public void Set(Tensor input, float clamp) => (x, min) = (input, clamp);

        public override unsafe void Backward(Graph g)
        {
            g.GradFor(x, out var fresh);
            g.job.Plan(x.Length, ElementGrain);
            (g.job.A, g.job.B, g.job.C) = (x, Out.Grad!, x.Grad!);
            (g.job.F0, g.job.Flag) = (min, fresh);
            g.job.Run(&LogAbsBackPart);
        }
    }
}
