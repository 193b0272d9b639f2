using FsdNet.Tensors;

namespace FsdNet.Autodiff;

internal sealed partial class Graph
{
    /// <summary>Concatenates a [R, n1] and b [R, n2] along the feature axis into [R, n1 + n2].</summary>
    public Tensor Concat(Tensor a, Tensor b)
    {
        if (a.Shape.Rank != 2 || b.Shape.Rank != 2 || a.Shape.D0 != b.Shape.D0)
        {
            throw new ArgumentException($"Concat needs two [rows, features] tensors with the same rows, got {a.Shape} and {b.Shape}.");
        }
        int rows = a.Shape.D0, n1 = a.Shape.D1, n2 = b.Shape.D1;
        var track = Tracks(a, b);
        var y = Output(new Shape(rows, n1 + n2), track);
        CopyColumns(a, 0, y, 0, n1);
        CopyColumns(b, 0, y, n1, n2);
        Trace?.Add(TraceKind.Concat, y, [a, b], [1]);
        if (track)
        {
            Record<ConcatOp>(y).Set(a, b);
        }
        return y;
    }

    private sealed class ConcatOp : Op
    {
        private Tensor a = null!, b = null!;

        public void Set(Tensor x, Tensor y) => (a, b) = (x, y);

        public override void Backward(Graph g)
        {
            var dy = Out.Grad!;
            if (a.RequiresGrad)
            {
                RowsInto(g, a, dy, 0);
            }
            if (b.RequiresGrad)
            {
                RowsInto(g, b, dy, a.Shape.D1);
            }
        }

        /// <summary>Writes (or adds) columns [offset, offset + t.cols) of <paramref name="dy"/> into t's gradient.</summary>
        private static void RowsInto(Graph g, Tensor t, Tensor dy, int offset)
        {
            g.GradFor(t, out var fresh);
            g.CopyColumns(dy, offset, t.Grad!, 0, t.Shape.D1, accumulate: !fresh);
        }
    }
}
