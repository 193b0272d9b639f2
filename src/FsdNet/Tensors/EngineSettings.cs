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
