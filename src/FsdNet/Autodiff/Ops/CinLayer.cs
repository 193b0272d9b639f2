using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using FsdNet.Tensors;

namespace FsdNet.Autodiff;

internal sealed partial class Graph
{
    /// <summary>
    /// One layer of xDeepFM's compressed interaction network, fused: with the field embeddings x0 [B, F*d] (F fields
    /// of dim d, field-major as the embedding layer writes them) and the previous feature maps <paramref name="previous"/>
    /// [B, d, H] (null for the first layer, where the previous maps are x0's own F fields), every pair of a field f
    /// and a map h gives the Hadamard product x0_f * x_h over the embedding dim, and a 1x1 convolution compresses the
    /// F*H products to U maps: y[b, e, u] = bias[u] + sum_{f,h} w[u, f*H + h] x0[b, f, e] x[b, e, h].
    /// The result is [B, d, U] (dim-major, so the convolution is one [B*d, F*H] x [F*H, U] matrix product and the
    /// products of a row are contiguous). <paramref name="weight"/> is [U, F*H] (channel f*H + h, FuxiCTR's order),
    /// <paramref name="bias"/> [U]. The products are built in parallel over the B*d rows into a pooled buffer that
    /// the backward pass reuses.
    /// </summary>
    public Tensor CinLayer(Tensor x0, int fields, Tensor? previous, Tensor weight, Tensor bias)
    {
        if (x0.Shape.Rank != 2 || fields < 1 || x0.Shape.D1 % fields != 0)
        {
            throw new ArgumentException($"CinLayer: x0 {x0.Shape} is not [rows, {fields} fields x dim].");
        }
        int rows = x0.Shape.D0, dim = x0.Shape.D1 / fields;
        var h = previous?.Shape.D2 ?? fields;
        if (previous is not null && (previous.Shape.Rank != 3 || previous.Shape.D0 != rows || previous.Shape.D1 != dim))
        {
            throw new ArgumentException($"CinLayer: previous maps {previous.Shape} do not fit x0 {x0.Shape} (expected [{rows}, {dim}, H]).");
        }
        var units = weight.Shape.D0;
        if (weight.Shape.Rank != 2 || weight.Shape.D1 != fields * h || bias.Shape != new Shape(units))
        {
            throw new ArgumentException($"CinLayer: weight {weight.Shape} / bias {bias.Shape} do not fit {fields} fields x {h} maps (expected [U, {fields * h}] and [U]).");
        }
        var track = GradEnabled && (x0.RequiresGrad || (previous?.RequiresGrad ?? false) || weight.RequiresGrad || bias.RequiresGrad);
        var z = Scratch(new Shape(rows * dim, fields * h));
        job.PlanRows(rows * dim, fields * h, ElementGrain);
        (job.A, job.B, job.C) = (x0, previous ?? x0, z);
        (job.I0, job.I1, job.P0, job.Flag) = (fields, dim, h, previous is null);
        unsafe
        {
            job.Run(&ProductsPart);
        }
        var y = Output(new Shape(rows, dim, units), track);
        FillRows(y, bias);
        GemmRaw(false, true, rows * dim, units, fields * h, z, weight, y, beta: 1f);
        Trace?.Add(TraceKind.CinLayer, y, [x0, previous, weight, bias], [fields]);
        if (track)
        {
            Record<CinLayerOp>(y).Set(x0, previous, weight, bias, z, fields);
        }
        return y;
    }

    /// <summary>The maps x[b, e, :] of a CIN row (b, e): x0's fields for the first layer, else the previous maps.</summary>
    private static void CinMaps(RangeJob j, int r, Span<float> x0col, out ReadOnlySpan<float> maps)
    {
        var (fields, dim) = (j.I0, j.I1);
        int b = r / dim, e = r % dim;
        var x0row = j.A!.Row(b);
        for (var f = 0; f < fields; f++)
        {
            x0col[f] = x0row[(f * dim) + e];
        }
        maps = j.Flag ? x0col : j.B!.Span.Slice(r * (int)j.P0, (int)j.P0);
    }

    private static void ProductsPart(RangeJob j, int part, int start, int end)
    {
        var (fields, h) = (j.I0, (int)j.P0);
        Span<float> x0col = fields <= 256 ? stackalloc float[fields] : new float[fields];
        var z = j.C!;
        for (var r = start; r < end; r++)
        {
            CinMaps(j, r, x0col, out var maps);
            var zr = z.Row(r);
            for (var f = 0; f < fields; f++)
            {
                TensorPrimitives.Multiply(maps, x0col[f], zr.Slice(f * h, h));
            }
        }
    }

