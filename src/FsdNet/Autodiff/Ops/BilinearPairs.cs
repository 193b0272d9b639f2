using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using FsdNet.Tensors;

namespace FsdNet.Autodiff;

/// <summary>Which bilinear weight a field pair (i, j) uses (FuxiCTR's bilinear_type).</summary>
internal enum BilinearType
{
    /// <summary>One W [D, D] for every pair.</summary>
    FieldAll,

    /// <summary>W_i [D, D] of the pair's left field: W [F, D, D].</summary>
    FieldEach,

    /// <summary>W_p [D, D] per pair: W [F(F-1)/2, D, D].</summary>
    FieldInteraction,
}

internal sealed partial class Graph
{
    /// <summary>
    /// FiBiNET's bilinear interaction (FuxiCTR's BilinearInteractionV2): for every field pair p = (i, j), i &lt; j in
    /// row-major upper-triangle order, out[b, p] = (e_i W_k) * e_j with W_k chosen by <paramref name="type"/>;
    /// fields [B, F, D], w [D, D] or [n, D, D], output [B, F(F-1)/2, D]. One fused pass per row, rows split over the
    /// workers; the weight gradient is summed per part and the parts added in order (deterministic).
    /// </summary>
    public unsafe Tensor BilinearPairs(Tensor fields, Tensor w, BilinearType type)
    {
        if (fields.Shape.Rank != 3 || fields.Shape.D1 < 2)
        {
            throw new ArgumentException($"BilinearPairs needs [rows, fields >= 2, dim], got {fields.Shape}.");
        }
        int rows = fields.Shape.D0, f = fields.Shape.D1, d = fields.Shape.D2, pairs = f * (f - 1) / 2;
        var n = type switch { BilinearType.FieldAll => 1, BilinearType.FieldEach => f, _ => pairs };
        var ok = type == BilinearType.FieldAll
            ? w.Shape.Rank == 2 && w.Shape.D0 == d && w.Shape.D1 == d
            : w.Shape.Rank == 3 && w.Shape.D0 == n && w.Shape.D1 == d && w.Shape.D2 == d;
        if (!ok)
        {
            throw new ArgumentException($"BilinearPairs ({type}): weight {w.Shape} does not fit fields {fields.Shape}.");
        }
        var track = Tracks(fields, w);
        var y = Output(new Shape(rows, pairs, d), track);
        job.PlanRows(rows, pairs * d * d, ElementGrain);
        (job.A, job.B, job.C) = (fields, w, y);
        (job.I0, job.I1, job.P0) = (f, d, (int)type);
        job.Run(&BilinearForwardPart);
        Trace?.Add(TraceKind.BilinearPairs, y, [fields, w], [(int)type]);
        if (track)
        {
            Record<BilinearPairsOp>(y).Set(fields, w, type);
        }
        return y;
    }

    private static int WeightOf(BilinearType type, int pair, int left) =>
        type switch { BilinearType.FieldAll => 0, BilinearType.FieldEach => left, _ => pair };

    private static void BilinearForwardPart(RangeJob j, int part, int start, int end)
    {
        var (f, d, type) = (j.I0, j.I1, (BilinearType)(int)j.P0);
        var w = j.B!.Span;
        var width = f * d;
        var pairs = f * (f - 1) / 2;
        for (var r = start; r < end; r++)
        {
            var e = j.A!.Span.Slice(r * width, width);
            var y = j.C!.Span.Slice(r * pairs * d, pairs * d);
            var p = 0;
            for (var a = 0; a < f - 1; a++)
            {
                var ea = e.Slice(a * d, d);
                if (type != BilinearType.FieldInteraction)
                {
                    // The weight depends on the left field only: u = e_a W once, into the slot of the last pair
                    // (a, f-1), then out[(a, b)] = u * e_b, the last slot in place.
                    var last = p + (f - 1 - a) - 1;
                    var u = y.Slice(last * d, d);
                    RowTimesMatrix(ea, w.Slice(WeightOf(type, p, a) * d * d, d * d), u);
                    for (var b = a + 1; b < f; b++, p++)
                    {
                        TensorPrimitives.Multiply(u, e.Slice(b * d, d), y.Slice(p * d, d));
                    }
                    continue;
                }
                for (var b = a + 1; b < f; b++, p++)
                {
                    var v = y.Slice(p * d, d);
                    RowTimesMatrix(ea, w.Slice(WeightOf(type, p, a) * d * d, d * d), v);
                    TensorPrimitives.Multiply(v, e.Slice(b * d, d), v);
                }
            }
        }
    }

    /// <summary>v = x W for a row x [d] and W [d, d] (the sum of W's rows weighted by x, in row order).</summary>
    private static void RowTimesMatrix(ReadOnlySpan<float> x, ReadOnlySpan<float> wk, Span<float> v)
    {
        var d = x.Length;
        TensorPrimitives.Multiply(wk[..d], x[0], v);
        for (var k = 1; k < d; k++)
        {
            TensorPrimitives.MultiplyAdd(wk.Slice(k * d, d), x[k], v, v);
        }
    }

