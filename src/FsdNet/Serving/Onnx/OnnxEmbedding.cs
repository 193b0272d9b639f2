using FsdNet.Autodiff;
using static FsdNet.Serving.Onnx.OnnxTracer;
using DataType = Onnx.TensorProto.Types.DataType;

namespace FsdNet.Serving.Onnx;

/// <summary>
/// The input layer's op (<see cref="TraceKind.FieldEmbedding"/>) as ONNX: each slot of the output row from the graph
/// inputs. Runs of consecutive categorical slots of one width read one table (their tables concatenated) with one
/// Gather; codes outside a slot's [0, vocab) are sent to an index outside the table, so ONNX Runtime fails the call
/// instead of reading another field's rows. Numeric runs scale their vectors by the values; a sequence slot gathers
/// its codes and pools them over the non-padding ones (code 0); a dense slot is a tensor an earlier op made.
/// </summary>
internal static class OnnxEmbedding
{
    public static string Map(OnnxTracer e, FieldEmbeddingTrace call)
    {
        var plan = call.Plan;
        var count = plan.Kinds.Length;
        var parts = new List<string>();
        var s = 0;
        while (s < count)
        {
            var kind = plan.Kinds[s];
            var t = s + 1;
            if (kind is SlotKind.Code or SlotKind.Scaled)
            {
                while (t < count && plan.Kinds[t] == kind && plan.Widths[t] == plan.Widths[s])
                {
                    t++;
                }
            }
            parts.Add(kind switch
            {
                SlotKind.Code => CodeRun(e, call, s, t),
                SlotKind.Scaled => ScaledRun(e, call, s, t),
                SlotKind.Dense => e.Name(call.Dense[plan.Sources[s]]),
                _ => Sequence(e, call, s),
            });
            s = t;
        }
        return parts.Count == 1 ? parts[0] : e.Node("Concat", [.. parts], Int("axis", 1));
    }

    private static string CodeRun(OnnxTracer e, FieldEmbeddingTrace call, int from, int to)
    {
        var plan = call.Plan;
        var n = to - from;
        var dim = plan.Widths[from];
        string table;
        var offsets = new long[n];
        var vocabs = new long[n];
        if (n == 1)
        {
            var t = call.Tables[plan.Sources[from]];
            table = e.Name(t);
            vocabs[0] = t.Shape.D0;
        }
        else
        {
            long total = 0;
            for (var k = 0; k < n; k++)
            {
                offsets[k] = total;
                vocabs[k] = call.Tables[plan.Sources[from + k]].Shape.D0;
                total += vocabs[k];
            }
            if (total * dim > Array.MaxLength)
            {
                throw new NotSupportedException($"ONNX export of {e.Model}: the embedding tables of fields {plan.Names[from]}..{plan.Names[to - 1]} hold {total * dim} values, more than one initializer holds.");
            }
            var values = new float[total * dim];
            for (var k = 0; k < n; k++)
            {
                e.Values(call.Tables[plan.Sources[from + k]])[..(int)(vocabs[k] * dim)].CopyTo(values.AsSpan((int)(offsets[k] * dim)));
            }
            table = e.Const("embeddings_" + plan.Names[from], values, total, dim);
        }
        var input = e.CategoricalInput(call.Categorical);
        var columns = new long[n];
        var inOrder = n == e.Schema.CategoricalCount;
        for (var k = 0; k < n; k++)
        {
            columns[k] = plan.Columns[from + k];
            inOrder &= columns[k] == k;
        }
        var codes = inOrder ? input : e.Node("Gather", [input, e.Longs("columns", columns)], Int("axis", 1));
        var rows = InTable(e, codes, vocabs, n == 1 ? null : offsets);
        var looked = e.Node("Gather", [table, rows], Int("axis", 0));
        return e.Node("Reshape", looked, e.Longs("flat_shape", -1, n * dim));
    }

    /// <summary>codes + offsets where 0 &lt;= code &lt; vocab, else an index outside the table (ONNX Runtime refuses it).</summary>
    private static string InTable(OnnxTracer e, string codes, long[] vocabs, long[]? offsets)
    {
        var valid = e.Node("And",
            e.Node("GreaterOrEqual", codes, e.Longs("zero", new long[vocabs.Length])),
            e.Node("Less", codes, e.Longs("vocab_sizes", vocabs)));
        var index = offsets is null ? codes : e.Node("Add", codes, e.Longs("table_offsets", offsets));
        return e.Node("Where", valid, index, e.Longs("out_of_range", -(vocabs.Sum() + 1)));
    }

    private static string ScaledRun(OnnxTracer e, FieldEmbeddingTrace call, int from, int to)
    {
        var plan = call.Plan;
        var n = to - from;
        var dim = plan.Widths[from];
        var weights = new float[n * dim];
        var columns = new long[n];
        for (var k = 0; k < n; k++)
        {
            e.Values(call.Tables[plan.Sources[from + k]])[..dim].CopyTo(weights.AsSpan(k * dim));
            columns[k] = plan.Columns[from + k];
        }
        var values = e.Node("Gather", [e.NumericInput(call.Numeric), e.Longs("numeric_columns", columns)], Int("axis", 1));
        var scaled = e.Node("Mul", e.Node("Unsqueeze", values, e.Longs("axis2", 2)), e.Const("numeric_" + plan.Names[from], weights, n, dim));
        return e.Node("Reshape", scaled, e.Longs("flat_shape", -1, n * dim));
    }

    /// <summary>A sequence slot: the sum of its non-padding codes' vectors, or their mean (0 when all are padding).</summary>
    private static string Sequence(OnnxTracer e, FieldEmbeddingTrace call, int s)
    {
        var plan = call.Plan;
        var t = call.Tables[plan.Sources[s]];
        var col = plan.Columns[s];
        var codes = e.Node("Slice", e.SequenceInput(call.Sequence), e.Longs("seq_start", col), e.Longs("seq_end", col + plan.MaxLens[s]), e.Longs("axis1", 1));
        var vectors = e.Node("Gather", [e.Name(t), InTable(e, codes, [t.Shape.D0], null)], Int("axis", 0));
        var mask = e.Node("Cast", [e.Node("Not", e.Node("Equal", codes, e.Longs("pad", 0)))], Int("to", (long)DataType.Float));
        var masked = e.Node("Mul", vectors, e.Node("Unsqueeze", mask, e.Longs("axis2", 2)));
        var sum = e.Node("ReduceSum", [masked, e.Longs("axis1", 1)], Int("keepdims", 0));
        if (plan.Kinds[s] != SlotKind.SequenceMean)
        {
            return sum;
        }
        var count = e.Node("ReduceSum", [mask, e.Longs("axis1", 1)], Int("keepdims", 1));
        return e.Node("Div", sum, e.Node("Max", count, e.Scalar("one", 1f)));
    }
}
