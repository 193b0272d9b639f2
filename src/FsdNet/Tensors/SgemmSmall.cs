using System.Numerics;
using System.Runtime.CompilerServices;

namespace FsdNet.Tensors;

/// <summary>
/// Thin products (m or n of at most <see cref="SmallDim"/>: a serving batch of one, a layer with one output) skip the
/// packed path, whose micro-tiles would be mostly padding and whose packing would cost more than the arithmetic.
/// They run as vectorised axpy / dot loops. A thin n is handled as a thin m of the transposed product:
/// C^T = op(B)^T op(A)^T. Large dot-product forms (a serving row through a 400 x 400 layer) split the columns of C
/// over the worker threads: each element is still one dot product summed in the same order, so the result does not
/// depend on the split, and each core keeps its own share of the weights in its cache.
/// </summary>
internal static unsafe partial class Sgemm
{
    /// <summary>Products with m or n at most this use the direct (unpacked) path.</summary>
    internal const int SmallDim = 4;

    [ThreadStatic] private static float[]? tlsRow;
    [ThreadStatic] private static ThinDotJob? tlsThinJob;

    /// <summary>Thin dot-product forms of at least this many multiply-adds run in parallel over the columns of C.</summary>
    internal static long ThinParallelThreshold => Settings.ThinParallelThreshold;

    private static void MultiplySmall(bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, int lda, float* b, int ldb, float beta, float* c, int ldc)
    {
        if (m <= SmallDim)
        {
            ThinRows(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, 1);
        }
        else
        {
            // C^T (n x m, element (j, i) at c + i * ldc + j) = op(B)^T op(A)^T.
            ThinRows(!transB, !transA, n, m, k, alpha, b, ldb, a, lda, beta, c, 1, ldc);
        }
    }

    /// <summary>
    /// C[i, j] (at c + i * rowStride + j * colStride) = alpha * sum_p op(A)[i, p] op(B)[p, j] + beta * C[i, j], for a
    /// small m. Each element is summed in increasing p with fused multiply-adds.
    /// </summary>
    private static void ThinRows(bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, nint lda, float* b, nint ldb, float beta, float* c, nint rowStride, nint colStride)
    {
        var scratch = Buffer(ref tlsRow, Math.Max(n, k));
        for (var i = 0; i < m; i++)
        {
            var crow = c + i * rowStride;
            if (!transB)
            {
                // Row of C as a sum of rows of B: t += op(A)[i, p] * B[p, :].
                new Span<float>(scratch, n).Clear();
                for (var p = 0; p < k; p++)
                {
                    var s = transA ? a[p * lda + i] : a[i * lda + p];
                    Axpy(s, b + p * ldb, scratch, n);
                }
                for (var j = 0; j < n; j++)
                {
                    Store(crow + j * colStride, scratch[j], alpha, beta);
                }
            }
            else
            {
                // Dot products of the row of op(A) with the rows of stored B.
                float* row;
                if (transA)
                {
                    for (var p = 0; p < k; p++)
                    {
                        scratch[p] = a[p * lda + i];
                    }
                    row = scratch;
                }
                else
                {
                    row = a + i * lda;
                }
                if (Workers.ThreadCount > 1 && (long)n * k >= ThinParallelThreshold)
                {
                    var job = tlsThinJob ??= new ThinDotJob();
                    job.Set(row, b, ldb, crow, colStride, n, k, alpha, beta);
                    Workers.Run(job, Math.Min(Workers.ThreadCount, (n + 15) / 16));
                    job.Clear();
                    continue;
                }
                for (var j = 0; j < n; j++)
                {
                    Store(crow + j * colStride, Dot(row, b + j * ldb, k), alpha, beta);
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(float* c, float value, float alpha, float beta) =>
        *c = beta == 0f ? value * alpha : MathF.FusedMultiplyAdd(*c, beta, value * alpha);

    private static void Axpy(float s, float* x, float* y, int n)
    {
        var j = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var vs = new Vector<float>(s);
            var w = Vector<float>.Count;
            for (; j + w <= n; j += w)
            {
                Vector.Store(Vector.FusedMultiplyAdd(vs, Vector.Load(x + j), Vector.Load(y + j)), y + j);
            }
        }
        for (; j < n; j++)
        {
            y[j] = MathF.FusedMultiplyAdd(s, x[j], y[j]);
        }
    }

    private static float Dot(float* x, float* y, int k)
    {
        var p = 0;
        var sum = 0f;
        if (Vector.IsHardwareAccelerated)
        {
            var w = Vector<float>.Count;
            Vector<float> s0 = default, s1 = default, s2 = default, s3 = default;
            for (; p + 4 * w <= k; p += 4 * w)
            {
                s0 = Vector.FusedMultiplyAdd(Vector.Load(x + p), Vector.Load(y + p), s0);
                s1 = Vector.FusedMultiplyAdd(Vector.Load(x + p + w), Vector.Load(y + p + w), s1);
                s2 = Vector.FusedMultiplyAdd(Vector.Load(x + p + 2 * w), Vector.Load(y + p + 2 * w), s2);
                s3 = Vector.FusedMultiplyAdd(Vector.Load(x + p + 3 * w), Vector.Load(y + p + 3 * w), s3);
            }
            for (; p + w <= k; p += w)
            {
                s0 = Vector.FusedMultiplyAdd(Vector.Load(x + p), Vector.Load(y + p), s0);
            }
            sum = Vector.Sum((s0 + s1) + (s2 + s3));
        }
        for (; p < k; p++)
        {
            sum = MathF.FusedMultiplyAdd(x[p], y[p], sum);
        }
        return sum;
    }

    /// <summary>Columns [part * n / parts, (part + 1) * n / parts) (in blocks of 16) of one thin row of C as dot products.</summary>
    private sealed class ThinDotJob : ParallelJob
    {
        private float* row, b, c;
        private nint ldb, colStride;
        private int n, k;
        private float alpha, beta;

        public void Set(float* aRow, float* bRows, nint bStride, float* cRow, nint cStride, int cols, int depth, float a, float bt)
        {
            row = aRow;
            b = bRows;
            ldb = bStride;
            c = cRow;
            colStride = cStride;
            n = cols;
            k = depth;
            alpha = a;
            beta = bt;
        }

        public void Clear()
        {
            row = null;
            b = null;
            c = null;
        }

        public override void Execute(int part, int parts)
        {
            var blocks = (n + 15) / 16;
            var from = Math.Min(n, (int)((long)blocks * part / parts) * 16);
            var to = Math.Min(n, (int)((long)blocks * (part + 1) / parts) * 16);
            for (var j = from; j < to; j++)
            {
                Store(c + j * colStride, Dot(row, b + j * ldb, k), alpha, beta);
            }
        }
    }
}
