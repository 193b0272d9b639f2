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
        TensorPrimitives.Add(a.Span, b.Span, y.Span);
        if (track)
        {
            Record(OpKind.Add, y, a, b);
        }
        return y;
    }

    private static void AddBackward(Node n)
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
        TensorPrimitives.Subtract(a.Span, b.Span, y.Span);
        if (track)
        {
            Record(OpKind.Sub, y, a, b);
        }
        return y;
    }

    private static void SubBackward(Node n)
    {
        var dy = n.Out.Grad!.Span;
        Pass(n.A!, dy);
        if (n.B!.RequiresGrad)
        {
            var g = GradFor(n.B, out var fresh);
            if (fresh)
            {
                TensorPrimitives.Negate(dy, g);
            }
            else
            {
                TensorPrimitives.Subtract(g, dy, g);
            }
        }
    }

    /// <summary>a * b elementwise (same shape).</summary>
    public Tensor Mul(Tensor a, Tensor b)
    {
        CheckSame("Mul", a, b);
        var track = Tracks(a, b);
        var y = Output(a.Shape, track);
        TensorPrimitives.Multiply(a.Span, b.Span, y.Span);
        if (track)
        {
            Record(OpKind.Mul, y, a, b);
        }
        return y;
    }

    private static void MulBackward(Node n)
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
    public Tensor AddRow(Tensor x, Tensor r)
    {
        CheckRow("AddRow", x, r);
        var track = Tracks(x, r);
        var y = Output(x.Shape, track);
        var rs = r.Span;
        for (var i = 0; i < x.Shape.Rows; i++)
        {
            TensorPrimitives.Add(x.Row(i), rs, y.Row(i));
        }
        if (track)
        {
            Record(OpKind.AddRow, y, x, r);
        }
        return y;
    }

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
    public Tensor MulRow(Tensor x, Tensor r)
    {
        CheckRow("MulRow", x, r);
        var track = Tracks(x, r);
        var y = Output(x.Shape, track);
        var rs = r.Span;
        for (var i = 0; i < x.Shape.Rows; i++)
        {
            TensorPrimitives.Multiply(x.Row(i), rs, y.Row(i));
        }
        if (track)
        {
            Record(OpKind.MulRow, y, x, r);
        }
        return y;
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
            TensorPrimitives.Multiply(dy.Span, x.Span, prod.Span);
            var g = GradFor(r, out var fresh);
            ColumnSum(prod, rows, x.Shape.Last, g, fresh);
        }
    }

    /// <summary>scale * x + shift, elementwise with scalar constants.</summary>
    public Tensor Affine(Tensor x, float scale, float shift = 0f)
    {
        var track = Tracks(x);
        var y = Output(x.Shape, track);
        if (shift == 0f)
        {
            TensorPrimitives.Multiply(x.Span, scale, y.Span);
        }
        else
        {
            TensorPrimitives.Multiply(x.Span, scale, y.Span);
            TensorPrimitives.Add(y.Span, shift, y.Span);
        }
        if (track)
        {
            Record(OpKind.Affine, y, x).F0 = scale;
        }
        return y;
    }

    private static void AffineBackward(Node n)
    {
        var x = n.A!;
        var g = GradFor(x, out var fresh);
        var dy = n.Out.Grad!.Span;
        if (fresh)
        {
            TensorPrimitives.Multiply(dy, n.F0, g);
        }
        else
        {
            TensorPrimitives.MultiplyAdd(dy, n.F0, g, g);
        }
    }

    /// <summary>max(x, 0).</summary>
    public Tensor Relu(Tensor x)
    {
        var track = Tracks(x);
        var y = Output(x.Shape, track);
        TensorPrimitives.Max(x.Span, 0f, y.Span);
        if (track)
        {
            Record(OpKind.Relu, y, x);
        }
        return y;
    }

    private static void ReluBackward(Node n)
    {
        var x = n.A!;
        var g = GradFor(x, out var fresh);
        Kernels.ReluBackward(n.Out.Span, n.Out.Grad!.Span, g, fresh);
    }

    /// <summary>1 / (1 + exp(-x)).</summary>
    public Tensor Sigmoid(Tensor x)
    {
        var track = Tracks(x);
        var y = Output(x.Shape, track);
        TensorPrimitives.Sigmoid(x.Span, y.Span);
        if (track)
        {
            Record(OpKind.Sigmoid, y, x);
        }
        return y;
    }

    private static void SigmoidBackward(Node n)
    {
        var x = n.A!;
        var g = GradFor(x, out var fresh);
        Kernels.SigmoidBackward(n.Out.Span, n.Out.Grad!.Span, g, fresh);
    }

    /// <summary>tanh(x).</summary>
    public Tensor Tanh(Tensor x)
    {
        var track = Tracks(x);
        var y = Output(x.Shape, track);
        TensorPrimitives.Tanh(x.Span, y.Span);
        if (track)
        {
            Record(OpKind.Tanh, y, x);
        }
        return y;
    }

    private static void TanhBackward(Node n)
    {
        var x = n.A!;
        var g = GradFor(x, out var fresh);
        Kernels.TanhBackward(n.Out.Span, n.Out.Grad!.Span, g, fresh);
    }

    /// <summary>log(sigmoid(x)), computed stably as min(x, 0) - log(1 + exp(-|x|)).</summary>
    public Tensor LogSigmoid(Tensor x)
    {
        var track = Tracks(x);
        var y = Output(x.Shape, track);
        Kernels.LogSigmoid(x.Span, y.Span);
        if (track)
        {
            Record(OpKind.LogSigmoid, y, x);
        }
        return y;
    }

    private static void LogSigmoidBackward(Node n)
    {
        var x = n.A!;
        var g = GradFor(x, out var fresh);
        Kernels.LogSigmoidBackward(x.Span, n.Out.Grad!.Span, g, fresh);
    }

    /// <summary>Adds (or writes, when fresh) <paramref name="dy"/> into the gradient of <paramref name="t"/> if it needs one.</summary>
    private static void Pass(Tensor t, ReadOnlySpan<float> dy)
    {
        if (!t.RequiresGrad)
        {
            return;
        }
        var g = GradFor(t, out var fresh);
        if (fresh)
        {
            dy.CopyTo(g);
        }
        else
        {
            TensorPrimitives.Add(g, dy, g);
        }
    }

    /// <summary>grad(t) (+)= dy * other.</summary>
    private static void AccumulateProduct(Tensor t, ReadOnlySpan<float> dy, ReadOnlySpan<float> other)
    {
        var g = GradFor(t, out var fresh);
        if (fresh)
        {
            TensorPrimitives.Multiply(dy, other, g);
        }
        else
        {
            TensorPrimitives.MultiplyAdd(dy, other, g, g);
        }
    }

    private static void CheckRow(string op, Tensor x, Tensor r)
    {
        if (r.Shape.Rank != 1 || r.Shape.D0 != x.Shape.Last)
        {
            throw new ArgumentException($"{op}: row vector {r.Shape} does not fit {x.Shape} (expected [{x.Shape.Last}]).");
        }
    }
}
