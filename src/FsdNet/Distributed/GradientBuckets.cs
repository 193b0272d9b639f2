using FsdNet.Autodiff;

namespace FsdNet.Distributed;

/// <summary>
/// <see cref="Communicator.AllReduceSumOrdered(Span{float})"/> over one buffer, started and ended apart so that work
/// goes on in between: the same collectives, started without waiting (MPI's non-blocking ones), and the same sum in
/// rank order, so bitwise the same result. Its buffers are its own and pinned: MPI reads and writes them until the
/// collective ends.
/// </summary>
internal sealed class OrderedSum
{
    private readonly Communicator parts, sums;
    private readonly int length;
    private readonly bool whole;
    private readonly int part;
    private readonly float[] received;
    private readonly int[] sendCounts, sendDispls, receiveCounts, receiveDispls;
    private nint request;
    private int phase;   // 0: idle or ended; 1: the first collective; 2: the all-gather of the summed parts

    /// <param name="parts">The communicator of the first collectives.</param>
    /// <param name="sums">
    /// The communicator of the all-gathers of summed parts. Each is started when its first collective ends, which on
    /// one rank may come before and on another after the next sum's start: they need a communicator of their own, and
    /// sums that end in the order they were started.
    /// </param>
    public OrderedSum(Communicator parts, Communicator sums, int length)
    {
        (this.parts, this.sums) = (parts, sums);
        this.length = length;
        var size = parts.Size;
        Values = GC.AllocateArray<float>(Math.Max(length, 1), pinned: true);
        (sendCounts, sendDispls) = (GC.AllocateArray<int>(size, pinned: true), GC.AllocateArray<int>(size, pinned: true));
        (receiveCounts, receiveDispls) = (GC.AllocateArray<int>(size, pinned: true), GC.AllocateArray<int>(size, pinned: true));
        whole = parts.GathersWhole(length);
        part = whole ? length : Communicator.Part(length, parts.Rank, size).Count;
        received = GC.AllocateArray<float>(Math.Max(part * size, 1), pinned: true);
        for (var r = 0; r < size; r++)
        {
            // Whole: every rank's buffer to every rank. By parts: rank r's part of each buffer to rank r (all-to-all),
            // then each rank's summed part to every rank (all-gather), laid out as the parts of the buffer.
            var (start, count) = Communicator.Part(length, r, size);
            (sendCounts[r], sendDispls[r]) = whole ? (length, r * length) : (count, start);
            (receiveCounts[r], receiveDispls[r]) = (part, r * part);
        }
    }

    /// <summary>The buffer: this rank's values before <see cref="Start"/>, the sums over the ranks once it has ended.</summary>
    public float[] Values { get; }

    public void Start()
    {
        if (phase != 0)
        {
            throw new InvalidOperationException("an ordered sum was started again before it ended");
        }
        phase = 1;
        request = whole
            ? parts.StartAllGatherV(Values, length, received, sendCounts, sendDispls)
            : parts.StartAllToAllV(Values, sendCounts, sendDispls, received, receiveCounts, receiveDispls);
    }

    /// <summary>Moves the sum on without waiting; true once it has ended.</summary>
    public bool Progress()
    {
        while (phase != 0 && (phase == 1 ? parts : sums).Test(ref request))
        {
            Advance();
        }
        return phase == 0;
    }

    public void Wait()
    {
        while (phase != 0)
        {
            (phase == 1 ? parts : sums).Wait(ref request);
            Advance();
        }
    }

    private void Advance()
    {
        if (whole)
        {
            parts.SumInRankOrder<float>(received, length, Values.AsSpan(0, length));
            phase = 0;
        }
        else if (phase == 1)
        {
            parts.SumInRankOrder<float>(received, part, received.AsSpan(0, part));
            phase = 2;
            request = sums.StartAllGatherV(received, part, Values, sendCounts, sendDispls);
        }
        else
        {
            phase = 0;
        }
    }
}

/// <summary>
/// Data-parallel gradients summed over the ranks in buckets that leave while the backward pass goes on, as PyTorch's
/// DistributedDataParallel does: the parameters are grouped in the order their gradients become final going down the
/// tape (the lowest node that writes each, <see cref="Tensor.GradNode"/>), a bucket starts its ordered sum as soon as
/// the backward pass has passed all its writers, and each node's end moves the started ones on. The schedule is learnt
/// from a step summed in one buffer after backward (the first, and any whose tape differs), and every overlapped step
/// checks that each gradient was last written where the schedule said: when not (a graph that changed shape), the step
/// is summed again in one buffer from the local gradients (the bucket results were not yet written back) and the
/// schedule learnt anew. The sums are element-wise in rank order however the buffer is cut, so buckets change no bit.
/// </summary>
internal sealed class GradientBuckets : IBackwardListener, IDisposable
{
    private readonly Communicator parts, sums;
    private readonly Parameter[] parameters;
    private readonly int capacity;
    private Bucket[] buckets = [];
    private int learntTape = -1;
    private bool armed;
    private int next, open;

