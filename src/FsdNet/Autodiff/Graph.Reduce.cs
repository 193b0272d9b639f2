using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using FsdNet.Tensors;

namespace FsdNet.Autodiff;

internal sealed partial class Graph
{
    /// <summary>
    /// dst (+)= the column sums of src seen as [rows, cols]. Row blocks are summed in parallel into per-part partials
    /// that are then added in part order, so the result depends only on the thread count, not on timing.
    /// </summary>
    internal unsafe void ColumnSum(Tensor src, int rows, int cols, Span<float> dst, bool fresh)
    {
        if (dst.Length != cols || src.Length < rows * cols)
        {
            throw new ArgumentException($"ColumnSum: {src.Shape} as [{rows}, {cols}] into [{dst.Length}].");
        }
        if (rows == 0)
        {
            if (fresh)
            {
                dst.Clear();
            }
            return;
        }
        var parts = job.PlanRows(rows, cols, ElementGrain);
        var partials = job.EnsurePartials(cols);
        job.A = src;
        job.I0 = cols;
        job.Run(&ColumnSumPart);
        if (fresh)
        {
            CombinePartials(parts, cols, 0, cols, dst);
            return;
        }
        for (var p = 0; p < parts; p++)
        {
            TensorPrimitives.Add(dst, partials.Slice(p * cols, cols), dst);
        }
    }

    private static void ColumnSumPart(RangeJob job, int part, int start, int end)
    {
        var src = job.A!;
        var cols = job.I0;
        var acc = job.Partials.AsSpan(part * cols, cols);
        src.Span.Slice(start * cols, cols).CopyTo(acc);
        for (var r = start + 1; r < end; r++)
        {
            TensorPrimitives.Add(acc, src.Span.Slice(r * cols, cols), acc);
        }
    }
}
