namespace FsdNet.Distributed;

/// <summary>How a training run finds its peers.</summary>
public enum DistributedMode
{
    /// <summary>Open MPI when the process was started by <c>mpirun</c> (its environment says so), else one process.</summary>
    Auto,

    /// <summary>One process; MPI is never loaded.</summary>
    None,

    /// <summary>Open MPI, required: a clear error when it cannot be loaded.</summary>
    Mpi,
}

/// <summary>
/// Everything distributed in FsdNet goes through this: the collectives of data-parallel training over the ranks of one
/// job. <see cref="Single"/> is one process (no MPI, every collective a copy or nothing); <see cref="OpenMpi"/> is the
/// Open MPI binding. Every rank must call the same collectives in the same order with matching sizes (MPI's rule).
/// Sums over floats are in a fixed order for a given rank count, so all ranks get bitwise the same result.
/// </summary>
internal abstract class Communicator
{
    private static Communicator? world;

    /// <summary>This process's rank, 0 .. <see cref="Size"/> - 1.</summary>
    public abstract int Rank { get; }

    /// <summary>The number of ranks in the job.</summary>
    public abstract int Size { get; }

    /// <summary>The ranks on this host (they share its cores).</summary>
    public virtual int LocalRanks => 1;

    /// <summary>Rank 0: the one that prints progress and writes the run directory.</summary>
    public bool IsRoot => Rank == 0;

    /// <summary>
    /// Set when this rank fails: at exit it then ends the whole job (MPI_Abort) instead of finalising, which would wait
    /// for peers that may be blocked in a collective waiting for it.
    /// </summary>
    public bool Failed { get; set; }

    /// <summary>What this is, for logs ("Open MPI 4.1.4, rank 0 of 2").</summary>
    public abstract string Description { get; }

    /// <summary>The one process of a run without peers.</summary>
    public static Communicator Single { get; } = new SingleProcess();

    /// <summary>
    /// The job this process belongs to under <paramref name="mode"/>: MPI is initialised once per process, on first
    /// use, and finalised at exit.
    /// </summary>
    public static Communicator World(DistributedMode mode)
    {
        if (mode == DistributedMode.None || (mode == DistributedMode.Auto && !OpenMpi.Launched()))
        {
            return world as SingleProcess ?? Single;
        }
        return world ??= OpenMpi.Initialize();
    }

    /// <summary>Element-wise sum over the ranks, in place; every rank gets the result.</summary>
    public abstract void AllReduceSum(Span<float> values);

    /// <inheritdoc cref="AllReduceSum(Span{float})"/>
    public abstract void AllReduceSum(Span<double> values);

    /// <summary>Element-wise maximum over the ranks, in place.</summary>
    public abstract void AllReduceMax(Span<long> values);

    /// <summary>
    /// Concatenates every rank's <paramref name="mine"/> in rank order into <paramref name="all"/> on every rank;
    /// <paramref name="counts"/>[r] is rank r's length.
    /// </summary>
    public abstract void AllGatherV<T>(ReadOnlySpan<T> mine, Span<T> all, ReadOnlySpan<int> counts)
        where T : unmanaged;

    /// <summary>As <see cref="AllGatherV"/>, to <paramref name="root"/> only (<paramref name="all"/> is unused elsewhere).</summary>
    public abstract void GatherV<T>(ReadOnlySpan<T> mine, Span<T> all, ReadOnlySpan<int> counts, int root)
        where T : unmanaged;

    /// <summary>
    /// Each rank sends <paramref name="sendCounts"/>[r] elements of <paramref name="send"/> (in rank order) to rank r
    /// and receives <paramref name="receiveCounts"/>[r] from it into <paramref name="receive"/>, in rank order.
    /// </summary>
    public abstract void AllToAllV<T>(ReadOnlySpan<T> send, ReadOnlySpan<int> sendCounts, Span<T> receive, ReadOnlySpan<int> receiveCounts)
        where T : unmanaged;

    /// <summary><paramref name="root"/>'s values to every rank.</summary>
    public abstract void Broadcast<T>(Span<T> values, int root)
        where T : unmanaged;

