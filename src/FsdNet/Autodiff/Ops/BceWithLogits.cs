using FsdNet.Tensors;

namespace FsdNet.Autodiff;

internal sealed partial class Graph
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
        Trace?.Add(TraceKind.TrainingOnly, y, [logits, targets], payload: "BceWithLogits (a loss)");
        if (track)
        {
            Record<BceWithLogitsOp>(y).Set(logits, targets);
        }
        return y;
    }

    private sealed class BceWithLogitsOp : Op
    {
        private Tensor z = null!, t = null!;

        public void Set(Tensor logits, Tensor targets) => (z, t) = (logits, targets);

        public override void Backward(Graph g)
        {
            var gz = g.GradFor(z, out var fresh);
            var scale = Out.Grad!.Span[0] / Math.Max(z.Length, 1);
            var zs = z.Span;
            var ts = t.Span;
            for (var i = 0; i < zs.Length; i++)
            {
                var v = (Kernels.Sigmoid(zs[i]) - ts[i]) * scale;
                gz[i] = fresh ? v : gz[i] + v;
            }
        }
    }
}
