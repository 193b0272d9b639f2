using FsdNet.Tensors;

namespace FsdNet.Autodiff;

internal sealed partial class Graph
{
    /// <summary>
    /// Dropout: in training each element is zeroed with probability <paramref name="p"/> and the rest are scaled by
    /// 1 / (1 - p) (inverted dropout); in evaluation (or p = 0) it is the identity and returns <paramref name="x"/>.
    /// The mask comes from a counter-based hash keyed by one draw from <see cref="Random"/>, so it costs no memory,
    /// is recomputed in the backward pass and does not depend on the thread count.
    /// </summary>
    public unsafe Tensor Dropout(Tensor x, float p)
    {
        if (p is < 0f or >= 1f)
        {
            throw new ArgumentOutOfRangeException(nameof(p), p, "Dropout probability must be in [0, 1).");
        }
        if (!Training || p == 0f)
        {
            return x;
        }
        var track = Tracks(x);
        var y = Output(x.Shape, track);
        var key = Random.NextULong();
        // The mask counter of element 0: its position in the global batch when this rank holds a slice of it (rows
        // are the leading axis).
        var first = (uint)((long)RowOffset * (x.Length / Math.Max(1, x.Shape.D0)));
        DropoutApply(key, p, first, x.Span, y.Span, fresh: true);
        Trace?.Add(TraceKind.TrainingOnly, y, [x], payload: "Dropout in training");
        if (track)
        {
            Record<DropoutOp>(y).Set(x, p, key, first);
        }
        return y;
    }

    private sealed class DropoutOp : Op
    {
        private Tensor x = null!;
        private float p;
        private ulong key;
        private uint first;

        public void Set(Tensor input, float rate, ulong maskKey, uint firstCounter) => (x, p, key, first) = (input, rate, maskKey, firstCounter);

        public override void Backward(Graph g)
        {
            var gx = g.GradFor(x, out var fresh);
            g.DropoutApply(key, p, first, Out.Grad!.Span, gx, fresh);
        }
    }

    private unsafe void DropoutApply(ulong key, float p, uint first, ReadOnlySpan<float> x, Span<float> y, bool fresh)
    {
        var threshold = (uint)Math.Min(Math.Round(p * 4294967296.0), uint.MaxValue);
        fixed (float* px = x, py = y)
        {
            job.Plan(x.Length, ElementGrain);
            (job.P0, job.P1, job.P2) = ((nint)py, (nint)px, (nint)threshold);
            (job.I0, job.I1) = ((int)(uint)key, (int)(uint)(key >> 32));
            job.I2 = (int)first;
            (job.F0, job.Flag) = (1f / (1f - p), fresh);
            job.Run(&DropoutPart);
        }
    }

    private static unsafe void DropoutPart(RangeJob j, int part, int start, int end)
    {
        var len = end - start;
        Kernels.Dropout(
            (uint)j.I0, (uint)j.I1, (uint)j.P2, j.F0, (uint)j.I2 + (uint)start,
            new ReadOnlySpan<float>((float*)j.P1 + start, len), new Span<float>((float*)j.P0 + start, len), j.Flag);
    }
}
