using System.Runtime.InteropServices;

namespace FsdNet.Distributed;

/// <summary>
/// The Open MPI binding: <c>libmpi.so.40</c> loaded at run time, its functions called through function pointers and its
/// predefined handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, ...) taken from the objects the library exports, which is
/// what Open MPI's handles are (pointers). MPICH and its derivatives use integer handles and a different ABI: they are
/// refused with a clear message instead of being misread. MPI is initialised with MPI_THREAD_SERIALIZED (only one
/// thread at a time calls MPI; FsdNet's engine threads never do) and finalised when the process exits.
/// </summary>
internal sealed unsafe class OpenMpi : Communicator
{
    private const string Library = "libmpi.so.40";
    private const int ThreadSerialized = 2;   // Open MPI's MPI_THREAD_SERIALIZED
    private static readonly nint InPlace = 1; // Open MPI's MPI_IN_PLACE

    private nint comm;
    private readonly Functions api;
    private readonly int rank;
    private readonly int size;
    private readonly string version;
    private readonly int[] sendBytes, sendDispls, receiveBytes, receiveDispls;

    /// <summary>The library's predefined handles and functions: one per process, shared by every communicator.</summary>
    private sealed class Functions
    {
        public readonly nint MpiFloat, MpiDouble, MpiLong, MpiByte, OpSum, OpMax, CommWorld;
        public readonly delegate* unmanaged<nint, nint, int, nint, nint, nint, int> Allreduce;
        public readonly delegate* unmanaged<nint, int, nint, nint, int*, int*, nint, nint, int> Allgatherv;
        public readonly delegate* unmanaged<nint, int, nint, nint, int*, int*, nint, int, nint, int> Gatherv;
        public readonly delegate* unmanaged<nint, int*, int*, nint, nint, int*, int*, nint, nint, int> Alltoallv;
        public readonly delegate* unmanaged<nint, int, nint, int, nint, int> Bcast;
        public readonly delegate* unmanaged<nint, int> Barrier;
        public readonly delegate* unmanaged<nint, int*, int*, nint, nint, int*, int*, nint, nint, nint*, int> Ialltoallv;
        public readonly delegate* unmanaged<nint, int, nint, nint, int*, int*, nint, nint, nint*, int> Iallgatherv;
        public readonly delegate* unmanaged<nint*, int*, nint, int> Test;
        public readonly delegate* unmanaged<nint*, nint, int> Wait;
        public readonly delegate* unmanaged<nint, nint*, int> CommDup;
        public readonly delegate* unmanaged<nint*, int> CommFree;
        public readonly delegate* unmanaged<nint, int*, int> CommRank, CommSize;
        public readonly delegate* unmanaged<nint, int, int> Abort;
        private readonly nint lib;

        public Functions(nint lib)
        {
            this.lib = lib;
            CommWorld = Handle("ompi_mpi_comm_world");
            (MpiFloat, MpiDouble, MpiLong, MpiByte) = (Handle("ompi_mpi_float"), Handle("ompi_mpi_double"), Handle("ompi_mpi_long_long_int"), Handle("ompi_mpi_byte"));
            (OpSum, OpMax) = (Handle("ompi_mpi_op_sum"), Handle("ompi_mpi_op_max"));
            Allreduce = (delegate* unmanaged<nint, nint, int, nint, nint, nint, int>)Fn("MPI_Allreduce");
            Allgatherv = (delegate* unmanaged<nint, int, nint, nint, int*, int*, nint, nint, int>)Fn("MPI_Allgatherv");
            Gatherv = (delegate* unmanaged<nint, int, nint, nint, int*, int*, nint, int, nint, int>)Fn("MPI_Gatherv");
            Alltoallv = (delegate* unmanaged<nint, int*, int*, nint, nint, int*, int*, nint, nint, int>)Fn("MPI_Alltoallv");
            Bcast = (delegate* unmanaged<nint, int, nint, int, nint, int>)Fn("MPI_Bcast");
            Barrier = (delegate* unmanaged<nint, int>)Fn("MPI_Barrier");
            Ialltoallv = (delegate* unmanaged<nint, int*, int*, nint, nint, int*, int*, nint, nint, nint*, int>)Fn("MPI_Ialltoallv");
            Iallgatherv = (delegate* unmanaged<nint, int, nint, nint, int*, int*, nint, nint, nint*, int>)Fn("MPI_Iallgatherv");
            Test = (delegate* unmanaged<nint*, int*, nint, int>)Fn("MPI_Test");
            Wait = (delegate* unmanaged<nint*, nint, int>)Fn("MPI_Wait");
            CommDup = (delegate* unmanaged<nint, nint*, int>)Fn("MPI_Comm_dup");
            CommFree = (delegate* unmanaged<nint*, int>)Fn("MPI_Comm_free");
            CommRank = (delegate* unmanaged<nint, int*, int>)Fn("MPI_Comm_rank");
            CommSize = (delegate* unmanaged<nint, int*, int>)Fn("MPI_Comm_size");
            Abort = (delegate* unmanaged<nint, int, int>)Fn("MPI_Abort");
        }

