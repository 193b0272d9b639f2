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
            var node = Record(OpKind.BatchNorm, y, x, gamma, beta);
            node.D = xhat;
            node.E = invstd;
            node.Flag0 = Training;
        }
        return y;
    }

    private void BatchNormBackward(Node n) => NormBackward(n, batchStats: n.Flag0, perRow: false);

    /// <summary>LayerNorm over the last axis of x [..., C]: per-row mean and biased variance, y = gamma * x_hat + beta.</summary>
    public Tensor LayerNorm(Tensor x, Tensor gamma, Tensor beta, float eps = 1e-5f)
    {
        var cols = x.Shape.Last;
        var rows = x.Shape.Rows;
        if (gamma.Shape != new Shape(cols) || beta.Shape != new Shape(cols))
        {
            throw new ArgumentException($"LayerNorm: gamma {gamma.Shape} / beta {beta.Shape} do not fit input {x.Shape}.");
        }
        var track = Tracks(x, gamma, beta);
        var y = Output(x.Shape, track);
        var xhat = Scratch(x.Shape);
        var invstd = Scratch(new Shape(rows));
        var iv = invstd.Span;
        for (var r = 0; r < rows; r++)
        {
            var xr = x.Row(r);
            var hr = xhat.Row(r);
            var mu = TensorPrimitives.Sum<float>(xr) / cols;
            TensorPrimitives.Subtract(xr, mu, hr);
            var variance = TensorPrimitives.SumOfSquares<float>(hr) / cols;
            iv[r] = 1f / MathF.Sqrt(variance + eps);
            TensorPrimitives.Multiply(hr, iv[r], hr);
            TensorPrimitives.MultiplyAdd(hr, gamma.Span, beta.Span, y.Row(r));
        }
        if (track)
        {
            var node = Record(OpKind.LayerNorm, y, x, gamma, beta);
            node.D = xhat;
            node.E = invstd;
        }
        return y;
    }

    private void LayerNormBackward(Node n) => NormBackward(n, batchStats: true, perRow: true);

    /// <summary>
    /// Shared backward of BatchNorm (statistics per column over rows) and LayerNorm (per row over columns).
    /// With x_hat saved and s the normalisation size: dx = invstd / s * (s * g - sum(g) - x_hat * sum(g * x_hat)),
    /// g = dy * gamma, where the sums run over the normalised axis; without batch statistics dx = g * invstd.
    /// </summary>
    private void NormBackward(Node n, bool batchStats, bool perRow)
    {
        Tensor x = n.A!, gamma = n.B!, beta = n.C!, xhat = n.D!, invstd = n.E!, dy = n.Out.Grad!;
        int rows = x.Shape.Rows, cols = x.Shape.Last;
        var dgammaSum = Scratch(new Shape(cols));
        var dbetaSum = Scratch(new Shape(cols));
        ColumnSumAndDot(dy, xhat, dbetaSum.Span, dgammaSum.Span);
        if (gamma.RequiresGrad)
        {
            Pass(gamma, dgammaSum.Span);
        }
        if (beta.RequiresGrad)
        {
            Pass(beta, dbetaSum.Span);
        }
        if (!x.RequiresGrad)
        {
            return;
        }
        GradFor(x, out var fresh);
        var gs = gamma.Span;
        var iv = invstd.Span;
        if (!perRow)
        {
            // Per column c: k_c = gamma_c * invstd_c; dx = k * (dy - mean(dy) - x_hat * mean(dy * x_hat)) in training.
            var k = Scratch(new Shape(cols)).Span;
            TensorPrimitives.Multiply(gs, iv, k);
            var mdy = dbetaSum.Span;
            var mdyx = dgammaSum.Span;
            TensorPrimitives.Multiply(mdy, 1f / rows, mdy);
            TensorPrimitives.Multiply(mdyx, 1f / rows, mdyx);
            BatchNormInputGrad(dy, xhat, x.Grad!, k, mdy, mdyx, batchStats, fresh);
        }
        else
        {
            var gdy = Scratch(new Shape(cols)).Span;
            for (var r = 0; r < rows; r++)
            {
                TensorPrimitives.Multiply(dy.Row(r), gs, gdy);
                var hr = xhat.Row(r);
                var mean = TensorPrimitives.Sum<float>(gdy) / cols;
                var meanx = TensorPrimitives.Dot<float>(gdy, hr) / cols;
                var g = x.Grad!.Row(r);
                for (var c = 0; c < cols; c++)
                {
                    var v = iv[r] * (gdy[c] - mean - (hr[c] * meanx));
                    g[c] = fresh ? v : g[c] + v;
                }
            }
        }
    }
}
