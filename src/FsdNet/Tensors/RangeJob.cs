namespace FsdNet.Tensors;

/// <summary>
/// A reusable parallel job over an index range [0, Count): each part runs a static kernel on a contiguous slice.
/// The kernel is a function pointer and the arguments are fields, so dispatching allocates nothing. The split
/// depends only on Count, the grain and <see cref="Workers.ThreadCount"/>, which keeps reductions deterministic.
/// One instance serves one caller at a time (each <c>Graph</c> owns its own).
/// </summary>
internal sealed unsafe class RangeJob : ParallelJob
{
    private delegate*<RangeJob, int, int, int, void> body;

    public int Count { get; private set; }

    public Tensor? A;
    public Tensor? B;
    public Tensor? C;
    public Tensor? D;
    public Tensor? E;
    public Tensor? F;
    public Tensor? G;
    public float F0;
    public float F1;
    public int I0;
    public int I1;
    public int I2;
    public bool Flag;
    public object? Obj;
    public object? Obj2;

    /// <summary>Raw pointers to pinned buffers (kernels over spans).</summary>
    public nint P0;
    public nint P1;
    public nint P2;

    /// <summary>Per-part partial results for reductions (Parts x width).</summary>
    public float[] Partials = [];

    /// <summary>Number of parts the last <see cref="Plan"/> chose.</summary>
    public int Parts { get; private set; } = 1;

    /// <summary>Chooses the number of parts for <paramref name="count"/> items of work, at least <paramref name="grain"/> each.</summary>
    public int Plan(int count, int grain)
    {
        Count = count;
        Parts = Math.Clamp(count / Math.Max(grain, 1), 1, Workers.ThreadCount);
        return Parts;
    }

    /// <summary>Plans a split of <paramref name="rows"/> rows of <paramref name="width"/> elements, at least <paramref name="grain"/> elements a part.</summary>
    public int PlanRows(int rows, int width, int grain)
    {
        Count = rows;
        var byWork = (int)Math.Min((long)rows * width / Math.Max(grain, 1), int.MaxValue);
        Parts = Math.Clamp(Math.Min(byWork, rows), 1, Workers.ThreadCount);
        return Parts;
    }

    /// <summary>Per-part double-precision partial results.</summary>
    public double[] DoublePartials = new double[64];

    /// <summary>Makes sure <see cref="Partials"/> holds Parts x width floats.</summary>
    public Span<float> EnsurePartials(int width)
    {
        var n = Parts * width;
        if (Partials.Length < n)
        {
            Partials = GC.AllocateArray<float>(n, pinned: true);
        }
        return Partials.AsSpan(0, n);
    }

    /// <summary>Runs the kernel over the planned parts: kernel(job, part, start, end).</summary>
    public void Run(delegate*<RangeJob, int, int, int, void> kernel)
    {
        body = kernel;
        Workers.Run(this, Parts);
        A = B = C = D = E = F = G = null;
        Obj = Obj2 = null;
    }

    public override void Execute(int part, int parts)
    {
        var (start, end) = Split(Count, part, parts);
        body(this, part, start, end);
    }

    /// <summary>The [start, end) range of part <paramref name="part"/> when <paramref name="count"/> items are split in <paramref name="parts"/>.</summary>
    public static (int Start, int End) Split(int count, int part, int parts)
    {
        var q = count / parts;
        var r = count % parts;
        var start = (part * q) + Math.Min(part, r);
        return (start, start + q + (part < r ? 1 : 0));
    }
}
