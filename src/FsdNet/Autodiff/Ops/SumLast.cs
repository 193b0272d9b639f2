using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using FsdNet.Tensors;

namespace FsdNet.Autodiff;

internal sealed partial class Graph
{
    /// <summary>Sum over the last axis: [..., C] to [..., 1] (rank 2 gives [R, 1]).</summary>
    public Tensor SumLast(Tensor x)
    {
        var track = Tracks(x);
        var shape = x.Shape.Rank switch
        {
            1 => new Shape(1),
            2 => new Shape(x.Shape.D0, 1),
            _ => new Shape(x.Shape.D0, x.Shape.D1, 1),
        };
        var y = Output(shape, track);
        var ys = y.Span;
        for (var r = 0; r < x.Shape.Rows; r++)
        {
            ys[r] = TensorPrimitives.Sum<float>(x.Row(r));
        }
        Trace?.Add(TraceKind.SumLast, y, [x]);
        if (track)
        {
            Record<SumLastOp>(y).Set(x);
        }
        return y;
    }

    private sealed class SumLastOp : Op
    {
        private Tensor x = null!;

        public void Set(Tensor input) => x = input;

        public override void Backward(Graph g)
        {
            g.GradFor(x, out var fresh);
            var dy = Out.Grad!.Span;
            for (var r = 0; r < x.Shape.Rows; r++)
            {
                var gr = x.Grad!.Row(r);
                if (fresh)
                {
                    gr.Fill(dy[r]);
                }
                else
                {
                    TensorPrimitives.Add(gr, dy[r], gr);
                }
            }
        }
    }
}
