using FsdNet.Autodiff;
using FsdNet.Layers;
using FsdNet.Models;
using FsdNet.Tensors;
using DataType = Onnx.TensorProto.Types.DataType;

namespace FsdNet.Serving.Onnx;

/// <summary>
/// Builds a model's ONNX graph from the model itself: its evaluation-mode forward pass runs on an inference copy
/// (BatchNorm folded into the linear layers, as the Scorer scores) with a <see cref="GraphTrace"/> recording every op,
/// and each recorded op becomes ONNX nodes (<see cref="OnnxOps"/>, one mapping per op kind). Parameters become
/// initializers under their state names, the model input's arrays become the graph inputs.
/// The pass runs twice, on 2 and on 3 rows: an axis whose size differs between the two runs is the batch axis (N in the
/// graph), which is how a reshape knows where its -1 goes; the two runs must record the same ops, or the forward
/// pass depends on the batch size and is refused.
/// </summary>
internal sealed class OnnxTracer
{
    private const int RowsA = 2;
    private const int RowsB = 3;

    private readonly string model;
    private readonly InputSchema schema;
    private readonly Dictionary<Tensor, string> names = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<Tensor, string> parameters = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<Tensor, int> batchAxis = new(ReferenceEqualityComparer.Instance);
    private readonly ModelInput input;
    private readonly string? categorical;
    private readonly string? numeric;
    private readonly string? sequence;
    private readonly string? embedding;

    private OnnxTracer(string model, InputSchema schema, IEnumerable<(string Name, Tensor Value)> state, ModelInput input)
    {
        this.model = model;
        this.schema = schema;
        this.input = input;
        foreach (var (name, value) in state)
        {
            parameters[value] = name;
        }
        G = new OnnxGraph(model);
        if (schema.CategoricalCount > 0)
        {
            categorical = G.Input(OnnxExporter.CategoricalInput, DataType.Int64, schema.CategoricalCount);
        }
        if (schema.NumericCount > 0)
        {
            numeric = G.Input(OnnxExporter.NumericInput, DataType.Float, schema.NumericCount);
        }
        if (schema.SequenceWidth > 0)
        {
            sequence = G.Input(OnnxExporter.SequenceInput, DataType.Int64, schema.SequenceWidth);
        }
        if (schema.EmbeddingWidth > 0)
        {
            embedding = G.Input(OnnxExporter.EmbeddingInput, DataType.Float, schema.EmbeddingWidth);
        }
    }

    public OnnxGraph G { get; }

    /// <summary>The graph of <paramref name="bundle"/>'s prediction (head: one FSD head by early exit) and what it scores.</summary>
    public static (OnnxGraph Graph, string Scores) Build(ModelBundle bundle, int? head)
    {
        var name = bundle.Model.ModelName;
        var heads = bundle.Model is FsdCapableModel { HeadCount: { } h } ? h : (int?)null;
        if (head is not null && heads is null)
        {
            throw new ArgumentException($"--head chooses one head of an FSD model (fsd: true); {name} has no FSD module, so it has one prediction.");
        }
        if (head is { } k && (k < 0 || k >= heads))
        {
            throw new ArgumentException($"--head {k} is not a head of this {name} (heads 0 to {heads - 1}; {heads - 1} is the teacher).");
        }
        // A model that scores with one head (score_head) exits early there too: the same value, without the deeper layers.
        var scoreHead = head ?? (bundle.Model as FsdCapableModel)?.ScoreHead;
        var scores = heads is not { } n ? "the model's click probability"
            : head is not null ? $"head {head} of {n}"
            : scoreHead is { } s ? $"head {s} of {n} (score_head)"
            : $"mean of {n} heads' probabilities";
        return (Trace(bundle.InferenceCopy(foldBatchNorm: true, out _), scoreHead), scores);
    }

