using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using FsdNet.Tensors;

namespace FsdNet.Autodiff;

public sealed partial class Graph
{
    private enum MathFn : byte
    {
        Exp,
        Log,
        Square,
        Abs,
        LeakyRelu,
    }

    /// <summary>exp(x).</summary>
    public Tensor Exp(Tensor x) => MathUnary(MathFn.Exp, x, 0);

    /// <summary>log(max(x, <paramref name="min"/>)) (AFN's torch.log(torch.clamp(x, min))); below min the gradient is 0.</summary>
    public Tensor Log(Tensor x, float min = 0f) => MathUnary(MathFn.Log, x, min);

    /// <summary>x * x.</summary>
    public Tensor Square(Tensor x) => MathUnary(MathFn.Square, x, 0);

    /// <summary>|x| (gradient sign(x), 0 at 0 as torch).</summary>
    public Tensor Abs(Tensor x) => MathUnary(MathFn.Abs, x, 0);

    /// <summary>x for x &gt; 0, slope * x otherwise (torch's default slope 0.01).</summary>
    public Tensor LeakyRelu(Tensor x, float slope = 0.01f) => MathUnary(MathFn.LeakyRelu, x, slope);

    private Tensor MathUnary(MathFn fn, Tensor x, float arg)
    {
        var track = Tracks(x);
        var y = Output(x.Shape, track);
        Span<float> xs = x.Span, ys = y.Span;
        switch (fn)
        {
            case MathFn.Exp: TensorPrimitives.Exp(xs, ys); break;
            case MathFn.Square: TensorPrimitives.Multiply(xs, xs, ys); break;
            case MathFn.Abs: TensorPrimitives.Abs(xs, ys); break;
            case MathFn.Log:
                TensorPrimitives.Max(xs, arg, ys);
                TensorPrimitives.Log(ys, ys);
                break;
            default:
                for (var i = 0; i < xs.Length; i++)
                {
                    ys[i] = xs[i] > 0 ? xs[i] : arg * xs[i];
                }
                break;
        }
        if (track)
        {
            Record<MathOp>(y).Set(fn, x, arg);
        }
        return y;
    }

    private sealed class MathOp : Op
    {
        private MathFn fn;
        private Tensor x = null!;
        private float arg;

        public void Set(MathFn f, Tensor input, float a) => (fn, x, arg) = (f, input, a);

        public override void Backward(Graph g)
        {
            var gx = g.GradFor(x, out var fresh);
            Span<float> xs = x.Span, ys = Out.Span, dy = Out.Grad!.Span;
            for (var i = 0; i < xs.Length; i++)
            {
                var v = dy[i] * fn switch
                {
                    MathFn.Exp => ys[i],
                    MathFn.Log => xs[i] >= arg ? 1f / xs[i] : 0f,
                    MathFn.Square => 2f * xs[i],
                    MathFn.Abs => MathF.Sign(xs[i]),
                    _ => xs[i] > 0 ? 1f : arg,
                };
                gx[i] = fresh ? v : gx[i] + v;
            }
        }
    }
}
