using FsdNet.Tensors;

namespace FsdNet.Layers;

/// <summary>Weight initialisers (FuxiCTR defaults), all drawing from one seeded <see cref="Rng"/>.</summary>
internal static class Init
{
    /// <summary>Xavier (Glorot) normal for a [out, in] weight: std = sqrt(2 / (in + out)).</summary>
    public static void XavierNormal(Tensor weight, Rng rng)
    {
        var fanOut = weight.Shape.D0;
        var fanIn = weight.Shape.Last;
        rng.FillNormal(weight.Span, 0, Math.Sqrt(2.0 / (fanIn + fanOut)));
    }

    /// <summary>
    /// <see cref="Embedding"/> for a table that is not allocated: the generator's state is kept and moved past the
    /// table's draws, so later draws are what they would be, and <see cref="DeferredDraw.Rows"/> replays the table's
    /// values row by row when (and where) they are needed.
    /// </summary>
    public static Autodiff.Parameter DeferEmbedding(string name, Shape shape, Rng rng, double std = 1e-4)
    {
        var draw = new DeferredDraw(rng.SaveState(), std);
        rng.SkipNormal(shape.Length);
        return Autodiff.Parameter.DeferredTable(name, shape, draw);
    }

    /// <summary>Normal(0, std) for an embedding table, with the padding row 0 set to zero.</summary>
    public static void Embedding(Tensor table, Rng rng, double std = 1e-4)
    {
        rng.FillNormal(table.Span, 0, std);
        table.Row(0).Clear();
    }
}

/// <summary>
/// The initial values of a deferred embedding table (<see cref="Init.DeferEmbedding"/>): the generator's state where
/// <see cref="Init.Embedding"/> would have started drawing them, and their spread.
/// </summary>
internal sealed class DeferredDraw(ulong[] state, double std)
{
    /// <summary>
    /// Hands every row of a [<paramref name="rows"/>, <paramref name="dim"/>] table to <paramref name="take"/> in order,
    /// bit for bit what <see cref="Init.Embedding"/> writes (the padding row 0 zero), drawing a block of rows at a time:
    /// memory in the block, not the table.
    /// </summary>
    public void Rows(int rows, int dim, Action<int, ReadOnlySpan<float>> take)
    {
        var rng = new Rng(0);
        rng.RestoreState(state);
        var block = Math.Max(1, (1 << 16) / Math.Max(dim, 1));
        var buffer = new float[block * dim];
        for (var start = 0; start < rows; start += block)
        {
            var n = Math.Min(block, rows - start);
            var values = buffer.AsSpan(0, n * dim);
            rng.FillNormal(values, 0, std);
            if (start == 0)
            {
                values[..dim].Clear();
            }
            for (var r = 0; r < n; r++)
            {
                take(start + r, values.Slice(r * dim, dim));
            }
        }
    }
}
