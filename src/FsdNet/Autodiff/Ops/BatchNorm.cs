using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using FsdNet.Tensors;

namespace FsdNet.Autodiff;

internal sealed partial class Graph
{
    /// <summary>
    /// BatchNorm1d over x [R, C] as PyTorch: in training, normalise with the batch mean and biased variance and
    /// update the running mean/variance (the latter with the unbiased variance) with <paramref name="momentum"/>;
    /// in evaluation, normalise with the running statistics. y = gamma * x_hat + beta.
    /// </summary>
    public Tensor BatchNorm(
        Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar, float momentum = 0.1f, float eps = 1e-5f)
    {
        CheckNormParameters(x, gamma, beta, runningMean, runningVar);
        var cols = x.Shape.Last;
        var track = Tracks(x, gamma, beta);
        var y = Output(x.Shape, track);
        var xhat = Scratch(x.Shape);
        var mean = Scratch(new Shape(cols));
        var invstd = Scratch(new Shape(cols));
        BatchStatistics(x, runningMean, runningVar, momentum, eps, mean.Span, invstd.Span);
        NormalizeRows(x, xhat, y, mean, invstd, gamma, beta);
        Trace?.Add(Training ? TraceKind.TrainingOnly : TraceKind.BatchNorm, y, [x, gamma, beta, runningMean, runningVar], floats: [eps], payload: "BatchNorm in training");
        if (track)
        {
            Record<NormOp>(y).Set(x, gamma, beta, xhat, invstd, batchStats: Training, perRow: false);
        }
        return y;
    }

    private static void CheckNormParameters(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar)
    {
        var cols = x.Shape.Last;
        foreach (var p in (ReadOnlySpan<Tensor>)[gamma, beta, runningMean, runningVar])
        {
            if (p.Shape.Rank != 1 || p.Shape.D0 != cols)
            {
                throw new ArgumentException($"BatchNorm: {p.Name ?? "a parameter"} has shape {p.Shape}, expected [{cols}] for input {x.Shape}.");
            }
        }
    }

    /// <summary>
    /// The per-column statistics BatchNorm normalises with: in training the batch mean and 1 / sqrt(biased variance +
    /// eps), updating the running mean/variance (the latter with the unbiased variance); in evaluation the running ones.
    /// </summary>
    private void BatchStatistics(Tensor x, Tensor runningMean, Tensor runningVar, float momentum, float eps, Span<float> mean, Span<float> invstd)
    {
        var cols = x.Shape.Last;
        var sync = SyncBatchNorm;
        var rows = sync ? GlobalRows : x.Shape.Rows;
        if (Training)
        {
            if (rows < 2)
            {
                throw new ArgumentException($"BatchNorm in training needs at least 2 rows per batch, got {x.Shape}.");
            }
            // Two passes over x for accurate float32 statistics: the mean, then the squared deviations from it.
            // Synchronised over the ranks, each pass's column sums are summed over them first.
            ColumnSum(x, x.Shape.Rows, cols, mean, fresh: true);
            if (sync)
            {
                BatchSync!.AllReduceSumOrdered(mean);
            }
            TensorPrimitives.Multiply(mean, 1f / rows, mean);
            var variance = invstd;
            ColumnSquaredDeviation(x, mean, variance);
            if (sync)
            {
                BatchSync!.AllReduceSumOrdered(variance);
            }
            TensorPrimitives.Multiply(variance, 1f / rows, variance);
            var rm = runningMean.Span;
            var rv = runningVar.Span;
            var unbias = (float)rows / (rows - 1);
            for (var c = 0; c < cols; c++)
            {
                rm[c] = ((1 - momentum) * rm[c]) + (momentum * mean[c]);
                rv[c] = ((1 - momentum) * rv[c]) + (momentum * variance[c] * unbias);
                variance[c] = 1f / MathF.Sqrt(variance[c] + eps);
            }
        }
        else
        {
            runningMean.Span.CopyTo(mean);
            var iv = invstd;
            var rv = runningVar.Span;
            for (var c = 0; c < cols; c++)
            {
                iv[c] = 1f / MathF.Sqrt(rv[c] + eps);
            }
        }
    }

