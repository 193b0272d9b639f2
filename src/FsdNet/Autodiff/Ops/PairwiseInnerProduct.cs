using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using FsdNet.Tensors;

namespace FsdNet.Autodiff;

internal sealed partial class Graph
{
    /// <summary>
    /// The inner products of every pair of fields, [B, F, D] to [B, F(F-1)/2], pairs (i, j), i &lt; j, in row-major
    /// upper-triangle order (FuxiCTR's InnerProductInteraction, output="inner_product"). One fused pass per row,
    /// rows split over the workers.
    /// </summary>
    public unsafe Tensor PairwiseInnerProduct(Tensor fields)
    {
        if (fields.Shape.Rank != 3 || fields.Shape.D1 < 2)
        {
            throw new ArgumentException($"PairwiseInnerProduct needs [rows, fields >= 2, dim], got {fields.Shape}.");
        }
        int rows = fields.Shape.D0, f = fields.Shape.D1, d = fields.Shape.D2;
        var track = Tracks(fields);
        var y = Output(new Shape(rows, f * (f - 1) / 2), track);
        job.PlanRows(rows, f * f * d / 2, ElementGrain);
        (job.A, job.B) = (fields, y);
        (job.I0, job.I1) = (f, d);
        job.Run(&InnerProductPart);
        Trace?.Add(TraceKind.PairwiseInnerProduct, y, [fields]);
        if (track)
        {
            Record<PairwiseInnerProductOp>(y).Set(fields);
        }
        return y;
    }

    private static void InnerProductPart(RangeJob j, int part, int start, int end)
    {
        var (f, d) = (j.I0, j.I1);
        var width = f * d;
        for (var r = start; r < end; r++)
        {
            var e = j.A!.Span.Slice(r * width, width);
            var y = j.B!.Row(r);
            var k = 0;
            for (var a = 0; a < f - 1; a++)
            {
                var ea = e.Slice(a * d, d);
                for (var b = a + 1; b < f; b++)
                {
                    y[k++] = TensorPrimitives.Dot(ea, e.Slice(b * d, d));
                }
            }
        }
    }

    private static void InnerProductBackPart(RangeJob j, int part, int start, int end)
    {
        var (f, d) = (j.I0, j.I1);
        var width = f * d;
        for (var r = start; r < end; r++)
        {
            var e = j.A!.Span.Slice(r * width, width);
            var dy = j.B!.Row(r);
            var ge = j.C!.Span.Slice(r * width, width);
            if (j.Flag)
            {
                ge.Clear();
            }
            var k = 0;
            for (var a = 0; a < f - 1; a++)
            {
                var ea = e.Slice(a * d, d);
                var ga = ge.Slice(a * d, d);
                for (var b = a + 1; b < f; b++)
                {
                    var w = dy[k++];
                    var gb = ge.Slice(b * d, d);
                    TensorPrimitives.MultiplyAdd(e.Slice(b * d, d), w, ga, ga);
                    TensorPrimitives.MultiplyAdd(ea, w, gb, gb);
                }
            }
        }
    }

    private sealed class PairwiseInnerProductOp : Op
    {
        private Tensor x = null!;

        public void Set(Tensor input) => x = input;

        public override unsafe void Backward(Graph g)
        {
            int rows = x.Shape.D0, f = x.Shape.D1, d = x.Shape.D2;
            g.GradFor(x, out var fresh);
            g.job.PlanRows(rows, f * f * d, ElementGrain);
            (g.job.A, g.job.B, g.job.C) = (x, Out.Grad!, x.Grad!);
            (g.job.I0, g.job.I1, g.job.Flag) = (f, d, fresh);
            g.job.Run(&InnerProductBackPart);
        }
    }
}
