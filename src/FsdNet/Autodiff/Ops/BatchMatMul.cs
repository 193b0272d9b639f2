using FsdNet.Tensors;

namespace FsdNet.Autodiff;

public sealed partial class Graph
{
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
                for (var i = 0; i < batch; i++)
                {
                    GemmAt(false, !tb, m, k, n, dc, i * m * n, b, i * k * n, a.Grad!, i * m * k, fresh ? 0f : 1f);
                }
            }
            if (b.RequiresGrad)
            {
                g.GradFor(b, out var fresh);
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
    }
}
