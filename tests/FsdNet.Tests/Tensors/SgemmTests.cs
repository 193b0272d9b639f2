using System.Collections.Concurrent;
using FsdNet.Tensors;
using FsdNet.Tests.Support;
using Xunit;

namespace FsdNet.Tests.Tensors;

/// <summary>
/// SGEMM against a naive double-precision reference: every transpose form, odd shapes around the tile and block
/// sizes, alpha/beta variants, padded leading dimensions, every instruction-set path the CPU supports, 1 and 2
/// threads. Each case sets its thread count and SGEMM knobs in an engine-settings scope of its own, so the class runs
/// alongside the others.
/// </summary>
public sealed unsafe class SgemmTests
{
    private static readonly (bool TransA, bool TransB)[] Forms = [(false, false), (false, true), (true, false), (true, true)];

    /// <summary>Instruction-set paths this CPU supports, by name (the enum is internal).</summary>
    public static TheoryData<string> Paths()
    {
        var data = new TheoryData<string>();
        foreach (var isa in new[] { SgemmIsa.Avx512, SgemmIsa.Avx2, SgemmIsa.Scalar })
        {
            if (Sgemm.IsSupported(isa))
            {
                data.Add(isa.ToString());
            }
        }
        return data;
    }

    /// <summary>A stored matrix with padded rows: padding holds NaN so any read of it poisons the result.</summary>
    private sealed class Stored
    {
        public Stored(int rows, int cols, int ld, int seed)
        {
            Rows = rows;
            Cols = cols;
            Ld = ld;
            Data = new float[Math.Max(1, rows * ld)];
            Array.Fill(Data, float.NaN);
            var rng = new Random(seed);
            for (var i = 0; i < rows; i++)
            {
                for (var j = 0; j < cols; j++)
                {
                    Data[i * ld + j] = (float)(rng.NextDouble() * 2 - 1);
                }
            }
        }

        public int Rows { get; }

        public int Cols { get; }

        public int Ld { get; }

        public float[] Data { get; }

        public double At(int i, int j) => Data[i * Ld + j];
    }

    private sealed record Case(bool TransA, bool TransB, int M, int N, int K, float Alpha, float Beta, int Pad, int Seed)
    {
        public override string ToString() =>
            $"{(TransA ? 'T' : 'N')}{(TransB ? 'T' : 'N')} m={M} n={N} k={K} alpha={Alpha} beta={Beta} pad={Pad}";
    }

    /// <summary>Inputs and double-precision reference per case, built once (cases repeat across paths and threads).</summary>
    private static readonly ConcurrentDictionary<Case, (Stored A, Stored B, Stored C0, double[] Expected)> Prepared = new();

    private static (Stored A, Stored B, Stored C0, double[] Expected) Prepare(Case t) => Prepared.GetOrAdd(t, static t =>
    {
        var a = t.TransA ? new Stored(t.K, t.M, t.M + t.Pad, t.Seed) : new Stored(t.M, t.K, t.K + t.Pad, t.Seed);
        var b = t.TransB ? new Stored(t.N, t.K, t.K + t.Pad, t.Seed + 1) : new Stored(t.K, t.N, t.N + t.Pad, t.Seed + 1);
        var c0 = new Stored(t.M, t.N, t.N + t.Pad, t.Seed + 2);
        if (t.Beta == 0f)
        {
            // beta == 0 must ignore whatever C holds.
            for (var i = 0; i < t.M; i++)
            {
                for (var j = 0; j < t.N; j++)
                {
                    c0.Data[i * c0.Ld + j] = float.NaN;
                }
            }
        }
        var expected = new double[t.M * t.N];
        for (var i = 0; i < t.M; i++)
        {
            for (var j = 0; j < t.N; j++)
            {
                double s = 0;
                for (var p = 0; p < t.K; p++)
                {
                    s += (t.TransA ? a.At(p, i) : a.At(i, p)) * (t.TransB ? b.At(j, p) : b.At(p, j));
                }
                expected[i * t.N + j] = t.Alpha * s + (t.Beta == 0f ? 0 : t.Beta * c0.At(i, j));
            }
        }
        return (a, b, c0, expected);
    });

