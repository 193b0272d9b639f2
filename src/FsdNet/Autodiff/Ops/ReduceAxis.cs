using FsdNet.Tensors;

namespace FsdNet.Autodiff;

public sealed partial class Graph
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

    private Tensor ReduceAxis(Reduction kind, Tensor x, int axis, bool keepDim)
    {
        var (outer, n, inner, shape) = AxisPlan(kind switch { Reduction.Sum => "Sum", Reduction.Mean => "Mean", _ => "Max" }, x.Shape, ref axis, keepDim);
        if (n == 0)
        {
            throw new ArgumentException($"{kind}: axis {axis} of {x.Shape} is empty.");
        }
        var track = Tracks(x);
        var y = Output(shape, track);
        Span<float> xs = x.Span, ys = y.Span;
        for (var o = 0; o < outer; o++)
        {
            for (var i = 0; i < inner; i++)
            {
                var baseIdx = (o * n * inner) + i;
                var acc = xs[baseIdx];
                for (var j = 1; j < n; j++)
                {
                    var v = xs[baseIdx + (j * inner)];
                    acc = kind == Reduction.Max ? (v > acc ? v : acc) : acc + v;
                }
                ys[(o * inner) + i] = kind == Reduction.Mean ? acc / n : acc;
            }
        }
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

        public override void Backward(Graph g)
        {
            var gx = g.GradFor(x, out var fresh);
            if (fresh)
            {
                gx.Clear();
            }
            Span<float> dy = Out.Grad!.Span, xs = x.Span, ys = Out.Span;
            for (var o = 0; o < outer; o++)
            {
                for (var i = 0; i < inner; i++)
                {
                    var baseIdx = (o * n * inner) + i;
                    var d = dy[(o * inner) + i];
                    if (kind == Reduction.Max)
                    {
                        var j = 0;
                        while (xs[baseIdx + (j * inner)] != ys[(o * inner) + i])
                        {
                            j++;
                        }
                        gx[baseIdx + (j * inner)] += d;
                        continue;
                    }
                    var v = kind == Reduction.Mean ? d / n : d;
                    for (var j = 0; j < n; j++)
                    {
                        gx[baseIdx + (j * inner)] += v;
                    }
                }
            }
        }
    }
}
