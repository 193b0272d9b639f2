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

    private static void BceWithLogitsBackward(Node n)
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

    /// <summary>
    /// Dropout: in training each element is zeroed with probability <paramref name="p"/> and the rest are scaled by
    /// 1 / (1 - p) (inverted dropout), with the mask drawn from <see cref="Random"/>; in evaluation (or p = 0) it is the
    /// identity and returns <paramref name="x"/> itself.
    /// </summary>
    public Tensor Dropout(Tensor x, float p)
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
        var mask = Scratch(x.Shape);
        var keep = 1f / (1f - p);
        var ms = mask.Span;
        var rng = Random;
        for (var i = 0; i < ms.Length; i++)
        {
            ms[i] = rng.NextFloat() < p ? 0f : keep;
        }
        TensorPrimitives.Multiply(x.Span, ms, y.Span);
        if (track)
        {
            var node = Record(OpKind.Dropout, y, x);
            node.D = mask;
        }
        return y;
    }

    private static void DropoutBackward(Node n) => AccumulateProduct(n.A!, n.Out.Grad!.Span, n.D!.Span);
}