        public nint Fn(string name) => NativeLibrary.TryGetExport(lib, name, out var p)
                ? p
                : throw new DistributedException($"{Library} has no function {name}; it is not a usable MPI library.");

        private nint Handle(string symbol) => NativeLibrary.TryGetExport(lib, symbol, out var p)
            ? p
            : throw new DistributedException(
                $"{Library} does not export {symbol}: this MPI library is not Open MPI. FsdNet supports Open MPI 4.x and 5.x only " +
                "(MPICH, Intel MPI and MS-MPI use integer handles); install Debian's openmpi-bin.");
    }

    private OpenMpi(nint lib)
    {
        api = new Functions(lib);
        comm = api.CommWorld;
        var initialized = api.Fn("MPI_Initialized");
        var init = api.Fn("MPI_Init_thread");
        int flag, provided;
        Check(((delegate* unmanaged<int*, int>)initialized)(&flag), "MPI_Initialized");
        if (flag == 0)
        {
            Check(((delegate* unmanaged<int*, byte***, int, int*, int>)init)(null, null, ThreadSerialized, &provided), "MPI_Init_thread");
            if (provided < ThreadSerialized)
            {
                throw new DistributedException($"Open MPI gave thread level {provided}; FsdNet needs MPI_THREAD_SERIALIZED ({ThreadSerialized}).");
            }
            var finalize = api.Fn("MPI_Finalize");
            AppDomain.CurrentDomain.ProcessExit += (_, _) =>
            {
                // A rank that failed, or exits with an error code, ends the job: MPI_Finalize would wait for peers
                // that may be blocked in a collective waiting for this one.
                if (Failed || Environment.ExitCode != 0)
                {
                    Abort(Environment.ExitCode is > 0 and < 256 ? Environment.ExitCode : 1);
                }
                ((delegate* unmanaged<int>)finalize)();
            };
        }
        (rank, size) = RankAndSize(api, comm);
        (sendBytes, sendDispls, receiveBytes, receiveDispls) = (new int[size], new int[size], new int[size], new int[size]);
        var buffer = stackalloc byte[512];
        int length;
        Check(((delegate* unmanaged<byte*, int*, int>)api.Fn("MPI_Get_library_version"))(buffer, &length), "MPI_Get_library_version");
        var text = System.Text.Encoding.ASCII.GetString(buffer, Math.Clamp(length, 0, 512));
        version = text.Split(',')[0].Trim();
    }

    /// <summary>A communicator of <paramref name="parent"/>'s library over <paramref name="communicator"/> (a duplicate).</summary>
    private OpenMpi(OpenMpi parent, nint communicator)
    {
        (api, comm, version) = (parent.api, communicator, parent.version);
        (rank, size) = RankAndSize(api, comm);
        (sendBytes, sendDispls, receiveBytes, receiveDispls) = (new int[size], new int[size], new int[size], new int[size]);
    }

    private static (int Rank, int Size) RankAndSize(Functions api, nint comm)
    {
        int r, s;
        Check(api.CommRank(comm, &r), "MPI_Comm_rank");
        Check(api.CommSize(comm, &s), "MPI_Comm_size");
        return (r, s);
    }

    protected override Communicator DuplicateCore()
    {
        nint copy;
        Check(api.CommDup(comm, &copy), "MPI_Comm_dup");
        return new OpenMpi(this, copy);
    }

    public override void Free()
    {
        if (comm == api.CommWorld || freed)
        {
            return;
        }
        var handle = comm;
        Check(api.CommFree(&handle), "MPI_Comm_free");
        // MPI sets the handle to MPI_COMM_NULL: a collective on it afterwards fails with MPI's error, not on freed memory.
        (comm, freed) = (handle, true);
    }

    private bool freed;

    public override int Rank => rank;

    public override int Size => size;

    public override string Description => $"{version}, rank {rank} of {size}";

