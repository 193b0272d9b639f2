using FsdNet.Tensors;
using Xunit;

namespace FsdNet.Tests.Tensors;

/// <summary>
/// The vectorised element kernels (AVX-512 or AVX2, whichever this CPU runs, then a scalar tail) against their
/// definitions written out element by element. Lengths are odd so every vector width leaves a tail.
/// </summary>
public sealed class KernelsTests
{
    private const uint K0 = 0x9E3779B9u, K1 = 0x7F4A7C15u;

    private static float[] Values(int n, int seed)
    {
        var rng = new Rng((ulong)seed);
        var v = new float[n];
        rng.FillNormal(v, 0, 1);
        return v;
    }

    private static bool Kept(uint index, uint threshold) => Kernels.Hash(Kernels.Hash(index ^ K0) + K1) >= threshold;

    [Theory]
    [InlineData(37, 0u)]
    [InlineData(1000, 123_456u)]
    public void Dropout_keeps_and_scales_exactly_the_elements_its_hash_keeps(int n, uint first)
    {
        var x = Values(n, 1);
        var threshold = (uint)(0.3 * 4294967296.0);
        var y = new float[n];
        Kernels.Dropout(K0, K1, threshold, 1f / 0.7f, first, x, y, fresh: true);
        var acc = Values(n, 2);
        var accumulated = (float[])acc.Clone();
        Kernels.Dropout(K0, K1, threshold, 1f / 0.7f, first, x, accumulated, fresh: false);
        for (var i = 0; i < n; i++)
        {
            var expected = Kept(first + (uint)i, threshold) ? x[i] * (1f / 0.7f) : 0f;
            Assert.True(y[i] == expected, $"[{i}] {y[i]} != {expected}");
            Assert.True(accumulated[i] == acc[i] + expected, $"accumulated [{i}] {accumulated[i]} != {acc[i] + expected}");
        }
    }

    [Fact]
    public void Dropout_drops_the_asked_fraction()
    {
        const int n = 200_003;
        var x = new float[n];
        Array.Fill(x, 1f);
        var y = new float[n];
        Kernels.Dropout(K0, K1, (uint)(0.2 * 4294967296.0), 1.25f, 17, x, y, fresh: true);
        var dropped = y.Count(v => v == 0f) / (double)n;
        Assert.InRange(dropped, 0.195, 0.205);
        Assert.All(y, v => Assert.True(v == 0f || v == 1.25f));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Scaled_difference_is_k_times_a_minus_b_added_or_written(bool fresh)
    {
        const int n = 45;
        var (a, b, g0) = (Values(n, 3), Values(n, 4), Values(n, 5));
        var g = (float[])g0.Clone();
        Kernels.ScaledDifference(a, b, -0.37f, g, fresh);
        for (var i = 0; i < n; i++)
        {
            var v = -0.37f * (a[i] - b[i]);
            Assert.Equal(fresh ? v : g0[i] + v, g[i]);
        }
    }

    [Theory]
    [InlineData(true, true)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(false, false)]
    public void Scaled_difference_pair_is_bit_for_bit_two_scaled_differences(bool freshA, bool freshB)
    {
        // 45: five 8-float vectors (two 16-float ones on AVX-512) and a scalar tail.
        const int n = 45;
        var (a, b, ga0, gb0) = (Values(n, 3), Values(n, 4), Values(n, 5), Values(n, 6));
        var (ga, gb) = ((float[])ga0.Clone(), (float[])gb0.Clone());
        Kernels.ScaledDifferencePair(a, b, 0.0123f, ga, freshA, gb, freshB);
        var (ea, eb) = ((float[])ga0.Clone(), (float[])gb0.Clone());
        Kernels.ScaledDifference(a, b, 0.0123f, ea, freshA);
        Kernels.ScaledDifference(a, b, -0.0123f, eb, freshB);
        for (var i = 0; i < n; i++)
        {
            Assert.True(BitConverter.SingleToInt32Bits(ea[i]) == BitConverter.SingleToInt32Bits(ga[i]), $"ga[{i}] {ga[i]} != {ea[i]}");
            Assert.True(BitConverter.SingleToInt32Bits(eb[i]) == BitConverter.SingleToInt32Bits(gb[i]), $"gb[{i}] {gb[i]} != {eb[i]}");
        }

        // MSE(x, x): both gradients are one buffer; the pair must give what the two passes give in that order.
        var g = (float[])ga0.Clone();
        Kernels.ScaledDifferencePair(a, b, 0.0123f, g, freshA, g, false);
        var e = (float[])ga0.Clone();
        Kernels.ScaledDifference(a, b, 0.0123f, e, freshA);
        Kernels.ScaledDifference(a, b, -0.0123f, e, false);
        Assert.Equal(e, g);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Batch_norm_relu_dropout_rows_follow_their_definition(bool drop)
    {
        const int n = 45;
        var (x, mean, gamma, beta) = (Values(n, 6), Values(n, 7), Values(n, 8), Values(n, 9));
        var invstd = Values(n, 10).Select(v => 0.5f + Math.Abs(v)).ToArray();
        var threshold = (uint)(0.4 * 4294967296.0);
        const float scale = 1f / 0.6f;
        const uint first = 3 * n;
        var (xhat, y) = (new float[n], new float[n]);
        Kernels.NormReluDropout(x, mean, invstd, gamma, beta, xhat, y, drop, K0, K1, threshold, scale, first);
        var dy = Values(n, 11);
        var (s10, s20) = (Values(n, 12), Values(n, 13));
        var (dz, s1, s2) = (new float[n], (float[])s10.Clone(), (float[])s20.Clone());
        Kernels.NormReluDropoutGrad(dy, xhat, gamma, beta, dz, s1, s2, drop, K0, K1, threshold, scale, first);
        var cut = 0;
        for (var i = 0; i < n; i++)
        {
            var h = (x[i] - mean[i]) * invstd[i];
            Assert.Equal(h, xhat[i]);
            var z = (h * gamma[i]) + beta[i];
            var kept = !drop || Kept(first + (uint)i, threshold);
            var expected = kept ? MathF.Max(z, 0f) * (drop ? scale : 1f) : 0f;
            Assert.True(y[i] == expected, $"y[{i}] {y[i]} != {expected}");
            var g = z > 0 && kept ? dy[i] * (drop ? scale : 1f) : 0f;
            cut += z > 0 && kept ? 0 : 1;
            Assert.True(dz[i] == g, $"dz[{i}] {dz[i]} != {g}");
            Assert.Equal(s10[i] + g, s1[i]);
            Assert.Equal((g * h) + s20[i], s2[i]);
        }
        Assert.InRange(cut, 1, n - 1);   // both branches taken
    }
}