    /// <summary>The graph of <paramref name="model"/>'s prediction (or of one head's, by early exit), traced.</summary>
    internal static OnnxGraph Trace(CtrModel model, int? head)
    {
        var a = Run(model, RowsA, head);
        var b = Run(model, RowsB, head);
        var tracer = new OnnxTracer(model.ModelName, model.Schema, model.State().Select(p => (p.Name, p.Value)), a.Input);
        tracer.FindBatchAxes(a.Trace, b.Trace);
        var output = tracer.Emit(a.Trace.Nodes, a.Output);
        tracer.G.Output(output, OnnxExporter.Output, 1);
        return tracer.G;
    }

    /// <summary>The model's forward pass on <paramref name="rows"/> rows of padding codes and zero values, traced.</summary>
    private static (GraphTrace Trace, Tensor Output, ModelInput Input) Run(CtrModel copy, int rows, int? head)
    {
        var s = copy.Schema;
        var x = new ModelInput(rows, new int[rows * s.CategoricalCount], s.CategoricalCount, null,
            new float[rows * s.NumericCount], s.NumericCount, new int[rows * s.SequenceWidth], s.SequenceWidth,
            new float[rows * s.EmbeddingWidth], s.EmbeddingWidth);
        var trace = new GraphTrace();
        var g = new Graph { Training = false, GradEnabled = false, Trace = trace };
        var y = head is { } h ? ((FsdCapableModel)copy).PredictHead(g, x, h) : copy.Predict(g, x);
        return (trace, y, x);
    }

    /// <summary>Compares the two runs op by op and notes each op output's batch axis (-1: none, -2: several).</summary>
    private void FindBatchAxes(GraphTrace a, GraphTrace b)
    {
        if (a.Nodes.Count != b.Nodes.Count)
        {
            throw new NotSupportedException($"ONNX export of {model}: the forward pass runs {a.Nodes.Count} ops on {RowsA} rows and {b.Nodes.Count} on {RowsB}; a graph that changes with the batch size cannot be exported.");
        }
        for (var i = 0; i < a.Nodes.Count; i++)
        {
            TraceNode na = a.Nodes[i], nb = b.Nodes[i];
            if (na.Kind != nb.Kind || na.OutputShape.Rank != nb.OutputShape.Rank)
            {
                throw new NotSupportedException($"ONNX export of {model}: op {i} is {na.Kind} {na.OutputShape} on {RowsA} rows but {nb.Kind} {nb.OutputShape} on {RowsB}; a graph that changes with the batch size cannot be exported.");
            }
            var axis = -1;
            for (var d = 0; d < na.OutputShape.Rank; d++)
            {
                if (na.OutputShape[d] != nb.OutputShape[d])
                {
                    axis = axis == -1 ? d : -2;
                }
            }
            batchAxis[na.Output] = axis;
        }
    }

    /// <summary>Maps the ops that <paramref name="output"/> depends on, in trace order; returns the output's value name.</summary>
    private string Emit(IReadOnlyList<TraceNode> nodes, Tensor output)
    {
        var needed = new HashSet<Tensor>(ReferenceEqualityComparer.Instance) { output };
        var keep = new bool[nodes.Count];
        for (var i = nodes.Count - 1; i >= 0; i--)
        {
            if (!needed.Contains(nodes[i].Output))
            {
                continue;
            }
            keep[i] = true;
            foreach (var t in nodes[i].Inputs)
            {
                if (t is not null)
                {
                    needed.Add(t);
                }
            }
        }
        for (var i = 0; i < nodes.Count; i++)
        {
            if (keep[i])
            {
                names[nodes[i].Output] = OnnxOps.Map(this, nodes[i]);
            }
        }
        return Name(output);
    }

    public string Model => model;

    public InputSchema Schema => schema;

