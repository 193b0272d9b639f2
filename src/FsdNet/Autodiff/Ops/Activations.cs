using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using FsdNet.Tensors;

namespace FsdNet.Autodiff;

internal sealed partial class Graph
{
    /// <summary>max(x, 0).</summary>
    public Tensor Relu(Tensor x) => Unary(x, Ew.Relu, Ew.ReluBack, fromInput: false);

    /// <summary>1 / (1 + exp(-x)).</summary>
    public Tensor Sigmoid(Tensor x) => Unary(x, Ew.Sigmoid, Ew.SigmoidBack, fromInput: false);

    /// <summary>tanh(x).</summary>
    public Tensor Tanh(Tensor x) => Unary(x, Ew.Tanh, Ew.TanhBack, fromInput: false);

    /// <summary>log(sigmoid(x)), computed stably as min(x, 0) - log(1 + exp(-|x|)).</summary>
    public Tensor LogSigmoid(Tensor x) => Unary(x, Ew.LogSigmoid, Ew.LogSigmoidBack, fromInput: true);

    /// <summary>
    /// An elementwise activation: <paramref name="backward"/> is its derivative times dy, computed from the input
    /// (<paramref name="fromInput"/>, log-sigmoid) or from the output (ReLU, sigmoid, tanh).
    /// </summary>
    private Tensor Unary(Tensor x, Ew forward, Ew backward, bool fromInput)
    {
        var track = Tracks(x);
        var y = Output(x.Shape, track);
        Elementwise(forward, y.Span, x.Span, default);
        Trace?.Add(forward switch { Ew.Relu => TraceKind.Relu, Ew.Sigmoid => TraceKind.Sigmoid, Ew.Tanh => TraceKind.Tanh, _ => TraceKind.LogSigmoid }, y, [x]);
        if (track)
        {
            Record<UnaryOp>(y).Set(x, backward, fromInput);
        }
        return y;
    }

    private sealed class UnaryOp : Op
    {
        private Tensor x = null!;
        private Ew backward;
        private bool fromInput;

        public void Set(Tensor input, Ew back, bool useInput) => (x, backward, fromInput) = (input, back, useInput);

        public override void Backward(Graph g)
        {
            var gx = g.GradFor(x, out var fresh);
            g.Elementwise(backward, gx, fromInput ? x.Span : Out.Span, Out.Grad!.Span, fresh: fresh);
        }
    }
}