    /// <summary>Runs one case through Sgemm and returns C (with its padding) plus the reference.</summary>
    private static (float[] C, double[] Ref, Stored C0) Run(Case t)
    {
        var (a, b, c0, expected) = Prepare(t);
        var c = (float[])c0.Data.Clone();
        Sgemm.Multiply(t.TransA, t.TransB, t.M, t.N, t.K, t.Alpha, a.Data, a.Ld, b.Data, b.Ld, t.Beta, c, c0.Ld);
        return (c, expected, c0);
    }

    private static void Check(Case t)
    {
        var (c, expected, c0) = Run(t);
        for (var i = 0; i < t.M; i++)
        {
            for (var j = 0; j < c0.Ld; j++)
            {
                var got = c[i * c0.Ld + j];
                if (j >= t.N)
                {
                    // Padding of C is never touched.
                    Assert.True(float.IsNaN(got), $"{t}: C padding changed at ({i},{j})");
                    continue;
                }
                var want = expected[i * t.N + j];
                var tol = 1e-5 * (Math.Abs(t.Alpha) * t.K + 1);
                if (!(Math.Abs(got - want) <= tol))
                {
                    Assert.Fail($"{t}: C[{i},{j}] = {got}, expected {want} (tol {tol})");
                }
            }
        }
    }

    private static void WithSettings(string path, int threads, long threshold, Action body) =>
        WithSettings(Enum.Parse<SgemmIsa>(path), threads, threshold, body);

    private static void WithSettings(SgemmIsa isa, int threads, long threshold, Action body)
    {
        using (With(threads, g => g with { Isa = isa, ParallelThreshold = threshold }))
        {
            body();
        }
    }

    /// <summary>Engine settings of this test's own (the thread count, SGEMM's knobs) until disposed: the process keeps its.</summary>
    private static EngineSettings.Scope With(int? threads = null, Func<GemmSettings, GemmSettings>? gemm = null)
    {
        var s = EngineSettings.Current;
        return (s with { Threads = threads ?? s.Threads, Gemm = gemm?.Invoke(s.Gemm) ?? s.Gemm }).Enter();
    }

    private static IEnumerable<(int M, int N, int K)> OddShapes() =>
    [
        (1, 1, 1), (1, 7, 3), (5, 1, 9), (2, 3, 5), (7, 13, 17), (13, 31, 29), (14, 32, 16), (15, 33, 17),
        (28, 64, 15), (29, 65, 31), (37, 97, 61), (3, 200, 2), (150, 5, 40),
        // Thin products (direct path): one row, one column, and just past the threshold.
        (1, 300, 40), (300, 1, 40), (4, 50, 33), (50, 4, 33), (5, 5, 70), (3, 3, 1), (2, 37, 129),
    ];

    [Theory]
    [MemberData(nameof(Paths))]
    public void OddShapesAllFormsMatchReference(string path)
    {
        WithSettings(path, 1, long.MaxValue, () =>
        {
            var seed = 1;
            foreach (var (m, n, k) in OddShapes())
            {
                foreach (var (ta, tb) in Forms)
                {
                    Check(new Case(ta, tb, m, n, k, 1f, 0f, 0, seed++));
                }
            }
        });
    }

