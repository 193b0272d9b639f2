using FsdNet.Distributed;

namespace FsdNet.Tests.Support;

/// <summary>
/// A communicator that only knows its rank and the job's size: what code that lays data out over the ranks needs,
/// without MPI. Every collective is refused, so a test learns when the code under it would talk to its peers.
/// </summary>
internal class RankOnly(int rank, int size) : Communicator
{
    public override int Rank => rank;

    public override int Size => size;

    public override string Description => $"rank {rank} of {size} (no collectives)";

    public override void AllReduceSum(Span<float> values) => throw new NotSupportedException();

    public override void AllReduceSum(Span<double> values) => throw new NotSupportedException();

    public override void AllReduceMax(Span<long> values) => throw new NotSupportedException();

    public override void AllGatherV<T>(ReadOnlySpan<T> mine, Span<T> all, ReadOnlySpan<int> counts) => throw new NotSupportedException();

    public override void GatherV<T>(ReadOnlySpan<T> mine, Span<T> all, ReadOnlySpan<int> counts, int root) => throw new NotSupportedException();

    public override void AllToAllV<T>(ReadOnlySpan<T> send, ReadOnlySpan<int> sendCounts, Span<T> receive, ReadOnlySpan<int> receiveCounts) =>
        throw new NotSupportedException();

    public override void Broadcast<T>(Span<T> values, int root) => throw new NotSupportedException();

    public override void Barrier() => throw new NotSupportedException();

    public override nint StartAllToAllV(float[] send, int[] sendCounts, int[] sendDispls, float[] receive, int[] receiveCounts, int[] receiveDispls) =>
        throw new NotSupportedException();

    public override nint StartAllGatherV(float[] send, int count, float[] receive, int[] counts, int[] displs) => throw new NotSupportedException();

    public override bool Test(ref nint request) => throw new NotSupportedException();

    public override void Wait(ref nint request) => throw new NotSupportedException();

    protected override Communicator DuplicateCore() => new RankOnly(rank, size);

    public override void Abort(int code) => throw new NotSupportedException();
}