    /// <summary>Waits for every rank.</summary>
    public abstract void Barrier();

    /// <summary>
    /// Starts <see cref="AllToAllV"/> of floats without waiting for it: counts and displacements in floats. MPI reads and
    /// writes every array (counts included) until the collective ends, so they must be pinned
    /// (<c>GC.AllocateArray(pinned: true)</c>) and left alone until <see cref="Test"/> or <see cref="Wait"/> says so.
    /// Returns the request (0: already done).
    /// </summary>
    public abstract nint StartAllToAllV(float[] send, int[] sendCounts, int[] sendDispls, float[] receive, int[] receiveCounts, int[] receiveDispls);

    /// <summary>Starts <see cref="AllGatherV"/> of <paramref name="count"/> floats of <paramref name="send"/>; as <see cref="StartAllToAllV"/>.</summary>
    public abstract nint StartAllGatherV(float[] send, int count, float[] receive, int[] counts, int[] displs);

    /// <summary>Whether a started collective has ended (it also moves the others on); <paramref name="request"/> becomes 0 when it has.</summary>
    public abstract bool Test(ref nint request);

    /// <summary>Waits for a started collective to end.</summary>
    public abstract void Wait(ref nint request);

    /// <summary>Ends the whole job (every rank) with <paramref name="code"/>: MPI is fail-stop.</summary>
    public abstract void Abort(int code);

    /// <summary>
    /// Bytes this rank has handed to the network so far: each peer's share of what it sent (a bandwidth-optimal
    /// all-reduce counts 2 (size - 1) / size of its buffer, a broadcast (size - 1) buffers on the root), the payload
    /// only. The model in docs/DISTRIBUTED.md predicts this number.
    /// </summary>
    public long BytesSent => counts.Bytes;

    /// <summary>Time this rank has spent inside collectives (waiting for peers included), in <see cref="System.Diagnostics.Stopwatch"/> ticks.</summary>
    public long Ticks => counts.Ticks;

    // Shared with duplicates: a job's traffic is counted once, whichever communicator carried it.
    private Traffic counts = new();

    private sealed class Traffic
    {
        public long Bytes;
        public long Ticks;
    }

    /// <summary>
    /// A communicator over the same ranks whose collectives never match this one's (MPI_Comm_dup): collectives
    /// started without waiting must be started in the same order on every rank, per communicator, so two streams whose
    /// interleaving depends on timing each need their own. Its traffic counts in this one's.
    /// </summary>
    public Communicator Duplicate()
    {
        var copy = DuplicateCore();
        copy.counts = counts;
        return copy;
    }

    /// <summary>The new communicator of <see cref="Duplicate"/>.</summary>
    protected abstract Communicator DuplicateCore();

    /// <summary>
    /// Releases a communicator made by <see cref="Duplicate"/> (MPI_Comm_free; collective: every rank frees it, after
    /// its last collective). Nothing happens for the world or a single process.
    /// </summary>
    public virtual void Free()
    {
    }

    /// <summary>Starts timing a collective.</summary>
    protected static long Begin() => System.Diagnostics.Stopwatch.GetTimestamp();

    /// <summary>Ends timing a collective begun at <paramref name="start"/> that sent <paramref name="bytes"/>.</summary>
    protected void End(long start, long bytes)
    {
        counts.Ticks += System.Diagnostics.Stopwatch.GetTimestamp() - start;
        counts.Bytes += bytes;
    }

    private float[] orderedScratch = [];

