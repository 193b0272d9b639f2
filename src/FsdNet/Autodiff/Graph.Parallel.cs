using FsdNet.Tensors;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace FsdNet.Autodiff;

/// <summary>
/// Elementwise and row-wise kernels split over the worker threads. Each kernel works on a contiguous slice
/// [start, end) of elements (or rows), so results never depend on the split; reductions keep per-part partials
/// that are combined in part order.
/// </summary>
internal sealed partial class Graph
{
    /// <summary>Elements per part below which a kernel stays on one thread.</summary>
    private const int ElementGrain = 1 << 15;

    /// <summary>Unary and binary elementwise operations the parallel kernels know.</summary>
    internal enum Ew
    {
        Add,
        Sub,
        Mul,
        AddInto,
        SubInto,
        Copy,
        Negate,
        MulAdd,
        Scale,
        ScaleAdd,
        AddScalar,
        ScaledDiff,
        ScaleShift,
        Relu,
        Sigmoid,
        Tanh,
        LogSigmoid,
        ReluBack,
        SigmoidBack,
        TanhBack,
        LogSigmoidBack,
    }

    /// <summary>
    /// c = op(a, b) elementwise over the first <paramref name="n"/> elements, in parallel for large n.
    /// For the "Back" ops and MulAdd, <paramref name="fresh"/> selects write (true) or accumulate (false).
    /// </summary>
    internal unsafe void Elementwise(Ew op, Span<float> c, ReadOnlySpan<float> a, ReadOnlySpan<float> b, float s = 0, float t = 0, bool fresh = true)
    {
        var n = c.Length;
        if (n < 2 * ElementGrain || Workers.ThreadCount == 1)
        {
            Apply(op, c, a, b, s, t, fresh);
            return;
        }
        fixed (float* pc = c, pa = a, pb = b)
        {
            job.Plan(n, ElementGrain);
            (job.P0, job.P1, job.P2) = ((nint)pc, (nint)pa, (nint)pb);
            (job.I0, job.I1) = ((int)op, (a.IsEmpty ? 0 : 1) | (b.IsEmpty ? 0 : 2));
            (job.F0, job.F1, job.Flag) = (s, t, fresh);
            job.Run(&ElementwisePart);
        }
    }

    private static unsafe void ElementwisePart(RangeJob j, int part, int start, int end)
    {
        var len = end - start;
        var c = new Span<float>((float*)j.P0 + start, len);
        var a = (j.I1 & 1) == 0 ? default : new ReadOnlySpan<float>((float*)j.P1 + start, len);
        var b = (j.I1 & 2) == 0 ? default : new ReadOnlySpan<float>((float*)j.P2 + start, len);
        Apply((Ew)j.I0, c, a, b, j.F0, j.F1, j.Flag);
    }

    private static void Apply(Ew op, Span<float> c, ReadOnlySpan<float> a, ReadOnlySpan<float> b, float s, float t, bool fresh)
    {
        switch (op)
        {
            case Ew.Add: TensorPrimitives.Add(a, b, c); break;
            case Ew.Sub: TensorPrimitives.Subtract(a, b, c); break;
            case Ew.Mul: TensorPrimitives.Multiply(a, b, c); break;
            case Ew.AddInto: TensorPrimitives.Add(c, a, c); break;
            case Ew.SubInto: TensorPrimitives.Subtract(c, a, c); break;
            case Ew.Copy: a.CopyTo(c); break;
            case Ew.Negate: TensorPrimitives.Negate(a, c); break;
            case Ew.MulAdd:
                if (fresh)
                {
                    TensorPrimitives.Multiply(a, b, c);
                }
                else
                {
                    TensorPrimitives.MultiplyAdd(a, b, c, c);
                }
                break;
            case Ew.Scale: TensorPrimitives.Multiply(a, s, c); break;
            case Ew.ScaleAdd: TensorPrimitives.MultiplyAdd(a, s, c, c); break;
            case Ew.AddScalar: TensorPrimitives.Add(c, s, c); break;
            case Ew.ScaledDiff: Kernels.ScaledDifference(a, b, s, c, fresh); break;
            case Ew.ScaleShift:
                TensorPrimitives.Multiply(a, s, c);
                TensorPrimitives.Add(c, t, c);
                break;
            case Ew.Relu: TensorPrimitives.Max(a, 0f, c); break;
            case Ew.Sigmoid: TensorPrimitives.Sigmoid(a, c); break;
            case Ew.Tanh: TensorPrimitives.Tanh(a, c); break;
            case Ew.LogSigmoid: Kernels.LogSigmoid(a, c); break;
            case Ew.ReluBack: Kernels.ReluBackward(a, b, c, fresh); break;
            case Ew.SigmoidBack: Kernels.SigmoidBackward(a, b, c, fresh); break;
            case Ew.TanhBack: Kernels.TanhBackward(a, b, c, fresh); break;
            case Ew.LogSigmoidBack: Kernels.LogSigmoidBackward(a, b, c, fresh); break;
            default: throw new InvalidOperationException(op.ToString());
        }
    }
}

