using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using FsdNet.Tensors;

namespace FsdNet.Autodiff;

public sealed partial class Graph
{
    /// <summary>
    /// Mean binary cross-entropy between sigmoid(logits) and targets in [0, 1], computed from the logits in the
    /// numerically stable form max(z, 0) - z * y + log(1 + exp(-|z|)). Returns a [1] tensor. Targets get no gradient.
    /// </summary>
    public Tensor BceWithLogits(Tensor logits, Tensor targets)
    {
        if (logits.Length != targets.Length)
        {
            throw new ArgumentException($"BceWithLogits: logits {logits.Shape} and targets {targets.Shape} differ in size.");
        }
        var track = Tracks(logits);
        var y = Output(new Shape(1), track);
        var z = logits.Span;
        var t = targets.Span;
        double sum = 0;
        for (var i = 0; i < z.Length; i++)
        {
            double zi = z[i];
            sum += Math.Max(zi, 0) - (zi * t[i]) + Math.Log(1 + Math.Exp(-Math.Abs(zi)));
        }
        y.Span[0] = (float)(sum / Math.Max(z.Length, 1));
        if (track)
        {
            Record(OpKind.BceWithLogits, y, logits, targets);
        }
        return y;
    }

    private void BceWithLogitsBackward(Node n)
    {
        Tensor z = n.A!, t = n.B!;
        var g = GradFor(z, out var fresh);
        var scale = n.Out.Grad!.Span[0] / Math.Max(z.Length, 1);
        var zs = z.Span;
        var ts = t.Span;
        for (var i = 0; i < zs.Length; i++)
        {
            var v = (Kernels.Sigmoid(zs[i]) - ts[i]) * scale;
            g[i] = fresh ? v : g[i] + v;
        }
    }

    /// <summary>Mean squared error mean((a - b)^2) over all elements, as a [1] tensor (one pass each way).</summary>
    public Tensor MeanSquaredError(Tensor a, Tensor b)
    {
        CheckSame("MeanSquaredError", a, b);
        var track = Tracks(a, b);
        var y = Output(new Shape(1), track);
        y.Span[0] = (float)(SquaredDistance(a.Span, b.Span) / Math.Max(a.Length, 1));
        if (track)
        {
            Record(OpKind.Mse, y, a, b);
        }
        return y;
    }

    private void MseBackward(Node n)
    {
        Tensor a = n.A!, b = n.B!;
        var k = 2f * n.Out.Grad!.Span[0] / Math.Max(a.Length, 1);
        if (a.RequiresGrad)
        {
            var g = GradFor(a, out var fresh);
            Elementwise(Ew.ScaledDiff, g, a.Span, b.Span, k, fresh: fresh);
        }
        if (b.RequiresGrad)
        {
            var g = GradFor(b, out var fresh);
            Elementwise(Ew.ScaledDiff, g, a.Span, b.Span, -k, fresh: fresh);
        }
    }

    /// <summary>
    /// Dropout: in training each element is zeroed with probability <paramref name="p"/> and the rest are scaled by
    /// 1 / (1 - p) (inverted dropout); in evaluation (or p = 0) it is the identity and returns <paramref name="x"/>.
    /// The mask comes from a counter-based hash keyed by one draw from <see cref="Random"/>, so it costs no memory,
    /// is recomputed in the backward pass and does not depend on the thread count.
    /// </summary>
    public unsafe Tensor Dropout(Tensor x, float p)
    {
        if (p is < 0f or >= 1f)
        {
            throw new ArgumentOutOfRangeException(nameof(p), p, "Dropout probability must be in [0, 1).");
        }
        if (!Training || p == 0f)
        {
            return x;
        }
        var track = Tracks(x);
        var y = Output(x.Shape, track);
        var key = Random.NextULong();
        DropoutApply(key, p, x.Span, y.Span, fresh: true);
        if (track)
        {
            var node = Record(OpKind.Dropout, y, x);
            node.F0 = p;
            node.Obj2 = null;
            node.I0 = (int)(uint)key;
            node.I1 = (int)(uint)(key >> 32);
        }
        return y;
    }

    private void DropoutBackward(Node n)
    {
        var g = GradFor(n.A!, out var fresh);
        var key = (uint)n.I0 | ((ulong)(uint)n.I1 << 32);
        DropoutApply(key, n.F0, n.Out.Grad!.Span, g, fresh);
    }

    private unsafe void DropoutApply(ulong key, float p, ReadOnlySpan<float> x, Span<float> y, bool fresh)
    {
        var threshold = (uint)Math.Min(Math.Round(p * 4294967296.0), uint.MaxValue);
        fixed (float* px = x, py = y)
        {
            job.Plan(x.Length, ElementGrain);
            (job.P0, job.P1, job.P2) = ((nint)py, (nint)px, (nint)threshold);
            (job.I0, job.I1) = ((int)(uint)key, (int)(uint)(key >> 32));
            (job.F0, job.Flag) = (1f / (1f - p), fresh);
            job.Run(&DropoutPart);
        }
    }

    private static unsafe void DropoutPart(RangeJob j, int part, int start, int end)
    {
        var len = end - start;
        Kernels.Dropout(
            (uint)j.I0, (uint)j.I1, (uint)j.P2, j.F0, (uint)start,
            new ReadOnlySpan<float>((float*)j.P1 + start, len), new Span<float>((float*)j.P0 + start, len), j.Flag);
    }
}