    /// <summary>
    /// Element-wise sum over the ranks in rank order, ((v0 + v1) + v2) + ..., in place: the result does not depend on
    /// the reduction algorithm MPI picks (by message size, rank count and version), so every rank gets bitwise the
    /// same values and a rerun gets them again. Small buffers (BatchNorm's column sums) are all-gathered and summed on
    /// every rank: one collective. Large ones (the gradients) take a reduce-scatter by hand (an all-to-all of the
    /// parts, each rank sums the part it owns) then an all-gather: the bytes of a ring all-reduce, in two collectives.
    /// </summary>
    public void AllReduceSumOrdered(Span<float> values)
    {
        if (Size == 1)
        {
            return;
        }
        var n = values.Length;
        if (GathersWhole(n))
        {
            SumGathered(values);
            return;
        }
        var count = Part(n, Rank, Size).Count;
        Span<int> sendCounts = stackalloc int[Size];
        Span<int> receiveCounts = stackalloc int[Size];
        for (var r = 0; r < Size; r++)
        {
            sendCounts[r] = Part(n, r, Size).Count;
            receiveCounts[r] = count;
        }
        if (orderedScratch.Length < count * Size)
        {
            orderedScratch = new float[count * Size];
        }
        var received = orderedScratch.AsSpan(0, count * Size);
        AllToAllV<float>(values, sendCounts, received, receiveCounts);
        SumInRankOrder<float>(received, count, received[..count]);   // MPI sends from a buffer apart from the one it receives into
        AllGatherV<float>(received[..count], values, sendCounts);
    }

    /// <summary>Where <see cref="AllReduceSumOrdered"/> gathers whole buffers: at most this many floats sent per rank.</summary>
    private const int SmallReduce = 1 << 16;

    private double[] orderedScratchDouble = [];

    /// <summary>
    /// As <see cref="AllReduceSumOrdered(Span{float})"/> for a few doubles (a step's loss and flags): gathered whole
    /// and summed in rank order on every rank.
    /// </summary>
    public void AllReduceSumOrdered(Span<double> values)
    {
        if (Size > 1)
        {
            SumGathered(values, ref orderedScratchDouble);
        }
    }

    private void SumGathered(Span<float> values) => SumGathered(values, ref orderedScratch);

    private void SumGathered<T>(Span<T> values, ref T[] scratch)
        where T : unmanaged, System.Numerics.INumberBase<T>
    {
        var n = values.Length;
        if (scratch.Length < (n * Size) + n)
        {
            scratch = new T[(n * Size) + n];
        }
        var all = scratch.AsSpan(0, n * Size);
        var mine = scratch.AsSpan(n * Size, n);
        values.CopyTo(mine);
        Span<int> counts = stackalloc int[Size];
        counts.Fill(n);
        AllGatherV<T>(mine, all, counts);
        SumInRankOrder<T>(all, n, values);
    }

    /// <summary>
    /// <paramref name="sum"/> = ((all[part 0] + all[part 1]) + all[part 2]) + ..., <paramref name="all"/> holding one
    /// part of <paramref name="n"/> per rank in rank order: the one order every ordered sum uses, whatever its
    /// collectives (<paramref name="sum"/> may be part 0 itself).
    /// </summary>
    internal void SumInRankOrder<T>(ReadOnlySpan<T> all, int n, Span<T> sum)
        where T : unmanaged, System.Numerics.INumberBase<T>
    {
        all[..n].CopyTo(sum);
        for (var r = 1; r < Size; r++)
        {
            System.Numerics.Tensors.TensorPrimitives.Add<T>(sum, all.Slice(r * n, n), sum);
        }
    }

    /// <summary>Whether <see cref="AllReduceSumOrdered(Span{float})"/> sums <paramref name="n"/> floats by gathering them whole (else by parts).</summary>
    internal bool GathersWhole(int n) => (long)n * (Size - 1) <= SmallReduce;

    /// <summary>A string from <paramref name="root"/> to every rank.</summary>
    public string Broadcast(string? value, int root)
    {
        var bytes = Rank == root ? System.Text.Encoding.UTF8.GetBytes(value ?? "") : [];
        var length = new[] { (long)bytes.Length };
        Broadcast<long>(length, root);
        if (Rank != root)
        {
            bytes = new byte[length[0]];
        }
        Broadcast<byte>(bytes, root);
        return System.Text.Encoding.UTF8.GetString(bytes);
    }

    /// <summary>Every rank's <paramref name="value"/>, in rank order, on every rank.</summary>
    public string[] AllGather(string value)
    {
        var mine = System.Text.Encoding.UTF8.GetBytes(value);
        var one = Enumerable.Repeat(1, Size).ToArray();
        var lengths = new int[Size];
        AllGatherV<int>([mine.Length], lengths, one);
        var all = new byte[lengths.Sum()];
        AllGatherV<byte>(mine, all, lengths);
        var result = new string[Size];
        for (int r = 0, offset = 0; r < Size; offset += lengths[r], r++)
        {
            result[r] = System.Text.Encoding.UTF8.GetString(all, offset, lengths[r]);
        }
        return result;
    }

