using FsdNet.Tensors;

namespace FsdNet.Autodiff;

internal sealed partial class Graph
{
    /// <summary>Columns [start, start + length) of x [R, C].</summary>
    public Tensor Slice(Tensor x, int start, int length)
    {
        if (x.Shape.Rank != 2 || start < 0 || length < 0 || start + length > x.Shape.D1)
        {
            throw new ArgumentException($"Slice [{start}, {start + length}) is outside the features of {x.Shape}.");
        }
        var track = Tracks(x);
        var y = Output(new Shape(x.Shape.D0, length), track);
        CopyColumns(x, start, y, 0, length);
        Trace?.Add(TraceKind.Slice, y, [x], [start, length]);
        if (track)
        {
            Record<SliceOp>(y).Set(x, start);
        }
        return y;
    }

    private sealed class SliceOp : Op
    {
        private Tensor x = null!;
        private int start;

        public void Set(Tensor input, int from) => (x, start) = (input, from);

        public override void Backward(Graph g)
        {
            var dy = Out.Grad!;
            var gx = g.GradFor(x, out var fresh);
            if (fresh)
            {
                gx.Clear();
            }
            g.CopyColumns(dy, 0, x.Grad!, start, dy.Shape.D1, accumulate: true);
        }
    }
}
