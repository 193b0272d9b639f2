using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace FsdNet.Tensors;

/// <summary>Instruction-set path used by <see cref="Sgemm"/> (internal knob so tests can cover every path).</summary>
internal enum SgemmIsa
{
    /// <summary>Portable scalar micro-kernel.</summary>
    Scalar,

    /// <summary>AVX2 + FMA (Vector256) micro-kernel.</summary>
    Avx2,

    /// <summary>AVX-512F (Vector512) micro-kernel.</summary>
    Avx512,
}

/// <summary>
/// Single-precision general matrix multiply, row-major, in the Goto/BLIS style: panels of op(A) and op(B) are
/// packed into contiguous, zero-padded buffers (which is where the transposes are handled), the loops are blocked
/// for the caches (NC columns of B per L3 panel, KC of the inner dimension per packed block, MC rows of A per
/// L2 block), and a register-blocked micro-kernel computes MR x NR tiles with FMA. Work is split over
/// <see cref="Workers"/> by whole tiles; the split depends only on the shape and <see cref="Workers.ThreadCount"/>
/// and never changes the order of the k-summation, so results are bit-identical run to run.
/// </summary>
internal static unsafe partial class Sgemm
{
    // The tuning knobs (instruction path, cache blocks, thresholds) belong to the engine settings of the thread that
    // calls (EngineSettings.Current.Gemm; a part on a worker thread runs under its opener's): a run, a scorer or a
    // test sets its own without touching the process.
    private static GemmSettings Settings => EngineSettings.Current.Gemm;

    // Cache blocking. KC x NR floats of packed B (one micro-panel) stay in L1, MC x KC floats of packed A in L2,
    // KC x NC floats of packed B in L2/L3.
    internal static int KC => Settings.KC;

    internal static int MC => Settings.MC;

    internal static int NC => Settings.NC;

    /// <summary>Below this many multiply-adds (m*n*k) a call runs on the calling thread only.</summary>
    internal static long ParallelThreshold => Settings.ParallelThreshold;

    /// <summary>The best instruction-set path this CPU runs.</summary>
    internal static SgemmIsa Detected { get; } = Avx512F.IsSupported && Fma.IsSupported ? SgemmIsa.Avx512
        : Avx2.IsSupported && Fma.IsSupported ? SgemmIsa.Avx2 : SgemmIsa.Scalar;

    /// <summary>The instruction-set path in use (<see cref="GemmSettings.Isa"/>).</summary>
    internal static SgemmIsa Isa => Settings.Isa;

    /// <summary>True when the given path can run on this CPU.</summary>
    internal static bool IsSupported(SgemmIsa path) => path switch
    {
        SgemmIsa.Avx512 => Avx512F.IsSupported && Fma.IsSupported,
        SgemmIsa.Avx2 => Avx2.IsSupported && Fma.IsSupported,
        _ => true,
    };

    [ThreadStatic] private static float[]? tlsPackA;
    [ThreadStatic] private static float[]? tlsPackB;
    [ThreadStatic] private static float[]? tlsTile;
    [ThreadStatic] private static GemmJob? tlsJob;
    [ThreadStatic] private static float[]? tlsSharedB;

    /// <summary>Largest op(B) (in floats, padded) that parallel calls pack once into a shared buffer.</summary>
    internal static long SharedPackLimit => Settings.SharedPackLimit;

    /// <summary>Largest k x nc panel of packed B (floats) for which the k-blocks are walked innermost (see <see cref="KInner"/>).</summary>
    internal static long KInnerFloats => Settings.KInnerFloats;

    /// <summary>
    /// True when there are several k-blocks and a whole k x nc panel of packed B fits in about half of L2: then,
    /// with all of op(B) packed up front, walking the k-blocks innermost keeps each mc x nc block of C in L2 while it
    /// accumulates, instead of streaming all of C to memory and back once per k-block. For larger panels B would be
    /// re-read from L3 for every block of rows, which costs more than it saves (measured on 2048^3).
    /// </summary>
    private static bool KInner(int k, int n, int nr) =>
        k > KcFor(k) && (long)k * Math.Min(RoundUp(n, nr), Math.Max(nr, NC / nr * nr)) <= KInnerFloats;

    private static int RoundUp(int x, int multiple) => (x + multiple - 1) / multiple * multiple;

    /// <summary>
    /// The k-block size: equal blocks of at most <see cref="KC"/> (a multiple of 16 so the transposing packers need no
    /// remainder) rather than KC plus a short tail.
    /// </summary>
    private static int KcFor(int k)
    {
        var blocks = (k + KC - 1) / KC;
        return Math.Min(k, ((k + blocks - 1) / blocks + 15) & ~15);
    }