    /// <summary>
    /// Row (b, e) of the CIN backward: with dz = dy w (the gradient of the products), dx[b, e, h] (+)= sum_f x0[b, f, e]
    /// dz[f*H + h] and dx0[b, f, e] (+)= sum_h dz[f*H + h] x[b, e, h] (both for the first layer, where x is x0).
    /// </summary>
    private static void ProductsBackPart(RangeJob j, int part, int start, int end)
    {
        var (fields, dim, h) = (j.I0, j.I1, (int)j.P0);
        var first = j.Flag;
        var x0Grad = j.D;
        var prevGrad = j.E;
        var freshX0 = j.F0 != 0;
        var freshPrev = j.F1 != 0;
        Span<float> x0col = fields <= 256 ? stackalloc float[fields] : new float[fields];
        Span<float> dcol = fields <= 256 ? stackalloc float[fields] : new float[fields];
        var dz = j.C!;
        for (var r = start; r < end; r++)
        {
            CinMaps(j, r, x0col, out var maps);
            var dzr = dz.Row(r);
            int b = r / dim, e = r % dim;
            if (x0Grad is not null)
            {
                for (var f = 0; f < fields; f++)
                {
                    dcol[f] = TensorPrimitives.Dot(dzr.Slice(f * h, h), maps);
                }
            }
            if (first && x0Grad is not null)
            {
                // The maps are x0 itself: the f-th map also collects sum_f' x0[f'] dz[f'*F + f].
                for (var f = 0; f < fields; f++)
                {
                    for (var f2 = 0; f2 < fields; f2++)
                    {
                        dcol[f] += x0col[f2] * dzr[(f2 * h) + f];
                    }
                }
            }
            else if (prevGrad is not null)
            {
                var gp = prevGrad.Span.Slice(r * h, h);
                for (var f = 0; f < fields; f++)
                {
                    if (f == 0 && freshPrev)
                    {
                        TensorPrimitives.Multiply(dzr.Slice(0, h), x0col[0], gp);
                    }
                    else
                    {
                        TensorPrimitives.MultiplyAdd(dzr.Slice(f * h, h), x0col[f], gp, gp);
                    }
                }
            }
            if (x0Grad is not null)
            {
                var gx = x0Grad.Row(b);
                for (var f = 0; f < fields; f++)
                {
                    var k = (f * dim) + e;
                    gx[k] = freshX0 ? dcol[f] : gx[k] + dcol[f];
                }
            }
        }
    }

    private sealed class CinLayerOp : Op
    {
        private Tensor x0 = null!, w = null!, b = null!, z = null!;
        private Tensor? prev;
        private int fields;

        public void Set(Tensor input, Tensor? previous, Tensor weight, Tensor bias, Tensor products, int f) =>
            (x0, prev, w, b, z, fields) = (input, previous, weight, bias, products, f);

        public override unsafe void Backward(Graph g)
        {
            var dy = Out.Grad!;
            int rows = x0.Shape.D0, dim = Out.Shape.D1, units = Out.Shape.D2, k = z.Shape.D1;
            var m = rows * dim;
            if (w.RequiresGrad)
            {
                g.GradFor(w, out var fresh);
                Gemm(true, false, units, k, m, dy, z, w.Grad!, fresh);
            }
            if (b.RequiresGrad)
            {
                var db = g.GradFor(b, out var fresh);
                g.ColumnSum(dy, m, units, db, fresh);
            }
            var needPrev = prev is { RequiresGrad: true };
            if (!x0.RequiresGrad && !needPrev)
            {
                return;
            }
            var dz = g.Scratch(z.Shape);
            Gemm(false, false, m, k, units, dy, w, dz, fresh: true);
            var freshX0 = false;
            var freshPrev = false;
            if (x0.RequiresGrad)
            {
                g.GradFor(x0, out freshX0);
            }
            if (needPrev)
            {
                g.GradFor(prev!, out freshPrev);
            }
            g.job.PlanRows(m, k, ElementGrain);
            (g.job.A, g.job.B, g.job.C) = (x0, prev ?? x0, dz);
            (g.job.D, g.job.E) = (x0.RequiresGrad ? x0.Grad : null, needPrev ? prev!.Grad : null);
            (g.job.I0, g.job.I1, g.job.P0, g.job.Flag) = (fields, dim, k / fields, prev is null);
            (g.job.F0, g.job.F1) = (freshX0 ? 1f : 0f, freshPrev ? 1f : 0f);
            g.job.Run(&ProductsBackPart);
        }
    }
}
