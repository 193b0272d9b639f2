using FsdNet.Tensors;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace FsdNet.Autodiff;

internal sealed partial class Graph
{
    private enum Reduction : byte
    {
        Sum,
        Mean,
        Max,
    }

    /// <summary>Sum over one axis (negative counts from the end), as torch.sum(x, dim, keepdim).</summary>
    public Tensor Sum(Tensor x, int axis, bool keepDim = false) => ReduceAxis(Reduction.Sum, x, axis, keepDim);

    /// <summary>Mean over one axis, as torch.mean(x, dim, keepdim).</summary>
    public Tensor Mean(Tensor x, int axis, bool keepDim = false) => ReduceAxis(Reduction.Mean, x, axis, keepDim);

    /// <summary>Maximum over one axis, as torch.max(x, dim, keepdim).values: the gradient goes to the first maximum.</summary>
    public Tensor Max(Tensor x, int axis, bool keepDim = false) => ReduceAxis(Reduction.Max, x, axis, keepDim);

    /// <summary>x seen as [outer, n, inner] around <paramref name="axis"/>.</summary>
    private static (int Outer, int N, int Inner, Shape Reduced) AxisPlan(string op, Shape s, ref int axis, bool keepDim)
    {
        if (axis < 0)
        {
            axis += s.Rank;
        }
        if (axis < 0 || axis >= s.Rank)
        {
            throw new ArgumentOutOfRangeException(nameof(axis), $"{op}: axis {axis} is outside a rank-{s.Rank} shape {s}.");
        }
        int outer = 1, inner = 1;
        for (var i = 0; i < s.Rank; i++)
        {
            if (i < axis)
            {
                outer *= s[i];
            }
            else if (i > axis)
            {
                inner *= s[i];
            }
        }
        var reduced = keepDim
            ? WithAxis(s, axis, 1)
            : (s.Rank, axis) switch
            {
                (1, _) => new Shape(1),
                (2, 0) => new Shape(s.D1),
                (2, _) => new Shape(s.D0),
                (_, 0) => new Shape(s.D1, s.D2),
                (_, 1) => new Shape(s.D0, s.D2),
                _ => new Shape(s.D0, s.D1),
            };
        return (outer, s[axis], inner, reduced);
    }

    private unsafe Tensor ReduceAxis(Reduction kind, Tensor x, int axis, bool keepDim)
    {
        var (outer, n, inner, shape) = AxisPlan(kind switch { Reduction.Sum => "Sum", Reduction.Mean => "Mean", _ => "Max" }, x.Shape, ref axis, keepDim);
        if (n == 0)
        {
            throw new ArgumentException($"{kind}: axis {axis} of {x.Shape} is empty.");
        }
        var track = Tracks(x);
        var y = Output(shape, track);
        RunAxis(&ReduceForwardPart, kind, x, y, outer, n, inner, fresh: true);
        Trace?.Add(TraceKind.Reduce, y, [x], [(int)kind, axis, keepDim ? 1 : 0]);
        if (track)
        {
            Record<ReduceAxisOp>(y).Set(kind, x, outer, n, inner);
        }
        return y;
    }

    private sealed class ReduceAxisOp : Op
    {
        private Reduction kind;
        private Tensor x = null!;
        private int outer, n, inner;

        public void Set(Reduction k, Tensor input, int o, int size, int i) => (kind, x, outer, n, inner) = (k, input, o, size, i);

        public override unsafe void Backward(Graph g)
        {
            _ = g.GradFor(x, out var fresh);
            g.RunAxis(&ReduceBackwardPart, kind, x, Out, outer, n, inner, fresh);
        }
    }

    /// <summary>Runs an axis kernel over the [outer, n, inner] view of x, outer slices split over the workers.</summary>
    private unsafe void RunAxis(delegate*<RangeJob, int, int, int, void> kernel, Reduction kind, Tensor x, Tensor y, int outer, int n, int inner, bool fresh)
    {
        job.PlanRows(outer, n * inner, ElementGrain);
        (job.A, job.B) = (x, y);
        (job.I0, job.I1, job.P0, job.Flag) = ((int)kind, n, inner, fresh);
        job.Run(kernel);
    }

    private static void ReduceForwardPart(RangeJob j, int part, int start, int end)
    {
        var (kind, n, inner) = ((Reduction)j.I0, j.I1, (int)j.P0);
        ReadOnlySpan<float> xs = j.A!.Span;
        var ys = j.B!.Span;
        for (var o = start; o < end; o++)
        {
            var block = xs.Slice(o * n * inner, n * inner);
            if (inner == 1)
            {
                ys[o] = kind switch
                {
                    Reduction.Max => TensorPrimitives.Max(block),
                    Reduction.Sum => TensorPrimitives.Sum(block),
                    _ => TensorPrimitives.Sum(block) / n,
                };
                continue;
            }
            var acc = ys.Slice(o * inner, inner);
            block[..inner].CopyTo(acc);
            for (var r = 1; r < n; r++)
            {
                var row = block.Slice(r * inner, inner);
                if (kind == Reduction.Max)
                {
                    TensorPrimitives.Max(acc, row, acc);
                }
                else
                {
                    TensorPrimitives.Add(acc, row, acc);
                }
            }
            if (kind == Reduction.Mean)
            {
                TensorPrimitives.Divide(acc, n, acc);
            }
        }
    }

    private static void ReduceBackwardPart(RangeJob j, int part, int start, int end)
    {
        var (kind, n, inner, fresh) = ((Reduction)j.I0, j.I1, (int)j.P0, j.Flag);
        Tensor x = j.A!, y = j.B!;
        ReadOnlySpan<float> xs = x.Span, ys = y.Span, dy = y.Grad!.Span;
        var gx = x.Grad!.Span;
        for (var o = start; o < end; o++)
        {
            var gblock = gx.Slice(o * n * inner, n * inner);
            if (fresh)
            {
                gblock.Clear();
            }
            var drow = dy.Slice(o * inner, inner);
            if (kind == Reduction.Max)
            {
                var xblock = xs.Slice(o * n * inner, n * inner);
                for (var i = 0; i < inner; i++)
                {
                    var r = 0;
                    while (xblock[(r * inner) + i] != ys[(o * inner) + i])
                    {
                        r++;
                    }
                    gblock[(r * inner) + i] += drow[i];
                }
                continue;
            }
            var scale = kind == Reduction.Mean ? 1f / n : 1f;
            for (var r = 0; r < n; r++)
            {
                var grow = gblock.Slice(r * inner, inner);
                if (inner == 1)
                {
                    grow[0] += kind == Reduction.Mean ? drow[0] / n : drow[0];
                }
                else
                {
                    TensorPrimitives.MultiplyAdd(drow, scale, grow, grow);
                }
            }
        }
    }
}
