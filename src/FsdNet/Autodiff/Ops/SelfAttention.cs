using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using FsdNet.Tensors;

namespace FsdNet.Autodiff;

internal sealed partial class Graph
{
    /// <summary>
    /// Multi-head scaled dot-product self-attention, fused (AutoInt's interacting layer): q, k and v are [B*F, A]
    /// (F rows per sample, A = heads x head_dim, head h in columns h*head_dim ..); per sample and head
    /// P = softmax(scale * Q_h K_h^T) over the last axis, dropout on P (inverted, the mask of <see cref="Dropout"/>
    /// on the [B, F, F] attention tensor of that head, one key per head drawn in head order), and out_h = P V_h,
    /// written into the head's columns of the [B*F, A] result. The same values as the composed ops (column slices,
    /// <see cref="BatchMatMul"/>, <see cref="Affine"/>, <see cref="Softmax"/>, <see cref="Dropout"/>, <see cref="Concat"/>)
    /// up to rounding, without their intermediates: only P [B, heads, F, F] is kept for the backward pass. Parallel over
    /// samples. q, k and v must be distinct tensors.
    /// </summary>
    public unsafe Tensor SelfAttention(Tensor q, Tensor k, Tensor v, int fields, int heads, float scale, float dropout)
    {
        CheckSame("SelfAttention", q, k);
        CheckSame("SelfAttention", q, v);
        if (q.Shape.Rank != 2 || fields < 1 || heads < 1 || q.Shape.D0 % fields != 0 || q.Shape.D1 % heads != 0)
        {
            throw new ArgumentException($"SelfAttention needs [B*F, heads*head_dim] inputs, got {q.Shape} with F = {fields}, heads = {heads}.");
        }
        if (ReferenceEquals(q, k) || ReferenceEquals(q, v) || ReferenceEquals(k, v))
        {
            throw new ArgumentException("SelfAttention: q, k and v must be distinct tensors.");
        }
        if (dropout is < 0f or >= 1f)
        {
            throw new ArgumentOutOfRangeException(nameof(dropout), dropout, "Dropout probability must be in [0, 1).");
        }
        var drop = Training && dropout > 0f;
        var track = GradEnabled && (q.RequiresGrad || k.RequiresGrad || v.RequiresGrad);
        var samples = q.Shape.D0 / fields;
        var y = Output(q.Shape, track);
        var p = Scratch(new Shape(samples * heads, fields * fields));
        var keys = drop ? Scratch(new Shape(2 * heads)) : null;
        if (keys is not null)
        {
            var ks = MemoryMarshal.Cast<float, uint>(keys.Span);
            for (var h = 0; h < heads; h++)
            {
                var key = Random.NextULong();
                (ks[2 * h], ks[(2 * h) + 1]) = ((uint)key, (uint)(key >> 32));
            }
        }
        job.Plan(samples, AttentionGrain(fields, q.Shape.D1));
        (job.A, job.B, job.C, job.D, job.E, job.F) = (q, k, v, p, y, keys);
        (job.I0, job.I1, job.I2, job.F0, job.F1) = (fields, heads, RowOffset, scale, dropout);
        job.Run(&SelfAttentionForwardPart);
        Trace?.Add(drop ? TraceKind.TrainingOnly : TraceKind.SelfAttention, y, [q, k, v], [fields, heads], [scale], "attention dropout in training");
        if (track)
        {
            Record<SelfAttentionOp>(y).Set(q, k, v, p, keys, fields, heads, scale, dropout, RowOffset);
        }
        return y;
    }

    /// <summary>Samples per part: about 2^15 multiply-adds of the products.</summary>
    private static int AttentionGrain(int fields, int width) => Math.Max(1, ElementGrain / Math.Max(1, fields * fields * width));

    /// <summary>
    /// Whether the AVX-512 block kernels apply: a sample's F &lt;= 16 attention weights of one query fit in one vector,
    /// and head_dim is a multiple of 16 (up to 256).
    /// </summary>
    private static bool AttentionBlocks(int fields, int dh) => Vector512.IsHardwareAccelerated && fields <= 16 && dh % 16 == 0 && dh <= 256;

