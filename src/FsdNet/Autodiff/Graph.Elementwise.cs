using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using FsdNet.Tensors;

namespace FsdNet.Autodiff;

public sealed partial class Graph
{
    /// <summary>a + b (same shape).</summary>
    public Tensor Add(Tensor a, Tensor b)
    {
        CheckSame("Add", a, b);
        var track = Tracks(a, b);
        var y = Output(a.Shape, track);
        Elementwise(Ew.Add, y.Span, a.Span, b.Span);
        if (track)
        {
            Record(OpKind.Add, y, a, b);
        }
        return y;
    }

    private void AddBackward(Node n)
    {
        var dy = n.Out.Grad!.Span;
        Pass(n.A!, dy);
        Pass(n.B!, dy);
    }

    /// <summary>a - b (same shape).</summary>
    public Tensor Sub(Tensor a, Tensor b)
    {
        CheckSame("Sub", a, b);
        var track = Tracks(a, b);
        var y = Output(a.Shape, track);
        Elementwise(Ew.Sub, y.Span, a.Span, b.Span);
        if (track)
        {
            Record(OpKind.Sub, y, a, b);
        }
        return y;
    }

    private void SubBackward(Node n)
    {
        var dy = n.Out.Grad!.Span;
        Pass(n.A!, dy);
        if (n.B!.RequiresGrad)
        {
            var g = GradFor(n.B, out var fresh);
            Elementwise(fresh ? Ew.Negate : Ew.SubInto, g, dy, default);
        }
    }

    /// <summary>a * b elementwise (same shape).</summary>
    public Tensor Mul(Tensor a, Tensor b)
    {
        CheckSame("Mul", a, b);
        var track = Tracks(a, b);
        var y = Output(a.Shape, track);
        Elementwise(Ew.Mul, y.Span, a.Span, b.Span);
        if (track)
        {
            Record(OpKind.Mul, y, a, b);
        }
        return y;
    }

    private void MulBackward(Node n)
    {
        var dy = n.Out.Grad!.Span;
        Tensor a = n.A!, b = n.B!;
        if (a.RequiresGrad)
        {
            AccumulateProduct(a, dy, b.Span);
        }
        if (b.RequiresGrad)
        {
            AccumulateProduct(b, dy, a.Span);
        }
    }

    /// <summary>x + r, with the row vector r [C] added to every row of x [..., C].</summary>
    public Tensor AddRow(Tensor x, Tensor r) => RowBroadcast(x, r, Ew.Add, OpKind.AddRow);

    private void AddRowBackward(Node n)
    {
        var dy = n.Out.Grad!;
        Pass(n.A!, dy.Span);
        if (n.B!.RequiresGrad)
        {
            var g = GradFor(n.B, out var fresh);
            ColumnSum(dy, dy.Shape.Rows, dy.Shape.Last, g, fresh);
        }
    }

    /// <summary>x * r, with the row vector r [C] multiplied into every row of x [..., C].</summary>
    public Tensor MulRow(Tensor x, Tensor r) => RowBroadcast(x, r, Ew.Mul, OpKind.MulRow);

    /// <summary>y[i, :] = op(x[i, :], r) for every row, split over threads by rows.</summary>
    private unsafe Tensor RowBroadcast(Tensor x, Tensor r, Ew op, OpKind kind)
    {
        CheckRow(kind.ToString(), x, r);
        var track = Tracks(x, r);
        var y = Output(x.Shape, track);
        job.PlanRows(x.Shape.Rows, x.Shape.Last, ElementGrain);
        (job.A, job.B, job.C) = (x, r, y);
        job.I0 = (int)op;
        job.Run(&RowBroadcastPart);
        if (track)
        {
            Record(kind, y, x, r);
        }
        return y;
    }

    private static void RowBroadcastPart(RangeJob j, int part, int start, int end)
    {
        var r = j.B!.Span;
        for (var i = start; i < end; i++)
        {
            Apply((Ew)j.I0, j.C!.Row(i), j.A!.Row(i), r, 0, 0, true);
        }
    }