    [Fact]
    public void Thin_dot_products_split_over_threads_match_the_reference_and_the_serial_result_bit_for_bit()
    {
        // A serving row through a layer (m = 1, dot-product form) and a one-output layer on a batch (n = 1) split
        // their columns over the workers; each element stays one dot product, so 1 and 2 threads agree exactly.
        using (With(gemm: g => g with { ThinParallelThreshold = 1 }))
        {
            var seed = 500;
            foreach (var (m, n, k) in new[] { (1, 400, 160), (1, 37, 129), (3, 50, 33), (400, 1, 160), (2, 17, 5) })
            {
                foreach (var (ta, tb) in Forms)
                {
                    foreach (var (alpha, beta, pad) in new[] { (1f, 0f, 0), (0.5f, -2f, 3) })
                    {
                        var t = new Case(ta, tb, m, n, k, alpha, beta, pad, seed++);
                        float[] serial = [], parallel = [];
                        WithSettings(SgemmIsa.Scalar, 1, long.MaxValue, () => serial = Run(t).C);
                        WithSettings(SgemmIsa.Scalar, 2, long.MaxValue, () =>
                        {
                            Check(t);
                            parallel = Run(t).C;
                        });
                        Assert.Equal(serial, parallel);
                    }
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void AlphaBetaAndPaddedLeadingDims(string path)
    {
        WithSettings(path, 1, long.MaxValue, () =>
        {
            var seed = 100;
            foreach (var (alpha, beta) in new[] { (1f, 1f), (0.5f, -2f), (-1.5f, 0f), (2f, 0.25f), (0f, 3f), (0f, 0f) })
            {
                foreach (var (ta, tb) in Forms)
                {
                    Check(new Case(ta, tb, 19, 41, 23, alpha, beta, 3, seed++));
                    Check(new Case(ta, tb, 1, 1, 1, alpha, beta, 2, seed++));
                    Check(new Case(ta, tb, 3, 45, 21, alpha, beta, 2, seed++));
                    Check(new Case(ta, tb, 45, 2, 21, alpha, beta, 2, seed++));
                }
            }
        });
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void ZeroInnerDimensionScalesC(string path)
    {
        WithSettings(path, 1, long.MaxValue, () =>
        {
            foreach (var (ta, tb) in Forms)
            {
                Check(new Case(ta, tb, 9, 21, 0, 1f, 0f, 1, 7));
                Check(new Case(ta, tb, 9, 21, 0, 1f, 0.5f, 1, 8));
                Check(new Case(ta, tb, 9, 21, 0, 2f, 1f, 0, 9));
            }
            // Empty outputs are a no-op.
            Sgemm.Multiply(false, false, 0, 5, 3, 1f, new float[15], 3, new float[15], 5, 0f, Span<float>.Empty, 5);
            Sgemm.Multiply(false, false, 4, 0, 3, 1f, new float[12], 3, ReadOnlySpan<float>.Empty, 1, 0f, Span<float>.Empty, 1);
        });
    }

    /// <summary>Shapes that straddle the cache blocks (KC, MC, NC) and split across parts, on every path.</summary>
    [Theory]
    [MemberData(nameof(Paths))]
    public void BlockBoundariesAndThreadsMatchReference(string path)
    {
        var shapes = new[] { (Sgemm.MC + 3, 37, Sgemm.KC + 1), (33, Sgemm.NC + 5, 20), (61, 77, 2 * Sgemm.KC + 17) };
        foreach (var threads in new[] { 1, 2 })
        {
            WithSettings(path, threads, 0, () =>
            {
                var seed = 200;
                foreach (var (m, n, k) in shapes)
                {
                    foreach (var (ta, tb) in Forms)
                    {
                        Check(new Case(ta, tb, m, n, k, 1f, seed % 2 == 0 ? 0f : 0.5f, 1, seed++));
                    }
                }
            });
        }
    }

    [Fact]
    public void RepeatRunsAreBitIdenticalAndIndependentOfThreadCount()
    {
        var t = new Case(false, true, 301, 203, 300, 1f, 0f, 0, 42);
        float[] Once(int threads)
        {
            float[] c = [];
            WithSettings(Sgemm.Isa, threads, 0, () => c = Run(t).C);
            return c;
        }
        var two = Once(2);
        Assert.Equal(two, Once(2));
        Assert.Equal(two, Once(2));
        // The split never changes the k-summation order, so even the thread count does not change the bits.
        Assert.Equal(two, Once(1));
    }

    /// <summary>
    /// The loop orders and packing strategies (shared packed B or per-part packing; k-blocks innermost or not) all keep
    /// the same k-summation order, so they must agree bit for bit, with 1 and 2 threads.
    /// </summary>
    [Fact]
    public void PackingStrategiesAgreeBitForBit()
    {
        var (oldLimit, oldKInner) = (Sgemm.SharedPackLimit, Sgemm.KInnerFloats);
        {
            foreach (var (ta, tb) in Forms)
            {
                var t = new Case(ta, tb, 150, 70, 2 * Sgemm.KC + 17, 1f, 0.5f, 1, 77);
                Check(t);
                var first = Run(t).C;
                foreach (var threads in new[] { 1, 2 })
                {
                    foreach (var (limit, kInner) in new[] { (oldLimit, oldKInner), (oldLimit, 0L), (0L, oldKInner) })
                    {
                        using (With(gemm: g => g with { SharedPackLimit = limit, KInnerFloats = kInner }))
                        {
                            WithSettings(Sgemm.Isa, threads, 0, () => Assert.Equal(first, Run(t).C));
                        }
                    }
                }
            }
        }
    }

    [Fact]
    public void LargeParallelProblemMatchesReference()
    {
        WithSettings(Sgemm.Isa, 2, Sgemm.ParallelThreshold, () =>
        {
            foreach (var (ta, tb) in Forms)
            {
                Check(new Case(ta, tb, 211, 150, 290, 1f, 0f, 0, 5));
            }
        });
    }

    [Fact]
    public void SteadyStateCallsDoNotAllocate()
    {
        WithSettings(Sgemm.Isa, 2, 0, () =>
        {
            var a = new float[120 * 90];
            var b = new float[90 * 70];
            var c = new float[120 * 70];
            foreach (var (ta, tb) in Forms)
            {
                Sgemm.Multiply(ta, tb, 120, 70, 90, 1f, a, ta ? 120 : 90, b, tb ? 90 : 70, 0f, c, 70);
            }
            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var r = 0; r < 3; r++)
            {
                foreach (var (ta, tb) in Forms)
                {
                    Sgemm.Multiply(ta, tb, 120, 70, 90, 1f, a, ta ? 120 : 90, b, tb ? 90 : 70, 0.5f, c, 70);
                }
            }
            Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        });
    }

    [Fact]
    public void WrongSpanLengthsThrowWithDimensions()
    {
        var a = new float[6 * 4];
        var b = new float[4 * 5];
        var c = new float[6 * 5];
        var ex = Assert.Throws<ArgumentException>(() =>
            Sgemm.Multiply(false, false, 6, 5, 4, 1f, a.AsSpan(1), 4, b, 5, 0f, c, 5));
        Assert.Contains("6x4", ex.Message, StringComparison.Ordinal);
        Assert.Equal("a", ex.ParamName);
        ex = Assert.Throws<ArgumentException>(() =>
            Sgemm.Multiply(false, true, 6, 5, 4, 1f, a, 4, b.AsSpan(0, 19), 4, 0f, c, 5));
        Assert.Contains("4x5", ex.Message, StringComparison.Ordinal);
        Assert.Equal("b", ex.ParamName);
        ex = Assert.Throws<ArgumentException>(() =>
            Sgemm.Multiply(false, false, 6, 5, 4, 1f, a, 4, b, 5, 0f, c.AsSpan(0, 29), 5));
        Assert.Contains("6x5", ex.Message, StringComparison.Ordinal);
        Assert.Equal("c", ex.ParamName);
        // Leading dimension smaller than the stored width.
        ex = Assert.Throws<ArgumentException>(() =>
            Sgemm.Multiply(false, false, 6, 5, 4, 1f, a, 3, b, 5, 0f, c, 5));
        Assert.Contains("lda=3", ex.Message, StringComparison.Ordinal);
        ex = Assert.Throws<ArgumentException>(() =>
            Sgemm.Multiply(false, false, -1, 5, 4, 1f, a, 4, b, 5, 0f, c, 5));
        Assert.Contains("m=-1", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ConcurrentCallersGetCorrectResults()
    {
        WithSettings(Sgemm.Isa, 2, 0, () =>
        {
            var cases = Enumerable.Range(0, 4).Select(i => new Case(i % 2 == 0, i / 2 == 1, 97 + i, 130, 260, 1f, 0f, 0, 300 + i)).ToArray();
            var expected = cases.Select(t => Run(t).C).ToArray();
            Parallel.For(0, 16, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
            {
                var t = cases[i % cases.Length];
                Assert.Equal(expected[i % cases.Length], Run(t).C);
            });
        });
    }

    /// <summary>m, k, n, threads for the prepacked products: with and without k-blocking, ragged edges, a tiny m.</summary>
    public static TheoryData<int, int, int, int> PackedShapes => new()
    {
        { 1000, 400, 400, 2 },
        { 1000, 400, 400, 1 },
        { 37, 20, 9, 2 },
        { 300, 560, 130, 2 },
        { 3, 64, 64, 1 },
    };

    /// <summary>
    /// A weight packed once (scoring) gives the products of the ordinary call bit for bit: C = op(A) W^T + beta C for
    /// shapes with and without k-blocking, ragged edges, 1 and 2 threads, beta 0 and 1, A plain and transposed.
    /// </summary>
    [Theory]
    [MemberData(nameof(PackedShapes))]
    public void A_prepacked_weight_multiplies_bit_for_bit(int m, int k, int n, int threads)
    {
        using (With(threads))
        {
            var rng = new Rng((ulong)(m + k + n));
            var w = new Tensor(n, k);
            rng.FillNormal(w.Span, 0, 1);
            var packed = Sgemm.Prepack(w);
            foreach (var transA in new[] { false, true })
            {
                foreach (var beta in new[] { 0f, 1f })
                {
                    var a = new float[m * k];
                    rng.FillNormal(a, 0, 1);
                    var c0 = new float[m * n];
                    rng.FillNormal(c0, 0, 1);
                    var expected = (float[])c0.Clone();
                    var actual = (float[])c0.Clone();
                    var lda = transA ? m : k;
                    fixed (float* pa = a, pe = expected, pc = actual)
                    {
                        Sgemm.Multiply(transA, true, m, n, k, 1f, pa, lda, w.Pointer, k, beta, pe, n);
                        Sgemm.Multiply(transA, m, 1f, pa, lda, packed, beta, pc, n);
                    }
                    Assert.True(expected.AsSpan().SequenceEqual(actual), $"transA {transA}, beta {beta}: prepacked product differs");
                }
            }
        }
    }

    /// <summary>
    /// The scoring epilogue (bias added after the first k-block, ReLU after the last, tile by tile) gives what filling C
    /// with the bias, multiplying with beta 1 and a ReLU pass give, bit for bit: one and two k-blocks, ragged tiles,
    /// shapes that fall back to the unpacked product, 1 and 2 threads, with and without the bias; a NaN in a row of A
    /// stays NaN through the ReLU, as TensorPrimitives.Max keeps it.
    /// </summary>
    [Theory]
    [MemberData(nameof(PackedShapes))]
    [InlineData(50, 100, 2, 1)]
    public void The_bias_and_relu_epilogue_equals_fill_multiply_relu_bit_for_bit(int m, int k, int n, int threads)
    {
        using (With(threads))
        {
            var rng = new Rng((ulong)(7 * m + k + n));
            var w = new Tensor(n, k);
            rng.FillNormal(w.Span, 0, 1);
            var bias = new Tensor(n);
            rng.FillNormal(bias.Span, 0, 1);
            var packed = Sgemm.Prepack(w);
            var a = new float[m * k];
            rng.FillNormal(a, 0, 1);
            a[(m / 2 * k) + (k / 3)] = float.NaN;
            foreach (var withBias in new[] { true, false })
            {
                foreach (var relu in new[] { true, false })
                {
                    var expected = new float[m * n];
                    var actual = new float[m * n];
                    rng.FillNormal(actual, 0, 1); // whatever C held before is overwritten
                    fixed (float* pa = a, pe = expected, pc = actual)
                    {
                        for (var i = 0; i < m && withBias; i++)
                        {
                            bias.Span.CopyTo(expected.AsSpan(i * n, n));
                        }
                        Sgemm.Multiply(false, true, m, n, k, 1f, pa, k, w.Pointer, k, withBias ? 1f : 0f, pe, n);
                        if (relu)
                        {
                            System.Numerics.Tensors.TensorPrimitives.Max(expected, 0f, expected);
                        }
                        Sgemm.Multiply(false, m, pa, k, packed, withBias ? bias.Pointer : null, relu, pc, n);
                    }
                    Assert.True(expected.AsSpan().SequenceEqual(actual), $"bias {withBias}, relu {relu}: the epilogue differs");
                    Assert.True(float.IsNaN(actual[(m / 2 * n) + (n - 1)]), "a NaN in A must stay NaN in its row");
                    Assert.Contains(actual, v => v < 0f == !relu && v != 0f);
                }
            }
        }
    }

    /// <summary>
    /// A last column panel narrower than half a tile takes the half-width kernel (AVX2: 6x8 over the same packed B);
    /// each element is still one FMA chain over k in the same order, so the columns of an n = 20 product equal those
    /// of an n = 32 product (two full panels) with the same first 20 columns of B, bit for bit: both B forms, one and
    /// two k-blocks, 1 and 2 threads, on every path the CPU runs.
    /// </summary>
    [Theory]
    [MemberData(nameof(Paths))]
    public void A_narrow_last_column_panel_gives_the_full_kernels_values_bit_for_bit(string path)
    {
        foreach (var (m, k, threads) in new[] { (50, 300, 1), (143, 700, 2), (7, 40, 1) })
        {
            var rng = new Rng((ulong)(m + k));
            var a = new float[m * k];
            rng.FillNormal(a, 0, 1);
            var b32 = new float[k * 32];
            rng.FillNormal(b32, 0, 1);
            foreach (var transB in new[] { false, true })
            {
                // op(B) = k x n: stored k x n, or n x k when transposed; the narrow B is the wide one's first 20 columns.
                var b20 = new float[k * 20];
                for (var p = 0; p < k; p++)
                {
                    for (var j = 0; j < 20; j++)
                    {
                        b20[transB ? (j * k) + p : (p * 20) + j] = b32[transB ? (j * k) + p : (p * 32) + j];
                    }
                }
                var (c20, c32) = (new float[m * 20], new float[m * 32]);
                WithSettings(path, threads, 0, () =>
                {
                    fixed (float* pa = a, pb20 = b20, pb32 = b32, pc20 = c20, pc32 = c32)
                    {
                        Sgemm.Multiply(false, transB, m, 20, k, 1f, pa, k, pb20, transB ? k : 20, 0f, pc20, 20);
                        Sgemm.Multiply(false, transB, m, 32, k, 1f, pa, k, pb32, transB ? k : 32, 0f, pc32, 32);
                    }
                });
                for (var i = 0; i < m; i++)
                {
                    Assert.True(c20.AsSpan(i * 20, 20).SequenceEqual(c32.AsSpan(i * 32, 20)), $"{path} m {m} k {k} transB {transB}: row {i} differs");
                }
            }
        }
    }

    /// <summary>
    /// Reading full panels of a non-transposed A in place (the AVX-512 kernel's direct form) gives the packed path's
    /// values bit for bit: both B forms, beta 0 and 1, ragged m (a packed partial last panel), one and two k-blocks,
    /// 1 and 2 threads, an lda wider than k. (Both the AVX-512 and the AVX2 kernels have the direct form; on a CPU
    /// with neither both runs pack, and the test shows nothing.)
    /// </summary>
    [Theory]
    [InlineData(1000, 400, 400, 2)]
    [InlineData(1000, 400, 400, 1)]
    [InlineData(143, 300, 70, 2)]
    [InlineData(30, 16, 33, 1)]
    [InlineData(10000, 100, 400, 2)]
    public void Reading_A_in_place_equals_packing_it_bit_for_bit(int m, int k, int n, int threads)
    {
        using (With(threads))
        {
            var rng = new Rng((ulong)(3 * m + k + n));
            var lda = k + 5;
            var a = new float[m * lda];
            rng.FillNormal(a, 0, 1);
            foreach (var transB in new[] { false, true })
            {
                var b = new float[k * n];
                rng.FillNormal(b, 0, 1);
                var ldb = transB ? k : n;
                foreach (var beta in new[] { 0f, 1f })
                {
                    var c0 = new float[m * n];
                    rng.FillNormal(c0, 0, 1);
                    var packed = (float[])c0.Clone();
                    var direct = (float[])c0.Clone();
                    fixed (float* pa = a, pb = b, pp = packed, pd = direct)
                    {
                        using (With(gemm: g => g with { DirectA = false }))
                        {
                            Sgemm.Multiply(false, transB, m, n, k, 0.5f, pa, lda, pb, ldb, beta, pp, n);
                        }
                        using (With(gemm: g => g with { DirectA = true }))
                        {
                            Sgemm.Multiply(false, transB, m, n, k, 0.5f, pa, lda, pb, ldb, beta, pd, n);
                        }
                    }
                    Assert.True(packed.AsSpan().SequenceEqual(direct), $"transB {transB}, beta {beta}: reading A in place differs from packing it");
                }
            }
        }
    }
}
