using FsdNet.Layers;
using FsdNet.Tensors;

namespace FsdNet.Autodiff;

internal sealed partial class Graph
{
    /// <summary>
    /// Embedding lookup of <paramref name="rows"/> x F codes (row-major, <paramref name="codes"/>[r * F + f] is the code
    /// of field f in row r) in F tables [vocab_f, d], concatenated per row into [rows, F * d]; a table may serve
    /// several fields. Code 0 is padding: it reads its table row (kept at zero) but never receives a gradient.
    /// A convenience over <see cref="FieldEmbedding"/> that builds its plan on every call (layers keep theirs).
    /// </summary>
    public Tensor Embedding(Tensor[] tables, int[] codes, int rows)
    {
        var fields = tables.Length;
        if (fields == 0)
        {
            throw new ArgumentException("Embedding needs at least one table.");
        }
        var dim = tables[0].Shape.Last;
        if (codes.Length < rows * fields)
        {
            throw new ArgumentException($"Embedding: {codes.Length} codes for {rows} rows x {fields} fields.");
        }
        for (var f = 0; f < fields; f++)
        {
            if (tables[f].Shape.Rank != 2 || tables[f].Shape.D1 != dim)
            {
                throw new ArgumentException($"Embedding: table {f} ({tables[f].Name}) has shape {tables[f].Shape}, expected [vocab, {dim}].");
            }
        }
        var plan = new FieldEmbeddingPlan(
            [.. Enumerable.Repeat(SlotKind.Code, fields)], [.. Enumerable.Range(0, fields)], [.. Enumerable.Repeat(dim, fields)],
            new int[fields], [.. Enumerable.Range(0, fields)], [.. tables.Select((t, f) => t.Name ?? $"field {f}")]);
        return FieldEmbedding(plan, tables, [], new ModelInput(rows, codes, fields));
    }
}