    /// <param name="capacity">Floats per bucket (a bucket closes at the first parameter that fills it); 0: no buckets.</param>
    public GradientBuckets(Communicator comm, Parameter[] parameters, int capacity)
    {
        // The buckets' two streams of collectives (parts, then sums) each on a communicator of its own: they interleave
        // with each other and with the step's blocking collectives (BatchNorm's) by timing, which differs between ranks.
        (parts, sums) = capacity > 0 ? (comm.Duplicate(), comm.Duplicate()) : (comm, comm);
        this.parameters = parameters;
        this.capacity = capacity;
    }

    /// <summary>
    /// Frees the two communicators of the buckets (collective: every rank disposes after the run's last step). A step
    /// after that is summed in one buffer, as with <c>gradient_bucket_mb: 0</c>.
    /// </summary>
    public void Dispose()
    {
        if (capacity > 0 && !disposed)
        {
            parts.Free();
            sums.Free();
        }
        (buckets, learntTape, armed, disposed) = ([], -1, false, true);
    }

    private bool disposed;

    /// <summary>The buckets of the schedule (0 before the first step).</summary>
    public int Count => buckets.Length;

    /// <summary>Buckets started before the backward pass ended, over the run: the overlap that happened.</summary>
    public long StartedDuringBackward { get; private set; }

    /// <summary>Steps summed in one buffer because the tape differed from the schedule's.</summary>
    public int Relearnt { get; private set; }

    /// <summary>Before a step's backward pass: whether its gradients go out in buckets (the schedule fits its tape).</summary>
    public bool Arm(Graph graph)
    {
        armed = capacity > 0 && !disposed && graph.TapeLength == learntTape && buckets.Length > 0;
        (next, open) = (0, 0);
        return armed;
    }

    public void Done(int node)
    {
        if (!armed)
        {
            return;
        }
        while (next < buckets.Length && buckets[next].Ready >= node)
        {
            Start(buckets[next++]);
            StartedDuringBackward += node > 0 ? 1 : 0;
        }
        while (open < next && buckets[open].Sum.Progress())
        {
            open++;
        }
    }

    /// <summary>
    /// After the backward pass of an armed step: waits for every bucket and says whether each gradient was final where
    /// the schedule said (this rank's view; the trainer combines it over the ranks). The sums stay in the buckets until
    /// <see cref="WriteBack"/>.
    /// </summary>
    public bool Finish()
    {
        while (next < buckets.Length)
        {
            Start(buckets[next++]);
        }
        for (; open < buckets.Length; open++)
        {
            buckets[open].Sum.Wait();
        }
        armed = false;
        var scheduled = 0;
        foreach (var b in buckets)
        {
            for (var i = 0; i < b.Parameters.Length; i++)
            {
                if (!b.Parameters[i].HasGrad || b.Parameters[i].GradNode != b.Nodes[i])
                {
                    return false;
                }
            }
            scheduled += b.Parameters.Length;
        }
        var withGrad = 0;
        foreach (var p in parameters)
        {
            withGrad += p.HasGrad ? 1 : 0;
        }
        return withGrad == scheduled;
    }

    /// <summary>The summed gradients into the parameters.</summary>
    public void WriteBack()
    {
        foreach (var b in buckets)
        {
            var offset = 0;
            foreach (var p in b.Parameters)
            {
                b.Sum.Values.AsSpan(offset, p.Length).CopyTo(p.GradSpan);
                offset += p.Length;
            }
        }
    }

    /// <summary>
    /// The schedule from a step whose gradients are all written (before they are summed: the nodes are this step's):
    /// parameters in the order they became final, cut into buckets of about <c>capacity</c> floats.
    /// </summary>
    public void Learn(Graph graph)
    {
        if (capacity <= 0 || disposed)
        {
            return;
        }
        Relearnt += learntTape >= 0 ? 1 : 0;
        learntTape = graph.TapeLength;
        // Highest node first (final earliest); ties in parameter order. Every rank runs the same graph, so every rank
        // cuts the same buckets.
        var order = parameters.Where(p => p.HasGrad).Select((p, i) => (p, i)).OrderByDescending(x => x.p.GradNode).ThenBy(x => x.i).Select(x => x.p).ToList();
        var list = new List<Bucket>();
        var start = 0;
        while (start < order.Count)
        {
            var end = start;
            long floats = 0;
            while (end < order.Count && (end == start || floats + order[end].Length <= capacity))
            {
                floats += order[end++].Length;
            }
            var members = order.GetRange(start, end - start).ToArray();
            list.Add(new Bucket(members, [.. members.Select(p => p.GradNode)], new OrderedSum(parts, sums, checked((int)floats))));
            start = end;
        }
        buckets = [.. list];
    }

    private static void Start(Bucket b)
    {
        var offset = 0;
        foreach (var p in b.Parameters)
        {
            p.GradSpan.CopyTo(b.Sum.Values.AsSpan(offset));
            offset += p.Length;
        }
        b.Sum.Start();
    }

    /// <summary>Parameters summed together, the node after which each is final (descending), and their sum.</summary>
    private sealed class Bucket(Parameter[] parameters, int[] nodes, OrderedSum sum)
    {
        public Parameter[] Parameters { get; } = parameters;

        public int[] Nodes { get; } = nodes;

        public OrderedSum Sum { get; } = sum;

        /// <summary>The bucket can leave once the backward pass is done with this node (its last parameter's).</summary>
        public int Ready { get; } = nodes[^1];
    }
}
