namespace FsdNet.Tensors;

/// <summary>
/// xoshiro256** with SplitMix64 seeding: fast, seedable and reproducible across platforms. Every random
/// decision in FsdNet (initialisation, dropout masks, shuffling) draws from one of these, derived from the run seed.
/// </summary>
internal sealed class Rng
{
    private ulong s0;
    private ulong s1;
    private ulong s2;
    private ulong s3;
    private double spare;
    private bool hasSpare;

    public Rng(ulong seed)
    {
        var x = seed;
        s0 = SplitMix(ref x);
        s1 = SplitMix(ref x);
        s2 = SplitMix(ref x);
        s3 = SplitMix(ref x);
    }

    /// <summary>The generator's whole state (checkpoints: a resumed run draws what the interrupted one would have).</summary>
    internal ulong[] SaveState() => [s0, s1, s2, s3, hasSpare ? 1UL : 0UL, BitConverter.DoubleToUInt64Bits(spare)];

    internal void RestoreState(ReadOnlySpan<ulong> state)
    {
        if (state.Length != 6)
        {
            throw new ArgumentException($"a generator state has 6 words, got {state.Length}");
        }
        (s0, s1, s2, s3, hasSpare, spare) = (state[0], state[1], state[2], state[3], state[4] != 0, BitConverter.UInt64BitsToDouble(state[5]));
    }

    /// <summary>A generator for an independent stream, derived from a seed and a stream id (e.g. the epoch).</summary>
    public static Rng Derive(ulong seed, ulong stream) => new(seed ^ (0x9E3779B97F4A7C15UL * (stream + 1)));

    public ulong NextULong()
    {
        var result = RotateLeft(s1 * 5, 7) * 9;
        var t = s1 << 17;
        s2 ^= s0;
        s3 ^= s1;
        s1 ^= s2;
        s0 ^= s3;
        s2 ^= t;
        s3 = RotateLeft(s3, 45);
        return result;
    }

    /// <summary>Uniform in [0, 1) with 24 random bits.</summary>
    public float NextFloat() => (NextULong() >> 40) * (1.0f / (1 << 24));

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextULong() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform integer in [0, n).</summary>
    public int NextInt(int n)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(n);
        return (int)((NextULong() >> 32) * (ulong)n >> 32);
    }

    /// <summary>Standard normal (Box-Muller, polar form).</summary>
    public double NextGaussian()
    {
        if (hasSpare)
        {
            hasSpare = false;
            return spare;
        }
        double u, v, s;
        do
        {
            u = (NextDouble() * 2) - 1;
            v = (NextDouble() * 2) - 1;
            s = (u * u) + (v * v);
        }
        while (s >= 1 || s == 0);
        var m = Math.Sqrt(-2 * Math.Log(s) / s);
        spare = v * m;
        hasSpare = true;
        return u * m;
    }

    /// <summary>Fills with normal(mean, std) values.</summary>
    public void FillNormal(Span<float> values, double mean, double std)
    {
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = (float)(mean + (std * NextGaussian()));
        }
    }

    /// <summary>Draws <paramref name="count"/> normal values and drops them: the state <see cref="FillNormal"/> of as many values leaves.</summary>
    public void SkipNormal(long count)
    {
        for (long i = 0; i < count; i++)
        {
            NextGaussian();
        }
    }

    /// <summary>Fisher-Yates shuffle.</summary>
    public void Shuffle(Span<int> values)
    {
        for (var i = values.Length - 1; i > 0; i--)
        {
            var j = NextInt(i + 1);
            (values[i], values[j]) = (values[j], values[i]);
        }
    }

    private static ulong RotateLeft(ulong x, int k) => (x << k) | (x >> (64 - k));

    private static ulong SplitMix(ref ulong x)
    {
        var z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
