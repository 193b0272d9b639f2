using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using FsdNet.Layers;
using FsdNet.Tensors;

namespace FsdNet.Autodiff;

/// <summary>How one field of a <see cref="FieldEmbeddingPlan"/> fills its slot of the output row.</summary>
internal enum SlotKind : byte
{
    /// <summary>table[code]: a categorical field.</summary>
    Code,

    /// <summary>value * table[0]: a numeric field (FuxiCTR's Linear(1, dim, bias=False)).</summary>
    Scaled,

    /// <summary>mean of table[code] over the non-padding codes of a sequence (0 when all are padding).</summary>
    SequenceMean,

    /// <summary>sum of table[code] over a sequence (padding rows are zero).</summary>
    SequenceSum,

    /// <summary>A copy of a [rows, width] tensor computed beforehand (projections of embedding-type or pretrained fields).</summary>
    Dense,
}

/// <summary>
/// The fixed layout of a <see cref="Graph.FieldEmbedding"/> call: per slot its kind, input column, output offset,
/// width and table (or dense input) index. Built once by a layer and shared by every call and thread.
/// </summary>
internal sealed class FieldEmbeddingPlan
{
    public FieldEmbeddingPlan(SlotKind[] kinds, int[] columns, int[] widths, int[] maxLens, int[] sources, string[] names)
    {
        Kinds = kinds;
        Columns = columns;
        Widths = widths;
        MaxLens = maxLens;
        Sources = sources;
        Names = names;
        Offsets = new int[kinds.Length];
        var off = 0;
        for (var s = 0; s < kinds.Length; s++)
        {
            Offsets[s] = off;
            off += widths[s];
            if (kinds[s] == SlotKind.Dense)
            {
                DenseCount = Math.Max(DenseCount, sources[s] + 1);
            }
        }
        OutWidth = off;
    }

    public SlotKind[] Kinds { get; }
    public int[] Columns { get; }
    public int[] Widths { get; }
    public int[] MaxLens { get; }

    /// <summary>Table index (Code/Scaled/Sequence*) or dense input index (Dense).</summary>
    public int[] Sources { get; }
    public string[] Names { get; }
    public int[] Offsets { get; }
    public int OutWidth { get; }
    public int DenseCount { get; }
}

internal sealed partial class Graph
{
    private readonly List<FieldEmbeddingCall> fieldCalls = [];
    private int fieldCallCursor;

    /// <summary>What a recorded field-embedding call needs in backward (pooled per graph, reused every step).</summary>
    private sealed class FieldEmbeddingCall
    {
        public FieldEmbeddingPlan Plan = null!;
        public Tensor[] Tables = [];
        public Tensor[] Dense = [];
        public ModelInput Input;
    }

    /// <summary>
    /// The input layer's fused op: every field of <paramref name="x"/> becomes one slot of an output row
    /// [rows, plan.OutWidth] (a table lookup, a scaled vector, a pooled sequence or a copy of a dense input), in plan
    /// order. Code 0 is padding: it never receives a gradient, and pooled means skip it. Backward scatter-adds into
    /// the tables (a table shared by two fields gets both contributions) and passes slices to the dense inputs.
    /// </summary>
    internal Tensor FieldEmbedding(FieldEmbeddingPlan plan, Tensor[] tables, Tensor[] dense, in ModelInput x)
    {
        var rows = x.Rows;
        var track = false;
        for (var s = 0; s < plan.Kinds.Length; s++)
        {
            var src = plan.Kinds[s] == SlotKind.Dense ? dense[plan.Sources[s]] : tables[plan.Sources[s]];
            track |= Tracks(src);
        }
        CheckCodes(plan, tables, x);
        var y = Output(new Shape(rows, plan.OutWidth), track);
        var call = NextFieldCall();
        (call.Plan, call.Tables, call.Dense, call.Input) = (plan, tables, dense, x);
        var start = Profile.Enabled ? System.Diagnostics.Stopwatch.GetTimestamp() : 0;
        FieldGather(call, y);
        Trace?.Add(TraceKind.FieldEmbedding, y, [.. tables, .. dense], payload: new FieldEmbeddingTrace(plan, tables, dense, x.Categorical, x.Numeric, x.Sequence));
        if (Profile.Enabled)
        {
            Profile.Lap(ref Profile.EmbeddingTicks, start);
        }
        if (track)
        {
            Record<FieldEmbeddingOp>(y).Call = call;
        }
        return y;
    }