/// <summary>Row-parallel kernels of the normalisation layers.</summary>
internal sealed partial class Graph
{
    /// <summary>dst[c] = sum over rows of (x[r, c] - mean[c])^2.</summary>
    internal unsafe void ColumnSquaredDeviation(Tensor x, ReadOnlySpan<float> mean, Span<float> dst)
    {
        int rows = x.Shape.Rows, cols = x.Shape.Last;
        var parts = job.PlanRows(rows, cols, ElementGrain);
        job.EnsurePartials(2 * cols);
        fixed (float* pm = mean)
        {
            job.A = x;
            job.P0 = (nint)pm;
            job.I0 = cols;
            job.Run(&SquaredDeviationPart);
        }
        CombinePartials(parts, cols, 0, 2 * cols, dst);
    }

    private static unsafe void SquaredDeviationPart(RangeJob j, int part, int start, int end)
    {
        var cols = j.I0;
        var mean = new ReadOnlySpan<float>((float*)j.P0, cols);
        var acc = j.Partials.AsSpan(part * 2 * cols, cols);
        var tmp = j.Partials.AsSpan((part * 2 * cols) + cols, cols);
        acc.Clear();
        for (var r = start; r < end; r++)
        {
            TensorPrimitives.Subtract(j.A!.Row(r), mean, tmp);
            TensorPrimitives.MultiplyAdd(tmp, tmp, acc, acc);
        }
    }

    /// <summary>s1[c] = sum over rows of a[r, c]; s2[c] = sum over rows of a[r, c] * b[r, c].</summary>
    internal unsafe void ColumnSumAndDot(Tensor a, Tensor b, Span<float> s1, Span<float> s2)
    {
        int rows = a.Shape.Rows, cols = a.Shape.Last;
        var parts = job.PlanRows(rows, cols, ElementGrain);
        job.EnsurePartials(2 * cols);
        job.A = a;
        job.B = b;
        job.I0 = cols;
        job.Run(&SumAndDotPart);
        CombinePartials(parts, cols, 0, 2 * cols, s1);
        CombinePartials(parts, cols, cols, 2 * cols, s2);
    }

    private static void SumAndDotPart(RangeJob j, int part, int start, int end)
    {
        var cols = j.I0;
        var s1 = j.Partials.AsSpan(part * 2 * cols, cols);
        var s2 = j.Partials.AsSpan((part * 2 * cols) + cols, cols);
        s1.Clear();
        s2.Clear();
        for (var r = start; r < end; r++)
        {
            var ar = j.A!.Row(r);
            TensorPrimitives.Add(s1, ar, s1);
            TensorPrimitives.MultiplyAdd(ar, j.B!.Row(r), s2, s2);
        }
    }

