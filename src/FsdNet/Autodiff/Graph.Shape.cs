using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using FsdNet.Tensors;

namespace FsdNet.Autodiff;

public sealed partial class Graph
{
    /// <summary>Concatenates a [R, n1] and b [R, n2] along the feature axis into [R, n1 + n2].</summary>
    public Tensor Concat(Tensor a, Tensor b)
    {
        if (a.Shape.Rank != 2 || b.Shape.Rank != 2 || a.Shape.D0 != b.Shape.D0)
        {
            throw new ArgumentException($"Concat needs two [rows, features] tensors with the same rows, got {a.Shape} and {b.Shape}.");
        }
        int rows = a.Shape.D0, n1 = a.Shape.D1, n2 = b.Shape.D1;
        var track = Tracks(a, b);
        var y = Output(new Shape(rows, n1 + n2), track);
        CopyColumns(a, 0, y, 0, n1);
        CopyColumns(b, 0, y, n1, n2);
        if (track)
        {
            Record(OpKind.Concat, y, a, b);
        }
        return y;
    }

    private void ConcatBackward(Node n)
    {
        Tensor a = n.A!, b = n.B!, dy = n.Out.Grad!;
        var n1 = a.Shape.D1;
        if (a.RequiresGrad)
        {
            RowsInto(a, dy, 0);
        }
        if (b.RequiresGrad)
        {
            RowsInto(b, dy, n1);
        }
    }

    /// <summary>Columns [start, start + length) of x [R, C].</summary>
    public Tensor Slice(Tensor x, int start, int length)
    {
        if (x.Shape.Rank != 2 || start < 0 || length < 0 || start + length > x.Shape.D1)
        {
            throw new ArgumentException($"Slice [{start}, {start + length}) is outside the features of {x.Shape}.");
        }
        var track = Tracks(x);
        var y = Output(new Shape(x.Shape.D0, length), track);
        CopyColumns(x, start, y, 0, length);
        if (track)
        {
            Record(OpKind.Slice, y, x).I0 = start;
        }
        return y;
    }

    private void SliceBackward(Node n)
    {
        Tensor x = n.A!, dy = n.Out.Grad!;
        var g = GradFor(x, out var fresh);
        if (fresh)
        {
            g.Clear();
        }
        CopyColumns(dy, 0, x.Grad!, n.I0, dy.Shape.D1, accumulate: true);
    }

    /// <summary>The same elements seen with another shape (a view: no copy).</summary>
    public Tensor Reshape(Tensor x, Shape shape)
    {
        if (shape.Length != x.Length)
        {
            throw new ArgumentException($"Reshape: cannot view {x.Shape} ({x.Length} elements) as {shape} ({shape.Length} elements).");
        }
        var track = Tracks(x);
        var y = AcquireView(x, shape, track);
        if (track)
        {
            Record(OpKind.Reshape, y, x);
        }
        return y;
    }

    /// <summary>The same values cut off from the graph: no gradient flows back through the result.</summary>
    public Tensor Detach(Tensor x)
    {
        return AcquireView(x, x.Shape, false);
    }

    private void ReshapeBackward(Node n) => Pass(n.A!, n.Out.Grad!.Span);

    /// <summary>The sum of all elements, as a [1] tensor.</summary>
    public Tensor Sum(Tensor x) => SumScaled(x, 1f);

    /// <summary>The mean of all elements, as a [1] tensor.</summary>
    public Tensor Mean(Tensor x) => SumScaled(x, 1f / Math.Max(x.Length, 1));

    private Tensor SumScaled(Tensor x, float scale)
    {
        var track = Tracks(x);
        var y = Output(new Shape(1), track);
        y.Span[0] = (float)(SumParallel(x.Span) * scale);
        if (track)
        {
            Record(OpKind.Sum, y, x).F0 = scale;
        }
        return y;
    }

    private void SumBackward(Node n)
    {
        var g = GradFor(n.A!, out var fresh);
        var v = n.Out.Grad!.Span[0] * n.F0;
        if (fresh)
        {
            g.Fill(v);
        }
        else
        {
            Elementwise(Ew.AddScalar, g, default, default, v);
        }
    }

    /// <summary>Sum over the last axis: [..., C] to [..., 1] (rank 2 gives [R, 1]).</summary>
    public Tensor SumLast(Tensor x)
    {
        var track = Tracks(x);
        var shape = x.Shape.Rank switch
        {
            1 => new Shape(1),
            2 => new Shape(x.Shape.D0, 1),
            _ => new Shape(x.Shape.D0, x.Shape.D1, 1),
        };
        var y = Output(shape, track);
        var ys = y.Span;
        for (var r = 0; r < x.Shape.Rows; r++)
        {
            ys[r] = TensorPrimitives.Sum<float>(x.Row(r));
        }
        if (track)
        {
            Record(OpKind.SumLast, y, x);
        }
        return y;
    }

    private void SumLastBackward(Node n)
    {
        var x = n.A!;
        GradFor(x, out var fresh);
        var dy = n.Out.Grad!.Span;
        for (var r = 0; r < x.Shape.Rows; r++)
        {
            var g = x.Grad!.Row(r);
            if (fresh)
            {
                g.Fill(dy[r]);
            }
            else
            {
                TensorPrimitives.Add(g, dy[r], g);
            }
        }
    }

    /// <summary>Softmax over the last axis of each row.</summary>
    public Tensor Softmax(Tensor x)
    {
        var track = Tracks(x);
        var y = Output(x.Shape, track);
        for (var r = 0; r < x.Shape.Rows; r++)
        {
            TensorPrimitives.SoftMax(x.Row(r), y.Row(r));
        }
        if (track)
        {
            Record(OpKind.Softmax, y, x);
        }
        return y;
    }

    private void SoftmaxBackward(Node n)
    {
        Tensor x = n.A!, y = n.Out, dy = n.Out.Grad!;
        GradFor(x, out var fresh);
        for (var r = 0; r < x.Shape.Rows; r++)
        {
            var yr = y.Row(r);
            var dyr = dy.Row(r);
            var dot = TensorPrimitives.Dot<float>(yr, dyr);
            var g = x.Grad!.Row(r);
            for (var c = 0; c < yr.Length; c++)
            {
                var v = yr[c] * (dyr[c] - dot);
                g[c] = fresh ? v : g[c] + v;
            }
        }
    }

    /// <summary>Writes (or adds) columns [offset, offset + t.cols) of <paramref name="dy"/> into t's gradient.</summary>
    private void RowsInto(Tensor t, Tensor dy, int offset)
    {
        GradFor(t, out var fresh);
        CopyColumns(dy, offset, t.Grad!, 0, t.Shape.D1, accumulate: !fresh);
    }
}