    /// <summary>The model input's block of embedding-type vectors, [rows, embedding width], as a constant tensor.</summary>
    internal Tensor EmbeddingInput(in ModelInput x)
    {
        var t = Acquire(new Shape(x.Rows, x.EmbeddingWidth), false);
        t.CopyFrom(x.Embedding.AsSpan(0, x.Rows * x.EmbeddingWidth));
        Trace?.Add(TraceKind.EmbeddingInput, t, []);
        return t;
    }

    /// <summary>A pooled array of <paramref name="n"/> tensor slots for one step (no allocation in steady state).</summary>
    internal Tensor[] TensorList(int n)
    {
        if (listCursor == lists.Count)
        {
            lists.Add(new Tensor[n]);
        }
        if (lists[listCursor].Length != n)
        {
            lists[listCursor] = new Tensor[n];
        }
        return lists[listCursor++];
    }

    private readonly List<Tensor[]> lists = [];
    private int listCursor;

    private FieldEmbeddingCall NextFieldCall()
    {
        if (fieldCallCursor == fieldCalls.Count)
        {
            fieldCalls.Add(new FieldEmbeddingCall());
        }
        return fieldCalls[fieldCallCursor++];
    }

    private static void CheckCodes(FieldEmbeddingPlan plan, Tensor[] tables, in ModelInput x)
    {
        for (var s = 0; s < plan.Kinds.Length; s++)
        {
            var kind = plan.Kinds[s];
            if (kind is SlotKind.Scaled or SlotKind.Dense)
            {
                continue;
            }
            var vocab = (uint)tables[plan.Sources[s]].Shape.D0;
            var (codes, stride, width) = kind == SlotKind.Code ? (x.Categorical, x.CategoricalCount, 1) : (x.Sequence, x.SequenceWidth, plan.MaxLens[s]);
            var col = plan.Columns[s];
            for (var r = 0; r < x.Rows; r++)
            {
                var o = (r * stride) + col;
                for (var j = 0; j < width; j++)
                {
                    var code = codes[o + j];
                    if ((uint)code >= vocab)
                    {
                        throw new ArgumentOutOfRangeException(
                            nameof(x), code, $"Embedding: row {r}, field '{plan.Names[s]}': code {code} is outside [0, {vocab}).");
                    }
                }
            }
        }
    }

    private unsafe void FieldGather(FieldEmbeddingCall call, Tensor y)
    {
        job.PlanRows(y.Shape.Rows, y.Shape.Last, ElementGrain);
        (job.Obj, job.B) = (call, y);
        job.Run(&FieldGatherPart);
    }

    private static void FieldGatherPart(RangeJob j, int part, int start, int end)
    {
        var call = (FieldEmbeddingCall)j.Obj!;
        var (plan, tables, dense, x) = (call.Plan, call.Tables, call.Dense, call.Input);
        for (var r = start; r < end; r++)
        {
            var row = j.B!.Row(r);
            for (var s = 0; s < plan.Kinds.Length; s++)
            {
                var dst = row.Slice(plan.Offsets[s], plan.Widths[s]);
                var col = plan.Columns[s];
                switch (plan.Kinds[s])
                {
                    case SlotKind.Code:
                        tables[plan.Sources[s]].Row(x.Categorical[(r * x.CategoricalCount) + col]).CopyTo(dst);
                        break;
                    case SlotKind.Scaled:
                        TensorPrimitives.Multiply(tables[plan.Sources[s]].Row(0), x.Numeric[(r * x.NumericCount) + col], dst);
                        break;
                    case SlotKind.Dense:
                        dense[plan.Sources[s]].Row(r).CopyTo(dst);
                        break;
                    default:
                    {
                        var table = tables[plan.Sources[s]];
                        var codes = x.Sequence.AsSpan((r * x.SequenceWidth) + col, plan.MaxLens[s]);
                        dst.Clear();
                        var count = 0;
                        foreach (var code in codes)
                        {
                            if (code != 0)
                            {
                                TensorPrimitives.Add(dst, table.Row(code), dst);
                                count++;
                            }
                        }
                        if (plan.Kinds[s] == SlotKind.SequenceMean && count > 1)
                        {
                            TensorPrimitives.Divide(dst, count, dst);
                        }
                        break;
                    }
                }
            }
        }
    }

