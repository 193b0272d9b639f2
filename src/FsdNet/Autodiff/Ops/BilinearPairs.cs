using System.Runtime.Intrinsics;
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
        if (type != BilinearType.FieldInteraction)
        {
            ByLeftForward(j, start, end);
            return;
        }
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
                for (var b = a + 1; b < f; b++, p++)
                {
                    var v = y.Slice(p * d, d);
                    RowTimesMatrix(ea, w.Slice(WeightOf(type, p, a) * d * d, d * d), v);
                    TensorPrimitives.Multiply(v, e.Slice(b * d, d), v);
                }
            }
        }
    }

    /// <summary><see cref="RowTimesMatrix8"/> on spans (field_interaction's per-pair weights).</summary>
    private static unsafe void RowTimesMatrix(ReadOnlySpan<float> x, ReadOnlySpan<float> wk, Span<float> v)
    {
        fixed (float* px = x)
        fixed (float* pw = wk)
        fixed (float* pv = v)
        {
            RowTimesMatrix8(px, pw, pv, x.Length);
        }
    }

    /// <summary>
    /// Backward of one row block: per pair, v = e_a W_k (recomputed), de_b += dy * v, dv = dy * e_b,
    /// de_a += W_k dv, dW_k += e_a^T dv (into this part's partial). Where W_k depends on the left field only
    /// (field_all, field_each), <see cref="ByLeftBackward"/> computes v once per left field and sums the pairs' dv
    /// before the two products with W_k and e_a. Partials hold [dW | v | dv | sum of dv] per part.
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
        dw.Clear();
        var wantE = j.Flag;
        var wantW = j.F0 > 0;
        if (type != BilinearType.FieldInteraction)
        {
            ByLeftBackward(j, start, end, block);
            return;
        }
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

    // The field_all / field_each paths on 8-float vectors (Vector256: AVX where there is one): embedding dims are small (10 on Frappe, 16 on Criteo),
    // where a TensorPrimitives call per d-vector costs more than its arithmetic. Each d-vector is walked in full
    // 8-float chunks and a scalar tail (no masked or partial vector accesses: a later wide load of a partly stored
    // chunk cannot be forwarded and stalls). Products and sums are element-wise as in the span path (x * y, then
    // + addend, each rounded); only the dot products of the backward pass sum in another order.

    /// <summary>v = x W for x [d], W [d, d] row-major: the sum of W's rows weighted by x, in row order.</summary>
    private static unsafe void RowTimesMatrix8(float* x, float* w, float* v, int d)
    {
        var c = 0;
        for (; c + 8 <= d; c += 8)
        {
            var acc = Vector256.Load(w + c) * Vector256.Create(x[0]);
            for (var k = 1; k < d; k++)
            {
                acc = (Vector256.Load(w + (k * d) + c) * Vector256.Create(x[k])) + acc;
            }
            Vector256.Store(acc, v + c);
        }
        for (; c < d; c++)
        {
            var acc = w[c] * x[0];
            for (var k = 1; k < d; k++)
            {
                acc = (w[(k * d) + c] * x[k]) + acc;
            }
            v[c] = acc;
        }
    }

    /// <summary>Forward rows [start, end) for weights chosen by the left field (see <see cref="BilinearForwardPart"/>).</summary>
    private static unsafe void ByLeftForward(RangeJob j, int start, int end)
    {
        var (f, d, type) = (j.I0, j.I1, (BilinearType)(int)j.P0);
        var pairs = f * (f - 1) / 2;
        float* w = j.B!.Pointer, x = j.A!.Pointer, y = j.C!.Pointer;
        for (var r = start; r < end; r++)
        {
            var e = x + ((long)r * f * d);
            var yr = y + ((long)r * pairs * d);
            var p = 0;
            for (var a = 0; a < f - 1; a++)
            {
                // u = e_a W into the slot of the pair (a, f-1), then out[(a, b)] = u * e_b, the last slot in place.
                var u = yr + ((long)(p + (f - 1 - a) - 1) * d);
                RowTimesMatrix8(e + (a * d), w + ((long)WeightOf(type, p, a) * d * d), u, d);
                for (var b = a + 1; b < f; b++, p++)
                {
                    var eb = e + (b * d);
                    var yp = yr + ((long)p * d);
                    var c = 0;
                    for (; c + 8 <= d; c += 8)
                    {
                        Vector256.Store(Vector256.Load(u + c) * Vector256.Load(eb + c), yp + c);
                    }
                    for (; c < d; c++)
                    {
                        yp[c] = u[c] * eb[c];
                    }
                }
            }
        }
    }

    /// <summary>
    /// Backward rows [start, end) for weights chosen by the left field: per left field a, v = e_a W (recomputed),
    /// dvSum = sum_b dy_(a,b) * e_b, de_b += dy_(a,b) * v, de_a += W dvSum, dW += e_a^T dvSum (into this part's
    /// partial, <paramref name="block"/>: [dW | v | dv | dvSum]).
    /// </summary>
    private static unsafe void ByLeftBackward(RangeJob j, int start, int end, Span<float> block)
    {
        var (f, d, type) = (j.I0, j.I1, (BilinearType)(int)j.P0);
        var pairs = f * (f - 1) / 2;
        var wantE = j.Flag;
        var wantW = j.F0 > 0;
        var freshE = j.F1 > 0;
        float* w = j.B!.Pointer, x = j.A!.Pointer, dyAll = j.D!.Pointer;
        var geAll = wantE ? j.E!.Pointer : null;
        var wLength = j.B!.Length;
        fixed (float* blockPtr = block)
        {
            var dw = blockPtr;
            var v = blockPtr + wLength;
            var dvSum = blockPtr + wLength + (2 * d);
            for (var r = start; r < end; r++)
            {
                var e = x + ((long)r * f * d);
                var dy = dyAll + ((long)r * pairs * d);
                var ge = wantE ? geAll + ((long)r * f * d) : null;
                if (wantE && freshE)
                {
                    new Span<float>(ge, f * d).Clear();
                }
                var p = 0;
                for (var a = 0; a < f - 1; a++)
                {
                    var ea = e + (a * d);
                    var wi = (long)WeightOf(type, p, a) * d * d;
                    var wk = w + wi;
                    if (wantE)
                    {
                        RowTimesMatrix8(ea, wk, v, d);
                    }
                    var dyA = dy + ((long)p * d);
                    var right = f - 1 - a;
                    p += right;
                    var c = 0;
                    for (; c + 8 <= d; c += 8)
                    {
                        var sum = Vector256<float>.Zero;
                        var vc = wantE ? Vector256.Load(v + c) : default;
                        for (var i = 0; i < right; i++)
                        {
                            var dyp = Vector256.Load(dyA + (i * d) + c);
                            var b = a + 1 + i;
                            sum = (dyp * Vector256.Load(e + (b * d) + c)) + sum;
                            if (wantE)
                            {
                                var gb = ge + (b * d) + c;
                                Vector256.Store((dyp * vc) + Vector256.Load(gb), gb);
                            }
                        }
                        Vector256.Store(sum, dvSum + c);
                    }
                    for (; c < d; c++)
                    {
                        var sum = 0f;
                        for (var i = 0; i < right; i++)
                        {
                            var dyp = dyA[(i * d) + c];
                            var b = a + 1 + i;
                            sum = (dyp * e[(b * d) + c]) + sum;
                            if (wantE)
                            {
                                ge[(b * d) + c] = (dyp * v[c]) + ge[(b * d) + c];
                            }
                        }
                        dvSum[c] = sum;
                    }
                    if (wantE)
                    {
                        // de_a[k] += W[k, :] . dvSum
                        var ga = ge + (a * d);
                        for (var k = 0; k < d; k++)
                        {
                            var wr = wk + (k * d);
                            var dot = Vector256<float>.Zero;
                            var cc = 0;
                            for (; cc + 8 <= d; cc += 8)
                            {
                                dot = (Vector256.Load(wr + cc) * Vector256.Load(dvSum + cc)) + dot;
                            }
                            var tail = 0f;
                            for (; cc < d; cc++)
                            {
                                tail = (wr[cc] * dvSum[cc]) + tail;
                            }
                            ga[k] += Vector256.Sum(dot) + tail;
                        }
                    }
                    if (wantW)
                    {
                        // dW[k, :] += e_a[k] * dvSum
                        for (var k = 0; k < d; k++)
                        {
                            var row = dw + wi + (k * d);
                            var sk = ea[k];
                            var s8 = Vector256.Create(sk);
                            var cc = 0;
                            for (; cc + 8 <= d; cc += 8)
                            {
                                Vector256.Store((Vector256.Load(dvSum + cc) * s8) + Vector256.Load(row + cc), row + cc);
                            }
                            for (; cc < d; cc++)
                            {
                                row[cc] = (dvSum[cc] * sk) + row[cc];
                            }
                        }
                    }
                }
            }
        }
    }

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
