using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using FsdNet.Tensors;

namespace FsdNet.Autodiff;

internal sealed partial class Graph
{
    /// <summary>
    /// Dropout(ReLU(BatchNorm(x)), p) as one op: the tail of every hidden layer of FuxiCTR's MLP_Block with batch_norm
    /// and relu. The values are bit for bit those of <see cref="BatchNorm"/>, <see cref="Relu"/> and
    /// <see cref="Dropout"/> in a row (same statistics, same per-element arithmetic, the same dropout key drawn at the
    /// same point and the same per-element mask), but the BatchNorm and ReLU outputs are never stored: the forward
    /// pass writes x_hat and the output, the backward pass recomputes the ReLU condition from x_hat and the mask from
    /// its key, so a layer costs 5 passes over [R, C] forward and 6 backward instead of 9 and 10, and two fewer
    /// tensors (and their gradients) stay alive.
    /// </summary>
    public Tensor BatchNormReluDropout(
        Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar, float momentum, float eps, float p)
    {
        if (p is < 0f or >= 1f)
        {
            throw new ArgumentOutOfRangeException(nameof(p), p, "Dropout probability must be in [0, 1).");
        }
        CheckNormParameters(x, gamma, beta, runningMean, runningVar);
        var cols = x.Shape.Last;
        var track = Tracks(x, gamma, beta);
        var y = Output(x.Shape, track);
        var xhat = track ? Scratch(x.Shape) : null;
        var mean = Scratch(new Shape(cols));
        var invstd = Scratch(new Shape(cols));
        BatchStatistics(x, runningMean, runningVar, momentum, eps, mean.Span, invstd.Span);
        var drop = Training && p > 0f;
        var key = drop ? Random.NextULong() : 0UL;
        var threshold = DropThreshold(p);
        job.PlanRows(x.Shape.Rows, cols, ElementGrain);
        job.EnsurePartials(cols);
        (job.A, job.B, job.C) = (x, xhat, y);
        (job.D, job.E, job.F, job.G) = (mean, invstd, gamma, beta);
        (job.I0, job.I1, job.P0) = ((int)(uint)key, (int)(uint)(key >> 32), drop ? (nint)threshold : -1);
        job.F0 = 1f / (1f - p);
        job.I2 = RowOffset;
        unsafe
        {
            job.Run(&NormReluDropPart);
        }
        Trace?.Add(Training ? TraceKind.TrainingOnly : TraceKind.BatchNormRelu, y, [x, gamma, beta, runningMean, runningVar], floats: [eps], payload: "BatchNorm in training");
        if (track)
        {
            Record<NormReluDropOp>(y).Set(x, gamma, beta, xhat!, invstd, batchStats: Training, drop ? p : 0f, key, RowOffset);
        }
        return y;
    }

    /// <summary>Whether the fused op runs its one-pass row kernels, AVX-512 or AVX2 (else TensorPrimitives row by row; tests switch it).</summary>
    internal static bool FusedKernels { get; set; } = System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated;

    private static uint DropThreshold(float p) => (uint)Math.Min(Math.Round(p * 4294967296.0), uint.MaxValue);

    private static void NormReluDropPart(RangeJob j, int part, int start, int end)
    {
        var gamma = j.F!.Span;
        var beta = j.G!.Span;
        var mean = j.D!.Span;
        var invstd = j.E!.Span;
        var cols = mean.Length;
        var tmp = j.Partials.AsSpan(part * cols, cols);
        var fast = FusedKernels;
        for (var r = start; r < end; r++)
        {
            if (fast)
            {
                Kernels.NormReluDropout(
                    j.A!.Row(r), mean, invstd, gamma, beta, j.B is { } xh ? xh.Row(r) : default, j.C!.Row(r),
                    j.P0 >= 0, (uint)j.I0, (uint)j.I1, (uint)j.P0, j.F0, (uint)((r + j.I2) * cols));
                continue;
            }
            var h = j.B is { } xhat ? xhat.Row(r) : tmp;
            TensorPrimitives.Subtract(j.A!.Row(r), mean, h);
            TensorPrimitives.Multiply(h, invstd, h);
            TensorPrimitives.MultiplyAdd(h, gamma, beta, tmp);
            var y = j.C!.Row(r);
            if (j.P0 < 0)
            {
                TensorPrimitives.Max(tmp, 0f, y);
            }
            else
            {
                TensorPrimitives.Max(tmp, 0f, tmp);
                Kernels.Dropout((uint)j.I0, (uint)j.I1, (uint)j.P0, j.F0, (uint)((r + j.I2) * cols), tmp, y, fresh: true);
            }
        }
    }