    /// <summary>xhat = (x - mean) * invstd and y = xhat * gamma + beta, row by row.</summary>
    internal unsafe void NormalizeRows(Tensor x, Tensor xhat, Tensor y, Tensor mean, Tensor invstd, Tensor gamma, Tensor beta)
    {
        job.PlanRows(x.Shape.Rows, x.Shape.Last, ElementGrain);
        (job.A, job.B, job.C) = (x, xhat, y);
        (job.D, job.E, job.F, job.G) = (mean, invstd, gamma, beta);
        job.Run(&NormalizePart);
    }

    private static void NormalizePart(RangeJob j, int part, int start, int end)
    {
        var (gamma, beta) = (j.F!, j.G!);
        var mean = j.D!.Span;
        var invstd = j.E!.Span;
        for (var r = start; r < end; r++)
        {
            var h = j.B!.Row(r);
            TensorPrimitives.Subtract(j.A!.Row(r), mean, h);
            TensorPrimitives.Multiply(h, invstd, h);
            TensorPrimitives.MultiplyAdd(h, gamma.Span, beta.Span, j.C!.Row(r));
        }
    }

    /// <summary>
    /// The BatchNorm input gradient row by row: with batch statistics g (+)= k * (dy - mdy - xhat * mdyx), else
    /// g (+)= k * dy.
    /// </summary>
    internal unsafe void BatchNormInputGrad(Tensor dy, Tensor xhat, Tensor grad, ReadOnlySpan<float> k, ReadOnlySpan<float> mdy, ReadOnlySpan<float> mdyx, bool batchStats, bool fresh)
    {
        job.PlanRows(dy.Shape.Rows, dy.Shape.Last, ElementGrain);
        (job.A, job.B, job.C) = (dy, xhat, grad);
        fixed (float* pk = k, pm = mdy, px = mdyx)
        {
            (job.P0, job.P1, job.P2) = ((nint)pk, (nint)pm, (nint)px);
            (job.I0, job.Flag, job.I1) = (dy.Shape.Last, fresh, batchStats ? 1 : 0);
            job.Run(&BatchNormGradPart);
        }
    }

    private static unsafe void BatchNormGradPart(RangeJob j, int part, int start, int end)
    {
        var cols = j.I0;
        var k = new ReadOnlySpan<float>((float*)j.P0, cols);
        var mdy = new ReadOnlySpan<float>((float*)j.P1, cols);
        var mdyx = new ReadOnlySpan<float>((float*)j.P2, cols);
        for (var r = start; r < end; r++)
        {
            var g = j.C!.Row(r);
            if (j.I1 == 1)
            {
                Kernels.CenteredGrad(j.A!.Row(r), mdy, j.B!.Row(r), mdyx, k, g, j.Flag);
            }
            else if (j.Flag)
            {
                TensorPrimitives.Multiply(j.A!.Row(r), k, g);
            }
            else
            {
                TensorPrimitives.MultiplyAdd(j.A!.Row(r), k, g, g);
            }
        }
    }

    /// <summary>dst = the sum over parts of Partials[p * stride + offset .. + cols], in part order.</summary>
    private void CombinePartials(int parts, int cols, int offset, int stride, Span<float> dst)
    {
        job.Partials.AsSpan(offset, cols).CopyTo(dst);
        for (var p = 1; p < parts; p++)
        {
            TensorPrimitives.Add(dst, job.Partials.AsSpan((p * stride) + offset, cols), dst);
        }
    }
}

/// <summary>Row-parallel copies between column ranges, and parallel sums.</summary>
internal sealed partial class Graph
{
    /// <summary>Column blocks of rows: dst[r, dstCol .. + width] = (or +=) src[r, srcCol .. + width] for every row.</summary>
    internal unsafe void CopyColumns(Tensor src, int srcCol, Tensor dst, int dstCol, int width, bool accumulate = false)
    {
        var rows = src.Shape.Rows;
        job.PlanRows(rows, width, ElementGrain);
        (job.A, job.B) = (src, dst);
        (job.I0, job.I1) = (srcCol, dstCol);
        job.P0 = width;
        job.Flag = accumulate;
        job.Run(&CopyColumnsPart);
    }

