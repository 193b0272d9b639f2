using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using FsdNet.Tensors;

namespace FsdNet.Autodiff;

internal sealed partial class Graph
{
    /// <summary>a + b (other shapes broadcast as in PyTorch; see <see cref="Div"/>).</summary>
    public Tensor Add(Tensor a, Tensor b)
    {
        if (a.Shape != b.Shape)
        {
            return Broadcast(Binary.Add, a, b);
        }
        var track = Tracks(a, b);
        var y = Output(a.Shape, track);
        Elementwise(Ew.Add, y.Span, a.Span, b.Span);
        Trace?.Add(TraceKind.Add, y, [a, b]);
        if (track)
        {
            Record<AddOp>(y).Set(a, b);
        }
        return y;
    }

    private sealed class AddOp : Op
    {
        private Tensor a = null!, b = null!;

        public void Set(Tensor x, Tensor y) => (a, b) = (x, y);

        public override void Backward(Graph g)
        {
            var dy = Out.Grad!.Span;
            g.Pass(a, dy);
            g.Pass(b, dy);
        }
    }
}
