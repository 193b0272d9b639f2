using FsdNet.Tensors;

namespace FsdNet.Autodiff;

internal sealed partial class Graph
{
    /// <summary>Softmax over any axis (torch.softmax(x, dim)); the last axis uses the row kernel of <see cref="Softmax(Tensor)"/>.</summary>
    public unsafe Tensor Softmax(Tensor x, int axis)
    {
        var (outer, n, inner, _) = AxisPlan("Softmax", x.Shape, ref axis, keepDim: true);
        if (inner == 1)
        {
            return Softmax(x);
        }
        var track = Tracks(x);
        var y = Output(x.Shape, track);
        RunAxis(&SoftmaxAxisForwardPart, Reduction.Sum, x, y, outer, n, inner, fresh: true);
        Trace?.Add(TraceKind.Softmax, y, [x], [axis]);
        if (track)
        {
            Record<SoftmaxAxisOp>(y).Set(x, outer, n, inner);
        }
        return y;
    }

    private sealed class SoftmaxAxisOp : Op
    {
        private Tensor x = null!;
        private int outer, n, inner;

        public void Set(Tensor input, int o, int size, int i) => (x, outer, n, inner) = (input, o, size, i);

        public override unsafe void Backward(Graph g)
        {
            _ = g.GradFor(x, out var fresh);
            g.RunAxis(&SoftmaxAxisBackwardPart, Reduction.Sum, x, Out, outer, n, inner, fresh);
        }
    }

    /// <summary>Softmax along the middle axis of [outer, n, inner], one outer slice at a time (inner > 1).</summary>
    private static void SoftmaxAxisForwardPart(RangeJob j, int part, int start, int end)
    {
        var (n, inner) = (j.I1, (int)j.P0);
        ReadOnlySpan<float> xs = j.A!.Span;
        var ys = j.B!.Span;
        for (var o = start; o < end; o++)
        {
            for (var i = 0; i < inner; i++)
            {
                var b = (o * n * inner) + i;
                var max = float.NegativeInfinity;
                for (var r = 0; r < n; r++)
                {
                    max = MathF.Max(max, xs[b + (r * inner)]);
                }
                var sum = 0f;
                for (var r = 0; r < n; r++)
                {
                    var e = MathF.Exp(xs[b + (r * inner)] - max);
                    ys[b + (r * inner)] = e;
                    sum += e;
                }
                for (var r = 0; r < n; r++)
                {
                    ys[b + (r * inner)] /= sum;
                }
            }
        }
    }

    private static void SoftmaxAxisBackwardPart(RangeJob j, int part, int start, int end)
    {
        var (n, inner, fresh) = (j.I1, (int)j.P0, j.Flag);
        Tensor x = j.A!, y = j.B!;
        ReadOnlySpan<float> ys = y.Span, dy = y.Grad!.Span;
        var gx = x.Grad!.Span;
        for (var o = start; o < end; o++)
        {
            for (var i = 0; i < inner; i++)
            {
                var b = (o * n * inner) + i;
                var dot = 0f;
                for (var r = 0; r < n; r++)
                {
                    dot += ys[b + (r * inner)] * dy[b + (r * inner)];
                }
                for (var r = 0; r < n; r++)
                {
                    var k = b + (r * inner);
                    var v = ys[k] * (dy[k] - dot);
                    gx[k] = fresh ? v : gx[k] + v;
                }
            }
        }
    }
}