    private sealed class FieldEmbeddingOp : Op
    {
        public FieldEmbeddingCall Call = null!;

        public override void Backward(Graph g)
        {
            var start = Profile.Enabled ? System.Diagnostics.Stopwatch.GetTimestamp() : 0;
            g.FieldEmbeddingBackward(Call, Out.Grad!);
            if (Profile.Enabled)
            {
                Profile.Lap(ref Profile.EmbeddingTicks, start);
            }
        }
    }

    private void FieldEmbeddingBackward(FieldEmbeddingCall call, Tensor dy)
    {
        var (plan, tables, dense, x) = (call.Plan, call.Tables, call.Dense, call.Input);
        var rows = x.Rows;
        for (var s = 0; s < plan.Kinds.Length; s++)
        {
            var kind = plan.Kinds[s];
            var src = kind == SlotKind.Dense ? dense[plan.Sources[s]] : tables[plan.Sources[s]];
            if (!src.RequiresGrad)
            {
                continue;
            }
            // A row-sparse table (lazy embedding updates) clears and records each row as it is first touched;
            // otherwise the whole gradient is cleared once per step.
            var touched = src.Touched is { All: false } t ? t : null;
            Span<float> g;
            if (touched is not null)
            {
                g = src.Grad!.Span;
                src.GradLive = true;
                src.GradNode = backwardNode;
            }
            else
            {
                g = GradFor(src, out var fresh);
                if (fresh)
                {
                    g.Clear();
                }
            }
            int off = plan.Offsets[s], w = plan.Widths[s], col = plan.Columns[s];
            switch (kind)
            {
                case SlotKind.Code:
                    for (var r = 0; r < rows; r++)
                    {
                        var code = x.Categorical[(r * x.CategoricalCount) + col];
                        if (code != 0)
                        {
                            var gr = touched is null ? g.Slice(code * w, w) : touched.Touch(g, code);
                            TensorPrimitives.Add(gr, dy.Row(r).Slice(off, w), gr);
                        }
                    }
                    break;
                case SlotKind.Scaled:
                {
                    var gr = touched is null ? g[..w] : touched.Touch(g, 0);
                    for (var r = 0; r < rows; r++)
                    {
                        TensorPrimitives.MultiplyAdd(dy.Row(r).Slice(off, w), x.Numeric[(r * x.NumericCount) + col], gr, gr);
                    }
                    break;
                }
                case SlotKind.Dense:
                    for (var r = 0; r < rows; r++)
                    {
                        var gr = g.Slice(r * w, w);
                        TensorPrimitives.Add(gr, dy.Row(r).Slice(off, w), gr);
                    }
                    break;
                default:
                    for (var r = 0; r < rows; r++)
                    {
                        var codes = x.Sequence.AsSpan((r * x.SequenceWidth) + col, plan.MaxLens[s]);
                        var count = 0;
                        foreach (var code in codes)
                        {
                            count += code != 0 ? 1 : 0;
                        }
                        if (count == 0)
                        {
                            continue;
                        }
                        var scale = kind == SlotKind.SequenceMean ? 1f / count : 1f;
                        var d = dy.Row(r).Slice(off, w);
                        foreach (var code in codes)
                        {
                            if (code != 0)
                            {
                                var gr = touched is null ? g.Slice(code * w, w) : touched.Touch(g, code);
                                TensorPrimitives.MultiplyAdd(d, scale, gr, gr);
                            }
                        }
                    }
                    break;
            }
        }
    }
}
