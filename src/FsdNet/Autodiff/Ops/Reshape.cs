using FsdNet.Tensors;

namespace FsdNet.Autodiff;

internal sealed partial class Graph
{
    /// <summary>The same elements seen with another shape (a view: no copy).</summary>
    public Tensor Reshape(Tensor x, Shape shape)
    {
        if (shape.Length != x.Length)
        {
            throw new ArgumentException($"Reshape: cannot view {x.Shape} ({x.Length} elements) as {shape} ({shape.Length} elements).");
        }
        var track = Tracks(x);
        var y = AcquireView(x, shape, track);
        Trace?.Add(TraceKind.Reshape, y, [x]);
        if (track)
        {
            Record<ReshapeOp>(y).Set(x);
        }
        return y;
    }

    /// <summary>The same values cut off from the graph: no gradient flows back through the result.</summary>
    public Tensor Detach(Tensor x)
    {
        var y = AcquireView(x, x.Shape, false);
        Trace?.Add(TraceKind.Identity, y, [x]);
        return y;
    }

    private sealed class ReshapeOp : Op
    {
        private Tensor x = null!;

        public void Set(Tensor input) => x = input;

        public override void Backward(Graph g) => g.Pass(x, Out.Grad!.Span);
    }
}