    private void MulRowBackward(Node n)
    {
        Tensor x = n.A!, r = n.B!, dy = n.Out.Grad!;
        var rows = x.Shape.Rows;
        if (x.RequiresGrad)
        {
            GradFor(x, out var fresh);
            var rs = r.Span;
            for (var i = 0; i < rows; i++)
            {
                var gi = x.Grad!.Row(i);
                if (fresh)
                {
                    TensorPrimitives.Multiply(dy.Row(i), rs, gi);
                }
                else
                {
                    TensorPrimitives.MultiplyAdd(dy.Row(i), rs, gi, gi);
                }
            }
        }
        if (r.RequiresGrad)
        {
            var prod = Scratch(x.Shape);
            Elementwise(Ew.Mul, prod.Span, dy.Span, x.Span);
            var g = GradFor(r, out var fresh);
            ColumnSum(prod, rows, x.Shape.Last, g, fresh);
        }
    }

    /// <summary>scale * x + shift, elementwise with scalar constants.</summary>
    public Tensor Affine(Tensor x, float scale, float shift = 0f)
    {
        var track = Tracks(x);
        var y = Output(x.Shape, track);
        Elementwise(Ew.ScaleShift, y.Span, x.Span, default, scale, shift);
        if (track)
        {
            Record(OpKind.Affine, y, x).F0 = scale;
        }
        return y;
    }

    private void AffineBackward(Node n)
    {
        var x = n.A!;
        var g = GradFor(x, out var fresh);
        var dy = n.Out.Grad!.Span;
        Elementwise(fresh ? Ew.Scale : Ew.ScaleAdd, g, dy, default, n.F0);
    }

    /// <summary>max(x, 0).</summary>
    public Tensor Relu(Tensor x) => Unary(x, Ew.Relu, OpKind.Relu);

    /// <summary>1 / (1 + exp(-x)).</summary>
    public Tensor Sigmoid(Tensor x) => Unary(x, Ew.Sigmoid, OpKind.Sigmoid);

    /// <summary>tanh(x).</summary>
    public Tensor Tanh(Tensor x) => Unary(x, Ew.Tanh, OpKind.Tanh);

    /// <summary>log(sigmoid(x)), computed stably as min(x, 0) - log(1 + exp(-|x|)).</summary>
    public Tensor LogSigmoid(Tensor x) => Unary(x, Ew.LogSigmoid, OpKind.LogSigmoid);

    private Tensor Unary(Tensor x, Ew forward, OpKind kind)
    {
        var track = Tracks(x);
        var y = Output(x.Shape, track);
        Elementwise(forward, y.Span, x.Span, default);
        if (track)
        {
            Record(kind, y, x);
        }
        return y;
    }

    /// <summary>
    /// grad(x) (+)= the activation's derivative times dy; <paramref name="fromInput"/> says whether the derivative is
    /// computed from the input (log-sigmoid) or from the output (ReLU, sigmoid, tanh).
    /// </summary>
    private void UnaryBackward(Node n, Ew backward, bool fromInput)
    {
        var g = GradFor(n.A!, out var fresh);
        Elementwise(backward, g, fromInput ? n.A!.Span : n.Out.Span, n.Out.Grad!.Span, fresh: fresh);
    }

    /// <summary>Adds (or writes, when fresh) <paramref name="dy"/> into the gradient of <paramref name="t"/> if it needs one.</summary>
    private void Pass(Tensor t, ReadOnlySpan<float> dy)
    {
        if (!t.RequiresGrad)
        {
            return;
        }
        var g = GradFor(t, out var fresh);
        Elementwise(fresh ? Ew.Copy : Ew.AddInto, g, dy, default);
    }

    /// <summary>grad(t) (+)= dy * other.</summary>
    private void AccumulateProduct(Tensor t, ReadOnlySpan<float> dy, ReadOnlySpan<float> other)
    {
        var g = GradFor(t, out var fresh);
        Elementwise(Ew.MulAdd, g, dy, other, fresh: fresh);
    }

    private void CheckRow(string op, Tensor x, Tensor r)
    {
        if (r.Shape.Rank != 1 || r.Shape.D0 != x.Shape.Last)
        {
            throw new ArgumentException($"{op}: row vector {r.Shape} does not fit {x.Shape} (expected [{x.Shape.Last}]).");
        }
    }
}
