using FsdNet.Tensors;

namespace FsdNet.Autodiff;

public sealed partial class Graph
{
    /// <summary>Softmax over any axis (torch.softmax(x, dim)); the last axis uses the row kernel of <see cref="Softmax(Tensor)"/>.</summary>
    public Tensor Softmax(Tensor x, int axis)
    {
        var (outer, n, inner, _) = AxisPlan("Softmax", x.Shape, ref axis, keepDim: true);
        if (inner == 1)
        {
            return Softmax(x);
        }
        var track = Tracks(x);
        var y = Output(x.Shape, track);
        Span<float> xs = x.Span, ys = y.Span;
        for (var o = 0; o < outer; o++)
        {
            for (var i = 0; i < inner; i++)
            {
                var b = (o * n * inner) + i;
                var max = float.NegativeInfinity;
                for (var j = 0; j < n; j++)
                {
                    max = MathF.Max(max, xs[b + (j * inner)]);
                }
                var sum = 0f;
                for (var j = 0; j < n; j++)
                {
                    var e = MathF.Exp(xs[b + (j * inner)] - max);
                    ys[b + (j * inner)] = e;
                    sum += e;
                }
                for (var j = 0; j < n; j++)
                {
                    ys[b + (j * inner)] /= sum;
                }
            }
        }
        if (track)
        {
            Record<SoftmaxAxisOp>(y).Set(x, outer, n, inner);
        }
        return y;
    }

    private sealed class SoftmaxAxisOp : Op
    {
        private Tensor x = null!;
        private int outer, n, inner;

        public void Set(Tensor input, int o, int size, int i) => (x, outer, n, inner) = (input, o, size, i);

        public override void Backward(Graph g)
        {
            var gx = g.GradFor(x, out var fresh);
            Span<float> ys = Out.Span, dy = Out.Grad!.Span;
            for (var o = 0; o < outer; o++)
            {
                for (var i = 0; i < inner; i++)
                {
                    var b = (o * n * inner) + i;
                    var dot = 0f;
                    for (var j = 0; j < n; j++)
                    {
                        dot += ys[b + (j * inner)] * dy[b + (j * inner)];
                    }
                    for (var j = 0; j < n; j++)
                    {
                        var k = b + (j * inner);
                        var v = ys[k] * (dy[k] - dot);
                        gx[k] = fresh ? v : gx[k] + v;
                    }
                }
            }
        }
    }
}