    private static void CopyColumnsPart(RangeJob j, int part, int start, int end)
    {
        var width = (int)j.P0;
        for (var r = start; r < end; r++)
        {
            var s = j.A!.Row(r).Slice(j.I0, width);
            var d = j.B!.Row(r).Slice(j.I1, width);
            if (j.Flag)
            {
                TensorPrimitives.Add(d, s, d);
            }
            else
            {
                s.CopyTo(d);
            }
        }
    }

    /// <summary>Every row of y = the row vector b.</summary>
    internal unsafe void FillRows(Tensor y, Tensor b)
    {
        var rows = y.Shape.Rows;
        job.PlanRows(rows, y.Shape.Last, ElementGrain);
        (job.A, job.B) = (b, y);
        job.Run(&FillRowsPart);
    }

    private static void FillRowsPart(RangeJob j, int part, int start, int end)
    {
        var b = j.A!.Span;
        for (var r = start; r < end; r++)
        {
            b.CopyTo(j.B!.Row(r));
        }
    }

    /// <summary>ga (+)= k (a - b) and gb (+)= -k (a - b) in one pass over a and b (<see cref="Kernels.ScaledDifferencePair"/>), in parallel for large tensors.</summary>
    internal unsafe void ScaledDifferencePair(Tensor a, Tensor b, float k, Tensor ga, bool freshA, Tensor gb, bool freshB)
    {
        if (a.Length < 2 * ElementGrain || Workers.ThreadCount == 1)
        {
            Kernels.ScaledDifferencePair(a.Span, b.Span, k, ga.Span, freshA, gb.Span, freshB);
            return;
        }
        job.Plan(a.Length, ElementGrain);
        (job.A, job.B, job.C, job.D) = (a, b, ga, gb);
        (job.F0, job.I0, job.Flag) = (k, freshA ? 1 : 0, freshB);
        job.Run(&ScaledDifferencePairPart);
    }

    private static void ScaledDifferencePairPart(RangeJob j, int part, int start, int end)
    {
        var len = end - start;
        Kernels.ScaledDifferencePair(j.A!.Span.Slice(start, len), j.B!.Span.Slice(start, len), j.F0,
            j.C!.Span.Slice(start, len), j.I0 != 0, j.D!.Span.Slice(start, len), j.Flag);
    }

    /// <summary>sum((a - b)^2) in double precision, split over threads (partials added in part order).</summary>
    internal unsafe double SquaredDistance(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        if (a.Length < 2 * ElementGrain || Workers.ThreadCount == 1)
        {
            return Kernels.SquaredDistance(a, b);
        }
        fixed (float* pa = a, pb = b)
        {
            var parts = job.Plan(a.Length, ElementGrain);
            (job.P0, job.P1) = ((nint)pa, (nint)pb);
            job.Run(&SquaredDistancePart);
            double total = 0;
            for (var k = 0; k < parts; k++)
            {
                total += job.DoublePartials[k];
            }
            return total;
        }
    }

    private static unsafe void SquaredDistancePart(RangeJob j, int part, int start, int end) =>
        j.DoublePartials[part] = Kernels.SquaredDistance(
            new ReadOnlySpan<float>((float*)j.P0 + start, end - start), new ReadOnlySpan<float>((float*)j.P1 + start, end - start));

    /// <summary>The sum of all elements in double precision, split over threads (partials added in part order).</summary>
    internal unsafe double SumParallel(ReadOnlySpan<float> x)
    {
        if (x.Length < 2 * ElementGrain || Workers.ThreadCount == 1)
        {
            return Kernels.SumDouble(x);
        }
        fixed (float* p = x)
        {
            var parts = job.Plan(x.Length, ElementGrain);
            job.P0 = (nint)p;
            job.Run(&SumPart);
            double total = 0;
            for (var k = 0; k < parts; k++)
            {
                total += job.DoublePartials[k];
            }
            return total;
        }
    }

    private static unsafe void SumPart(RangeJob j, int part, int start, int end)
    {
        j.DoublePartials[part] = Kernels.SumDouble(new ReadOnlySpan<float>((float*)j.P0 + start, end - start));
    }
}
