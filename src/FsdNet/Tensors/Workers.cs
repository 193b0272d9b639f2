namespace FsdNet.Tensors;

/// <summary>
/// A unit of parallel work split into a fixed number of parts. Part <c>p</c> of <c>parts</c> must compute
/// the same thing whichever thread runs it, so results depend only on the part count, never on scheduling:
/// this is what makes runs bit-identical for a given thread count. Jobs are reusable objects owned by the
/// caller, so dispatching one allocates nothing.
/// </summary>
internal abstract class ParallelJob
{
    /// <summary>Runs part <paramref name="part"/> of <paramref name="parts"/>.</summary>
    public abstract void Execute(int part, int parts);
}

/// <summary>
/// A fixed pool of worker threads that runs <see cref="ParallelJob"/>s without allocating. One parallel region
/// runs at a time; a caller that finds the pool busy (another thread is inside a region, e.g. concurrent serving
/// requests) runs its parts serially on its own thread instead of waiting.
/// </summary>
internal static class Workers
{
    private static Thread[] threads = [];
    private static SemaphoreSlim[] wake = [];
    // A region is published as state = (generation << 32) | next part index; its job and part count sit in the slot of
    // the generation's parity. A worker claims a part with a compare-and-swap on the whole state, so a worker holding a
    // stale view (it woke late, or read the slot while the caller moved on) can never claim a part of a region it did
    // not read the job of: the swap fails once the generation has changed.
    private static readonly ParallelJob?[] slotJob = new ParallelJob?[2];
    private static readonly EngineSettings?[] slotSettings = new EngineSettings?[2];
    private static readonly int[] slotParts = new int[2];
    private static long state;
    private static int remaining;
    private static int busy;
    private static Exception? failure;
    private static long[] workerBytes = [];

    /// <summary>
    /// Threads parallel kernels use on this thread now (the caller's thread included): the current
    /// <see cref="EngineSettings"/>' count. Setting it sets the process default (<see cref="EngineSettings.Default"/>),
    /// which applies outside any run's or scorer's own settings.
    /// </summary>
    public static int ThreadCount
    {
        get => EngineSettings.Current.Threads;
        set => EngineSettings.Default = EngineSettings.Default with { Threads = value };
    }

    /// <summary>Runs all <paramref name="parts"/> parts of <paramref name="job"/> and returns when they are done.</summary>
    public static void Run(ParallelJob job, int parts)
    {
        if (parts <= 0)
        {
            return;
        }
        // Not Monitor: it is re-entrant, and a part that itself called Run would overwrite the open region.
        var settings = EngineSettings.Current;
        if (parts == 1 || settings.Threads == 1 || Interlocked.CompareExchange(ref busy, 1, 0) != 0)
        {
            for (var p = 0; p < parts; p++)
            {
                job.Execute(p, parts);
            }
            return;
        }
        try
        {
            EnsureThreads(settings.Threads - 1);
            var generation = (Volatile.Read(ref state) >> 32) + 1;
            var slot = (int)(generation & 1);
            slotJob[slot] = job;
            slotParts[slot] = parts;
            slotSettings[slot] = settings;
            Volatile.Write(ref remaining, parts);
            failure = null;
            Volatile.Write(ref state, generation << 32);
            var helpers = Math.Min(settings.Threads - 1, parts - 1);
            for (var t = 0; t < helpers; t++)
            {
                wake[t].Release();
            }
            Drain(-1);
            var spinner = new SpinWait();
            while (Volatile.Read(ref remaining) != 0)
            {
                spinner.SpinOnce(sleep1Threshold: -1);
            }
            slotJob[slot] = null;
            slotSettings[slot] = null;
            if (Interlocked.Exchange(ref failure, null) is { } e)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e);
            }
        }
        finally
        {
            Volatile.Write(ref busy, 0);
        }
    }

    /// <summary>Claims and runs parts of the current region until none is left.</summary>
    private static void Drain(int worker)
    {
        while (true)
        {
            var s = Volatile.Read(ref state);
            var slot = (int)((s >> 32) & 1);
            var job = slotJob[slot];
            var parts = slotParts[slot];
            var settings = slotSettings[slot];
            var p = (int)(s & 0xFFFFFFFF);
            if (job is null || p >= parts)
            {
                return;
            }
            if (Interlocked.CompareExchange(ref state, s + 1, s) != s)
            {
                continue;
            }
            // A worker runs the part under the settings of the thread that opened the region.
            var own = worker >= 0 ? EngineSettings.Swap(settings) : null;
            try
            {
                job.Execute(p, parts);
            }
            catch (Exception e)
            {
                // Reported on the calling thread once every part has finished.
                Interlocked.CompareExchange(ref failure, e, null);
            }
            finally
            {
                if (worker >= 0)
                {
                    EngineSettings.Swap(own);
                    // Before the part counts as done, so the caller sees it once the region has finished.
                    Volatile.Write(ref workerBytes[worker], GC.GetAllocatedBytesForCurrentThread());
                }
                Interlocked.Decrement(ref remaining);
            }
        }
    }

    /// <summary>Grows the pool to at least <paramref name="helpers"/> worker threads (inside a region: one caller at a time).</summary>
    private static void EnsureThreads(int helpers)
    {
        var have = threads.Length;
        if (have >= helpers)
        {
            return;
        }
        var grownThreads = new Thread[helpers];
        var grownWake = new SemaphoreSlim[helpers];
        var grownBytes = new long[helpers];
        Array.Copy(threads, grownThreads, have);
        Array.Copy(wake, grownWake, have);
        Array.Copy(workerBytes, grownBytes, Math.Min(have, workerBytes.Length));
        for (var t = have; t < helpers; t++)
        {
            grownWake[t] = new SemaphoreSlim(0);
        }
        (wake, workerBytes) = (grownWake, grownBytes);
        for (var t = have; t < helpers; t++)
        {
            var index = t;
            grownThreads[t] = new Thread(() => Loop(index)) { IsBackground = true, Name = $"fsdnet-worker-{t}" };
            grownThreads[t].Start();
        }
        threads = grownThreads;
    }

    private static void Loop(int index)
    {
        var signal = wake[index];
        while (true)
        {
            signal.Wait();
            Drain(index);
        }
    }

    /// <summary>
    /// Managed bytes the worker threads have allocated so far (as of the last part each ran). With the calling
    /// thread's <see cref="GC.GetAllocatedBytesForCurrentThread"/> this counts exactly what parallel kernels allocate,
    /// unlike the process-wide count, which includes the runtime's and the test host's own threads.
    /// </summary>
    internal static long WorkerAllocatedBytes()
    {
        var bytes = workerBytes;
        long sum = 0;
        for (var i = 0; i < bytes.Length; i++)
        {
            sum += Volatile.Read(ref bytes[i]);
        }
        return sum;
    }
}
