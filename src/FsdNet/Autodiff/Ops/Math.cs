using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using FsdNet.Tensors;

namespace FsdNet.Autodiff;

internal sealed partial class Graph
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

    private unsafe Tensor MathUnary(MathFn fn, Tensor x, float arg)
    {
        var track = Tracks(x);
        var y = Output(x.Shape, track);
        RunMath(&MathForwardPart, fn, x, y, arg, fresh: true);
        Trace?.Add(fn switch { MathFn.Exp => TraceKind.Exp, MathFn.Log => TraceKind.Log, MathFn.Square => TraceKind.Square, MathFn.Abs => TraceKind.Abs, _ => TraceKind.LeakyRelu }, y, [x], floats: [arg]);
        if (track)
        {
            Record<MathOp>(y).Set(fn, x, arg);
        }
        return y;
    }

    /// <summary>A math kernel over contiguous element ranges, split over the workers for large tensors.</summary>
    private unsafe void RunMath(delegate*<RangeJob, int, int, int, void> kernel, MathFn fn, Tensor x, Tensor y, float arg, bool fresh)
    {
        job.Plan(x.Shape.Length, ElementGrain);
        (job.A, job.B) = (x, y);
        (job.I0, job.F0, job.Flag) = ((int)fn, arg, fresh);
        job.Run(kernel);
    }

    private static void MathForwardPart(RangeJob j, int part, int start, int end)
    {
        var (fn, arg) = ((MathFn)j.I0, j.F0);
        ReadOnlySpan<float> xs = j.A!.Span[start..end];
        var ys = j.B!.Span[start..end];
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
    }

    private static void MathBackwardPart(RangeJob j, int part, int start, int end)
    {
        var (fn, arg, fresh) = ((MathFn)j.I0, j.F0, j.Flag);
        Tensor x = j.A!, y = j.B!;
        ReadOnlySpan<float> xs = x.Span[start..end], ys = y.Span[start..end], dy = y.Grad!.Span[start..end];
        var gx = x.Grad!.Span[start..end];
        if (fn == MathFn.Exp)
        {
            // d exp(x) = exp(x) dx
            if (fresh)
            {
                TensorPrimitives.Multiply(dy, ys, gx);
            }
            else
            {
                TensorPrimitives.FusedMultiplyAdd(dy, ys, gx, gx);
            }
            return;
        }
        for (var i = 0; i < xs.Length; i++)
        {
            var v = dy[i] * fn switch
            {
                MathFn.Log => xs[i] >= arg ? 1f / xs[i] : 0f,
                MathFn.Square => 2f * xs[i],
                MathFn.Abs => MathF.Sign(xs[i]),
                _ => xs[i] > 0 ? 1f : arg,
            };
            gx[i] = fresh ? v : gx[i] + v;
        }
    }

    private sealed class MathOp : Op
    {
        private MathFn fn;
        private Tensor x = null!;
        private float arg;

        public void Set(MathFn f, Tensor input, float a) => (fn, x, arg) = (f, input, a);

        public override unsafe void Backward(Graph g)
        {
            _ = g.GradFor(x, out var fresh);
            g.RunMath(&MathBackwardPart, fn, x, Out, arg, fresh);
        }
    }
}
