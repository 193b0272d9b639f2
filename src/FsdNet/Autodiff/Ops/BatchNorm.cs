using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using FsdNet.Tensors;

namespace FsdNet.Autodiff;

public sealed partial class Graph
{
    /// <summary>
    /// BatchNorm1d over x [R, C] as PyTorch: in training, normalise with the batch mean and biased variance and
    /// update the running mean/variance (the latter with the unbiased variance) with <paramref name="momentum"/>;
    /// in evaluation, normalise with the running statistics. y = gamma * x_hat + beta.
    /// </summary>
    public Tensor BatchNorm(
        Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar, float momentum = 0.1f, float eps = 1e-5f)
    {
        var cols = x.Shape.Last;
        var rows = x.Shape.Rows;
        foreach (var p in (ReadOnlySpan<Tensor>)[gamma, beta, runningMean, runningVar])
        {
            if (p.Shape.Rank != 1 || p.Shape.D0 != cols)
            {
                throw new ArgumentException($"BatchNorm: {p.Name ?? "a parameter"} has shape {p.Shape}, expected [{cols}] for input {x.Shape}.");
            }
        }
        var track = Tracks(x, gamma, beta);
        var y = Output(x.Shape, track);
        var xhat = Scratch(x.Shape);
        var mean = Scratch(new Shape(cols));
        var invstd = Scratch(new Shape(cols));
        if (Training)
        {
            if (rows < 2)
            {
                throw new ArgumentException($"BatchNorm in training needs at least 2 rows per batch, got {x.Shape}.");
            }
            // Two passes over x for accurate float32 statistics: the mean, then the squared deviations from it.
            ColumnSum(x, rows, cols, mean.Span, fresh: true);
            TensorPrimitives.Multiply(mean.Span, 1f / rows, mean.Span);
            var variance = invstd.Span;
            ColumnSquaredDeviation(x, mean.Span, variance);
            TensorPrimitives.Multiply(variance, 1f / rows, variance);
            var rm = runningMean.Span;
            var rv = runningVar.Span;
            var unbias = (float)rows / (rows - 1);
            for (var c = 0; c < cols; c++)
            {
                rm[c] = ((1 - momentum) * rm[c]) + (momentum * mean.Span[c]);
                rv[c] = ((1 - momentum) * rv[c]) + (momentum * variance[c] * unbias);
                variance[c] = 1f / MathF.Sqrt(variance[c] + eps);
            }
        }
        else
        {
            runningMean.Span.CopyTo(mean.Span);
            var iv = invstd.Span;
            var rv = runningVar.Span;
            for (var c = 0; c < cols; c++)
            {
                iv[c] = 1f / MathF.Sqrt(rv[c] + eps);
            }
        }
        NormalizeRows(x, xhat, y, mean, invstd, gamma, beta);
        if (track)
        {
            Record<NormOp>(y).Set(x, gamma, beta, xhat, invstd, batchStats: Training, perRow: false);
        }
        return y;
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
            g.GradFor(x, out var fresh);
            var gs = gamma.Span;
            var iv = invstd.Span;
            if (!perRow)
            {
                // Per column c: k_c = gamma_c * invstd_c; dx = k * (dy - mean(dy) - x_hat * mean(dy * x_hat)) in training.
                var k = g.Scratch(new Shape(cols)).Span;
                TensorPrimitives.Multiply(gs, iv, k);
                var mdy = dbetaSum.Span;
                var mdyx = dgammaSum.Span;
                TensorPrimitives.Multiply(mdy, 1f / rows, mdy);
                TensorPrimitives.Multiply(mdyx, 1f / rows, mdyx);
                g.BatchNormInputGrad(dy, xhat, x.Grad!, k, mdy, mdyx, batchStats, fresh);
            }
            else
            {
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
                        gr[c] = fresh ? v : gr[c] + v;
                    }
                }
            }
        }
    }
}