    private static void SelfAttentionForwardPart(RangeJob j, int part, int start, int end)
    {
        if (AttentionBlocks(j.I0, j.A!.Shape.D1 / j.I1))
        {
            AttentionForwardBlocks(j, start, end);
            return;
        }
        if (AttentionBlocks256(j.I0, j.A!.Shape.D1 / j.I1))
        {
            AttentionForwardBlocks256(j, start, end);
            return;
        }
        Span<float> q = j.A!.Span, k = j.B!.Span, v = j.C!.Span, p = j.D!.Span, y = j.E!.Span;
        int f = j.I0, heads = j.I1, width = j.A!.Shape.D1, dh = width / heads, ff = f * f;
        var keys = j.F is null ? default : MemoryMarshal.Cast<float, uint>(j.F.Span);
        var scale = j.F0;
        var (threshold, keepScale) = DropoutConstants(j.F1);
        for (var b = start; b < end; b++)
        {
            var rows = b * f * width;
            for (var h = 0; h < heads; h++)
            {
                var pb = p.Slice(((b * heads) + h) * ff, ff);
                var col = rows + (h * dh);
                for (var i = 0; i < f; i++)
                {
                    var qi = q.Slice(col + (i * width), dh);
                    var pr = pb.Slice(i * f, f);
                    for (var c = 0; c < f; c++)
                    {
                        pr[c] = Dot(qi, k.Slice(col + (c * width), dh)) * scale;
                    }
                    TensorPrimitives.SoftMax(pr, pr);
                }
                for (var i = 0; i < f; i++)
                {
                    var yi = y.Slice(col + (i * width), dh);
                    yi.Clear();
                    var pr = pb.Slice(i * f, f);
                    var first = (uint)(((b + j.I2) * ff) + (i * f));
                    for (var c = 0; c < f; c++)
                    {
                        var w = keys.IsEmpty ? pr[c] : Masked(pr[c], keys, h, first + (uint)c, threshold, keepScale);
                        Axpy(w, v.Slice(col + (c * width), dh), yi);
                    }
                }
            }
        }
    }

    private sealed class SelfAttentionOp : Op
    {
        private Tensor q = null!, k = null!, v = null!, p = null!;
        private Tensor? keys;
        private int fields, heads;
        private float scale, dropout;
        private int rowOffset;

        public void Set(Tensor query, Tensor key, Tensor value, Tensor probs, Tensor? maskKeys, int f, int h, float s, float d, int firstRow) =>
            (q, k, v, p, keys, fields, heads, scale, dropout, rowOffset) = (query, key, value, probs, maskKeys, f, h, s, d, firstRow);

        public override unsafe void Backward(Graph g)
        {
            // Bits: 1 q, 2 k, 4 v (which gradients to write); the same bits in fresh mark a buffer to overwrite.
            int want = 0, fresh = 0;
            g.ClaimGrad(q, 1, ref want, ref fresh);
            g.ClaimGrad(k, 2, ref want, ref fresh);
            g.ClaimGrad(v, 4, ref want, ref fresh);
            var job = g.job;
            job.Plan(q.Shape.D0 / fields, AttentionGrain(fields, q.Shape.D1));
            var dh = q.Shape.D1 / heads;
            if (!AttentionBlocks(fields, dh))
            {
                job.EnsurePartials((fields * fields) + (3 * fields * dh)); // the general path's per-part blocks
            }
            (job.A, job.B, job.C, job.D, job.E, job.F) = (q, k, v, p, Out.Grad, keys);
            (job.I0, job.I1, job.I2, job.F0, job.F1) = (fields, heads, rowOffset, scale, dropout);
            job.P0 = want | (fresh << 8);
            job.Run(&SelfAttentionBackwardPart);
        }
    }