    /// <summary>The value name of a tensor: an earlier op's output, or a parameter or layer constant (an initializer, added on first use).</summary>
    public string Name(Tensor t)
    {
        if (names.TryGetValue(t, out var n))
        {
            return n;
        }
        if (parameters.TryGetValue(t, out var p))
        {
            return names[t] = Const(p, t.Span, Dims(t.Shape));
        }
        if (!t.Pooled)
        {
            // A tensor a layer owns besides its state (Dice's constant ones and zeros): fixed, like a parameter.
            return names[t] = Const(t.Name ?? "constant", t.Span, Dims(t.Shape));
        }
        throw new NotSupportedException($"ONNX export of {model}: an op reads a tensor {t.Name ?? t.Shape.ToString()} that is neither a parameter nor made by a traced op.");
    }

    /// <summary>The values of a parameter, buffer or layer constant read at export time (folding), refusing a computed tensor.</summary>
    public ReadOnlySpan<float> Values(Tensor t) => parameters.ContainsKey(t) || !t.Pooled
        ? t.Span
        : throw new NotSupportedException($"ONNX export of {model}: an op needs the values of {t.Name ?? t.Shape.ToString()} at export time, but it is computed.");

    /// <summary>The batch axis of an op output (-1: none), refusing one that has several.</summary>
    public int BatchAxis(Tensor t)
    {
        var axis = batchAxis.GetValueOrDefault(t, -1);
        return axis == -2
            ? throw new NotSupportedException($"ONNX export of {model}: a tensor {t.Shape} has more than one axis that grows with the batch.")
            : axis;
    }

    /// <summary>The shape of <paramref name="t"/> for a Reshape: its dims with -1 on the batch axis.</summary>
    public long[] ReshapeDims(Tensor t)
    {
        var dims = Dims(t.Shape);
        if (BatchAxis(t) is var axis and >= 0)
        {
            dims[axis] = -1;
        }
        return dims;
    }

    public static long[] Dims(Shape s)
    {
        var dims = new long[s.Rank];
        for (var d = 0; d < s.Rank; d++)
        {
            dims[d] = s[d];
        }
        return dims;
    }

    // ---- the model input ----

    /// <summary>The categorical input, checking that the codes came from the model input.</summary>
    public string CategoricalInput(int[] codes) => ReferenceEquals(codes, input.Categorical) && categorical is not null
        ? categorical
        : throw new NotSupportedException($"ONNX export of {model}: an embedding lookup reads codes that are not the model input's categorical columns.");

    public string NumericInput(float[] values) => ReferenceEquals(values, input.Numeric) && numeric is not null
        ? numeric
        : throw new NotSupportedException($"ONNX export of {model}: an embedding reads values that are not the model input's numeric columns.");

    public string SequenceInput(int[] codes) => ReferenceEquals(codes, input.Sequence) && sequence is not null
        ? sequence
        : throw new NotSupportedException($"ONNX export of {model}: an embedding lookup reads codes that are not the model input's sequence columns.");

    public string EmbeddingInput() => embedding
        ?? throw new NotSupportedException($"ONNX export of {model}: the model reads embedding-type vectors, but its schema has none.");

    // ---- graph helpers ----

    public string Node(string op, params string[] inputs) => G.Node(op, inputs);

    public string Node(string op, string[] inputs, params global::Onnx.AttributeProto[] attributes) => G.Node(op, inputs, null, attributes);

    public string Const(string hint, ReadOnlySpan<float> values, params long[] dims) => G.Const(hint, values, dims);

    public string Longs(string hint, params long[] values) => G.Longs(hint, values);

    public string Scalar(string hint, float value) => G.Scalar(hint, value);

    public static global::Onnx.AttributeProto Int(string name, long value) => OnnxGraph.Int(name, value);

    public static global::Onnx.AttributeProto Float(string name, float value) => OnnxGraph.Float(name, value);

    public static global::Onnx.AttributeProto Ints(string name, params long[] values)
    {
        var a = new global::Onnx.AttributeProto { Name = name, Type = global::Onnx.AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(values);
        return a;
    }

    /// <summary>A hint for an initializer name made from a parameter's name (or a fallback).</summary>
    public string HintOf(Tensor t, string fallback) =>
        parameters.TryGetValue(t, out var p) ? p : t.Name ?? fallback;
}
