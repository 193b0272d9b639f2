using FsdNet.Tensors;

namespace FsdNet.Autodiff;

public sealed partial class Graph
{
    /// <summary>
    /// Matrix product op(a) x op(b) of two rank-2 tensors, where op transposes when asked:
    /// a is [M, K] (or [K, M] with <paramref name="transA"/>), b is [K, N] (or [N, K] with <paramref name="transB"/>).
    /// </summary>
    public Tensor MatMul(Tensor a, Tensor b, bool transA = false, bool transB = false)
    {
        if (a.Shape.Rank != 2 || b.Shape.Rank != 2)
        {
            throw new ArgumentException($"MatMul needs rank-2 tensors, got {a.Shape} and {b.Shape}.");
        }
        var (m, k) = transA ? (a.Shape.D1, a.Shape.D0) : (a.Shape.D0, a.Shape.D1);
        var (k2, n) = transB ? (b.Shape.D1, b.Shape.D0) : (b.Shape.D0, b.Shape.D1);
        if (k != k2)
        {
            throw new ArgumentException(
                $"MatMul: inner dimensions differ: {a.Shape}{(transA ? "^T" : "")} x {b.Shape}{(transB ? "^T" : "")}.");
        }
        var track = Tracks(a, b);
        var y = Output(new Shape(m, n), track);
        Gemm(transA, transB, m, n, k, a, b, y, fresh: true);
        if (track)
        {
            var node = Record(OpKind.MatMul, y, a, b);
            node.Flag0 = transA;
            node.Flag1 = transB;
        }
        return y;
    }

    private void MatMulBackward(Node n)
    {
        Tensor a = n.A!, b = n.B!, dc = n.Out.Grad!;
        bool ta = n.Flag0, tb = n.Flag1;
        var m = n.Out.Shape.D0;
        var nn = n.Out.Shape.D1;
        var k = ta ? a.Shape.D0 : a.Shape.D1;
        if (a.RequiresGrad)
        {
            GradFor(a, out var fresh);
            if (!ta)
            {
                Gemm(false, !tb, m, k, nn, dc, b, a.Grad!, fresh);
            }
            else
            {
                Gemm(tb, true, k, m, nn, b, dc, a.Grad!, fresh);
            }
        }
        if (b.RequiresGrad)
        {
            GradFor(b, out var fresh);
            if (!tb)
            {
                Gemm(!ta, false, k, nn, m, a, dc, b.Grad!, fresh);
            }
            else
            {
                Gemm(true, ta, nn, k, m, dc, a, b.Grad!, fresh);
            }
        }
    }

    /// <summary>
    /// A fully connected layer over the last axis: y = x W^T + b, with x [..., in], W [out, in], b [out] (optional).
    /// </summary>
    public Tensor Linear(Tensor x, Tensor w, Tensor? b)
    {
        var inF = x.Shape.Last;
        if (w.Shape.Rank != 2 || w.Shape.D1 != inF)
        {
            throw new ArgumentException($"Linear: weight {w.Shape} does not fit input {x.Shape} (expected [out, {inF}]).");
        }
        var outF = w.Shape.D0;
        if (b is not null && (b.Shape.Rank != 1 || b.Shape.D0 != outF))
        {
            throw new ArgumentException($"Linear: bias {b.Shape} does not fit weight {w.Shape} (expected [{outF}]).");
        }
        var rows = x.Shape.Rows;
        var shape = x.Shape.Rank switch
        {
            1 => new Shape(outF),
            2 => new Shape(x.Shape.D0, outF),
            _ => new Shape(x.Shape.D0, x.Shape.D1, outF),
        };
        var track = Tracks(x, w, b);
        var y = Output(shape, track);
        if (b is not null)
        {
            FillRows(y, b);
        }
        GemmRaw(false, true, rows, outF, inF, x, w, y, beta: b is null ? 0f : 1f);
        if (track)
        {
            Record(OpKind.Linear, y, x, w, b);
        }
        return y;
    }

