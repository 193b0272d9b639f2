using FsdNet.Tensors;

namespace FsdNet.Autodiff;

internal sealed partial class Graph
{
    /// <summary>
    /// Batched matrix product over the first axis: a [B, M, K] x b [B, K, N] (or b [B, N, K] with
    /// <paramref name="transB"/>) = [B, M, N], parallel over the batch; used by attention, CIN and bilinear
    /// interactions. A b of batch 1 is shared by every item (PyTorch's broadcasting): that is one [B*M, K] product.
    /// </summary>
    public Tensor BatchMatMul(Tensor a, Tensor b, bool transB = false)
    {
        if (a.Shape.Rank == 3 && b.Shape.Rank == 3 && b.Shape.D0 == 1 && a.Shape.D0 > 1)
        {
            var (bk, bn) = transB ? (b.Shape.D2, b.Shape.D1) : (b.Shape.D1, b.Shape.D2);
            if (a.Shape.D2 != bk)
            {
                throw new ArgumentException($"BatchMatMul: inner dimensions differ: {a.Shape} x {b.Shape}{(transB ? "^T" : "")}.");
            }
            var flat = MatMul(Reshape(a, new Shape(a.Shape.D0 * a.Shape.D1, a.Shape.D2)), Reshape(b, new Shape(b.Shape.D1, b.Shape.D2)), transB: transB);
            return Reshape(flat, new Shape(a.Shape.D0, a.Shape.D1, bn));
        }
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
        BatchGemm(Product.Forward, transB, batch, m, n, k, a, b, y, 0f);
        Trace?.Add(TraceKind.BatchMatMul, y, [a, b], [transB ? 1 : 0]);
        if (track)
        {
            Record<BatchMatMulOp>(y).Set(a, b, transB);
        }
        return y;
    }

    private sealed class BatchMatMulOp : Op
    {
        private Tensor a = null!, b = null!;
        private bool tb;

        public void Set(Tensor x, Tensor y, bool transB) => (a, b, tb) = (x, y, transB);

        public override void Backward(Graph g)
        {
            var dc = Out.Grad!;
            int batch = a.Shape.D0, m = a.Shape.D1, k = a.Shape.D2, n = Out.Shape.D2;
            if (a.RequiresGrad)
            {
                g.GradFor(a, out var fresh);
                g.BatchGemm(Product.GradA, tb, batch, m, n, k, dc, b, a.Grad!, fresh ? 0f : 1f);
            }
            if (b.RequiresGrad)
            {
                g.GradFor(b, out var fresh);
                g.BatchGemm(Product.GradB, tb, batch, m, n, k, a, dc, b.Grad!, fresh ? 0f : 1f);
            }
        }
    }

    /// <summary>Which product of a batched matmul a part computes for each item i.</summary>
    private enum Product
    {
        /// <summary>y_i = a_i op(b_i).</summary>
        Forward,

        /// <summary>da_i (+)= dc_i op(b_i)^T (x = dc, z = b).</summary>
        GradA,

        /// <summary>db_i (+)= a_i^T dc_i, or its transpose when b was transposed (x = a, z = dc).</summary>
        GradB,
    }

    /// <summary>One small product per batch item, items split over the workers (each product runs on its part's thread).</summary>
    private unsafe void BatchGemm(Product kind, bool tb, int batch, int m, int n, int k, Tensor x, Tensor z, Tensor c, float beta)
    {
        job.Plan(batch, Math.Max(1, (1 << 16) / Math.Max(1, m * n * k)));
        (job.A, job.B, job.C) = (x, z, c);
        (job.I0, job.I1, job.Flag, job.F0) = ((int)kind, m, tb, beta);
        (job.P0, job.P1) = (n, k);
        job.Run(&BatchGemmPart);
    }

    private static void BatchGemmPart(RangeJob j, int part, int start, int end)
    {
        var (kind, m, tb, beta) = ((Product)j.I0, j.I1, j.Flag, j.F0);
        var (n, k) = ((int)j.P0, (int)j.P1);
        Tensor x = j.A!, z = j.B!, c = j.C!;
        for (var i = start; i < end; i++)
        {
            switch (kind)
            {
                case Product.Forward:
                    GemmAt(false, tb, m, n, k, x, i * m * k, z, i * k * n, c, i * m * n, beta);
                    break;
                case Product.GradA:
                    GemmAt(false, !tb, m, k, n, x, i * m * n, z, i * k * n, c, i * m * k, beta);
                    break;
                default:
                    if (!tb)
                    {
                        GemmAt(true, false, k, n, m, x, i * m * k, z, i * m * n, c, i * k * n, beta);
                    }
                    else
                    {
                        GemmAt(true, false, n, k, m, z, i * m * n, x, i * m * k, c, i * k * n, beta);
                    }
                    break;
            }
        }
    }
}
