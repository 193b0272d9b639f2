using System.Diagnostics;

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

    public static void Reset()
    {
        GemmTicks = GemmFlops = EmbeddingTicks = 0;
        ForwardTicks = BackwardTicks = RegularizeClipTicks = OptimizerTicks = 0;
    }

    /// <summary>Adds the time since <paramref name="start"/> (a <see cref="Stopwatch.GetTimestamp"/>) to <paramref name="into"/>; returns now.</summary>
    public static long Lap(ref long into, long start)
    {
        var now = Stopwatch.GetTimestamp();
        into += now - start;
        return now;
    }
}
