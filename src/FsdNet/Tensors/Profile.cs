using System.Diagnostics;
using System.Runtime.InteropServices;

namespace FsdNet.Tensors;

/// <summary>
/// Where a training step's time goes, for benchmarks (bench/FsdNet.Bench train --profile): ticks in matrix products
/// (with their FLOPs), in the input layer's embedding gather and scatter, and in the phases of a step. Off by default;
/// when off each instrumented place costs one static read. Single training thread only (the instrumented calls are
/// made from the thread that runs the step; their parallel work is inside them).
/// </summary>
internal static class Profile
{
    public static bool Enabled;

    public static long GemmTicks;
    public static long GemmFlops;
    public static long EmbeddingTicks;
    public static long ForwardTicks;
    public static long BackwardTicks;
    public static long RegularizeClipTicks;
    public static long OptimizerTicks;

    /// <summary>
    /// Ticks per recorded op type, forward and backward (bench/FsdNet.Bench train --profile). An op's forward is the
    /// time since the previous op was recorded (or the step's forward began: <see cref="OpClock"/>), which is when it
    /// computed its output; its backward is its node's own time. Ops inside a step that record nothing (no gradient)
    /// count towards the next recorded one.
    /// </summary>
    public static readonly Dictionary<Type, OpTicks> Ops = [];

    /// <summary>
    /// Matrix products by shape (C[m,n] = op(A)[m,k] op(B)[k,n], the form "NN", "NT", "TN" or "TT"): their ticks, calls
    /// and FLOPs, so a profile shows which products are slow (bench/FsdNet.Bench train --profile).
    /// </summary>
    public static readonly Dictionary<GemmShape, ShapeTicks> GemmShapes = [];

    /// <summary>Time and calls of one product shape in <see cref="GemmShapes"/>.</summary>
    public struct ShapeTicks
    {
        public long Ticks;
        public long Count;
    }

    /// <summary>One product shape for <see cref="GemmShapes"/>.</summary>
    public readonly record struct GemmShape(bool TransA, bool TransB, int M, int N, int K)
    {
        public string Form => (TransA ? "T" : "N") + (TransB ? "T" : "N");

        public override string ToString() => $"{M}x{K}x{N} {Form}";
    }

    /// <summary>A matrix product began at <paramref name="start"/> and ended now: counts its time and FLOPs, overall and by shape.</summary>
    public static void Gemm(long start, bool transA, bool transB, int m, int n, int k)
    {
        var ticks = Stopwatch.GetTimestamp() - start;
        GemmTicks += ticks;
        GemmFlops += 2L * m * n * k;
        ref var entry = ref CollectionsMarshal.GetValueRefOrAddDefault(GemmShapes, new GemmShape(transA, transB, m, n, k), out _);
        entry.Ticks += ticks;
        entry.Count++;
    }

    /// <summary>When the last op was recorded (or the forward pass began).</summary>
    public static long OpClock;

    public struct OpTicks
    {
        public long Forward;
        public long Backward;
        public long Count;
    }

    public static void Reset()
    {
        GemmTicks = GemmFlops = EmbeddingTicks = 0;
        ForwardTicks = BackwardTicks = RegularizeClipTicks = OptimizerTicks = 0;
        Ops.Clear();
        GemmShapes.Clear();
    }

    /// <summary>An op of type <paramref name="op"/> was recorded now: its forward took the time since the last.</summary>
    public static void OpRecorded(Type op)
    {
        var now = Stopwatch.GetTimestamp();
        ref var entry = ref CollectionsMarshal.GetValueRefOrAddDefault(Ops, op, out _);
        entry.Forward += now - OpClock;
        entry.Count++;
        OpClock = now;
    }

    /// <summary>A node of type <paramref name="op"/> ran its backward from <paramref name="start"/> to now.</summary>
    public static void OpBackward(Type op, long start)
    {
        ref var entry = ref CollectionsMarshal.GetValueRefOrAddDefault(Ops, op, out _);
        entry.Backward += Stopwatch.GetTimestamp() - start;
    }

    /// <summary>Adds the time since <paramref name="start"/> (a <see cref="Stopwatch.GetTimestamp"/>) to <paramref name="into"/>; returns now.</summary>
    public static long Lap(ref long into, long start)
    {
        var now = Stopwatch.GetTimestamp();
        into += now - start;
        return now;
    }
}
