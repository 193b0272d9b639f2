namespace FsdNet.Tensors;

/// <summary>
/// The engine settings a computation runs with, owned by the run rather than the process: the thread count, which is
/// the number of parts parallel kernels split their work into (with the shapes it fixes every result bit, so a run
/// is reproducible for a given count whatever else the process does). A training run (<c>RunSpec.Threads</c>) and a
/// scorer (<c>ScorerOptions.Threads</c>) each own one and make it current on their thread for the work they do
/// (<see cref="Enter"/>); kernels read <see cref="Current"/>, and the worker threads run a region's parts under the
/// settings of the thread that opened it. One process can therefore train with one thread count and score with
/// another at once. Without a scope, <see cref="Default"/> applies (<c>fsdnet --threads</c> sets it).
/// </summary>
internal sealed record EngineSettings
{
    [ThreadStatic]
    private static EngineSettings? current;

    private static EngineSettings defaults = new();

    private readonly int threads = Environment.ProcessorCount;

    /// <summary>The settings of code that runs outside any scope.</summary>
    public static EngineSettings Default
    {
        get => Volatile.Read(ref defaults);
        set => Volatile.Write(ref defaults, value ?? throw new ArgumentNullException(nameof(value)));
    }

    /// <summary>The settings this thread computes with now.</summary>
    public static EngineSettings Current => current ?? Volatile.Read(ref defaults);

    /// <summary>Parts parallel kernels split work into (the calling thread runs parts too). Default: all cores.</summary>
    public int Threads
    {
        get => threads;
        init
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1, nameof(Threads));
            threads = value;
        }
    }

    /// <summary>SGEMM's instruction path, cache blocks and thresholds (tuning knobs of benchmarks and tests).</summary>
    public GemmSettings Gemm { get; init; } = GemmSettings.Default;

    /// <summary>Makes these settings current on this thread until the scope is disposed (scopes nest).</summary>
    public Scope Enter()
    {
        var previous = current;
        current = this;
        return new Scope(previous);
    }

    /// <summary>Runs with <paramref name="settings"/> current (null: leaves the current settings alone) until disposed.</summary>
    public static Scope Use(EngineSettings? settings) => settings?.Enter() ?? new Scope(current);

    /// <summary>Sets this thread's settings and returns the ones it replaces (the worker threads, per region).</summary>
    internal static EngineSettings? Swap(EngineSettings? settings)
    {
        var previous = current;
        current = settings;
        return previous;
    }

    /// <summary>Restores the settings that were current before <see cref="Enter"/>.</summary>
    public readonly struct Scope(EngineSettings? previous) : IDisposable
    {
        public void Dispose() => current = previous;
    }
}

/// <summary>
/// SGEMM's tuning knobs, part of <see cref="EngineSettings"/>: the instruction path and the cache blocking and work
/// split constants. The defaults are measured (docs/BENCHMARKS.md, SGEMM); benchmarks and tests vary them in a scope
/// of their own. None changes a result bit except <see cref="Isa"/> (another kernel) and the thread count's split.
/// </summary>
internal sealed record GemmSettings
{
    private readonly SgemmIsa isa = Sgemm.Detected;

    /// <summary>The measured defaults on this CPU's best path.</summary>
    public static GemmSettings Default { get; } = new();

    /// <summary>The instruction-set path; one this CPU cannot run is refused.</summary>
    public SgemmIsa Isa
    {
        get => isa;
        init => isa = Sgemm.IsSupported(value) ? value : throw new PlatformNotSupportedException($"SGEMM path {value} is not supported on this CPU.");
    }

    /// <summary>
    /// Inner-dimension block. 256 on the AVX-512 path (a 256 x 32 micro-panel of B stays in L1); 512 on AVX2, where one
    /// block then covers the k = 400 of the 400-wide layers that scoring and training run most (measured on an AMD EPYC
    /// Zen 3: fewer k-blocks, so C is written once instead of twice per tile).
    /// </summary>
    public int KC { get; init; } = Sgemm.Detected == SgemmIsa.Avx2 ? 512 : 256;

    /// <summary>Rows of A per L2 block (MC x KC floats of packed A).</summary>
    public int MC { get; init; } = 280;

    /// <summary>Columns of B per L3 panel (KC x NC floats of packed B).</summary>
    public int NC { get; init; } = 1024;

    /// <summary>Below this many multiply-adds (m*n*k) a call runs on the calling thread only.</summary>
    public long ParallelThreshold { get; init; } = 1L << 20;

    /// <summary>Thin dot-product forms of at least this many multiply-adds run in parallel over the columns of C.</summary>
    public long ThinParallelThreshold { get; init; } = 16L << 10;

    /// <summary>Largest op(B) (in floats, padded) that parallel calls pack once into a shared buffer.</summary>
    public long SharedPackLimit { get; init; } = 8L << 20;

    /// <summary>Largest k x nc panel of packed B (floats) for which the k-blocks are walked innermost: about half of a 2 MB L2.</summary>
    public long KInnerFloats { get; init; } = 256L << 10;

    /// <summary>Parts per thread when rows are split (dynamic load balancing).</summary>
    public int PartsPerThread { get; init; } = 4;

    /// <summary>How many rows ahead the transposed-A packer prefetches.</summary>
    public int PrefetchRows { get; init; } = 8;

    /// <summary>Rows of stored A the transposed-A packer copies per panel visit (measured best: 8).</summary>
    public int TnGroup { get; init; } = 8;

    /// <summary>
    /// Whether full row panels of a non-transposed A are read in place by the kernel instead of packed (the AVX-512
    /// path; the values are the same bit for bit, only the packing pass is saved). A switch for tests and A/B runs.
    /// </summary>
    public bool DirectA { get; init; } = true;
}