    public override int LocalRanks =>
        int.TryParse(Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_LOCAL_SIZE"), out var n) && n > 0 ? n : 1;

    /// <summary>Whether Open MPI's launcher started this process (mpirun sets OMPI_COMM_WORLD_SIZE for every rank).</summary>
    public static bool Launched()
    {
        if (Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_SIZE") is not null)
        {
            return true;
        }
        if (Environment.GetEnvironmentVariable("PMI_RANK") is not null || Environment.GetEnvironmentVariable("PMI_SIZE") is not null ||
            Environment.GetEnvironmentVariable("MPI_LOCALRANKID") is not null)
        {
            throw new DistributedException(
                "this process was started by an MPI launcher other than Open MPI's (PMI_RANK is set: MPICH, Intel MPI or MVAPICH). " +
                "FsdNet supports Open MPI only: start it with Open MPI's mpirun (Debian: openmpi-bin), or pass --distributed none for one process.");
        }
        return false;
    }

    /// <summary>Loads Open MPI and initialises MPI (once per process).</summary>
    public static OpenMpi Initialize()
    {
        // RTLD_GLOBAL first: Open MPI's plugins (its MCA components) resolve symbols of libmpi itself.
        var lib = LoadGlobal();
        return new OpenMpi(lib);
    }

    private static nint LoadGlobal()
    {
        const int rtldNow = 2, rtldGlobal = 0x100;
        try
        {
            if (dlopen(Library, rtldNow | rtldGlobal) == 0)
            {
                throw new DistributedException(
                    $"cannot load Open MPI ({Library}): {Marshal.PtrToStringUTF8(dlerror()) ?? "not found"}. Install it (Debian: apt install openmpi-bin), " +
                    "or train in one process (--distributed none).");
            }
        }
        catch (DllNotFoundException)
        {
            // No libc dlopen (not glibc): fall back to the runtime's loader below.
        }
        return NativeLibrary.TryLoad(Library, out var handle)
            ? handle
            : throw new DistributedException($"cannot load Open MPI ({Library}). Install it (Debian: apt install openmpi-bin), or train in one process (--distributed none).");
    }

    [DllImport("libc.so.6", EntryPoint = "dlopen")]
    private static extern nint dlopen(string file, int mode);

    [DllImport("libc.so.6", EntryPoint = "dlerror")]
    private static extern nint dlerror();

    public override void AllReduceSum(Span<float> values) => Reduce(values, api.MpiFloat, api.OpSum);

    public override void AllReduceSum(Span<double> values) => Reduce(values, api.MpiDouble, api.OpSum);

    public override void AllReduceMax(Span<long> values) => Reduce(values, api.MpiLong, api.OpMax);

    private void Reduce<T>(Span<T> values, nint type, nint op)
        where T : unmanaged
    {
        const int chunk = 1 << 28;
        var start = Begin();
        fixed (T* p = values)
        {
            for (var i = 0; i < values.Length; i += chunk)
            {
                Check(api.Allreduce(InPlace, (nint)(p + i), Math.Min(chunk, values.Length - i), type, op, comm), "MPI_Allreduce");
            }
        }
        // A bandwidth-optimal all-reduce (reduce-scatter then all-gather) sends 2 (p - 1) / p of the buffer per rank.
        End(start, 2L * (size - 1) * values.Length * sizeof(T) / size);
    }

    public override void AllGatherV<T>(ReadOnlySpan<T> mine, Span<T> all, ReadOnlySpan<int> counts)
    {
        ByteLayout<T>(counts, all.Length, receiveBytes, receiveDispls);
        var start = Begin();
        fixed (T* s = mine, d = all)
        fixed (int* c = receiveBytes, o = receiveDispls)
        {
            Check(api.Allgatherv((nint)s, mine.Length * sizeof(T), api.MpiByte, (nint)d, c, o, api.MpiByte, comm), "MPI_Allgatherv");
        }
        End(start, (long)(size - 1) * mine.Length * sizeof(T));
    }

    public override void GatherV<T>(ReadOnlySpan<T> mine, Span<T> all, ReadOnlySpan<int> counts, int root)
    {
        ByteLayout<T>(counts, rank == root ? all.Length : null, receiveBytes, receiveDispls);
        var start = Begin();
        fixed (T* s = mine, d = all)
        fixed (int* c = receiveBytes, o = receiveDispls)
        {
            Check(api.Gatherv((nint)s, mine.Length * sizeof(T), api.MpiByte, (nint)d, c, o, api.MpiByte, root, comm), "MPI_Gatherv");
        }
        End(start, rank == root ? 0 : (long)mine.Length * sizeof(T));
    }

    public override void AllToAllV<T>(ReadOnlySpan<T> send, ReadOnlySpan<int> sendCounts, Span<T> receive, ReadOnlySpan<int> receiveCounts)
    {
        ByteLayout<T>(sendCounts, send.Length, sendBytes, sendDispls);
        ByteLayout<T>(receiveCounts, receive.Length, receiveBytes, receiveDispls);
        var start = Begin();
        fixed (T* s = send, d = receive)
        fixed (int* sc = sendBytes, sd = sendDispls, rc = receiveBytes, rd = receiveDispls)
        {
            Check(api.Alltoallv((nint)s, sc, sd, api.MpiByte, (nint)d, rc, rd, api.MpiByte, comm), "MPI_Alltoallv");
        }
        End(start, 0L + sendDispls[^1] + sendBytes[^1] - sendBytes[rank]);
    }

    public override void Broadcast<T>(Span<T> values, int root)
    {
        var chunk = (1 << 30) / sizeof(T);
        var start = Begin();
        fixed (T* p = values)
        {
            for (var i = 0; i < values.Length; i += chunk)
            {
                Check(api.Bcast((nint)(p + i), Math.Min(chunk, values.Length - i) * sizeof(T), api.MpiByte, root, comm), "MPI_Bcast");
            }
        }
        // Counted as a flat broadcast: the root sends to each peer (MPI's tree spreads the same bytes over the ranks).
        End(start, rank == root ? (long)(size - 1) * values.Length * sizeof(T) : 0);
    }

    public override void Barrier()
    {
        var start = Begin();
        Check(api.Barrier(comm), "MPI_Barrier");
        End(start, 0);
    }

    public override void Abort(int code) => api.Abort(comm, code);

    // The arrays of a started collective are pinned (the caller's contract), so their addresses stay valid after return.
    private static T* Address<T>(T[] array)
        where T : unmanaged => (T*)System.Runtime.CompilerServices.Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(array));

    public override nint StartAllToAllV(float[] send, int[] sendCounts, int[] sendDispls, float[] receive, int[] receiveCounts, int[] receiveDispls)
    {
        var start = Begin();
        nint request;
        Check(api.Ialltoallv((nint)Address(send), Address(sendCounts), Address(sendDispls), api.MpiFloat,
            (nint)Address(receive), Address(receiveCounts), Address(receiveDispls), api.MpiFloat, comm, &request), "MPI_Ialltoallv");
        long sent = 0;
        for (var r = 0; r < size; r++)
        {
            sent += r == rank ? 0 : sendCounts[r];
        }
        End(start, sent * sizeof(float));
        return request;
    }

    public override nint StartAllGatherV(float[] send, int count, float[] receive, int[] counts, int[] displs)
    {
        var start = Begin();
        nint request;
        Check(api.Iallgatherv((nint)Address(send), count, api.MpiFloat, (nint)Address(receive), Address(counts), Address(displs), api.MpiFloat, comm, &request),
            "MPI_Iallgatherv");
        End(start, (long)(size - 1) * count * sizeof(float));
        return request;
    }

    public override bool Test(ref nint request)
    {
        if (request == 0)
        {
            return true;
        }
        var start = Begin();
        int done;
        fixed (nint* r = &request)
        {
            // MPI_STATUS_IGNORE is a null pointer in Open MPI; a finished request is set to MPI_REQUEST_NULL (not 0).
            Check(api.Test(r, &done, 0), "MPI_Test");
        }
        End(start, 0);
        if (done != 0)
        {
            request = 0;
        }
        return done != 0;
    }

    public override void Wait(ref nint request)
    {
        if (request == 0)
        {
            return;
        }
        var start = Begin();
        fixed (nint* r = &request)
        {
            Check(api.Wait(r, 0), "MPI_Wait");
        }
        End(start, 0);
        request = 0;
    }

    /// <summary>
    /// Byte counts and displacements for element counts of T into <paramref name="bytes"/> and
    /// <paramref name="displs"/>, checked against the buffer and MPI's int range.
    /// </summary>
    private void ByteLayout<T>(ReadOnlySpan<int> counts, long? capacity, int[] bytes, int[] displs)
        where T : unmanaged
    {
        if (counts.Length != size)
        {
            throw new ArgumentException($"{counts.Length} counts for {size} ranks");
        }
        long offset = 0;
        for (var r = 0; r < size; r++)
        {
            bytes[r] = checked(counts[r] * sizeof(T));
            displs[r] = checked((int)offset);
            offset += bytes[r];
        }
        if (offset > capacity * sizeof(T))
        {
            throw new ArgumentException($"the counts add up to {offset / sizeof(T)} elements, the buffer holds {capacity}");
        }
    }

    private static void Check(int code, string function)
    {
        if (code != 0)
        {
            throw new DistributedException($"{function} failed with MPI error {code}.");
        }
    }
}

/// <summary>A distributed run cannot start or go on (MPI missing or unsupported, a peer gone, ranks that disagree).</summary>
public sealed class DistributedException(string message) : Exception(message);