    /// <summary>
    /// Per sample and head, with P' = dropout(P): dP' = dY V^T, dV = P'^T dY, dP = mask(dP'),
    /// dS = scale * P * (dP - rowsum(P * dP)), dQ = dS K, dK = dS^T Q; each written or added once.
    /// </summary>
    private static void SelfAttentionBackwardPart(RangeJob j, int part, int start, int end)
    {
        if (AttentionBlocks(j.I0, j.A!.Shape.D1 / j.I1))
        {
            AttentionBackwardBlocks(j, start, end);
            return;
        }
        Span<float> q = j.A!.Span, k = j.B!.Span, v = j.C!.Span, p = j.D!.Span, dy = j.E!.Span;
        var want = (int)(j.P0 & 0xff);
        var fresh = (int)(j.P0 >> 8);
        var dq = (want & 1) != 0 ? j.A!.Grad!.Span : default;
        var dk = (want & 2) != 0 ? j.B!.Grad!.Span : default;
        var dv = (want & 4) != 0 ? j.C!.Grad!.Span : default;
        int f = j.I0, heads = j.I1, width = j.A!.Shape.D1, dh = width / heads, ff = f * f;
        var keys = j.F is null ? default : MemoryMarshal.Cast<float, uint>(j.F.Span);
        var scale = j.F0;
        var (threshold, keepScale) = DropoutConstants(j.F1);
        var scratch = j.Partials.AsSpan(part * (ff + (3 * f * dh)), ff + (3 * f * dh));
        var ds = scratch[..ff];
        var gq = scratch.Slice(ff, f * dh);
        var gk = scratch.Slice(ff + (f * dh), f * dh);
        var gv = scratch.Slice(ff + (2 * f * dh), f * dh);
        for (var b = start; b < end; b++)
        {
            var rows = b * f * width;
            for (var h = 0; h < heads; h++)
            {
                var pb = p.Slice(((b * heads) + h) * ff, ff);
                var col = rows + (h * dh);
                gv.Clear();
                for (var i = 0; i < f; i++)
                {
                    var dyi = dy.Slice(col + (i * width), dh);
                    var first = (uint)(((b + j.I2) * ff) + (i * f));
                    var pr = pb.Slice(i * f, f);
                    var dr = ds.Slice(i * f, f);
                    for (var c = 0; c < f; c++)
                    {
                        // dP'_ic = dY_i . V_c; dV_c += P'_ic dY_i; the mask (and its scale) carries dP' back to dP.
                        var m = keys.IsEmpty ? 1f : Masked(1f, keys, h, first + (uint)c, threshold, keepScale);
                        dr[c] = m == 0f ? 0f : Dot(dyi, v.Slice(col + (c * width), dh)) * m;
                        if (!dv.IsEmpty)
                        {
                            Axpy(pr[c] * m, dyi, gv.Slice(c * dh, dh));
                        }
                    }
                    var dot = TensorPrimitives.Dot<float>(pr, dr);
                    for (var c = 0; c < f; c++)
                    {
                        dr[c] = pr[c] * (dr[c] - dot) * scale;
                    }
                }
                if (!dq.IsEmpty)
                {
                    gq.Clear();
                    for (var i = 0; i < f; i++)
                    {
                        var gqi = gq.Slice(i * dh, dh);
                        for (var c = 0; c < f; c++)
                        {
                            Axpy(ds[(i * f) + c], k.Slice(col + (c * width), dh), gqi);
                        }
                    }
                    Store(gq, dq, col, width, dh, f, (fresh & 1) != 0);
                }
                if (!dk.IsEmpty)
                {
                    gk.Clear();
                    for (var i = 0; i < f; i++)
                    {
                        var qi = q.Slice(col + (i * width), dh);
                        for (var c = 0; c < f; c++)
                        {
                            Axpy(ds[(i * f) + c], qi, gk.Slice(c * dh, dh));
                        }
                    }
                    Store(gk, dk, col, width, dh, f, (fresh & 2) != 0);
                }
                if (!dv.IsEmpty)
                {
                    Store(gv, dv, col, width, dh, f, (fresh & 4) != 0);
                }
            }
        }
    }

