using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using FsdNet.Tensors;

namespace FsdNet.Autodiff;

public sealed partial class Graph
{
    /// <summary>Softmax over the last axis of each row.</summary>
    public Tensor Softmax(Tensor x)
    {
        var track = Tracks(x);
        var y = Output(x.Shape, track);
        for (var r = 0; r < x.Shape.Rows; r++)
        {
            TensorPrimitives.SoftMax(x.Row(r), y.Row(r));
        }
        if (track)
        {
            Record<SoftmaxOp>(y).Set(x);
        }
        return y;
    }

    private sealed class SoftmaxOp : Op
    {
        private Tensor x = null!;

        public void Set(Tensor input) => x = input;

        public override void Backward(Graph g)
        {
            Tensor y = Out, dy = Out.Grad!;
            g.GradFor(x, out var fresh);
            for (var r = 0; r < x.Shape.Rows; r++)
            {
                var yr = y.Row(r);
                var dyr = dy.Row(r);
                var dot = TensorPrimitives.Dot<float>(yr, dyr);
                var gr = x.Grad!.Row(r);
                for (var c = 0; c < yr.Length; c++)
                {
                    var v = yr[c] * (dyr[c] - dot);
                    gr[c] = fresh ? v : gr[c] + v;
                }
            }
        }
    }
}
