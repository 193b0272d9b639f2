using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using FsdNet.Tensors;

namespace FsdNet.Autodiff;

public sealed partial class Graph
{
    /// <summary>
    /// Embedding lookup of <paramref name="rows"/> x F codes (row-major, <paramref name="codes"/>[r * F + f] is the code
    /// of field f in row r) in F tables [vocab_f, d], concatenated per row into [rows, F * d]. Code 0 is padding: it
    /// reads its table row (kept at zero) but never receives a gradient. The backward pass scatter-adds into the tables.
    /// <paramref name="tables"/> and <paramref name="codes"/> must stay unchanged until Backward.
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
        var track = false;
        for (var f = 0; f < fields; f++)
        {
            var t = tables[f];
            if (t.Shape.Rank != 2 || t.Shape.D1 != dim)
            {
                throw new ArgumentException($"Embedding: table {f} ({t.Name}) has shape {t.Shape}, expected [vocab, {dim}].");
            }
            track |= Tracks(t);
        }
        var y = Output(new Shape(rows, fields * dim), track);
        for (var r = 0; r < rows; r++)
        {
            for (var f = 0; f < fields; f++)
            {
                var code = codes[(r * fields) + f];
                if ((uint)code >= (uint)tables[f].Shape.D0)
                {
                    throw new ArgumentOutOfRangeException(
                        nameof(codes), code, $"Embedding: row {r}, field {f} ({tables[f].Name}): code {code} is outside [0, {tables[f].Shape.D0}).");
                }
            }
        }
        Gather(tables, codes, y);
        if (track)
        {
            var node = Record(OpKind.Embedding, y);
            node.Obj = tables;
            node.Obj2 = codes;
            node.I0 = rows;
        }
        return y;
    }

    private unsafe void Gather(Tensor[] tables, int[] codes, Tensor y)
    {
        job.PlanRows(y.Shape.Rows, y.Shape.Last, ElementGrain);
        (job.Obj, job.Obj2, job.B) = (tables, codes, y);
        job.Run(&GatherPart);
    }

    private static void GatherPart(RangeJob j, int part, int start, int end)
    {
        var tables = (Tensor[])j.Obj!;
        var codes = (int[])j.Obj2!;
        var fields = tables.Length;
        var dim = tables[0].Shape.Last;
        for (var r = start; r < end; r++)
        {
            var dst = j.B!.Row(r);
            for (var f = 0; f < fields; f++)
            {
                tables[f].Row(codes[(r * fields) + f]).CopyTo(dst.Slice(f * dim, dim));
            }
        }
    }

    private void EmbeddingBackward(Node n)
    {
        var tables = (Tensor[])n.Obj!;
        var codes = (int[])n.Obj2!;
        var rows = n.I0;
        var fields = tables.Length;
        var dy = n.Out.Grad!;
        var dim = tables[0].Shape.Last;
        for (var f = 0; f < fields; f++)
        {
            var table = tables[f];
            if (!table.RequiresGrad)
            {
                continue;
            }
            var g = GradFor(table, out var fresh);
            if (fresh)
            {
                g.Clear();
            }
            for (var r = 0; r < rows; r++)
            {
                var code = codes[(r * fields) + f];
                if (code == 0)
                {
                    continue;
                }
                var gr = g.Slice(code * dim, dim);
                TensorPrimitives.Add(gr, dy.Row(r).Slice(f * dim, dim), gr);
            }
        }
    }
}