    /// <summary>
    /// Backward of one row block: per pair, v = e_a W_k (recomputed), de_b += dy * v, dv = dy * e_b,
    /// de_a += W_k dv, dW_k += e_a^T dv (into this part's partial). Where W_k depends on the left field only
    /// (field_all, field_each), v is computed once per left field and the pairs' dv are summed before the two
    /// products with W_k and e_a. Partials hold [dW | v | dv | sum of dv] per part.
    /// </summary>
    private static void BilinearBackwardPart(RangeJob j, int part, int start, int end)
    {
        var (f, d, type) = (j.I0, j.I1, (BilinearType)(int)j.P0);
        var wTensor = j.B!;
        var w = wTensor.Span;
        var width = f * d;
        var pairs = f * (f - 1) / 2;
        var stride = BilinearPartialStride(w.Length, d);
        var block = j.Partials.AsSpan(part * stride, stride);
        var dw = block[..w.Length];
        var v = block.Slice(w.Length, d);
        var dv = block.Slice(w.Length + d, d);
        var dvSum = block.Slice(w.Length + 2 * d, d);
        dw.Clear();
        var wantE = j.Flag;
        var wantW = j.F0 > 0;
        var byLeft = type != BilinearType.FieldInteraction;
        for (var r = start; r < end; r++)
        {
            var e = j.A!.Span.Slice(r * width, width);
            var dy = j.D!.Span.Slice(r * pairs * d, pairs * d);
            var ge = wantE ? j.E!.Span.Slice(r * width, width) : default;
            if (wantE && j.F1 > 0)
            {
                ge.Clear();
            }
            var p = 0;
            for (var a = 0; a < f - 1; a++)
            {
                var ea = e.Slice(a * d, d);
                if (byLeft)
                {
                    var wi = WeightOf(type, p, a) * d * d;
                    var wk = w.Slice(wi, d * d);
                    if (wantE)
                    {
                        RowTimesMatrix(ea, wk, v);
                    }
                    dvSum.Clear();
                    for (var b = a + 1; b < f; b++, p++)
                    {
                        var dyp = dy.Slice(p * d, d);
                        var eb = e.Slice(b * d, d);
                        TensorPrimitives.MultiplyAdd(dyp, eb, dvSum, dvSum);
                        if (wantE)
                        {
                            var gb = ge.Slice(b * d, d);
                            TensorPrimitives.MultiplyAdd(dyp, v, gb, gb);
                        }
                    }
                    AccumulateLeft(wantE ? ge.Slice(a * d, d) : default, wantW ? dw.Slice(wi, d * d) : default, wk, ea, dvSum);
                    continue;
                }
                for (var b = a + 1; b < f; b++, p++)
                {
                    var wi = WeightOf(type, p, a) * d * d;
                    var wk = w.Slice(wi, d * d);
                    var dyp = dy.Slice(p * d, d);
                    var eb = e.Slice(b * d, d);
                    TensorPrimitives.Multiply(dyp, eb, dv);
                    if (wantE)
                    {
                        RowTimesMatrix(ea, wk, v);
                        var gb = ge.Slice(b * d, d);
                        TensorPrimitives.MultiplyAdd(dyp, v, gb, gb);
                    }
                    AccumulateLeft(wantE ? ge.Slice(a * d, d) : default, wantW ? dw.Slice(wi, d * d) : default, wk, ea, dv);
                }
            }
        }
    }

    /// <summary>de_a += W_k dv and dW_k += e_a^T dv (each skipped when its span is empty).</summary>
    private static void AccumulateLeft(Span<float> ga, Span<float> dwk, ReadOnlySpan<float> wk, ReadOnlySpan<float> ea, ReadOnlySpan<float> dv)
    {
        var d = ea.Length;
        if (!ga.IsEmpty)
        {
            for (var k = 0; k < d; k++)
            {
                ga[k] += TensorPrimitives.Dot(wk.Slice(k * d, d), dv);
            }
        }
        if (!dwk.IsEmpty)
        {
            for (var k = 0; k < d; k++)
            {
                var row = dwk.Slice(k * d, d);
                TensorPrimitives.MultiplyAdd(dv, ea[k], row, row);
            }
        }
    }

    private static int BilinearPartialStride(int weights, int d) => weights + (3 * d);

    private sealed class BilinearPairsOp : Op
    {
        private Tensor x = null!, w = null!;
        private BilinearType type;

        public void Set(Tensor fields, Tensor weight, BilinearType kind) => (x, w, type) = (fields, weight, kind);

        public override unsafe void Backward(Graph g)
        {
            int rows = x.Shape.D0, f = x.Shape.D1, d = x.Shape.D2;
            var pairs = f * (f - 1) / 2;
            var fresh = false;
            if (x.RequiresGrad)
            {
                g.GradFor(x, out fresh);
            }
            var parts = g.job.PlanRows(rows, pairs * d * d, ElementGrain);
            var stride = BilinearPartialStride(w.Length, d);
            g.job.EnsurePartials(stride);
            (g.job.A, g.job.B, g.job.D, g.job.E) = (x, w, Out.Grad!, x.RequiresGrad ? x.Grad! : null);
            (g.job.I0, g.job.I1, g.job.P0, g.job.Flag) = (f, d, (int)type, x.RequiresGrad);
            (g.job.F0, g.job.F1) = (w.RequiresGrad ? 1f : 0f, fresh ? 1f : 0f);
            g.job.Run(&BilinearBackwardPart);
            if (w.RequiresGrad)
            {
                var gw = g.GradFor(w, out var freshW);
                if (freshW)
                {
                    g.CombinePartials(parts, w.Length, 0, stride, gw);
                }
                else
                {
                    for (var p = 0; p < parts; p++)
                    {
                        TensorPrimitives.Add(gw, g.job.Partials.AsSpan(p * stride, w.Length), gw);
                    }
                }
            }
        }
    }
}
