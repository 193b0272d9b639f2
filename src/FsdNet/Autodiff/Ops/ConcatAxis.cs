using FsdNet.Tensors;

namespace FsdNet.Autodiff;

internal sealed partial class Graph
{
    /// <summary>
    /// Concatenates tensors along <paramref name="axis"/> (torch.cat); every other axis must agree. The two-part
    /// feature-axis case of rank-2 tensors is <see cref="Concat(Tensor, Tensor)"/>.
    /// </summary>
    public Tensor Concat(int axis, params ReadOnlySpan<Tensor> parts)
    {
        if (parts.Length == 0)
        {
            throw new ArgumentException("Concat needs at least one tensor.");
        }
        var first = parts[0].Shape;
        var ax = axis;
        var (outer, _, inner, _) = AxisPlan("Concat", first, ref ax, keepDim: true);
        var total = 0;
        var track = false;
        foreach (var p in parts)
        {
            var fits = p.Shape.Rank == first.Rank;
            for (var i = 0; fits && i < first.Rank; i++)
            {
                fits = i == ax || p.Shape[i] == first[i];
            }
            if (!fits)
            {
                throw new ArgumentException($"Concat along axis {ax}: {p.Shape} does not fit {first}.");
            }
            total += p.Shape[ax];
            track |= Tracks(p);
        }
        var y = Output(WithAxis(first, ax, total), track);
        var list = TensorList(parts.Length);
        parts.CopyTo(list);
        var offset = 0;
        foreach (var p in list)
        {
            CopyBlocks(p.Span, y.Span, outer, p.Shape[ax] * inner, total * inner, offset * inner, toParts: false);
            offset += p.Shape[ax];
        }
        Trace?.Add(TraceKind.Concat, y, [.. list], [ax]);
        if (track)
        {
            Record<ConcatAxisOp>(y).Set(list, outer, inner, total, ax);
        }
        return y;
    }

    /// <summary>Stacks equal-shaped tensors along a new axis (torch.stack), up to rank 3 in all.</summary>
    public Tensor Stack(int axis, params ReadOnlySpan<Tensor> parts)
    {
        if (parts.Length == 0)
        {
            throw new ArgumentException("Stack needs at least one tensor.");
        }
        var s = parts[0].Shape;
        if (s.Rank >= 3 || axis < 0 || axis > s.Rank)
        {
            throw new ArgumentException($"Stack: axis {axis} for parts of shape {s} (the result may have rank 3 at most).");
        }
        var one = (s.Rank, axis) switch
        {
            (1, 0) => new Shape(1, s.D0),
            (1, _) => new Shape(s.D0, 1),
            (2, 0) => new Shape(1, s.D0, s.D1),
            (2, 1) => new Shape(s.D0, 1, s.D1),
            _ => new Shape(s.D0, s.D1, 1),
        };
        var views = TensorList(parts.Length);
        for (var i = 0; i < parts.Length; i++)
        {
            if (parts[i].Shape != s)
            {
                throw new ArgumentException($"Stack: part {i} has shape {parts[i].Shape}, part 0 {s}.");
            }
            views[i] = Reshape(parts[i], one);
        }
        return Concat(axis, views);
    }

    /// <summary>Rows [index[j]] of <paramref name="x"/> along <paramref name="axis"/> (torch.index_select); the index must stay unchanged until Backward.</summary>
    public Tensor IndexSelect(Tensor x, int axis, int[] index)
    {
        var (outer, n, inner, _) = AxisPlan("IndexSelect", x.Shape, ref axis, keepDim: true);
        foreach (var i in index)
        {
            if ((uint)i >= (uint)n)
            {
                throw new ArgumentOutOfRangeException(nameof(index), i, $"IndexSelect: index {i} is outside axis {axis} of {x.Shape}.");
            }
        }
        var track = Tracks(x);
        var y = Output(WithAxis(x.Shape, axis, index.Length), track);
        Span<float> xs = x.Span, ys = y.Span;
        for (var o = 0; o < outer; o++)
        {
            for (var j = 0; j < index.Length; j++)
            {
                xs.Slice(((o * n) + index[j]) * inner, inner).CopyTo(ys.Slice(((o * index.Length) + j) * inner, inner));
            }
        }
        Trace?.Add(TraceKind.IndexSelect, y, [x], [axis], payload: index.ToArray());
        if (track)
        {
            Record<IndexSelectOp>(y).Set(x, index, outer, n, inner);
        }
        return y;
    }

    private static Shape WithAxis(Shape s, int axis, int size) => s.Rank switch
    {
        1 => new Shape(size),
        2 => axis == 0 ? new Shape(size, s.D1) : new Shape(s.D0, size),
        _ => axis switch
        {
            0 => new Shape(size, s.D1, s.D2),
            1 => new Shape(s.D0, size, s.D2),
            _ => new Shape(s.D0, s.D1, size),
        },
    };

    /// <summary>Copies a part's [outer, width] blocks into (or, backward, out of) the whole's [outer, stride] rows at an offset.</summary>
    private static void CopyBlocks(Span<float> part, Span<float> whole, int outer, int width, int stride, int offset, bool toParts, bool accumulate = false)
    {
        for (var o = 0; o < outer; o++)
        {
            var w = whole.Slice((o * stride) + offset, width);
            var p = part.Slice(o * width, width);
            if (!toParts)
            {
                p.CopyTo(w);
            }
            else if (accumulate)
            {
                System.Numerics.Tensors.TensorPrimitives.Add(p, w, p);
            }
            else
            {
                w.CopyTo(p);
            }
        }
    }

    private sealed class ConcatAxisOp : Op
    {
        private Tensor[] parts = [];
        private int outer, inner, total, axis;

        public void Set(Tensor[] list, int o, int i, int t, int a) => (parts, outer, inner, total, axis) = (list, o, i, t, a);

        public override void Backward(Graph g)
        {
            var dy = Out.Grad!.Span;
            var offset = 0;
            foreach (var p in parts)
            {
                var n = p.Shape[axis];
                if (p.RequiresGrad)
                {
                    var gp = g.GradFor(p, out var fresh);
                    CopyBlocks(gp, dy, outer, n * inner, total * inner, offset * inner, toParts: true, accumulate: !fresh);
                }
                offset += n;
            }
        }
    }

    private sealed class IndexSelectOp : Op
    {
        private Tensor x = null!;
        private int[] index = [];
        private int outer, n, inner;

        public void Set(Tensor input, int[] idx, int o, int size, int i) => (x, index, outer, n, inner) = (input, idx, o, size, i);

        public override void Backward(Graph g)
        {
            var gx = g.GradFor(x, out var fresh);
            if (fresh)
            {
                gx.Clear();
            }
            var dy = Out.Grad!.Span;
            for (var o = 0; o < outer; o++)
            {
                for (var j = 0; j < index.Length; j++)
                {
                    var dst = gx.Slice(((o * n) + index[j]) * inner, inner);
                    System.Numerics.Tensors.TensorPrimitives.Add(dst, dy.Slice(((o * index.Length) + j) * inner, inner), dst);
                }
            }
        }
    }
}
