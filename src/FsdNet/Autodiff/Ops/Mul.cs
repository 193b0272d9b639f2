using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using FsdNet.Tensors;

namespace FsdNet.Autodiff;

internal sealed partial class Graph
{
    /// <summary>a * b elementwise (other shapes broadcast as in PyTorch; see <see cref="Div"/>).</summary>
    public Tensor Mul(Tensor a, Tensor b)
    {
        if (a.Shape != b.Shape)
        {
            return Broadcast(Binary.Mul, a, b);
        }
        var track = Tracks(a, b);
        var y = Output(a.Shape, track);
        Elementwise(Ew.Mul, y.Span, a.Span, b.Span);
        Trace?.Add(TraceKind.Mul, y, [a, b]);
        if (track)
        {
            Record<MulOp>(y).Set(a, b);
        }
        return y;
    }

    private sealed class MulOp : Op
    {
        private Tensor a = null!, b = null!;

        public void Set(Tensor x, Tensor y) => (a, b) = (x, y);

        public override void Backward(Graph g)
        {
            var dy = Out.Grad!.Span;
            if (a.RequiresGrad)
            {
                g.AccumulateProduct(a, dy, b.Span);
            }
            if (b.RequiresGrad)
            {
                g.AccumulateProduct(b, dy, a.Span);
            }
        }
    }
}