    /// <summary>
    /// The forward pass on AVX-512 registers: per sample, head and query row i, the F scores are one vector
    /// (scale * sum_d q_id K^T_d over K transposed into 16-wide rows), softmax on its F lanes, the dropout mask as a
    /// lane vector (the hash of <see cref="Kernels.Dropout"/>), and out_i = sum_j P'_ij V_j accumulated in registers.
    /// </summary>
    private static unsafe void AttentionForwardBlocks(RangeJob j, int start, int end)
    {
        int f = j.I0, heads = j.I1, width = j.A!.Shape.D1, dh = width / heads, ff = f * f;
        var drop = j.F is not null;
        var (threshold, keepScale) = DropoutConstants(j.F1);
        var scale = j.F0;
        var kt = stackalloc float[dh * 16];
        var pms = stackalloc float[16 * 16];
        new Span<float>(kt, dh * 16).Clear();
        var lane = Vector512.Create(0u, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        var valid = Vector512.LessThan(lane, Vector512.Create((uint)f)).AsSingle();
        var minusInf = Vector512.Create(float.NegativeInfinity);
        fixed (float* q0 = j.A!.Span, k0 = j.B!.Span, v0 = j.C!.Span, p0 = j.D!.Span, y0 = j.E!.Span)
        {
            var keys = drop ? (uint*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(j.F!.Span)) : null;
            for (var b = start; b < end; b++)
            {
                for (var h = 0; h < heads; h++)
                {
                    var col = (b * f * width) + (h * dh);
                    var pb = p0 + ((((long)b * heads) + h) * ff);
                    TransposeBlock(k0 + col, f, dh, width, kt);
                    // Scores of four query rows at a time.
                    for (var i0 = 0; i0 < f; i0 += 4)
                    {
                        FourRowsTimesBlock(q0 + col, i0, f, width, kt, dh, out var s0, out var s1, out var s2, out var s3);
                        for (var r = 0; r < 4 && i0 + r < f; r++)
                        {
                            var i = i0 + r;
                            var sr = r switch { 0 => s0, 1 => s1, 2 => s2, _ => s3 };
                            sr = Vector512.ConditionalSelect(valid, sr * scale, minusInf);
                            var e = Vector512.Exp(sr - BroadcastMax(sr));
                            var pr = e * (1f / Vector512.Sum(e));
                            pr.Store(pms + (i * 16));
                            new Span<float>(pms + (i * 16), f).CopyTo(new Span<float>(pb + (i * f), f));
                            if (drop)
                            {
                                (pr * KeepVector(keys, h, (uint)(((b + j.I2) * ff) + (i * f)), lane, threshold, keepScale)).Store(pms + (i * 16));
                            }
                        }
                    }
                    // out_i = sum_c P'_ic V_c
                    RowCombine(pms, v0 + col, y0 + col, f, dh, width, rowMajor: true, fresh: true);
                }
            }
        }
    }

    /// <summary>
    /// Whether the AVX2 forward block kernel applies (no AVX-512): a query's F &lt;= 16 weights in two 8-wide vectors and
    /// head_dim a multiple of 8 (up to 256). The backward pass keeps the general path there.
    /// </summary>
    private static bool AttentionBlocks256(int fields, int dh) =>
        !Vector512.IsHardwareAccelerated && Vector256.IsHardwareAccelerated && fields <= 16 && dh % 8 == 0 && dh <= 256;

    /// <summary>
    /// <see cref="AttentionForwardBlocks"/> on AVX2 registers: a query's 16 score lanes in two 8-wide halves, four
    /// queries at a time; dropout (training only) masks the stored weights lane by lane.
    /// </summary>
    private static unsafe void AttentionForwardBlocks256(RangeJob j, int start, int end)
    {
        int f = j.I0, heads = j.I1, width = j.A!.Shape.D1, dh = width / heads, ff = f * f;
        var drop = j.F is not null;
        var keys = drop ? MemoryMarshal.Cast<float, uint>(j.F!.Span) : default;
        var (threshold, keepScale) = DropoutConstants(j.F1);
        var scale = j.F0;
        var kt = stackalloc float[dh * 16];
        var pms = stackalloc float[16 * 16];
        new Span<float>(kt, dh * 16).Clear();
        var lane = Vector256.Create(0u, 1, 2, 3, 4, 5, 6, 7);
        var validLo = Vector256.LessThan(lane, Vector256.Create((uint)f)).AsSingle();
        var validHi = Vector256.LessThan(lane + Vector256.Create(8u), Vector256.Create((uint)f)).AsSingle();
        var minusInf = Vector256.Create(float.NegativeInfinity);
        fixed (float* q0 = j.A!.Span, k0 = j.B!.Span, v0 = j.C!.Span, p0 = j.D!.Span, y0 = j.E!.Span)
        {
            for (var b = start; b < end; b++)
            {
                for (var h = 0; h < heads; h++)
                {
                    var col = (b * f * width) + (h * dh);
                    var pb = p0 + ((((long)b * heads) + h) * ff);
                    TransposeBlock(k0 + col, f, dh, width, kt);
                    for (var i0 = 0; i0 < f; i0 += 4)
                    {
                        // Scores of four query rows (rows past F - 1 repeat the last one), two halves each.
                        float* xa = q0 + col + ((long)i0 * width), xb = q0 + col + ((long)Math.Min(i0 + 1, f - 1) * width);
                        float* xc = q0 + col + ((long)Math.Min(i0 + 2, f - 1) * width), xd = q0 + col + ((long)Math.Min(i0 + 3, f - 1) * width);
                        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default, c0 = default, c1 = default, c2 = default, c3 = default;
                        for (var d = 0; d < dh; d++)
                        {
                            var lo = Vector256.Load(kt + (d * 16));
                            var hi = Vector256.Load(kt + (d * 16) + 8);
                            var va = Vector256.Create(xa[d]);
                            var vb = Vector256.Create(xb[d]);
                            var vc = Vector256.Create(xc[d]);
                            var vd = Vector256.Create(xd[d]);
                            (a0, c0) = (Vector256.FusedMultiplyAdd(va, lo, a0), Vector256.FusedMultiplyAdd(va, hi, c0));
                            (a1, c1) = (Vector256.FusedMultiplyAdd(vb, lo, a1), Vector256.FusedMultiplyAdd(vb, hi, c1));
                            (a2, c2) = (Vector256.FusedMultiplyAdd(vc, lo, a2), Vector256.FusedMultiplyAdd(vc, hi, c2));
                            (a3, c3) = (Vector256.FusedMultiplyAdd(vd, lo, a3), Vector256.FusedMultiplyAdd(vd, hi, c3));
                        }
                        for (var r = 0; r < 4 && i0 + r < f; r++)
                        {
                            var i = i0 + r;
                            var (sl, sh) = r switch { 0 => (a0, c0), 1 => (a1, c1), 2 => (a2, c2), _ => (a3, c3) };
                            sl = Vector256.ConditionalSelect(validLo, sl * scale, minusInf);
                            sh = Vector256.ConditionalSelect(validHi, sh * scale, minusInf);
                            var max = Vector256.Create(HorizontalMax(Vector256.Max(sl, sh)));
                            var el = Vector256.Exp(sl - max);
                            var eh = Vector256.Exp(sh - max);
                            var inv = Vector256.Create(1f / Vector256.Sum(el + eh));
                            (el * inv).Store(pms + (i * 16));
                            (eh * inv).Store(pms + (i * 16) + 8);
                            new Span<float>(pms + (i * 16), f).CopyTo(new Span<float>(pb + (i * f), f));
                            if (drop)
                            {
                                var first = (uint)(((b + j.I2) * ff) + (i * f));
                                for (var c = 0; c < f; c++)
                                {
                                    pms[(i * 16) + c] = Masked(pms[(i * 16) + c], keys, h, first + (uint)c, threshold, keepScale);
                                }
                            }
                        }
                    }
                    // out_i = sum_c P'_ic V_c, four rows at a time, 8 columns at a time.
                    float* v = v0 + col, y = y0 + col;
                    for (var r0 = 0; r0 < f; r0 += 4)
                    {
                        var (r1, r2, r3) = (Math.Min(r0 + 1, f - 1), Math.Min(r0 + 2, f - 1), Math.Min(r0 + 3, f - 1));
                        float* wa = pms + (r0 * 16), wb = pms + (r1 * 16), wc = pms + (r2 * 16), wd = pms + (r3 * 16);
                        for (var c = 0; c < dh; c += 8)
                        {
                            Vector256<float> o0 = default, o1 = default, o2 = default, o3 = default;
                            for (var t = 0; t < f; t++)
                            {
                                var xv = Vector256.Load(v + ((long)t * width) + c);
                                o0 = Vector256.FusedMultiplyAdd(Vector256.Create(wa[t]), xv, o0);
                                o1 = Vector256.FusedMultiplyAdd(Vector256.Create(wb[t]), xv, o1);
                                o2 = Vector256.FusedMultiplyAdd(Vector256.Create(wc[t]), xv, o2);
                                o3 = Vector256.FusedMultiplyAdd(Vector256.Create(wd[t]), xv, o3);
                            }
                            o0.Store(y + ((long)r0 * width) + c);
                            if (r0 + 1 < f)
                            {
                                o1.Store(y + ((long)r1 * width) + c);
                            }
                            if (r0 + 2 < f)
                            {
                                o2.Store(y + ((long)r2 * width) + c);
                            }
                            if (r0 + 3 < f)
                            {
                                o3.Store(y + ((long)r3 * width) + c);
                            }
                        }
                    }
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float HorizontalMax(Vector256<float> s)
    {
        var m = Vector128.Max(s.GetLower(), s.GetUpper());
        m = Vector128.Max(m, Vector128.Shuffle(m, Vector128.Create(2, 3, 0, 1)));
        m = Vector128.Max(m, Vector128.Shuffle(m, Vector128.Create(1, 0, 3, 2)));
        return m.ToScalar();
    }

    /// <summary>The backward pass on AVX-512 registers (see <see cref="SelfAttentionBackwardPart"/> for the algebra).</summary>
    private static unsafe void AttentionBackwardBlocks(RangeJob j, int start, int end)
    {
        int f = j.I0, heads = j.I1, width = j.A!.Shape.D1, dh = width / heads, ff = f * f;
        var want = (int)(j.P0 & 0xff);
        var fresh = (int)(j.P0 >> 8);
        var drop = j.F is not null;
        var (threshold, keepScale) = DropoutConstants(j.F1);
        var scale = j.F0;
        var vt = stackalloc float[dh * 16];
        var pms = stackalloc float[16 * 16];
        var dss = stackalloc float[16 * 16];
        var prow = stackalloc float[16];
        new Span<float>(vt, dh * 16).Clear();
        new Span<float>(prow, 16).Clear();
        var lane = Vector512.Create(0u, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        fixed (float* q0 = j.A!.Span, k0 = j.B!.Span, v0 = j.C!.Span, p0 = j.D!.Span, dy0 = j.E!.Span)
        {
            var dq0 = (want & 1) != 0 ? (float*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(j.A!.Grad!.Span)) : null;
            var dk0 = (want & 2) != 0 ? (float*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(j.B!.Grad!.Span)) : null;
            var dv0 = (want & 4) != 0 ? (float*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(j.C!.Grad!.Span)) : null;
            var keys = drop ? (uint*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(j.F!.Span)) : null;
            for (var b = start; b < end; b++)
            {
                for (var h = 0; h < heads; h++)
                {
                    var col = (b * f * width) + (h * dh);
                    var pb = p0 + ((((long)b * heads) + h) * ff);
                    TransposeBlock(v0 + col, f, dh, width, vt);
                    for (var i0 = 0; i0 < f; i0 += 4)
                    {
                        FourRowsTimesBlock(dy0 + col, i0, f, width, vt, dh, out var s0, out var s1, out var s2, out var s3);
                        for (var r = 0; r < 4 && i0 + r < f; r++)
                        {
                            // dP'_i = dY_i V^T; dP_i = mask(dP'_i); dS_i = scale * P_i * (dP_i - P_i . dP_i)
                            var i = i0 + r;
                            var dpp = r switch { 0 => s0, 1 => s1, 2 => s2, _ => s3 };
                            new Span<float>(pb + (i * f), f).CopyTo(new Span<float>(prow, 16));
                            var pr = Vector512.Load(prow);
                            var m = drop ? KeepVector(keys, h, (uint)(((b + j.I2) * ff) + (i * f)), lane, threshold, keepScale) : Vector512<float>.One;
                            var dp = dpp * m;
                            (pr * m).Store(pms + (i * 16));
                            (pr * (dp - Vector512.Create(Vector512.Sum(pr * dp))) * scale).Store(dss + (i * 16));
                        }
                    }
                    if (dq0 is not null)
                    {
                        // dQ_i = sum_c dS_ic K_c
                        RowCombine(dss, k0 + col, dq0 + col, f, dh, width, rowMajor: true, (fresh & 1) != 0);
                    }
                    if (dk0 is not null)
                    {
                        // dK_c = sum_i dS_ic Q_i
                        RowCombine(dss, q0 + col, dk0 + col, f, dh, width, rowMajor: false, (fresh & 2) != 0);
                    }
                    if (dv0 is not null)
                    {
                        // dV_c = sum_i P'_ic dY_i
                        RowCombine(pms, dy0 + col, dv0 + col, f, dh, width, rowMajor: false, (fresh & 4) != 0);
                    }
                }
            }
        }
    }

    /// <summary>A head's F rows of head_dim floats (stride <paramref name="width"/>) into 16-wide rows: t[d*16 + c] = x_c[d].</summary>
    private static unsafe void TransposeBlock(float* x, int f, int dh, int width, float* t)
    {
        for (var c = 0; c < f; c++)
        {
            var xc = x + ((long)c * width);
            for (var d = 0; d < dh; d++)
            {
                t[(d * 16) + c] = xc[d];
            }
        }
    }

    /// <summary>
    /// s_r = sum_d x_{i0+r}[d] t[d] for r = 0..3 (rows past F - 1 repeat the last row): four 16-wide products of rows
    /// with a transposed block, as independent FMA chains.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void FourRowsTimesBlock(
        float* x, int i0, int f, int width, float* t, int dh,
        out Vector512<float> s0, out Vector512<float> s1, out Vector512<float> s2, out Vector512<float> s3)
    {
        float* xa = x + ((long)i0 * width), xb = x + ((long)Math.Min(i0 + 1, f - 1) * width);
        float* xc = x + ((long)Math.Min(i0 + 2, f - 1) * width), xd = x + ((long)Math.Min(i0 + 3, f - 1) * width);
        (s0, s1, s2, s3) = (default, default, default, default);
        for (var d = 0; d < dh; d++)
        {
            var tv = Vector512.Load(t + (d * 16));
            s0 = Vector512.FusedMultiplyAdd(Vector512.Create(xa[d]), tv, s0);
            s1 = Vector512.FusedMultiplyAdd(Vector512.Create(xb[d]), tv, s1);
            s2 = Vector512.FusedMultiplyAdd(Vector512.Create(xc[d]), tv, s2);
            s3 = Vector512.FusedMultiplyAdd(Vector512.Create(xd[d]), tv, s3);
        }
    }

    /// <summary>
    /// out_r (+)= sum_t w(r, t) x_t over F rows of head_dim floats (stride <paramref name="width"/>), with w the
    /// 16-wide weight block: w(r, t) = w[r*16 + t] when <paramref name="rowMajor"/>, else w[t*16 + r].
    /// </summary>
    private static unsafe void RowCombine(float* w, float* x, float* output, int f, int dh, int width, bool rowMajor, bool fresh)
    {
        // Four output rows at a time (independent FMA chains); a short last group repeats its last row, stored once.
        var (rs, ts) = rowMajor ? (16, 1) : (1, 16);
        for (var r0 = 0; r0 < f; r0 += 4)
        {
            var (r1, r2, r3) = (Math.Min(r0 + 1, f - 1), Math.Min(r0 + 2, f - 1), Math.Min(r0 + 3, f - 1));
            float* wa = w + (r0 * rs), wb = w + (r1 * rs), wc = w + (r2 * rs), wd = w + (r3 * rs);
            for (var c = 0; c < dh; c += 16)
            {
                Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
                var xc = x + c;
                for (var t = 0; t < f; t++)
                {
                    var xv = Vector512.Load(xc + ((long)t * width));
                    a0 = Vector512.FusedMultiplyAdd(Vector512.Create(wa[t * ts]), xv, a0);
                    a1 = Vector512.FusedMultiplyAdd(Vector512.Create(wb[t * ts]), xv, a1);
                    a2 = Vector512.FusedMultiplyAdd(Vector512.Create(wc[t * ts]), xv, a2);
                    a3 = Vector512.FusedMultiplyAdd(Vector512.Create(wd[t * ts]), xv, a3);
                }
                StoreRow(output + ((long)r0 * width) + c, a0, fresh);
                if (r0 + 1 < f)
                {
                    StoreRow(output + ((long)r1 * width) + c, a1, fresh);
                }
                if (r0 + 2 < f)
                {
                    StoreRow(output + ((long)r2 * width) + c, a2, fresh);
                }
                if (r0 + 3 < f)
                {
                    StoreRow(output + ((long)r3 * width) + c, a3, fresh);
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void StoreRow(float* o, Vector512<float> v, bool fresh) => (fresh ? v : v + Vector512.Load(o)).Store(o);

    /// <summary>The keep scale on the lanes whose elements first + lane head h's dropout mask keeps, 0 elsewhere.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector512<float> KeepVector(uint* keys, int h, uint first, Vector512<uint> lane, uint threshold, float keepScale)
    {
        var hv = Kernels.VHash(Kernels.VHash((Vector512.Create(first) + lane) ^ Vector512.Create(keys[2 * h])) + Vector512.Create(keys[(2 * h) + 1]));
        var bias = Vector512.Create(0x80000000U);
        var keep = Vector512.GreaterThanOrEqual((hv ^ bias).AsInt32(), Vector512.Create(threshold ^ 0x80000000U).AsInt32()).AsSingle();
        return Vector512.Create(keepScale) & keep;
    }

    /// <summary>The maximum over the lanes of <paramref name="s"/>, in every lane (a shuffle tree).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> BroadcastMax(Vector512<float> s)
    {
        var m = Vector512.Max(s, Vector512.Shuffle(s, Vector512.Create(8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7)));
        m = Vector512.Max(m, Vector512.Shuffle(m, Vector512.Create(4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11)));
        m = Vector512.Max(m, Vector512.Shuffle(m, Vector512.Create(2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13)));
        return Vector512.Max(m, Vector512.Shuffle(m, Vector512.Create(1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14)));
    }

    /// <summary>Writes (or adds) a head's [F, head_dim] block into its columns of a [B*F, A] gradient.</summary>
    private static void Store(ReadOnlySpan<float> block, Span<float> grad, int col, int width, int dh, int f, bool fresh)
    {
        for (var i = 0; i < f; i++)
        {
            var src = block.Slice(i * dh, dh);
            var dst = grad.Slice(col + (i * width), dh);
            if (fresh)
            {
                src.CopyTo(dst);
            }
            else
            {
                TensorPrimitives.Add(dst, src, dst);
            }
        }
    }

    /// <summary>The threshold and keep scale of <see cref="Dropout"/> for rate <paramref name="rate"/>.</summary>
    private static (uint Threshold, float Scale) DropoutConstants(float rate) =>
        ((uint)Math.Min(Math.Round(rate * 4294967296.0), uint.MaxValue), 1f / (1f - rate));

    /// <summary>x scaled by the keep scale where <see cref="Kernels.Dropout"/>'s mask for head h keeps element <paramref name="index"/>, else 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Masked(float x, ReadOnlySpan<uint> keys, int h, uint index, uint threshold, float keepScale) =>
        Kernels.Hash(Kernels.Hash(index ^ keys[2 * h]) + keys[(2 * h) + 1]) >= threshold ? x * keepScale : 0f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        if (!Vector512.IsHardwareAccelerated || (a.Length & 15) != 0)
        {
            return TensorPrimitives.Dot<float>(a, b);
        }
        var acc = Vector512<float>.Zero;
        for (var i = 0; i < a.Length; i += 16)
        {
            acc = Vector512.FusedMultiplyAdd(Vector512.Create(a.Slice(i, 16)), Vector512.Create(b.Slice(i, 16)), acc);
        }
        return Vector512.Sum(acc);
    }

    /// <summary>y += a * x.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Axpy(float a, ReadOnlySpan<float> x, Span<float> y)
    {
        if (!Vector512.IsHardwareAccelerated || (x.Length & 15) != 0)
        {
            TensorPrimitives.MultiplyAdd(x, a, y, y);
            return;
        }
        var va = Vector512.Create(a);
        for (var i = 0; i < x.Length; i += 16)
        {
            Vector512.FusedMultiplyAdd(Vector512.Create(x.Slice(i, 16)), va, Vector512.Create(y.Slice(i, 16))).CopyTo(y.Slice(i, 16));
        }
    }
}