    /// <summary>
    /// C[m,n] = alpha * op(A)[m,k] * op(B)[k,n] + beta * C, all row-major. op(A) is A (stored m x k with leading
    /// dimension <paramref name="lda"/>) or, when <paramref name="transA"/>, A^T (A stored k x m). Likewise for B
    /// (k x n, or n x k when <paramref name="transB"/>). When <paramref name="beta"/> is 0, C is overwritten
    /// (whatever it held, NaN included, is ignored). When k is 0 or alpha is 0, C = beta * C.
    /// </summary>
    public static void Multiply(bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, int lda, float* b, int ldb, float beta, float* c, int ldc)
    {
        if (Profile.Enabled)
        {
            var start = System.Diagnostics.Stopwatch.GetTimestamp();
            MultiplyCore(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
            Profile.Gemm(start, transA, transB, m, n, k);
            return;
        }
        MultiplyCore(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    }

    private static void MultiplyCore(bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, int lda, float* b, int ldb, float beta, float* c, int ldc)
    {
        CheckDims(transA, transB, m, n, k, lda, ldb, ldc);
        if (m == 0 || n == 0)
        {
            return;
        }
        if (k == 0 || alpha == 0f)
        {
            ScaleC(m, n, beta, c, ldc);
            return;
        }
        if (m <= SmallDim || n <= SmallDim)
        {
            MultiplySmall(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
            return;
        }
        MultiplyPacked(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, null);
    }

    /// <summary>
    /// C = alpha * op(A) * W^T + beta * C for a weight W [n, k] packed once by <see cref="Prepack"/> (a layer's
    /// constant weight when scoring): the product skips packing W, and its values are those of
    /// <see cref="Multiply(bool, bool, int, int, int, float, float*, int, float*, int, float, float*, int)"/> bit for bit
    /// (the same panels, consumed in the same order).
    /// </summary>
    internal static void Multiply(bool transA, int m, float alpha, float* a, int lda, PackedWeight w, float beta, float* c, int ldc)
    {
        int n = w.Weight.Shape.D0, k = w.Weight.Shape.D1;
        if (!PackedPathFits(w, m) || alpha == 0f)
        {
            Multiply(transA, true, m, n, k, alpha, a, lda, w.Weight.Pointer, k, beta, c, ldc);
            return;
        }
        CheckDims(transA, true, m, n, k, lda, k, ldc);
        if (m == 0)
        {
            return;
        }
        var start = Profile.Enabled ? System.Diagnostics.Stopwatch.GetTimestamp() : 0;
        MultiplyPacked(transA, true, m, n, k, alpha, a, lda, w.Weight.Pointer, k, beta, c, ldc, w.Data);
        Profiled(start, transA, m, n, k);
    }

    /// <summary>Counts a product with a packed weight (op(B) = W^T) begun at <paramref name="start"/> in <see cref="Profile"/> when it is on.</summary>
    private static void Profiled(long start, bool transA, int m, int n, int k)
    {
        if (Profile.Enabled)
        {
            Profile.Gemm(start, transA, true, m, n, k);
        }
    }

    /// <summary>
    /// C = op(A) * W^T + bias (each row), then max(C, 0) when <paramref name="relu"/>, for a packed weight: the scorer's
    /// dense layer in one pass over C. Bit for bit what filling C with the bias rows, multiplying with beta 1 and a
    /// separate ReLU pass give: the bias is added to each C tile right after its first k-block (where beta 1 would have
    /// added it, once rounded), and the ReLU (TensorPrimitives.Max(x, 0): NaN stays NaN) right after its last, while
    /// the tile is in L1. Shapes the packed kernel does not take fall back to exactly those three steps.
    /// </summary>
    internal static void Multiply(bool transA, int m, float* a, int lda, PackedWeight w, float* bias, bool relu, float* c, int ldc)
    {
        int n = w.Weight.Shape.D0, k = w.Weight.Shape.D1;
        CheckDims(transA, true, m, n, k, lda, k, ldc);
        if (m == 0)
        {
            return;
        }
        if (!PackedPathFits(w, m) || k == 0)
        {
            for (var i = 0; i < m && bias != null; i++)
            {
                new ReadOnlySpan<float>(bias, n).CopyTo(new Span<float>(c + (nint)i * ldc, n));
            }
            Multiply(transA, true, m, n, k, 1f, a, lda, w.Weight.Pointer, k, bias != null ? 1f : 0f, c, ldc);
            if (relu)
            {
                for (var i = 0; i < m; i++)
                {
                    var row = new Span<float>(c + (nint)i * ldc, n);
                    TensorPrimitives.Max(row, 0f, row);
                }
            }
            return;
        }
        var start = Profile.Enabled ? System.Diagnostics.Stopwatch.GetTimestamp() : 0;
        MultiplyPacked(transA, true, m, n, k, 1f, a, lda, w.Weight.Pointer, k, 0f, c, ldc, w.Data, bias, relu);
        Profiled(start, transA, m, n, k);
    }

    /// <summary>Whether a product with this packed weight takes the packed kernel (else the unpacked or thin path).</summary>
    private static bool PackedPathFits(PackedWeight w, int m) => w.Isa == Isa && m > SmallDim && w.Weight.Shape.D0 > SmallDim;

    /// <summary>Packs W [n, k] as op(B) = W^T for <see cref="Multiply(bool, int, float, float*, int, PackedWeight, float, float*, int)"/>.</summary>
    internal static PackedWeight Prepack(Tensor weight)
    {
        if (weight.Shape.Rank != 2)
        {
            throw new ArgumentException($"Prepack: a weight [out, in] is needed, got {weight.Shape}.");
        }
        int n = weight.Shape.D0, k = weight.Shape.D1;
        var kernel = SelectKernel(Isa);
        var floats = SharedPackFloats(k, n, kernel.Nr);
        var store = GC.AllocateArray<float>((int)floats + 16, pinned: true);
        var data = (float*)(((nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(store)) + 63) & ~(nint)63);
        var job = new GemmJob();
        job.Set(false, true, 0, n, k, 1f, null, 0, weight.Pointer, k, 0f, null, 0, kernel);
        job.SharedB = data;
        job.Phase = 1;
        job.Execute(0, 1);
        job.Clear();
        return new PackedWeight(weight, store, data, Isa);
    }

    /// <summary>A weight packed for repeated products (see <see cref="Prepack"/>); valid while the weight is unchanged.</summary>
    internal sealed class PackedWeight
    {
        /// <summary>The pinned (POH) array holding the panels; <see cref="Data"/> is its 64-byte aligned start.</summary>
        private readonly float[] store;
        private readonly int start;

        internal PackedWeight(Tensor weight, float[] store, float* data, SgemmIsa isa)
        {
            Weight = weight;
            this.store = store;
            start = (int)(data - (float*)Unsafe.AsPointer(ref store[0]));
            Isa = isa;
        }

        public Tensor Weight { get; }

        internal float* Data => (float*)Unsafe.AsPointer(ref store[start]);

        internal SgemmIsa Isa { get; }
    }

    /// <summary>The packed path of Multiply; <paramref name="prepackedB"/>, when given, holds every panel of op(B).</summary>
    private static void MultiplyPacked(bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, int lda, float* b, int ldb, float beta, float* c, int ldc, float* prepackedB, float* bias = null, bool relu = false)
    {
        var kernel = SelectKernel(Isa);
        var job = tlsJob ??= new GemmJob();
        job.Set(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, kernel);
        job.Bias = bias;
        job.Relu = relu;
        var threads = Workers.ThreadCount;
        int partsM = 1, partsN = 1;
        if (threads > 1 && (long)m * n * k >= ParallelThreshold)
        {
            ChooseSplit(threads, m, n, k, kernel.Mr, kernel.Nr, out partsM, out partsN);
        }
        job.PartsM = partsM;
        job.PartsN = partsN;
        var parts = partsM * partsN;
        try
        {
            // Parts that split M all need the whole of op(B): pack it once, in parallel, into a buffer owned by the
            // calling thread, then let every part read it (Goto's shared B panel, without barriers inside a job).
            var packedB = SharedPackFloats(k, n, kernel.Nr);
            if (prepackedB != null)
            {
                job.SharedB = prepackedB;
            }
            else if (partsN == 1 && packedB <= SharedPackLimit && (partsM > 1 || KInner(k, n, kernel.Nr)))
            {
                job.SharedB = Buffer(ref tlsSharedB, packedB);
                job.Phase = 1;
                Workers.Run(job, Math.Min(parts, threads));
                job.Phase = 0;
            }
            Workers.Run(job, parts);
        }
        finally
        {
            job.Clear();
        }
    }

    /// <summary>
    /// Span overload of <see cref="Multiply(bool, bool, int, int, int, float, float*, int, float*, int, float, float*, int)"/>:
    /// checks that every span is long enough for its dimensions and leading dimension, then pins and multiplies.
    /// </summary>
    public static void Multiply(bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc)
    {
        CheckDims(transA, transB, m, n, k, lda, ldb, ldc);
        var needA = Required(transA ? k : m, transA ? m : k, lda);
        var needB = Required(transB ? n : k, transB ? k : n, ldb);
        var needC = Required(m, n, ldc);
        if (a.Length < needA)
        {
            throw new ArgumentException(
                $"Sgemm: A has {a.Length} elements but op(A) is {m}x{k} (transA={transA}, lda={lda}) and needs {needA}.", nameof(a));
        }
        if (b.Length < needB)
        {
            throw new ArgumentException(
                $"Sgemm: B has {b.Length} elements but op(B) is {k}x{n} (transB={transB}, ldb={ldb}) and needs {needB}.", nameof(b));
        }
        if (c.Length < needC)
        {
            throw new ArgumentException(
                $"Sgemm: C has {c.Length} elements but C is {m}x{n} (ldc={ldc}) and needs {needC}.", nameof(c));
        }
        fixed (float* pa = a)
        fixed (float* pb = b)
        fixed (float* pc = c)
        {
            Multiply(transA, transB, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc);
        }
    }

    private static long Required(int rows, int cols, int ld) => rows == 0 || cols == 0 ? 0 : (long)(rows - 1) * ld + cols;

    private static void CheckDims(bool transA, bool transB, int m, int n, int k, int lda, int ldb, int ldc)
    {
        if (m < 0 || n < 0 || k < 0)
        {
            throw new ArgumentException($"Sgemm: dimensions must be non-negative (m={m}, n={n}, k={k}).");
        }
        var colsA = transA ? m : k;
        var colsB = transB ? k : n;
        if (lda < colsA)
        {
            throw new ArgumentException($"Sgemm: lda={lda} is smaller than the {colsA} columns of stored A (m={m}, k={k}, transA={transA}).", nameof(lda));
        }
        if (ldb < colsB)
        {
            throw new ArgumentException($"Sgemm: ldb={ldb} is smaller than the {colsB} columns of stored B (k={k}, n={n}, transB={transB}).", nameof(ldb));
        }
        if (ldc < n)
        {
            throw new ArgumentException($"Sgemm: ldc={ldc} is smaller than the {n} columns of C (m={m}).", nameof(ldc));
        }
    }

    private static void ScaleC(int m, int n, float beta, float* c, int ldc)
    {
        for (var i = 0; i < m; i++)
        {
            var row = new Span<float>(c + (nint)i * ldc, n);
            if (beta == 0f)
            {
                row.Clear();
            }
            else if (beta != 1f)
            {
                for (var j = 0; j < row.Length; j++)
                {
                    row[j] *= beta;
                }
            }
        }
    }

    /// <summary>
    /// Splits the output into parts (a pure function of the shape and the thread count, so results are reproducible).
    /// Preferred: split M, with op(B) packed once and shared; then the rows are cut into up to
    /// <see cref="PartsPerThread"/> parts per thread, which the pool hands out dynamically, so a thread that loses its
    /// core for a while (busy machine) does not hold everyone up. Otherwise split N (each part packs its own B columns
    /// and all of A), or as much of M as there is.
    /// </summary>
    private static void ChooseSplit(int threads, int m, int n, int k, int mr, int nr, out int partsM, out int partsN)
    {
        int tilesM = (m + mr - 1) / mr, tilesN = (n + nr - 1) / nr;
        partsM = 1;
        partsN = 1;
        var sharedB = SharedPackFloats(k, n, nr) <= SharedPackLimit;
        if (tilesM >= 2 * threads && sharedB)
        {
            // At least MinTilesPerPart micro-panels of rows per part, so the per-part overhead stays small.
            partsM = Math.Max(threads, Math.Min(threads * PartsPerThread, tilesM / MinTilesPerPart));
            // A whole number of parts per thread: 3 parts on 2 threads leave one thread idle for a third of the call
            // (the 624-row weight gradients at Criteo shape).
            partsM -= partsM % threads;
        }
        else if (tilesM >= 2 * threads)
        {
            partsM = threads;
        }
        else if (tilesN >= threads)
        {
            partsN = threads;
        }
        else
        {
            partsM = Math.Min(threads, tilesM);
        }
    }

    /// <summary>Parts per thread when rows are split (dynamic load balancing).</summary>
    internal static int PartsPerThread => Settings.PartsPerThread;

    private const int MinTilesPerPart = 32;

    /// <summary>Floats needed to hold all of op(B) packed (k-blocks of <see cref="KcFor"/> rows, n padded to nr).</summary>
    private static long SharedPackFloats(int k, int n, int nr)
    {
        var kc = KcFor(k);
        return (long)kc * ((k + kc - 1) / kc) * RoundUp(n, nr);
    }

    private static float* Buffer(ref float[]? store, long floats)
    {
        // Pinned (POH) so the address is stable; padded so we can align the start to 64 bytes.
        if (store is null || store.Length < floats + 16)
        {
            store = null;
            store = GC.AllocateUninitializedArray<float>((int)Math.Max(floats + 16, 1024), pinned: true);
        }
        var p = (float*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(store));
        return (float*)(((nint)p + 63) & ~(nint)63);
    }

    private readonly struct Kernel
    {
        public readonly int Mr;
        public readonly int Nr;
        public readonly delegate*<int, float*, float*, float*, nint, float, float, void> Fn;

        /// <summary>The same kernel reading full panels of a non-transposed A in place (null: always pack A).</summary>
        public readonly delegate*<int, float*, nint, float*, float*, nint, float, float, void> DirectFn;

        /// <summary>The kernel's left half (Nr / 2 columns of the same packed B) for a last panel that narrow (null: none).</summary>
        public readonly delegate*<int, float*, float*, float*, nint, float, float, void> HalfFn;

        public Kernel(int mr, int nr, delegate*<int, float*, float*, float*, nint, float, float, void> fn,
            delegate*<int, float*, nint, float*, float*, nint, float, float, void> directFn = null,
            delegate*<int, float*, float*, float*, nint, float, float, void> halfFn = null)
        {
            Mr = mr;
            Nr = nr;
            Fn = fn;
            DirectFn = directFn;
            HalfFn = halfFn;
        }
    }

    /// <summary>Whether full row panels of a non-transposed A are read in place (<see cref="GemmSettings.DirectA"/>).</summary>
    internal static bool DirectA => Settings.DirectA;

    private static Kernel SelectKernel(SgemmIsa path) => path switch
    {
        SgemmIsa.Avx512 => new Kernel(14, 32, &Kernel512_14x32, &Kernel512_14x32A),
        SgemmIsa.Avx2 => new Kernel(6, 16, &Kernel256_6x16, &Kernel256_6x16A, &Kernel256_6x8),
        _ => new Kernel(4, 4, &KernelScalar4x4),
    };

    private sealed class GemmJob : ParallelJob
    {
        private bool transA, transB;
        private int m, n, k, lda, ldb, ldc;
        private float alpha, beta;
        private float* a, b, c;
        private Kernel kernel;
        public int PartsM;
        public int PartsN;

        public void Set(bool transA, bool transB, int m, int n, int k, float alpha, float* a, int lda, float* b, int ldb,
            float beta, float* c, int ldc, Kernel kernel)
        {
            this.transA = transA;
            this.transB = transB;
            this.m = m;
            this.n = n;
            this.k = k;
            this.alpha = alpha;
            this.a = a;
            this.lda = lda;
            this.b = b;
            this.ldb = ldb;
            this.beta = beta;
            this.c = c;
            this.ldc = ldc;
            this.kernel = kernel;
        }

        public int Phase;
        public float* SharedB;

        /// <summary>Epilogue (scoring's dense layers): a bias row added after the first k-block, ReLU after the last.</summary>
        public float* Bias;
        public bool Relu;

        public void Clear()
        {
            a = null;
            b = null;
            c = null;
            SharedB = null;
            Bias = null;
            Relu = false;
            Phase = 0;
        }

        public override void Execute(int part, int parts)
        {
            var mr = kernel.Mr;
            var nr = kernel.Nr;
            if (Phase == 1)
            {
                PackShared(part, parts);
                return;
            }
            var pm = part % PartsM;
            var pn = part / PartsM;
            Range(m, mr, PartsM, pm, out var m0, out var m1);
            Range(n, nr, PartsN, pn, out var n0, out var n1);
            if (m0 < m1 && n0 < n1)
            {
                Compute(m0, m1, n0, n1);
            }
        }

        private static void Range(int size, int tile, int parts, int index, out int start, out int end)
        {
            var tiles = (size + tile - 1) / tile;
            var per = tiles / parts;
            var extra = tiles % parts;
            var t0 = index * per + Math.Min(index, extra);
            var t1 = t0 + per + (index < extra ? 1 : 0);
            start = Math.Min(size, t0 * tile);
            end = Math.Min(size, t1 * tile);
        }

        /// <summary>Packs this part's share of the B micro-panels, for every k-block, into <see cref="SharedB"/>.</summary>
        private void PackShared(int part, int parts)
        {
            var nr = kernel.Nr;
            var kcMax = KcFor(k);
            var nPad = RoundUp(n, nr);
            Range(n, nr, parts, part, out var j0, out var j1);
            if (j0 >= j1)
            {
                return;
            }
            for (var pc = 0; pc < k; pc += kcMax)
            {
                var kc = Math.Min(kcMax, k - pc);
                PackB(transB, b, ldb, pc, kc, j0, j1 - j0, SharedB + (long)pc * nPad + (long)j0 * kc, nr);
            }
        }

        private void Compute(int m0, int m1, int n0, int n1)
        {
            var mr = kernel.Mr;
            var nr = kernel.Nr;
            var kcMax = KcFor(k);
            var shared = SharedB;
            var nPad = RoundUp(n, nr);
            var mcMax = Math.Max(mr, MC / mr * mr);
            var ncMax = Math.Max(nr, NC / nr * nr);
            var ncCap = Math.Min(ncMax, (n1 - n0 + nr - 1) / nr * nr);
            var mcCap = Math.Min(mcMax, (m1 - m0 + mr - 1) / mr * mr);
            var packA = Buffer(ref tlsPackA, (long)mcCap * kcMax + 16);
            var tile = Buffer(ref tlsTile, mr * nr);
            var direct = !transA && DirectA && kernel.DirectFn != null;
            if (shared != null && KInner(k, n, nr))
            {
                // All k-blocks of B are already packed and a k x nc panel fits in L2: walk k innermost so the mc x nc
                // block of C stays in L2 while it accumulates over the k-blocks.
                for (var jc = n0; jc < n1; jc += ncMax)
                {
                    var nc = Math.Min(ncMax, n1 - jc);
                    for (var ic = m0; ic < m1; ic += mcMax)
                    {
                        var mc = Math.Min(mcMax, m1 - ic);
                        for (var pc = 0; pc < k; pc += kcMax)
                        {
                            var kc = Math.Min(kcMax, k - pc);
                            PackPanels(direct, ic, mc, pc, kc, packA);
                            // Block pc of the shared buffer holds all panels of that k-block, kc * nr floats each.
                            Block(packA, direct ? a + ((nint)ic * lda) + pc : null, shared + (long)pc * nPad + (long)jc * kc, tile, ic, mc, jc, nc, kc,
                                pc == 0 ? beta : 1f, pc == 0, pc + kc >= k);
                        }
                    }
                }
                return;
            }
            var packB = shared != null ? null : Buffer(ref tlsPackB, (long)ncCap * kcMax);
            for (var jc = n0; jc < n1; jc += ncMax)
            {
                var nc = Math.Min(ncMax, n1 - jc);
                for (var pc = 0; pc < k; pc += kcMax)
                {
                    var kc = Math.Min(kcMax, k - pc);
                    if (shared != null)
                    {
                        packB = shared + (long)pc * nPad + (long)jc * kc;
                    }
                    else
                    {
                        PackB(transB, b, ldb, pc, kc, jc, nc, packB, nr);
                    }
                    for (var ic = m0; ic < m1; ic += mcMax)
                    {
                        var mc = Math.Min(mcMax, m1 - ic);
                        PackPanels(direct, ic, mc, pc, kc, packA);
                        Block(packA, direct ? a + ((nint)ic * lda) + pc : null, packB, tile, ic, mc, jc, nc, kc, pc == 0 ? beta : 1f, pc == 0, pc + kc >= k);
                    }
                }
            }
        }

        /// <summary>
        /// Multiplies a packed mc x kc block of A by a packed kc x nc block of B into C[ic.., jc..]. One A micro-panel
        /// (mr x kc) stays in L1 while the B micro-panels stream past it from L2.
        /// </summary>
        /// <summary>Packs the A panels of rows ic .. ic+mc, k-block pc; when A is read in place, only a partial last panel.</summary>
        private void PackPanels(bool direct, int ic, int mc, int pc, int kc, float* packA)
        {
            var mr = kernel.Mr;
            var full = direct ? mc / mr * mr : 0;
            if (full < mc)
            {
                PackA(transA, a, lda, ic + full, mc - full, pc, kc, packA + ((nint)full * kc), mr);
            }
        }

        /// <summary>
        /// Multiplies the A block (packed in <paramref name="packA"/>, or its full panels read in place from
        /// <paramref name="aDirect"/> when not null) by a packed kc x nc block of B into C[ic.., jc..].
        /// </summary>
        private void Block(float* packA, float* aDirect, float* packB, float* tile, int ic, int mc, int jc, int nc, int kc, float betaBlock,
            bool firstK, bool lastK)
        {
            var bias = firstK ? Bias : null;
            var relu = lastK && Relu;
            var mr = kernel.Mr;
            var nr = kernel.Nr;
            var fn = kernel.Fn;
            var directFn = kernel.DirectFn;
            nint ldcN = ldc;
            nint ldaN = lda;
            for (var ir = 0; ir < mc; ir += mr)
            {
                var rows = Math.Min(mr, mc - ir);
                var pa = packA + (nint)ir * kc;
                var ad = aDirect != null && rows == mr ? aDirect + (ir * ldaN) : null;
                for (var jr = 0; jr < nc; jr += nr)
                {
                    var cols = Math.Min(nr, nc - jr);
                    var pb = packB + (nint)jr * kc;
                    var cp = c + (ic + ir) * ldcN + jc + jr;
                    if (rows == mr && cols == nr)
                    {
                        if (ad != null)
                        {
                            directFn(kc, ad, ldaN, pb, cp, ldcN, alpha, betaBlock);
                        }
                        else
                        {
                            fn(kc, pa, pb, cp, ldcN, alpha, betaBlock);
                        }
                    }
                    else
                    {
                        if (ad != null)
                        {
                            directFn(kc, ad, ldaN, pb, tile, nr, 1f, 0f);
                        }
                        else if (cols <= nr / 2 && kernel.HalfFn != null)
                        {
                            kernel.HalfFn(kc, pa, pb, tile, nr, 1f, 0f);
                        }
                        else
                        {
                            fn(kc, pa, pb, tile, nr, 1f, 0f);
                        }
                        MergeTile(tile, nr, cp, ldcN, rows, cols, alpha, betaBlock);
                    }
                    if (bias != null || relu)
                    {
                        Epilogue(cp, ldcN, rows, cols, bias == null ? null : bias + jc + jr, relu);
                    }
                }
            }
        }
    }

    private static void Epilogue(float* c, nint ldc, int rows, int cols, float* bias, bool relu)
    {
        if (cols == 32 && Vector512.IsHardwareAccelerated)
        {
            // A full AVX-512 tile: two vectors a row. Vector512.Max is IEEE maximum, as TensorPrimitives.Max (NaN stays).
            var b0 = bias != null ? Vector512.Load(bias) : Vector512<float>.Zero;
            var b1 = bias != null ? Vector512.Load(bias + 16) : Vector512<float>.Zero;
            for (var i = 0; i < rows; i++)
            {
                var r = c + i * ldc;
                var v0 = Vector512.Load(r);
                var v1 = Vector512.Load(r + 16);
                if (bias != null)
                {
                    v0 += b0;
                    v1 += b1;
                }
                if (relu)
                {
                    v0 = Vector512.Max(v0, Vector512<float>.Zero);
                    v1 = Vector512.Max(v1, Vector512<float>.Zero);
                }
                Vector512.Store(v0, r);
                Vector512.Store(v1, r + 16);
            }
            return;
        }
        if (cols == 16 && Vector256.IsHardwareAccelerated)
        {
            // A full AVX2 tile, likewise (Vector256.Max is IEEE maximum too): per-row library calls cost about as much
            // as the tile's arithmetic here.
            var b0 = bias != null ? Vector256.Load(bias) : Vector256<float>.Zero;
            var b1 = bias != null ? Vector256.Load(bias + 8) : Vector256<float>.Zero;
            for (var i = 0; i < rows; i++)
            {
                var r = c + i * ldc;
                var v0 = Vector256.Load(r);
                var v1 = Vector256.Load(r + 8);
                if (bias != null)
                {
                    v0 += b0;
                    v1 += b1;
                }
                if (relu)
                {
                    v0 = Vector256.Max(v0, Vector256<float>.Zero);
                    v1 = Vector256.Max(v1, Vector256<float>.Zero);
                }
                Vector256.Store(v0, r);
                Vector256.Store(v1, r + 8);
            }
            return;
        }
        for (var i = 0; i < rows; i++)
        {
            var row = new Span<float>(c + i * ldc, cols);
            if (bias != null)
            {
                TensorPrimitives.Add(row, new ReadOnlySpan<float>(bias, cols), row);
            }
            if (relu)
            {
                TensorPrimitives.Max(row, 0f, row);
            }
        }
    }

    private static void MergeTile(float* tile, int nr, float* c, nint ldc, int rows, int cols, float alpha, float beta)
    {
        for (var i = 0; i < rows; i++)
        {
            var t = tile + i * nr;
            var cr = c + i * ldc;
            if (beta == 0f)
            {
                for (var j = 0; j < cols; j++)
                {
                    cr[j] = t[j] * alpha;
                }
            }
            else
            {
                for (var j = 0; j < cols; j++)
                {
                    cr[j] = MathF.FusedMultiplyAdd(cr[j], beta, t[j] * alpha);
                }
            }
        }
    }

    /// <summary>
    /// Packs op(A)[i0 .. i0+mc, p0 .. p0+kc] into micro-panels of <paramref name="mr"/> rows: panel r holds, for each
    /// p, the mr values op(A)[i0 + r*mr + i, p0 + p] contiguously; rows past mc are zero.
    /// </summary>
    private static void PackA(bool trans, float* a, nint lda, int i0, int mc, int p0, int kc, float* dst, int mr)
    {
        if (trans && mc >= mr && (mr is >= 8 and <= 16 || mr == 6) && Vector256.IsHardwareAccelerated)
        {
            // op(A)(i, p) = a[p * lda + i]: row p of stored A holds column p of op(A), so each panel takes mr contiguous
            // floats per row (two overlapping 8-float copies; AVX2's 6-row panels: 4 floats and 2). The partial last
            // panel is done element-wise.
            var full = mc / mr * mr;
            if (mr == 6)
            {
                PackRowGroups<Copy6>(a, lda, p0, kc, i0, full, mr, dst);
            }
            else
            {
                PackRowGroups<Copy8To16>(a, lda, p0, kc, i0, full, mr, dst);
            }
            if (full == mc)
            {
                return;
            }
            PackA(trans, a, lda, i0 + full, mc - full, p0, kc, dst + (nint)full * kc, mr);
            return;
        }
        for (var ir = 0; ir < mc; ir += mr)
        {
            var rows = Math.Min(mr, mc - ir);
            var d = dst + (nint)ir * kc;
            if (!trans && rows == mr && mr <= 16 && Avx512F.IsSupported)
            {
                // Full panel: transpose 16 x 16 blocks in registers; each output column is stored as 16 floats at
                // stride mr, in increasing order, so lanes past mr are overwritten by the next column (the buffer
                // has slack for the last one).
                var s = a + (i0 + ir) * lda + p0;
                var p = 0;
                for (; p + 16 <= kc; p += 16)
                {
                    Transpose16(s + p, lda, mr, d + p * mr, mr);
                }
                for (; p < kc; p++)
                {
                    for (var i = 0; i < mr; i++)
                    {
                        d[p * mr + i] = s[i * lda + p];
                    }
                }
            }
            else if (!trans)
            {
                // op(A)(i, p) = a[i * lda + p]: each source row scatters with stride mr.
                for (var i = 0; i < rows; i++)
                {
                    var s = a + (i0 + ir + i) * lda + p0;
                    var dd = d + i;
                    for (var p = 0; p < kc; p++)
                    {
                        dd[p * mr] = s[p];
                    }
                }
                for (var i = rows; i < mr; i++)
                {
                    var dd = d + i;
                    for (var p = 0; p < kc; p++)
                    {
                        dd[p * mr] = 0f;
                    }
                }
            }
            else
            {
                // op(A)(i, p) = a[p * lda + i]: each k step is a contiguous run of rows.
                for (var p = 0; p < kc; p++)
                {
                    var s = a + (p0 + p) * lda + i0 + ir;
                    var dd = d + p * mr;
                    var i = 0;
                    for (; i < rows; i++)
                    {
                        dd[i] = s[i];
                    }
                    for (; i < mr; i++)
                    {
                        dd[i] = 0f;
                    }
                }
            }
        }
    }

    /// <summary>
    /// Packs panels whose values are contiguous in the stored rows (A^T's panels, a non-transposed B's): panel q holds,
    /// for each p in [0, kc), the <paramref name="width"/> floats src[(p0 + p) * ld + c0 + q * width ..]. Rows are taken
    /// TnGroup at a time and walked across the first <paramref name="full"/> columns (whole panels), so each row is read
    /// once, sequentially, while its lines are in L1, and each panel receives a contiguous run; the same columns
    /// PrefetchRows rows ahead are prefetched. <typeparamref name="TCopy"/> copies one row's run.
    /// </summary>
    private static void PackRowGroups<TCopy>(float* src, nint ld, int p0, int kc, int c0, int full, int width, float* dst)
        where TCopy : struct, IRowCopy
    {
        var (group, ahead) = (Settings.TnGroup, Settings.PrefetchRows);
        for (var pg = 0; pg < kc; pg += group)
        {
            var pe = Math.Min(kc, pg + group);
            for (var c = 0; c < full; c += width)
            {
                var t = dst + (nint)c * kc;
                for (var p = pg; p < pe; p++)
                {
                    var s = src + (p0 + p) * ld + c0 + c;
                    // Stored rows are far apart; prefetch the same columns a few rows ahead.
                    Sse.Prefetch0(p + ahead < kc ? s + ahead * ld : s);
                    TCopy.Copy(s, t + p * width, width);
                }
            }
        }
    }

    /// <summary>One row's run of a panel for <see cref="PackRowGroups"/>.</summary>
    private interface IRowCopy
    {
        static abstract void Copy(float* s, float* d, int width);
    }

    /// <summary>6 floats (AVX2's A panels): 4 and 2.</summary>
    private struct Copy6 : IRowCopy
    {
        public static void Copy(float* s, float* d, int width)
        {
            Vector128.Store(Vector128.Load(s), d);
            *(long*)(d + 4) = *(long*)(s + 4);
        }
    }

    /// <summary>8 to 16 floats: two overlapping 8-float copies.</summary>
    private struct Copy8To16 : IRowCopy
    {
        public static void Copy(float* s, float* d, int width)
        {
            Vector256.Store(Vector256.Load(s), d);
            Vector256.Store(Vector256.Load(s + width - 8), d + width - 8);
        }
    }

    /// <summary>A multiple of 16 floats, 16 at a time (AVX-512's 32-wide B panels).</summary>
    private struct CopySixteens : IRowCopy
    {
        public static void Copy(float* s, float* d, int width)
        {
            for (var j = 0; j < width; j += 16)
            {
                Vector512.Store(Vector512.Load(s + j), d + j);
            }
        }
    }

    /// <summary>A multiple of 8 floats, 8 at a time.</summary>
    private struct CopyEights : IRowCopy
    {
        public static void Copy(float* s, float* d, int width)
        {
            for (var j = 0; j < width; j += 8)
            {
                Vector256.Store(Vector256.Load(s + j), d + j);
            }
        }
    }

    /// <summary>
    /// Packs op(B)[p0 .. p0+kc, j0 .. j0+nc] into micro-panels of <paramref name="nr"/> columns: panel r holds, for
    /// each p, the nr values op(B)[p0 + p, j0 + r*nr + j] contiguously; columns past nc are zero.
    /// </summary>
    private static void PackB(bool trans, float* b, nint ldb, int p0, int kc, int j0, int nc, float* dst, int nr)
    {
        if (!trans && nc >= nr && nr % 8 == 0 && Vector256.IsHardwareAccelerated)
        {
            // op(B)(p, j) = b[p * ldb + j]: each panel takes nr contiguous floats of every row.
            var full = nc / nr * nr;
            if (nr % 16 == 0 && Vector512.IsHardwareAccelerated)
            {
                PackRowGroups<CopySixteens>(b, ldb, p0, kc, j0, full, nr, dst);
            }
            else
            {
                PackRowGroups<CopyEights>(b, ldb, p0, kc, j0, full, nr, dst);
            }
            if (full < nc)
            {
                PackB(trans, b, ldb, p0, kc, j0 + full, nc - full, dst + (nint)full * kc, nr);
            }
            return;
        }
        for (var jr = 0; jr < nc; jr += nr)
        {
            var cols = Math.Min(nr, nc - jr);
            var d = dst + (nint)jr * kc;
            if (!trans)
            {
                // op(B)(p, j) = b[p * ldb + j]: contiguous runs, element-wise (full vector panels took the path above;
                // here only a partial last panel, or a CPU without vectors).
                for (var p = 0; p < kc; p++)
                {
                    var s = b + (p0 + p) * ldb + j0 + jr;
                    var dd = d + p * nr;
                    var j = 0;
                    for (; j < cols; j++)
                    {
                        dd[j] = s[j];
                    }
                    for (; j < nr; j++)
                    {
                        dd[j] = 0f;
                    }
                }
            }
            else if (cols == nr && nr % 16 == 0 && Avx512F.IsSupported)
            {
                var p = 0;
                for (; p + 16 <= kc; p += 16)
                {
                    for (var j = 0; j < nr; j += 16)
                    {
                        Transpose16(b + (j0 + jr + j) * ldb + p0 + p, ldb, 16, d + p * nr + j, nr);
                    }
                }
                for (; p < kc; p++)
                {
                    for (var j = 0; j < nr; j++)
                    {
                        d[p * nr + j] = b[(j0 + jr + j) * ldb + p0 + p];
                    }
                }
            }
            else
            {
                // op(B)(p, j) = b[j * ldb + p]: each source row scatters with stride nr.
                for (var j = 0; j < cols; j++)
                {
                    var s = b + (j0 + jr + j) * ldb + p0;
                    var dd = d + j;
                    for (var p = 0; p < kc; p++)
                    {
                        dd[p * nr] = s[p];
                    }
                }
                for (var j = cols; j < nr; j++)
                {
                    var dd = d + j;
                    for (var p = 0; p < kc; p++)
                    {
                        dd[p * nr] = 0f;
                    }
                }
            }
        }
    }

    /// <summary>
    /// Reads a 16 x 16 block (row r at src + r * ld; rows at or past <paramref name="rows"/> repeat the last valid row)
    /// and writes its transpose: column c goes to dst + c * dstStride as 16 floats, columns in increasing order.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose16(float* src, nint ld, int rows, float* dst, nint dstStride)
    {
        var last = rows - 1;
        var r0 = Vector512.Load(src);
        var r1 = Vector512.Load(src + Math.Min(1, last) * ld);
        var r2 = Vector512.Load(src + Math.Min(2, last) * ld);
        var r3 = Vector512.Load(src + Math.Min(3, last) * ld);
        var r4 = Vector512.Load(src + Math.Min(4, last) * ld);
        var r5 = Vector512.Load(src + Math.Min(5, last) * ld);
        var r6 = Vector512.Load(src + Math.Min(6, last) * ld);
        var r7 = Vector512.Load(src + Math.Min(7, last) * ld);
        var r8 = Vector512.Load(src + Math.Min(8, last) * ld);
        var r9 = Vector512.Load(src + Math.Min(9, last) * ld);
        var r10 = Vector512.Load(src + Math.Min(10, last) * ld);
        var r11 = Vector512.Load(src + Math.Min(11, last) * ld);
        var r12 = Vector512.Load(src + Math.Min(12, last) * ld);
        var r13 = Vector512.Load(src + Math.Min(13, last) * ld);
        var r14 = Vector512.Load(src + Math.Min(14, last) * ld);
        var r15 = Vector512.Load(src + Math.Min(15, last) * ld);

        // Stage 1: interleave row pairs.
        var t0 = Avx512F.UnpackLow(r0, r1).AsDouble();
        var t1 = Avx512F.UnpackHigh(r0, r1).AsDouble();
        var t2 = Avx512F.UnpackLow(r2, r3).AsDouble();
        var t3 = Avx512F.UnpackHigh(r2, r3).AsDouble();
        var t4 = Avx512F.UnpackLow(r4, r5).AsDouble();
        var t5 = Avx512F.UnpackHigh(r4, r5).AsDouble();
        var t6 = Avx512F.UnpackLow(r6, r7).AsDouble();
        var t7 = Avx512F.UnpackHigh(r6, r7).AsDouble();
        var t8 = Avx512F.UnpackLow(r8, r9).AsDouble();
        var t9 = Avx512F.UnpackHigh(r8, r9).AsDouble();
        var t10 = Avx512F.UnpackLow(r10, r11).AsDouble();
        var t11 = Avx512F.UnpackHigh(r10, r11).AsDouble();
        var t12 = Avx512F.UnpackLow(r12, r13).AsDouble();
        var t13 = Avx512F.UnpackHigh(r12, r13).AsDouble();
        var t14 = Avx512F.UnpackLow(r14, r15).AsDouble();
        var t15 = Avx512F.UnpackHigh(r14, r15).AsDouble();

        // Stage 2: in each 128-bit lane L of u(4g + j): rows 4g..4g+3 of column 4L + j.
        var u0 = Avx512F.UnpackLow(t0, t2).AsSingle();
        var u1 = Avx512F.UnpackHigh(t0, t2).AsSingle();
        var u2 = Avx512F.UnpackLow(t1, t3).AsSingle();
        var u3 = Avx512F.UnpackHigh(t1, t3).AsSingle();
        var u4 = Avx512F.UnpackLow(t4, t6).AsSingle();
        var u5 = Avx512F.UnpackHigh(t4, t6).AsSingle();
        var u6 = Avx512F.UnpackLow(t5, t7).AsSingle();
        var u7 = Avx512F.UnpackHigh(t5, t7).AsSingle();
        var u8 = Avx512F.UnpackLow(t8, t10).AsSingle();
        var u9 = Avx512F.UnpackHigh(t8, t10).AsSingle();
        var u10 = Avx512F.UnpackLow(t9, t11).AsSingle();
        var u11 = Avx512F.UnpackHigh(t9, t11).AsSingle();
        var u12 = Avx512F.UnpackLow(t12, t14).AsSingle();
        var u13 = Avx512F.UnpackHigh(t12, t14).AsSingle();
        var u14 = Avx512F.UnpackLow(t13, t15).AsSingle();
        var u15 = Avx512F.UnpackHigh(t13, t15).AsSingle();

        // Stage 3: pair groups (0,1) and (2,3): 0x88 keeps lanes 0 and 2, 0xDD lanes 1 and 3.
        var v0 = Avx512F.Shuffle4x128(u0, u4, 0x88);
        var v1 = Avx512F.Shuffle4x128(u1, u5, 0x88);
        var v2 = Avx512F.Shuffle4x128(u2, u6, 0x88);
        var v3 = Avx512F.Shuffle4x128(u3, u7, 0x88);
        var v4 = Avx512F.Shuffle4x128(u0, u4, 0xDD);
        var v5 = Avx512F.Shuffle4x128(u1, u5, 0xDD);
        var v6 = Avx512F.Shuffle4x128(u2, u6, 0xDD);
        var v7 = Avx512F.Shuffle4x128(u3, u7, 0xDD);
        var v8 = Avx512F.Shuffle4x128(u8, u12, 0x88);
        var v9 = Avx512F.Shuffle4x128(u9, u13, 0x88);
        var v10 = Avx512F.Shuffle4x128(u10, u14, 0x88);
        var v11 = Avx512F.Shuffle4x128(u11, u15, 0x88);
        var v12 = Avx512F.Shuffle4x128(u8, u12, 0xDD);
        var v13 = Avx512F.Shuffle4x128(u9, u13, 0xDD);
        var v14 = Avx512F.Shuffle4x128(u10, u14, 0xDD);
        var v15 = Avx512F.Shuffle4x128(u11, u15, 0xDD);

        // Stage 4: v(j) 0x88 with v(8 + j) gives column j, 0xDD column 8 + j; v(4 + j) likewise gives 4 + j, 12 + j.
        Vector512.Store(Avx512F.Shuffle4x128(v0, v8, 0x88), dst);
        Vector512.Store(Avx512F.Shuffle4x128(v1, v9, 0x88), dst + dstStride);
        Vector512.Store(Avx512F.Shuffle4x128(v2, v10, 0x88), dst + 2 * dstStride);
        Vector512.Store(Avx512F.Shuffle4x128(v3, v11, 0x88), dst + 3 * dstStride);
        Vector512.Store(Avx512F.Shuffle4x128(v4, v12, 0x88), dst + 4 * dstStride);
        Vector512.Store(Avx512F.Shuffle4x128(v5, v13, 0x88), dst + 5 * dstStride);
        Vector512.Store(Avx512F.Shuffle4x128(v6, v14, 0x88), dst + 6 * dstStride);
        Vector512.Store(Avx512F.Shuffle4x128(v7, v15, 0x88), dst + 7 * dstStride);
        Vector512.Store(Avx512F.Shuffle4x128(v0, v8, 0xDD), dst + 8 * dstStride);
        Vector512.Store(Avx512F.Shuffle4x128(v1, v9, 0xDD), dst + 9 * dstStride);
        Vector512.Store(Avx512F.Shuffle4x128(v2, v10, 0xDD), dst + 10 * dstStride);
        Vector512.Store(Avx512F.Shuffle4x128(v3, v11, 0xDD), dst + 11 * dstStride);
        Vector512.Store(Avx512F.Shuffle4x128(v4, v12, 0xDD), dst + 12 * dstStride);
        Vector512.Store(Avx512F.Shuffle4x128(v5, v13, 0xDD), dst + 13 * dstStride);
        Vector512.Store(Avx512F.Shuffle4x128(v6, v14, 0xDD), dst + 14 * dstStride);
        Vector512.Store(Avx512F.Shuffle4x128(v7, v15, 0xDD), dst + 15 * dstStride);
    }

    /// <summary>Portable 4x4 micro-kernel.</summary>
    private static void KernelScalar4x4(int kc, float* pa, float* pb, float* c, nint ldc, float alpha, float beta)
    {
        float c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
        float c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
        for (var p = 0; p < kc; p++)
        {
            float b0 = pb[0], b1 = pb[1], b2 = pb[2], b3 = pb[3];
            float a0 = pa[0], a1 = pa[1], a2 = pa[2], a3 = pa[3];
            c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
            c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
            c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
            c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
            pa += 4;
            pb += 4;
        }
        Span<float> acc = [c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33];
        for (var i = 0; i < 4; i++)
        {
            var cr = c + i * ldc;
            for (var j = 0; j < 4; j++)
            {
                var v = acc[i * 4 + j] * alpha;
                cr[j] = beta == 0f ? v : MathF.FusedMultiplyAdd(cr[j], beta, v);
            }
        }
    }
}