    /// <summary>
    /// The backward pass shared by BatchNorm (statistics per column over rows) and LayerNorm (per row over columns).
    /// With x_hat saved and s the normalisation size: dx = invstd / s * (s * g - sum(g) - x_hat * sum(g * x_hat)),
    /// g = dy * gamma, where the sums run over the normalised axis; without batch statistics dx = g * invstd.
    /// </summary>
    private sealed class NormOp : Op
    {
        private Tensor x = null!, gamma = null!, beta = null!, xhat = null!, invstd = null!;
        private bool batchStats, perRow;

        public void Set(Tensor input, Tensor g, Tensor b, Tensor normalised, Tensor inverseStd, bool batchStats, bool perRow) =>
            (x, gamma, beta, xhat, invstd, this.batchStats, this.perRow) = (input, g, b, normalised, inverseStd, batchStats, perRow);

        public override void Backward(Graph g)
        {
            var dy = Out.Grad!;
            int rows = x.Shape.Rows, cols = x.Shape.Last;
            var dgammaSum = g.Scratch(new Shape(cols));
            var dbetaSum = g.Scratch(new Shape(cols));
            g.ColumnSumAndDot(dy, xhat, dbetaSum.Span, dgammaSum.Span);
            if (!perRow)
            {
                var fresh = false;
                if (x.RequiresGrad)
                {
                    g.GradFor(x, out fresh);
                }
                g.BatchNormGrads(gamma, beta, invstd, xhat, dy, dbetaSum.Span, dgammaSum.Span, batchStats, x.RequiresGrad ? x.Grad : null, fresh);
                return;
            }
            if (gamma.RequiresGrad)
            {
                g.Pass(gamma, dgammaSum.Span);
            }
            if (beta.RequiresGrad)
            {
                g.Pass(beta, dbetaSum.Span);
            }
            if (!x.RequiresGrad)
            {
                return;
            }
            g.GradFor(x, out var freshRow);
            var gs = gamma.Span;
            var iv = invstd.Span;
            var gdy = g.Scratch(new Shape(cols)).Span;
            for (var r = 0; r < rows; r++)
            {
                TensorPrimitives.Multiply(dy.Row(r), gs, gdy);
                var hr = xhat.Row(r);
                var mean = TensorPrimitives.Sum<float>(gdy) / cols;
                var meanx = TensorPrimitives.Dot<float>(gdy, hr) / cols;
                var gr = x.Grad!.Row(r);
                for (var c = 0; c < cols; c++)
                {
                    var v = iv[r] * (gdy[c] - mean - (hr[c] * meanx));
                    gr[c] = freshRow ? v : gr[c] + v;
                }
            }
        }
    }

    /// <summary>
    /// BatchNorm's gradients from dz (the gradient at its output) and the column sums sum(dz), sum(dz * x_hat):
    /// gamma and beta get the sums; with batch statistics the input gets k * (dz - mean(dz) - x_hat *
    /// mean(dz * x_hat)), k = gamma * invstd, else k * dz. The sums are scaled in place. dz may be <paramref name="xGrad"/> itself.
    /// </summary>
    private void BatchNormGrads(
        Tensor gamma, Tensor beta, Tensor invstd, Tensor xhat, Tensor dz, Span<float> dbetaSum, Span<float> dgammaSum, bool batchStats, Tensor? xGrad, bool fresh)
    {
        if (gamma.RequiresGrad)
        {
            Pass(gamma, dgammaSum);
        }
        if (beta.RequiresGrad)
        {
            Pass(beta, dbetaSum);
        }
        if (xGrad is null)
        {
            return;
        }
        var cols = dz.Shape.Last;
        var k = Scratch(new Shape(cols)).Span;
        TensorPrimitives.Multiply(gamma.Span, invstd.Span, k);
        var rows = dz.Shape.Rows;
        if (batchStats && SyncBatchNorm)
        {
            // The input gradient's mean terms run over the global batch: gamma and beta have their own rank's sums
            // above (the trainer sums parameter gradients over the ranks), the input gets the sums over all ranks.
            BatchSync!.AllReduceSumOrdered(dbetaSum);
            BatchSync!.AllReduceSumOrdered(dgammaSum);
            rows = GlobalRows;
        }
        TensorPrimitives.Multiply(dbetaSum, 1f / rows, dbetaSum);
        TensorPrimitives.Multiply(dgammaSum, 1f / rows, dgammaSum);
        BatchNormInputGrad(dz, xhat, xGrad, k, dbetaSum, dgammaSum, batchStats, fresh);
    }
}
