using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using FsdNet.Tensors;

namespace FsdNet.Autodiff;

internal sealed partial class Graph
{
    /// <summary>Elements a gated-cross kernel handles per chunk (stack scratch).</summary>
    private const int GatedChunk = 256;

    /// <summary>
    /// GDCN's gated cross step, fused: y = c + x0 * h * sigmoid(z), all of one shape (h = W c + b the crossing,
    /// z = W_g c the gate's pre-activation). One pass forward, one pass backward (sigmoid recomputed from z), in
    /// parallel over elements; <paramref name="c"/> and <paramref name="x0"/> may be the same tensor.
    /// </summary>
    public unsafe Tensor GatedCross(Tensor c, Tensor x0, Tensor h, Tensor z)
    {
        CheckSame("GatedCross", c, x0);
        CheckSame("GatedCross", c, h);
        CheckSame("GatedCross", c, z);
        var track = GradEnabled && (c.RequiresGrad || x0.RequiresGrad || h.RequiresGrad || z.RequiresGrad);
        var y = Output(c.Shape, track);
        job.Plan(c.Length, ElementGrain);
        (job.A, job.B, job.C, job.D, job.E) = (c, x0, h, z, y);
        job.Run(&GatedCrossForwardPart);
        Trace?.Add(TraceKind.GatedCross, y, [c, x0, h, z]);
        if (track)
        {
            Record<GatedCrossOp>(y).Set(c, x0, h, z);
        }
        return y;
    }

    private static void GatedCrossForwardPart(RangeJob j, int part, int start, int end)
    {
        Span<float> s = stackalloc float[GatedChunk];
        for (var i = start; i < end; i += GatedChunk)
        {
            var n = Math.Min(GatedChunk, end - i);
            var t = s[..n];
            TensorPrimitives.Sigmoid(j.D!.Span.Slice(i, n), t);
            TensorPrimitives.Multiply(t, j.C!.Span.Slice(i, n), t);
            TensorPrimitives.Multiply(t, j.B!.Span.Slice(i, n), t);
            TensorPrimitives.Add(t, j.A!.Span.Slice(i, n), j.E!.Span.Slice(i, n));
        }
    }

    private sealed class GatedCrossOp : Op
    {
        private Tensor c = null!, x0 = null!, h = null!, z = null!;

        public void Set(Tensor cl, Tensor input, Tensor cross, Tensor gate) => (c, x0, h, z) = (cl, input, cross, gate);

        public override unsafe void Backward(Graph g)
        {
            // Bits: 1 x0, 2 c, 4 h, 8 z (which gradients to write); the same bits in I1 mark a fresh buffer.
            int want = 0, fresh = 0;
            g.ClaimGrad(x0, 1, ref want, ref fresh);
            g.ClaimGrad(c, 2, ref want, ref fresh);
            g.ClaimGrad(h, 4, ref want, ref fresh);
            g.ClaimGrad(z, 8, ref want, ref fresh);
            var job = g.job;
            job.Plan(c.Length, ElementGrain);
            (job.A, job.B, job.C, job.D) = (Out.Grad, x0, h, z);
            (job.E, job.F, job.G, job.Obj) = (x0.Grad, c.Grad, h.Grad, z.Grad);
            (job.I0, job.I1) = (want, fresh);
            job.Run(&GatedCrossBackwardPart);
        }
    }

    /// <summary>dx0 += dy h s, dc += dy, dh = dy x0 s, dz = dy x0 h s (1 - s), s = sigmoid(z), in that order per chunk.</summary>
    private static void GatedCrossBackwardPart(RangeJob j, int part, int start, int end)
    {
        Span<float> sBuf = stackalloc float[GatedChunk];
        Span<float> tBuf = stackalloc float[GatedChunk];
        Span<float> uBuf = stackalloc float[GatedChunk];
        var (want, fresh) = (j.I0, j.I1);
        for (var i = start; i < end; i += GatedChunk)
        {
            var n = Math.Min(GatedChunk, end - i);
            var s = sBuf[..n];
            var t = tBuf[..n];
            var u = uBuf[..n];
            var dy = j.A!.Span.Slice(i, n);
            var x0 = j.B!.Span.Slice(i, n);
            var h = j.C!.Span.Slice(i, n);
            TensorPrimitives.Sigmoid(j.D!.Span.Slice(i, n), s);
            TensorPrimitives.Multiply(dy, s, t);
            if ((want & 1) != 0)
            {
                Into(j.E!.Span.Slice(i, n), t, h, (fresh & 1) != 0);
            }
            if ((want & 2) != 0)
            {
                var gc = j.F!.Span.Slice(i, n);
                if ((fresh & 2) != 0)
                {
                    dy.CopyTo(gc);
                }
                else
                {
                    TensorPrimitives.Add(gc, dy, gc);
                }
            }
            TensorPrimitives.Multiply(t, x0, u);
            if ((want & 4) != 0)
            {
                var gh = j.G!.Span.Slice(i, n);
                if ((fresh & 4) != 0)
                {
                    u.CopyTo(gh);
                }
                else
                {
                    TensorPrimitives.Add(gh, u, gh);
                }
            }
            if ((want & 8) != 0)
            {
                TensorPrimitives.Multiply(u, h, u);
                TensorPrimitives.Subtract(1f, s, s);
                Into(((Tensor)j.Obj!).Span.Slice(i, n), u, s, (fresh & 8) != 0);
            }
        }
    }

    /// <summary>dst (+)= a * b.</summary>
    private static void Into(Span<float> dst, ReadOnlySpan<float> a, ReadOnlySpan<float> b, bool fresh)
    {
        if (fresh)
        {
            TensorPrimitives.Multiply(a, b, dst);
        }
        else
        {
            TensorPrimitives.MultiplyAdd(a, b, dst, dst);
        }
    }
}
