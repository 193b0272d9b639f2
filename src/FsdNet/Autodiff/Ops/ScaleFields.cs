using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using FsdNet.Tensors;

namespace FsdNet.Autodiff;

internal sealed partial class Graph
{
    /// <summary>
    /// y[b, f, :] = x[b, f, :] * s[b, f]: each field's vector scaled by its own weight (x [B, F, D], s [B, F]), as
    /// FiBiNET's SENET re-weighting (feature_emb * A.unsqueeze(-1)); rows split over the workers.
    /// </summary>
    public unsafe Tensor ScaleFields(Tensor x, Tensor s)
    {
        if (x.Shape.Rank != 3 || s.Shape.Rank != 2 || s.Shape.D0 != x.Shape.D0 || s.Shape.D1 != x.Shape.D1)
        {
            throw new ArgumentException($"ScaleFields needs x [B, F, D] and s [B, F], got {x.Shape} and {s.Shape}.");
        }
        var track = Tracks(x, s);
        var y = Output(x.Shape, track);
        job.PlanRows(x.Shape.D0, x.Shape.D1 * x.Shape.D2, ElementGrain);
        (job.A, job.B, job.C) = (x, s, y);
        (job.I0, job.I1) = (x.Shape.D1, x.Shape.D2);
        job.Run(&ScaleFieldsPart);
        Trace?.Add(TraceKind.ScaleFields, y, [x, s]);
        if (track)
        {
            Record<ScaleFieldsOp>(y).Set(x, s);
        }
        return y;
    }

    private static void ScaleFieldsPart(RangeJob j, int part, int start, int end)
    {
        var (f, d) = (j.I0, j.I1);
        for (var r = start; r < end; r++)
        {
            var x = j.A!.Span.Slice(r * f * d, f * d);
            var y = j.C!.Span.Slice(r * f * d, f * d);
            var s = j.B!.Row(r);
            for (var k = 0; k < f; k++)
            {
                TensorPrimitives.Multiply(x.Slice(k * d, d), s[k], y.Slice(k * d, d));
            }
        }
    }

    /// <summary>dx (+)= dy * s per field; ds[b, f] (+)= dy[b, f, :] . x[b, f, :].</summary>
    private static void ScaleFieldsBackPart(RangeJob j, int part, int start, int end)
    {
        var (f, d) = (j.I0, j.I1);
        var (wantX, freshX, wantS, freshS) = (j.D is not null, j.Flag, j.E is not null, j.F0 > 0);
        for (var r = start; r < end; r++)
        {
            var x = j.A!.Span.Slice(r * f * d, f * d);
            var dy = j.C!.Span.Slice(r * f * d, f * d);
            var s = j.B!.Row(r);
            for (var k = 0; k < f; k++)
            {
                var dyk = dy.Slice(k * d, d);
                if (wantX)
                {
                    var gx = j.D!.Span.Slice((r * f * d) + (k * d), d);
                    if (freshX)
                    {
                        TensorPrimitives.Multiply(dyk, s[k], gx);
                    }
                    else
                    {
                        TensorPrimitives.MultiplyAdd(dyk, s[k], gx, gx);
                    }
                }
                if (wantS)
                {
                    var v = TensorPrimitives.Dot(dyk, x.Slice(k * d, d));
                    var gs = j.E!.Row(r);
                    gs[k] = freshS ? v : gs[k] + v;
                }
            }
        }
    }

    private sealed class ScaleFieldsOp : Op
    {
        private Tensor x = null!, s = null!;

        public void Set(Tensor input, Tensor scale) => (x, s) = (input, scale);

        public override unsafe void Backward(Graph g)
        {
            bool freshX = false, freshS = false;
            if (x.RequiresGrad)
            {
                g.GradFor(x, out freshX);
            }
            if (s.RequiresGrad)
            {
                g.GradFor(s, out freshS);
            }
            g.job.PlanRows(x.Shape.D0, x.Shape.D1 * x.Shape.D2, ElementGrain);
            (g.job.A, g.job.B, g.job.C) = (x, s, Out.Grad!);
            (g.job.D, g.job.E) = (x.RequiresGrad ? x.Grad! : null, s.RequiresGrad ? s.Grad! : null);
            (g.job.I0, g.job.I1, g.job.Flag, g.job.F0) = (x.Shape.D1, x.Shape.D2, freshX, freshS ? 1f : 0f);
            g.job.Run(&ScaleFieldsBackPart);
        }
    }
}
