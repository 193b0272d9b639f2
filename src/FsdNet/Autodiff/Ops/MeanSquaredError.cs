using FsdNet.Tensors;

namespace FsdNet.Autodiff;

internal sealed partial class Graph
{
    /// <summary>Mean squared error mean((a - b)^2) over all elements, as a [1] tensor (one pass each way).</summary>
    public Tensor MeanSquaredError(Tensor a, Tensor b)
    {
        CheckSame("MeanSquaredError", a, b);
        var track = Tracks(a, b);
        var y = Output(new Shape(1), track);
        y.Span[0] = (float)(SquaredDistance(a.Span, b.Span) / Math.Max(a.Length, 1));
        Trace?.Add(TraceKind.TrainingOnly, y, [a, b], payload: "MeanSquaredError (a loss)");
        if (track)
        {
            Record<MseOp>(y).Set(a, b);
        }
        return y;
    }

    private sealed class MseOp : Op
    {
        private Tensor a = null!, b = null!;

        public void Set(Tensor x, Tensor y) => (a, b) = (x, y);

        public override void Backward(Graph g)
        {
            var k = 2f * Out.Grad!.Span[0] / Math.Max(a.Length, 1);
            if (a.RequiresGrad && b.RequiresGrad)
            {
                // FSDNet's hint loss (the teacher is not detached): both gradients from one read of a and b.
                g.GradFor(a, out var freshA);
                g.GradFor(b, out var freshB);
                g.ScaledDifferencePair(a, b, k, a.Grad!, freshA, b.Grad!, freshB);
                return;
            }
            if (a.RequiresGrad)
            {
                var ga = g.GradFor(a, out var fresh);
                g.Elementwise(Ew.ScaledDiff, ga, a.Span, b.Span, k, fresh: fresh);
            }
            if (b.RequiresGrad)
            {
                var gb = g.GradFor(b, out var fresh);
                g.Elementwise(Ew.ScaledDiff, gb, a.Span, b.Span, -k, fresh: fresh);
            }
        }
    }
}
