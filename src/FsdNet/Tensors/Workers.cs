using System.Diagnostics;

namespace FsdNet.Tensors;

/// <summary>
/// A unit of parallel work split into a fixed number of parts. Part <c>p</c> of <c>parts</c> must compute
/// the same thing whichever thread runs it, so results depend only on the part count, never on scheduling:
/// this is what makes runs bit-identical for a given thread count. Jobs are reusable objects owned by the
/// caller, so dispatching one allocates nothing.
/// </summary>
public abstract class ParallelJob
{
    /// <summary>Runs part <paramref name="part"/> of <paramref name="parts"/>.</summary>
    public abstract void Execute(int part, int parts);
}

/// <summary>
/// A fixed pool of worker threads that runs <see cref="ParallelJob"/>s without allocating. One parallel region
/// runs at a time; a caller that finds the pool busy (another thread is inside a region, e.g. concurrent serving
/// requests) runs its parts serially on its own thread instead of waiting.
/// </summary>
public static class Workers
{
    private static readonly object Gate = new();
    private static int threadCount = Environment.ProcessorCount;
    private static Thread[] threads = [];
    private static SemaphoreSlim[] wake = [];
    private static volatile ParallelJob? current;
    private static int currentParts;
    private static int nextPart;
    private static int remaining;
    private static volatile bool stopping;
    private static Exception? failure;

    /// <summary>Number of threads parallel kernels use (the caller's thread included). Default: all cores.</summary>
    public static int ThreadCount
    {
        get => threadCount;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            lock (Gate)
            {
                if (value == threadCount && threads.Length == value - 1)
                {
                    return;
                }
                StopThreads();
                threadCount = value;
            }
        }
    }

    /// <summary>Runs all <paramref name="parts"/> parts of <paramref name="job"/> and returns when they are done.</summary>
    public static void Run(ParallelJob job, int parts)
    {
        if (parts <= 0)
        {
            return;
        }
        if (parts == 1 || threadCount == 1 || !Monitor.TryEnter(Gate))
        {
            for (var p = 0; p < parts; p++)
            {
                job.Execute(p, parts);
            }
            return;
        }
        try
        {
            EnsureThreads();
            currentParts = parts;
            Volatile.Write(ref nextPart, 0);
            Volatile.Write(ref remaining, parts);
            current = job;
            var helpers = Math.Min(threads.Length, parts - 1);
            for (var t = 0; t < helpers; t++)
            {
                wake[t].Release();
            }
            failure = null;
            Drain(job, parts);
            var spinner = new SpinWait();
            while (Volatile.Read(ref remaining) != 0)
            {
                spinner.SpinOnce(sleep1Threshold: -1);
            }
            current = null;
            if (Interlocked.Exchange(ref failure, null) is { } e)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e);
            }
        }
        finally
        {
            Monitor.Exit(Gate);
        }
    }

    private static void Drain(ParallelJob job, int parts)
    {
        int p;
        while ((p = Interlocked.Increment(ref nextPart) - 1) < parts)
        {
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
                Interlocked.Decrement(ref remaining);
            }
        }
    }

    private static void EnsureThreads()
    {
        if (threads.Length == threadCount - 1)
        {
            return;
        }
        stopping = false;
        var n = threadCount - 1;
        threads = new Thread[n];
        wake = new SemaphoreSlim[n];
        for (var t = 0; t < n; t++)
        {
            var index = t;
            wake[t] = new SemaphoreSlim(0);
            threads[t] = new Thread(() => Loop(index)) { IsBackground = true, Name = $"fsdnet-worker-{t}" };
            threads[t].Start();
        }
    }

    private static void StopThreads()
    {
        stopping = true;
        foreach (var w in wake)
        {
            w.Release();
        }
        foreach (var t in threads)
        {
            t.Join();
        }
        threads = [];
        wake = [];
    }

    private static void Loop(int index)
    {
        var signal = wake[index];
        while (true)
        {
            signal.Wait();
            if (stopping)
            {
                return;
            }
            var job = current;
            Debug.Assert(job is not null);
            if (job is not null)
            {
                Drain(job, currentParts);
            }
        }
    }
}