    private sealed class NormReluDropOp : Op
    {
        private Tensor x = null!, gamma = null!, beta = null!, xhat = null!, invstd = null!;
        private bool batchStats;
        private float p;
        private ulong key;
        private int rowOffset;

        public void Set(Tensor input, Tensor g, Tensor b, Tensor normalised, Tensor inverseStd, bool batchStats, float rate, ulong maskKey, int firstRow) =>
            (x, gamma, beta, xhat, invstd, this.batchStats, p, key, rowOffset) = (input, g, b, normalised, inverseStd, batchStats, rate, maskKey, firstRow);

        public override void Backward(Graph g)
        {
            int rows = x.Shape.Rows, cols = x.Shape.Last;
            // dz: the gradient at the BatchNorm output (through dropout's mask and ReLU's condition), written where the
            // input gradient goes when that is fresh (the input-gradient pass then runs in place), else in a scratch.
            var fresh = false;
            if (x.RequiresGrad)
            {
                g.GradFor(x, out fresh);
            }
            var dz = fresh ? x.Grad! : g.Scratch(x.Shape);
            var dgammaSum = g.Scratch(new Shape(cols));
            var dbetaSum = g.Scratch(new Shape(cols));
            var parts = g.job.PlanRows(rows, cols, ElementGrain);
            g.job.EnsurePartials(3 * cols);
            (g.job.A, g.job.B, g.job.C, g.job.D, g.job.E) = (Out.Grad!, xhat, dz, gamma, beta);
            (g.job.I0, g.job.I1, g.job.P0) = ((int)(uint)key, (int)(uint)(key >> 32), p > 0f ? (nint)DropThreshold(p) : -1);
            g.job.F0 = 1f / (1f - p);
            g.job.I2 = rowOffset;
            unsafe
            {
                g.job.Run(&GradAndSumsPart);
            }
            g.CombinePartials(parts, cols, 0, 3 * cols, dbetaSum.Span);
            g.CombinePartials(parts, cols, cols, 3 * cols, dgammaSum.Span);
            g.BatchNormGrads(gamma, beta, invstd, xhat, dz, dbetaSum.Span, dgammaSum.Span, batchStats, x.RequiresGrad ? x.Grad : null, fresh);
        }

        /// <summary>dz = dy * mask * scale where gamma * x_hat + beta > 0, else 0; partials of sum(dz) and sum(dz * x_hat).</summary>
        private static void GradAndSumsPart(RangeJob j, int part, int start, int end)
        {
            var gamma = j.D!.Span;
            var beta = j.E!.Span;
            var cols = gamma.Length;
            var s1 = j.Partials.AsSpan(part * 3 * cols, cols);
            var s2 = j.Partials.AsSpan((part * 3 * cols) + cols, cols);
            var z = j.Partials.AsSpan((part * 3 * cols) + (2 * cols), cols);
            s1.Clear();
            s2.Clear();
            var fast = FusedKernels;
            for (var r = start; r < end; r++)
            {
                var dz = j.C!.Row(r);
                var h = j.B!.Row(r);
                if (fast)
                {
                    Kernels.NormReluDropoutGrad(j.A!.Row(r), h, gamma, beta, dz, s1, s2, j.P0 >= 0, (uint)j.I0, (uint)j.I1, (uint)j.P0, j.F0, (uint)((r + j.I2) * cols));
                    continue;
                }
                if (j.P0 < 0)
                {
                    j.A!.Row(r).CopyTo(dz);
                }
                else
                {
                    Kernels.Dropout((uint)j.I0, (uint)j.I1, (uint)j.P0, j.F0, (uint)((r + j.I2) * cols), j.A!.Row(r), dz, fresh: true);
                }
                TensorPrimitives.MultiplyAdd(h, gamma, beta, z);
                Kernels.ReluBackward(z, dz, dz, fresh: true);
                TensorPrimitives.Add(s1, dz, s1);
                TensorPrimitives.MultiplyAdd(dz, h, s2, s2);
            }
        }
    }
}
