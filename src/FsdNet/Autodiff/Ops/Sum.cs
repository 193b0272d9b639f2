using FsdNet.Tensors;

namespace FsdNet.Autodiff;

internal sealed partial class Graph
{
    /// <summary>The sum of all elements, as a [1] tensor.</summary>
    public Tensor Sum(Tensor x) => SumScaled(x, 1f);

    /// <summary>The mean of all elements, as a [1] tensor.</summary>
    public Tensor Mean(Tensor x) => SumScaled(x, 1f / Math.Max(x.Length, 1));

    private Tensor SumScaled(Tensor x, float scale)
    {
        var track = Tracks(x);
        var y = Output(new Shape(1), track);
        y.Span[0] = (float)(SumParallel(x.Span) * scale);
        Trace?.Add(TraceKind.SumAll, y, [x], floats: [scale]);
        if (track)
        {
            Record<SumOp>(y).Set(x, scale);
        }
        return y;
    }

    private sealed class SumOp : Op
    {
        private Tensor x = null!;
        private float scale;

        public void Set(Tensor input, float s) => (x, scale) = (input, s);

        public override void Backward(Graph g)
        {
            var gx = g.GradFor(x, out var fresh);
            var v = Out.Grad!.Span[0] * scale;
            if (fresh)
            {
                gx.Fill(v);
            }
            else
            {
                g.Elementwise(Ew.AddScalar, gx, default, default, v);
            }
        }
    }
}