    /// <summary>
    /// Where the ranks run, for the log: <c>2 hosts (fsd-a: rank 0; fsd-b: rank 1)</c>, consecutive ranks of a host as
    /// a range, hosts in order of their first rank; past <paramref name="maxHosts"/> hosts, the rest are counted.
    /// </summary>
    internal static string DescribeHosts(IReadOnlyList<string> hostOfRank, int maxHosts = 8)
    {
        var hosts = new List<(string Host, List<(int First, int Last)> Ranks)>();
        for (var r = 0; r < hostOfRank.Count; r++)
        {
            var entry = hosts.Find(h => h.Host == hostOfRank[r]);
            if (entry.Host is null)
            {
                entry = (hostOfRank[r], []);
                hosts.Add(entry);
            }
            var ranks = entry.Ranks;
            if (ranks.Count > 0 && ranks[^1].Last == r - 1)
            {
                ranks[^1] = (ranks[^1].First, r);
            }
            else
            {
                ranks.Add((r, r));
            }
        }
        static string Range((int First, int Last) x) => x.First == x.Last ? $"{x.First}" : $"{x.First}-{x.Last}";
        var shown = hosts.Take(maxHosts).Select(h =>
            $"{h.Host}: rank{(h.Ranks.Count == 1 && h.Ranks[0].First == h.Ranks[0].Last ? "" : "s")} {string.Join(",", h.Ranks.Select(Range))}");
        var more = hosts.Count > maxHosts ? $"; {hosts.Count - maxHosts} more" : "";
        return $"{hosts.Count} host{(hosts.Count == 1 ? "" : "s")} ({string.Join("; ", shown)}{more})";
    }

    /// <summary>The number of elements each rank holds when <paramref name="total"/> are split in contiguous, nearly equal parts.</summary>
    public static (int Start, int Count) Part(int total, int rank, int size)
    {
        var start = (int)((long)total * rank / size);
        var end = (int)((long)total * (rank + 1) / size);
        return (start, end - start);
    }

    private sealed class SingleProcess : Communicator
    {
        public override int Rank => 0;

        public override int Size => 1;

        public override string Description => "one process";

        public override void AllReduceSum(Span<float> values)
        {
        }

        public override void AllReduceSum(Span<double> values)
        {
        }

        public override void AllReduceMax(Span<long> values)
        {
        }

        public override void AllGatherV<T>(ReadOnlySpan<T> mine, Span<T> all, ReadOnlySpan<int> counts) => mine.CopyTo(all);

        public override void GatherV<T>(ReadOnlySpan<T> mine, Span<T> all, ReadOnlySpan<int> counts, int root) => mine.CopyTo(all);

        public override void AllToAllV<T>(ReadOnlySpan<T> send, ReadOnlySpan<int> sendCounts, Span<T> receive, ReadOnlySpan<int> receiveCounts) =>
            send[..sendCounts[0]].CopyTo(receive);

        public override void Broadcast<T>(Span<T> values, int root)
        {
        }

        public override void Barrier()
        {
        }

        public override nint StartAllToAllV(float[] send, int[] sendCounts, int[] sendDispls, float[] receive, int[] receiveCounts, int[] receiveDispls)
        {
            send.AsSpan(sendDispls[0], sendCounts[0]).CopyTo(receive.AsSpan(receiveDispls[0]));
            return 0;
        }

        public override nint StartAllGatherV(float[] send, int count, float[] receive, int[] counts, int[] displs)
        {
            send.AsSpan(0, count).CopyTo(receive.AsSpan(displs[0]));
            return 0;
        }

        public override bool Test(ref nint request) => true;

        protected override Communicator DuplicateCore() => new SingleProcess();

        public override void Wait(ref nint request)
        {
        }

        public override void Abort(int code) => Environment.Exit(code);
    }
}
