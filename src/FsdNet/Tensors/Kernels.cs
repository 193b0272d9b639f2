using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace FsdNet.Tensors;

/// <summary>
/// Fused elementwise kernels that <see cref="System.Numerics.Tensors.TensorPrimitives"/> has no single call for
/// (mostly backward passes). Each writes its result when <c>fresh</c> and adds it otherwise.
/// </summary>
internal static class Kernels
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sigmoid(float x) => 1f / (1f + MathF.Exp(-x));

    /// <summary>dx (+)= dy where y &gt; 0, else 0 (y is the ReLU output).</summary>
    public static void ReluBackward(ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx, bool fresh)
    {
        Check(y.Length, dy.Length, dx.Length);
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var zero = Vector256<float>.Zero;
            for (; i <= y.Length - 8; i += 8)
            {
                var mask = Vector256.GreaterThan(Vector256.Create(y.Slice(i, 8)), zero);
                var v = Vector256.ConditionalSelect(mask, Vector256.Create(dy.Slice(i, 8)), zero);
                if (!fresh)
                {
                    v += Vector256.Create(dx.Slice(i, 8));
                }
                v.CopyTo(dx.Slice(i, 8));
            }
        }
        for (; i < y.Length; i++)
        {
            var v = y[i] > 0 ? dy[i] : 0f;
            dx[i] = fresh ? v : dx[i] + v;
        }
    }

    /// <summary>dx (+)= dy * y * (1 - y) (y is the sigmoid output).</summary>
    public static void SigmoidBackward(ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx, bool fresh)
    {
        Check(y.Length, dy.Length, dx.Length);
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var one = Vector256.Create(1f);
            for (; i <= y.Length - 8; i += 8)
            {
                var yv = Vector256.Create(y.Slice(i, 8));
                var v = Vector256.Create(dy.Slice(i, 8)) * yv * (one - yv);
                if (!fresh)
                {
                    v += Vector256.Create(dx.Slice(i, 8));
                }
                v.CopyTo(dx.Slice(i, 8));
            }
        }
        for (; i < y.Length; i++)
        {
            var v = dy[i] * y[i] * (1 - y[i]);
            dx[i] = fresh ? v : dx[i] + v;
        }
    }

    /// <summary>dx (+)= dy * (1 - y^2) (y is the tanh output).</summary>
    public static void TanhBackward(ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx, bool fresh)
    {
        Check(y.Length, dy.Length, dx.Length);
        for (var i = 0; i < y.Length; i++)
        {
            var v = dy[i] * (1 - (y[i] * y[i]));
            dx[i] = fresh ? v : dx[i] + v;
        }
    }

    /// <summary>y = log(sigmoid(x)) = min(x, 0) - log(1 + exp(-|x|)), stable for any x.</summary>
    public static void LogSigmoid(ReadOnlySpan<float> x, Span<float> y)
    {
        Check(x.Length, y.Length, y.Length);
        for (var i = 0; i < x.Length; i++)
        {
            var v = x[i];
            y[i] = MathF.Min(v, 0f) - MathF.Log(1f + MathF.Exp(-MathF.Abs(v)));
        }
    }

    /// <summary>dx (+)= dy * sigmoid(-x), the derivative of log(sigmoid(x)).</summary>
    public static void LogSigmoidBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, Span<float> dx, bool fresh)
    {
        Check(x.Length, dy.Length, dx.Length);
        for (var i = 0; i < x.Length; i++)
        {
            var v = dy[i] * Sigmoid(-x[i]);
            dx[i] = fresh ? v : dx[i] + v;
        }
    }

    /// <summary>g (+)= k * (dy - mdy - xhat * mdyx): the BatchNorm input gradient for one row.</summary>
    public static void CenteredGrad(
        ReadOnlySpan<float> dy, ReadOnlySpan<float> mdy, ReadOnlySpan<float> xhat, ReadOnlySpan<float> mdyx,
        ReadOnlySpan<float> k, Span<float> g, bool fresh)
    {
        var n = dy.Length;
        if (mdy.Length != n || xhat.Length != n || mdyx.Length != n || k.Length != n || g.Length != n)
        {
            throw new ArgumentException("CenteredGrad: all spans must have the same length.");
        }
        // Vector256 only: this row kernel is off the hot path (the fused BatchNorm-ReLU-dropout op has its own), and one
        // width keeps it one loop; every width rounds the same (no fused multiply-add).
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= n - 8; i += 8)
            {
                var v = Vector256.Create(k.Slice(i, 8)) *
                        (Vector256.Create(dy.Slice(i, 8)) - Vector256.Create(mdy.Slice(i, 8)) -
                         (Vector256.Create(xhat.Slice(i, 8)) * Vector256.Create(mdyx.Slice(i, 8))));
                if (!fresh)
                {
                    v += Vector256.Create(g.Slice(i, 8));
                }
                v.CopyTo(g.Slice(i, 8));
            }
        }
        for (; i < n; i++)
        {
            var v = k[i] * (dy[i] - mdy[i] - (xhat[i] * mdyx[i]));
            g[i] = fresh ? v : g[i] + v;
        }
    }

    /// <summary>A 32-bit integer hash with good avalanche (lowbias32).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Hash(uint x)
    {
        x ^= x >> 16;
        x *= 0x7feb352dU;
        x ^= x >> 15;
        x *= 0x846ca68bU;
        x ^= x >> 16;
        return x;
    }

    /// <summary>
    /// Inverted dropout with a counter-based mask: element i (its index in the whole tensor is
    /// <paramref name="first"/> + offset) is kept when Hash(Hash(i ^ k0) + k1) &gt;= threshold, and then scaled.
    /// The mask is a pure function of the keys and the index, so it needs no storage (the backward pass recomputes
    /// it) and is the same however the work is split over threads. y (+)= x * mask.
    /// </summary>
    public static void Dropout(uint k0, uint k1, uint threshold, float scale, uint first, ReadOnlySpan<float> x, Span<float> y, bool fresh)
    {
        Check(x.Length, y.Length, y.Length);
        var i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var lane = Vector512.Create(0u, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
            var vk0 = Vector512.Create(k0);
            var vk1 = Vector512.Create(k1);
            var vth = Vector512.Create(threshold ^ 0x80000000U).AsInt32();
            var bias = Vector512.Create(0x80000000U);
            var vscale = Vector512.Create(scale);
            for (; i <= x.Length - 16; i += 16)
            {
                var h = VHash(VHash((Vector512.Create(first + (uint)i) + lane) ^ vk0) + vk1);
                // Unsigned h >= threshold, as a signed comparison of both with the top bit flipped.
                var keep = Vector512.GreaterThanOrEqual((h ^ bias).AsInt32(), vth).AsSingle();
                var v = Vector512.Create(x.Slice(i, 16)) * (vscale & keep);
                if (!fresh)
                {
                    v += Vector512.Create(y.Slice(i, 16));
                }
                v.CopyTo(y.Slice(i, 16));
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var lane = Vector256.Create(0u, 1, 2, 3, 4, 5, 6, 7);
            var vk0 = Vector256.Create(k0);
            var vk1 = Vector256.Create(k1);
            var vth = Vector256.Create(threshold ^ 0x80000000U).AsInt32();
            var bias = Vector256.Create(0x80000000U);
            var vscale = Vector256.Create(scale);
            for (; i <= x.Length - 8; i += 8)
            {
                var h = VHash(VHash((Vector256.Create(first + (uint)i) + lane) ^ vk0) + vk1);
                var keep = Vector256.GreaterThanOrEqual((h ^ bias).AsInt32(), vth).AsSingle();
                var v = Vector256.Create(x.Slice(i, 8)) * (vscale & keep);
                if (!fresh)
                {
                    v += Vector256.Create(y.Slice(i, 8));
                }
                v.CopyTo(y.Slice(i, 8));
            }
        }
        for (; i < x.Length; i++)
        {
            var keep = Hash(Hash((first + (uint)i) ^ k0) + k1) >= threshold;
            var v = keep ? x[i] * scale : 0f;
            y[i] = fresh ? v : y[i] + v;
        }
    }

    /// <summary>
    /// One row of BatchNorm -> ReLU -> dropout in a single pass: h = (x - mean) * invstd, stored in
    /// <paramref name="xhat"/> unless it is empty; y = max(h * gamma + beta, 0), times <paramref name="scale"/> where
    /// <see cref="Dropout"/>'s mask keeps element <paramref name="first"/> + i (when <paramref name="drop"/>), else 0.
    /// Each element gets the arithmetic of the separate kernels (products and sums rounded one by one, as
    /// TensorPrimitives' MultiplyAdd), so the result is theirs bit for bit. AVX-512 (16 lanes) or AVX2 (8 lanes).
    /// </summary>
    public static void NormReluDropout(
        ReadOnlySpan<float> x, ReadOnlySpan<float> mean, ReadOnlySpan<float> invstd, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta,
        Span<float> xhat, Span<float> y, bool drop, uint k0, uint k1, uint threshold, float scale, uint first)
    {
        var n = x.Length;
        if (mean.Length != n || invstd.Length != n || gamma.Length != n || beta.Length != n || y.Length != n || (!xhat.IsEmpty && xhat.Length != n))
        {
            throw new ArgumentException("NormReluDropout: all spans must have the same length.");
        }
        var store = !xhat.IsEmpty;
        var i = Vector512.IsHardwareAccelerated ? 0 : NormReluDropout256(x, mean, invstd, gamma, beta, xhat, y, drop, k0, k1, threshold, scale, first);
        if (Vector512.IsHardwareAccelerated)
        {
            var lane = Vector512.Create(0u, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
            var (vk0, vk1) = (Vector512.Create(k0), Vector512.Create(k1));
            var vth = Vector512.Create(threshold ^ 0x80000000U).AsInt32();
            var bias = Vector512.Create(0x80000000U);
            var vscale = Vector512.Create(scale);
            for (; i <= n - 16; i += 16)
            {
                var h = (Vector512.Create(x.Slice(i, 16)) - Vector512.Create(mean.Slice(i, 16))) * Vector512.Create(invstd.Slice(i, 16));
                if (store)
                {
                    h.CopyTo(xhat.Slice(i, 16));
                }
                var v = Vector512.Max((h * Vector512.Create(gamma.Slice(i, 16))) + Vector512.Create(beta.Slice(i, 16)), Vector512<float>.Zero);
                if (drop)
                {
                    var hv = VHash(VHash((Vector512.Create(first + (uint)i) + lane) ^ vk0) + vk1);
                    var keep = Vector512.GreaterThanOrEqual((hv ^ bias).AsInt32(), vth).AsSingle();
                    v *= vscale & keep;
                }
                v.CopyTo(y.Slice(i, 16));
            }
        }
        for (; i < n; i++)
        {
            var h = (x[i] - mean[i]) * invstd[i];
            if (store)
            {
                xhat[i] = h;
            }
            var v = MathF.Max((h * gamma[i]) + beta[i], 0f);
            y[i] = !drop || Hash(Hash((first + (uint)i) ^ k0) + k1) >= threshold ? v * (drop ? scale : 1f) : 0f;
        }
    }

    /// <summary>The 8-lane (AVX2) loop of <see cref="NormReluDropout"/>: the elements it did, a multiple of 8.</summary>
    private static int NormReluDropout256(
        ReadOnlySpan<float> x, ReadOnlySpan<float> mean, ReadOnlySpan<float> invstd, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta,
        Span<float> xhat, Span<float> y, bool drop, uint k0, uint k1, uint threshold, float scale, uint first)
    {
        var n = x.Length;
        var store = !xhat.IsEmpty;
        var i = 0;
        if (!Vector256.IsHardwareAccelerated)
        {
            return 0;
        }
        var lane = Vector256.Create(0u, 1, 2, 3, 4, 5, 6, 7);
        var (vk0, vk1) = (Vector256.Create(k0), Vector256.Create(k1));
        var vth = Vector256.Create(threshold ^ 0x80000000U).AsInt32();
        var bias = Vector256.Create(0x80000000U);
        var vscale = Vector256.Create(scale);
        for (; i <= n - 8; i += 8)
        {
            var h = (Vector256.Create(x.Slice(i, 8)) - Vector256.Create(mean.Slice(i, 8))) * Vector256.Create(invstd.Slice(i, 8));
            if (store)
            {
                h.CopyTo(xhat.Slice(i, 8));
            }
            var v = Vector256.Max((h * Vector256.Create(gamma.Slice(i, 8))) + Vector256.Create(beta.Slice(i, 8)), Vector256<float>.Zero);
            if (drop)
            {
                var hv = VHash(VHash((Vector256.Create(first + (uint)i) + lane) ^ vk0) + vk1);
                var keep = Vector256.GreaterThanOrEqual((hv ^ bias).AsInt32(), vth).AsSingle();
                v *= vscale & keep;
            }
            v.CopyTo(y.Slice(i, 8));
        }
        return i;
    }

    /// <summary>
    /// The backward pass of <see cref="NormReluDropout"/> up to the BatchNorm output, for one row (AVX-512 or AVX2):
    /// dz = dy * mask * scale (or dy without dropout) where xhat * gamma + beta &gt; 0, else 0; and the column sums
    /// s1 += dz, s2 += dz * xhat that BatchNorm's backward needs. Bit for bit the separate kernels' arithmetic.
    /// </summary>
    public static void NormReluDropoutGrad(
        ReadOnlySpan<float> dy, ReadOnlySpan<float> xhat, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, Span<float> dz,
        Span<float> s1, Span<float> s2, bool drop, uint k0, uint k1, uint threshold, float scale, uint first)
    {
        var n = dy.Length;
        if (xhat.Length != n || gamma.Length != n || beta.Length != n || dz.Length != n || s1.Length != n || s2.Length != n)
        {
            throw new ArgumentException("NormReluDropoutGrad: all spans must have the same length.");
        }
        var i = Vector512.IsHardwareAccelerated ? 0 : NormReluDropoutGrad256(dy, xhat, gamma, beta, dz, s1, s2, drop, k0, k1, threshold, scale, first);
        if (Vector512.IsHardwareAccelerated)
        {
            var lane = Vector512.Create(0u, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
            var (vk0, vk1) = (Vector512.Create(k0), Vector512.Create(k1));
            var vth = Vector512.Create(threshold ^ 0x80000000U).AsInt32();
            var bias = Vector512.Create(0x80000000U);
            var vscale = Vector512.Create(scale);
            for (; i <= n - 16; i += 16)
            {
                var g = Vector512.Create(dy.Slice(i, 16));
                if (drop)
                {
                    var hv = VHash(VHash((Vector512.Create(first + (uint)i) + lane) ^ vk0) + vk1);
                    var keep = Vector512.GreaterThanOrEqual((hv ^ bias).AsInt32(), vth).AsSingle();
                    g *= vscale & keep;
                }
                var h = Vector512.Create(xhat.Slice(i, 16));
                var z = (h * Vector512.Create(gamma.Slice(i, 16))) + Vector512.Create(beta.Slice(i, 16));
                g = Vector512.ConditionalSelect(Vector512.GreaterThan(z, Vector512<float>.Zero), g, Vector512<float>.Zero);
                g.CopyTo(dz.Slice(i, 16));
                (Vector512.Create(s1.Slice(i, 16)) + g).CopyTo(s1.Slice(i, 16));
                ((g * h) + Vector512.Create(s2.Slice(i, 16))).CopyTo(s2.Slice(i, 16));
            }
        }
        for (; i < n; i++)
        {
            var g = !drop ? dy[i] : Hash(Hash((first + (uint)i) ^ k0) + k1) >= threshold ? dy[i] * scale : 0f;
            g = (xhat[i] * gamma[i]) + beta[i] > 0 ? g : 0f;
            dz[i] = g;
            s1[i] += g;
            s2[i] = (g * xhat[i]) + s2[i];
        }
    }

    /// <summary>The 8-lane (AVX2) loop of <see cref="NormReluDropoutGrad"/>: the elements it did, a multiple of 8.</summary>
    private static int NormReluDropoutGrad256(
        ReadOnlySpan<float> dy, ReadOnlySpan<float> xhat, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, Span<float> dz,
        Span<float> s1, Span<float> s2, bool drop, uint k0, uint k1, uint threshold, float scale, uint first)
    {
        var n = dy.Length;
        var i = 0;
        if (!Vector256.IsHardwareAccelerated)
        {
            return 0;
        }
        var lane = Vector256.Create(0u, 1, 2, 3, 4, 5, 6, 7);
        var (vk0, vk1) = (Vector256.Create(k0), Vector256.Create(k1));
        var vth = Vector256.Create(threshold ^ 0x80000000U).AsInt32();
        var bias = Vector256.Create(0x80000000U);
        var vscale = Vector256.Create(scale);
        for (; i <= n - 8; i += 8)
        {
            var g = Vector256.Create(dy.Slice(i, 8));
            if (drop)
            {
                var hv = VHash(VHash((Vector256.Create(first + (uint)i) + lane) ^ vk0) + vk1);
                var keep = Vector256.GreaterThanOrEqual((hv ^ bias).AsInt32(), vth).AsSingle();
                g *= vscale & keep;
            }
            var h = Vector256.Create(xhat.Slice(i, 8));
            var z = (h * Vector256.Create(gamma.Slice(i, 8))) + Vector256.Create(beta.Slice(i, 8));
            g = Vector256.ConditionalSelect(Vector256.GreaterThan(z, Vector256<float>.Zero), g, Vector256<float>.Zero);
            g.CopyTo(dz.Slice(i, 8));
            (Vector256.Create(s1.Slice(i, 8)) + g).CopyTo(s1.Slice(i, 8));
            ((g * h) + Vector256.Create(s2.Slice(i, 8))).CopyTo(s2.Slice(i, 8));
        }
        return i;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<uint> VHash(Vector256<uint> x)
    {
        x ^= Vector256.ShiftRightLogical(x, 16);
        x *= Vector256.Create(0x7feb352dU);
        x ^= Vector256.ShiftRightLogical(x, 15);
        x *= Vector256.Create(0x846ca68bU);
        x ^= Vector256.ShiftRightLogical(x, 16);
        return x;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<uint> VHash(Vector512<uint> x)
    {
        x ^= Vector512.ShiftRightLogical(x, 16);
        x *= Vector512.Create(0x7feb352dU);
        x ^= Vector512.ShiftRightLogical(x, 15);
        x *= Vector512.Create(0x846ca68bU);
        x ^= Vector512.ShiftRightLogical(x, 16);
        return x;
    }

    /// <summary>g (+)= k * (a - b) (write when fresh, else add): <see cref="ScaledDifferencePair"/> without a second output.</summary>
    public static void ScaledDifference(ReadOnlySpan<float> a, ReadOnlySpan<float> b, float k, Span<float> g, bool fresh) =>
        ScaledDifferencePair(a, b, k, g, fresh, default, false);

    /// <summary>
    /// Both gradients of a squared difference in one pass: ga (+)= k (a - b), then gb (+)= -k (a - b) (write when fresh,
    /// else add), element by element; an empty <paramref name="gb"/> skips the second. Bit for bit two passes, k into ga
    /// and then -k into gb ((-k) x equals -(k x) exactly), also when ga and gb are the same span, but a and b are read
    /// once instead of twice.
    /// </summary>
    public static void ScaledDifferencePair(ReadOnlySpan<float> a, ReadOnlySpan<float> b, float k, Span<float> ga, bool freshA, Span<float> gb, bool freshB)
    {
        Check(a.Length, b.Length, ga.Length);
        var second = !gb.IsEmpty;
        if (second)
        {
            Check(a.Length, b.Length, gb.Length);
        }
        var i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var vk = Vector512.Create(k);
            for (; i <= a.Length - 16; i += 16)
            {
                var v = vk * (Vector512.Create(a.Slice(i, 16)) - Vector512.Create(b.Slice(i, 16)));
                (freshA ? v : v + Vector512.Create(ga.Slice(i, 16))).CopyTo(ga.Slice(i, 16));
                if (second)
                {
                    (freshB ? -v : -v + Vector512.Create(gb.Slice(i, 16))).CopyTo(gb.Slice(i, 16));
                }
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var vk = Vector256.Create(k);
            for (; i <= a.Length - 8; i += 8)
            {
                var v = vk * (Vector256.Create(a.Slice(i, 8)) - Vector256.Create(b.Slice(i, 8)));
                (freshA ? v : v + Vector256.Create(ga.Slice(i, 8))).CopyTo(ga.Slice(i, 8));
                if (second)
                {
                    (freshB ? -v : -v + Vector256.Create(gb.Slice(i, 8))).CopyTo(gb.Slice(i, 8));
                }
            }
        }
        for (; i < a.Length; i++)
        {
            var v = k * (a[i] - b[i]);
            ga[i] = freshA ? v : ga[i] + v;
            if (second)
            {
                gb[i] = freshB ? -v : gb[i] + -v;
            }
        }
    }

    /// <summary>sum((a - b)^2), float blocks of 1024 accumulated in double.</summary>
    public static double SquaredDistance(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        Check(a.Length, b.Length, b.Length);
        const int block = 1024;
        double s = 0;
        var i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i + block <= a.Length; i += block)
            {
                var acc = Vector512<float>.Zero;
                for (var j = i; j < i + block; j += 16)
                {
                    var d = Vector512.Create(a.Slice(j, 16)) - Vector512.Create(b.Slice(j, 16));
                    acc = Vector512.FusedMultiplyAdd(d, d, acc);
                }
                s += Vector512.Sum(acc);
            }
        }
        for (; i < a.Length; i++)
        {
            double d = a[i] - b[i];
            s += d * d;
        }
        return s;
    }

    /// <summary>
    /// The sum with double-precision accumulation: vectorised float sums over blocks of 1024 elements, added up
    /// in double (accurate for the loss-sized reductions it serves, and much faster than a scalar double loop).
    /// </summary>
    public static double SumDouble(ReadOnlySpan<float> x)
    {
        const int block = 1024;
        double s = 0;
        var i = 0;
        for (; i + block <= x.Length; i += block)
        {
            s += System.Numerics.Tensors.TensorPrimitives.Sum(x.Slice(i, block));
        }
        if (i < x.Length)
        {
            s += System.Numerics.Tensors.TensorPrimitives.Sum(x[i..]);
        }
        return s;
    }

    private static void Check(int a, int b, int c)
    {
        if (a != b || a != c)
        {
            throw new ArgumentException($"Kernel spans differ in length: {a}, {b}, {c}.");
        }
    }
}