    private void LinearBackward(Node n)
    {
        Tensor x = n.A!, w = n.B!, dy = n.Out.Grad!;
        var rows = x.Shape.Rows;
        var inF = x.Shape.Last;
        var outF = w.Shape.D0;
        if (x.RequiresGrad)
        {
            GradFor(x, out var fresh);
            Gemm(false, false, rows, inF, outF, dy, w, x.Grad!, fresh);
        }
        if (w.RequiresGrad)
        {
            GradFor(w, out var fresh);
            Gemm(true, false, outF, inF, rows, dy, x, w.Grad!, fresh);
        }
        if (n.C is { RequiresGrad: true } b)
        {
            var db = GradFor(b, out var fresh);
            ColumnSum(dy, rows, outF, db, fresh);
        }
    }

    /// <summary>
    /// Batched matrix product over the first axis: a [B, M, K] x b [B, K, N] (or b [B, N, K] with
    /// <paramref name="transB"/>) = [B, M, N]; used by attention.
    /// </summary>
    public Tensor BatchMatMul(Tensor a, Tensor b, bool transB = false)
    {
        if (a.Shape.Rank != 3 || b.Shape.Rank != 3 || a.Shape.D0 != b.Shape.D0)
        {
            throw new ArgumentException($"BatchMatMul needs [B, M, K] and [B, K, N] tensors, got {a.Shape} and {b.Shape}.");
        }
        int batch = a.Shape.D0, m = a.Shape.D1, k = a.Shape.D2;
        var (k2, n) = transB ? (b.Shape.D2, b.Shape.D1) : (b.Shape.D1, b.Shape.D2);
        if (k != k2)
        {
            throw new ArgumentException($"BatchMatMul: inner dimensions differ: {a.Shape} x {b.Shape}{(transB ? "^T" : "")}.");
        }
        var track = Tracks(a, b);
        var y = Output(new Shape(batch, m, n), track);
        for (var i = 0; i < batch; i++)
        {
            GemmAt(false, transB, m, n, k, a, i * m * k, b, i * k * n, y, i * m * n, 0f);
        }
        if (track)
        {
            Record(OpKind.BatchMatMul, y, a, b).Flag1 = transB;
        }
        return y;
    }

    private void BatchMatMulBackward(Node node)
    {
        Tensor a = node.A!, b = node.B!, dc = node.Out.Grad!;
        var tb = node.Flag1;
        int batch = a.Shape.D0, m = a.Shape.D1, k = a.Shape.D2, n = node.Out.Shape.D2;
        if (a.RequiresGrad)
        {
            GradFor(a, out var fresh);
            for (var i = 0; i < batch; i++)
            {
                GemmAt(false, !tb, m, k, n, dc, i * m * n, b, i * k * n, a.Grad!, i * m * k, fresh ? 0f : 1f);
            }
        }
        if (b.RequiresGrad)
        {
            GradFor(b, out var fresh);
            for (var i = 0; i < batch; i++)
            {
                if (!tb)
                {
                    GemmAt(true, false, k, n, m, a, i * m * k, dc, i * m * n, b.Grad!, i * k * n, fresh ? 0f : 1f);
                }
                else
                {
                    GemmAt(true, false, n, k, m, dc, i * m * n, a, i * m * k, b.Grad!, i * k * n, fresh ? 0f : 1f);
                }
            }
        }
    }

    /// <summary>c = op(a) op(b) (+ c when not fresh), all as rank-2 matrices with their natural leading dimensions.</summary>
    private static void Gemm(bool ta, bool tb, int m, int n, int k, Tensor a, Tensor b, Tensor c, bool fresh) =>
        GemmRaw(ta, tb, m, n, k, a, b, c, fresh ? 0f : 1f);

    private static unsafe void GemmRaw(bool ta, bool tb, int m, int n, int k, Tensor a, Tensor b, Tensor c, float beta) =>
        Sgemm.Multiply(ta, tb, m, n, k, 1f, a.Pointer, ta ? m : k, b.Pointer, tb ? k : n, beta, c.Pointer, n);

    private static unsafe void GemmAt(
        bool ta, bool tb, int m, int n, int k, Tensor a, int aOff, Tensor b, int bOff, Tensor c, int cOff, float beta) =>
        Sgemm.Multiply(ta, tb, m, n, k, 1f, a.Pointer + aOff, ta ? m : k, b.Pointer + bOff, tb ? k : n, beta, c.Pointer + cOff, n);
}
