using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using FsdNet.Tensors;

namespace FsdNet.Autodiff;

internal sealed partial class Graph
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
        Trace?.Add(TraceKind.MatMul, y, [a, b], [transA ? 1 : 0, transB ? 1 : 0]);
        if (track)
        {
            Record<MatMulOp>(y).Set(a, b, transA, transB);
        }
        return y;
    }

    private sealed class MatMulOp : Op
    {
        private Tensor a = null!, b = null!;
        private bool ta, tb;

        public void Set(Tensor x, Tensor y, bool transA, bool transB) => (a, b, ta, tb) = (x, y, transA, transB);

        public override void Backward(Graph g)
        {
            var dc = Out.Grad!;
            var m = Out.Shape.D0;
            var nn = Out.Shape.D1;
            var k = ta ? a.Shape.D0 : a.Shape.D1;
            if (a.RequiresGrad)
            {
                g.GradFor(a, out var fresh);
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
                g.GradFor(b, out var fresh);
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
    }

    /// <summary>c = op(a) op(b) (+ c when not fresh), all as rank-2 matrices with their natural leading dimensions.</summary>
    private static void Gemm(bool ta, bool tb, int m, int n, int k, Tensor a, Tensor b, Tensor c, bool fresh) =>
        GemmRaw(ta, tb, m, n, k, a, b, c, fresh ? 0f : 1f);

    private static unsafe void GemmRaw(bool ta, bool tb, int m, int n, int k, Tensor a, Tensor b, Tensor c, float beta) =>
        Sgemm.Multiply(ta, tb, m, n, k, 1f, a.Pointer, ta ? m : k, b.Pointer, tb ? k : n, beta, c.Pointer, n);

    /// <summary>Products up to this many multiply-adds (attention scores of a few fields) skip Sgemm's packed path.</summary>
    private const int TinyProduct = 1 << 15;

    /// <summary>
    /// One product of a batch of small ones: c = op(a) op(b) + beta c at the given offsets. Tiny products (a batched
    /// attention's [fields x head_dim] x [head_dim x fields]) run as direct dot / axpy loops: Sgemm's packing and
    /// dispatch would cost more than the arithmetic.
    /// </summary>
    private static unsafe void GemmAt(
        bool ta, bool tb, int m, int n, int k, Tensor a, int aOff, Tensor b, int bOff, Tensor c, int cOff, float beta)
    {
        if ((long)m * n * k > TinyProduct)
        {
            Sgemm.Multiply(ta, tb, m, n, k, 1f, a.Pointer + aOff, ta ? m : k, b.Pointer + bOff, tb ? k : n, beta, c.Pointer + cOff, n);
            return;
        }
        var av = a.Span[aOff..];
        var bv = b.Span[bOff..];
        var cv = c.Span.Slice(cOff, m * n);
        if (beta == 0)
        {
            cv.Clear();
        }
        else if (beta != 1)
        {
            TensorPrimitives.Multiply(cv, beta, cv);
        }
        for (var i = 0; i < m; i++)
        {
            var crow = cv.Slice(i * n, n);
            if (!ta && tb)
            {
                // c[i, j] += a[i, :] . b[j, :] (both rows contiguous)
                var arow = av.Slice(i * k, k);
                for (var j = 0; j < n; j++)
                {
                    crow[j] += TensorPrimitives.Dot(arow, bv.Slice(j * k, k));
                }
                continue;
            }
            for (var p = 0; p < k; p++)
            {
                // c[i, :] += op(a)[i, p] op(b)[p, :]
                var s = ta ? av[(p * m) + i] : av[(i * k) + p];
                if (!tb)
                {
                    TensorPrimitives.MultiplyAdd(bv.Slice(p * n, n), s, crow, crow);
                }
                else
                {
                    for (var j = 0; j < n; j++)
                    {
                        crow[j] += s * bv[(j * k) + p];
                    }
                }
            }
        }
    }
}
