using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using FsdNet.Tensors;

namespace FsdNet.Autodiff;

internal sealed partial class Graph
{
    /// <summary>a - b (other shapes broadcast as in PyTorch; see <see cref="Div"/>).</summary>
    public Tensor Sub(Tensor a, Tensor b)
    {
        if (a.Shape != b.Shape)
        {
            return Broadcast(Binary.Sub, a, b);
        }
        var track = Tracks(a, b);
        var y = Output(a.Shape, track);
        Elementwise(Ew.Sub, y.Span, a.Span, b.Span);
        Trace?.Add(TraceKind.Sub, y, [a, b]);
        if (track)
        {
            Record<SubOp>(y).Set(a, b);
        }
        return y;
    }

    private sealed class SubOp : Op
    {
        private Tensor a = null!, b = null!;

        public void Set(Tensor x, Tensor y) => (a, b) = (x, y);

        public override void Backward(Graph g)
        {
            var dy = Out.Grad!.Span;
            g.Pass(a, dy);
            if (b.RequiresGrad)
            {
                var gb = g.GradFor(b, out var fresh);
                g.Elementwise(fresh ? Ew.Negate : Ew.SubInto, gb, dy, default);
            }
        }
    }
}
