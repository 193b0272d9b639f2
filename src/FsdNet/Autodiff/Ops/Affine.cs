using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using FsdNet.Tensors;

namespace FsdNet.Autodiff;

internal sealed partial class Graph
{
    /// <summary>scale * x + shift, elementwise with scalar constants.</summary>
    public Tensor Affine(Tensor x, float scale, float shift = 0f)
    {
        var track = Tracks(x);
        var y = Output(x.Shape, track);
        Elementwise(Ew.ScaleShift, y.Span, x.Span, default, scale, shift);
        Trace?.Add(TraceKind.Affine, y, [x], floats: [scale, shift]);
        if (track)
        {
            Record<AffineOp>(y).Set(x, scale);
        }
        return y;
    }

    private sealed class AffineOp : Op
    {
        private Tensor x = null!;
        private float scale;

        public void Set(Tensor input, float s) => (x, scale) = (input, s);

        public override void Backward(Graph g)
        {
            var gx = g.GradFor(x, out var fresh);
            g.Elementwise(fresh ? Ew.Scale : Ew.ScaleAdd, gx, Out.Grad!.Span, default, scale);
        }
    }
}
