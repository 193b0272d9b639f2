using FsdNet.Tensors;

namespace FsdNet.Autodiff;

/// <summary>The ops a <see cref="GraphTrace"/> records, one per forward method of <see cref="Graph"/>.</summary>
internal enum TraceKind
{
    Linear,
    Relu,
    Sigmoid,
    Tanh,
    LogSigmoid,

    /// <summary>a + b with NumPy broadcasting (a row vector added to every row included); likewise Sub, Mul, Div.</summary>
    Add,
    Sub,
    Mul,
    Div,

    /// <summary>x * Floats[0] + Floats[1].</summary>
    Affine,

    /// <summary>[B, M, K] x [B, K, N] (Ints[0] = 1: b transposed).</summary>
    BatchMatMul,

    /// <summary>Rank-2 product (Ints[0], Ints[1]: a, b transposed).</summary>
    MatMul,

    /// <summary>Inputs x, gamma, beta, running mean, running var; Floats[0] eps (evaluation mode only).</summary>
    BatchNorm,

    /// <summary>ReLU(BatchNorm(x)) in evaluation mode (dropout off), inputs as <see cref="BatchNorm"/>.</summary>
    BatchNormRelu,

    /// <summary>Inputs fields, w; Ints[0] the BilinearType.</summary>
    BilinearPairs,

    /// <summary>Inputs x0, previous maps (or null), weight, bias; Ints[0] fields.</summary>
    CinLayer,

    /// <summary>Concatenation along Ints[0].</summary>
    Concat,

    /// <summary>Gather of Payload (int[]) along Ints[0].</summary>
    IndexSelect,

    /// <summary>The input layer: Payload a <see cref="FieldEmbeddingTrace"/>.</summary>
    FieldEmbedding,

    /// <summary>The embedding-type input block [rows, embedding width] of the model input.</summary>
    EmbeddingInput,

    /// <summary>A constant tensor (values in Payload, float[]).</summary>
    Constant,

    /// <summary>c + x0 * h * sigmoid(z).</summary>
    GatedCross,

    /// <summary>Inputs x, gamma, beta; Floats[0] eps.</summary>
    LayerNorm,

    /// <summary>log(max(|x|, Floats[0])).</summary>
    LogAbs,
    Exp,

    /// <summary>log(max(x, Floats[0])).</summary>
    Log,
    Square,
    Abs,

    /// <summary>Floats[0]: the slope for x &lt; 0.</summary>
    LeakyRelu,
    PairwiseInnerProduct,

    /// <summary>Payload: the axis order (int[]).</summary>
    Permute,

    /// <summary>Ints[0]: 0 sum, 1 mean, 2 max; Ints[1] axis; Ints[2] = 1: keep the axis.</summary>
    Reduce,

    /// <summary>The same elements in the output's shape.</summary>
    Reshape,

    /// <summary>The same tensor, cut off from the gradient.</summary>
    Identity,

    ScaleFields,

    /// <summary>Inputs q, k, v; Ints[0] fields, Ints[1] heads; Floats[0] scale.</summary>
    SelfAttention,

    /// <summary>Columns [Ints[0], Ints[0] + Ints[1]).</summary>
    Slice,

    /// <summary>Softmax along Ints[0].</summary>
    Softmax,

    /// <summary>The sum of all elements times Floats[0], shape [1].</summary>
    SumAll,
    SumLast,
    SumMiddle,

    /// <summary>A training-only op (a loss, dropout in training): Payload names it.</summary>
    TrainingOnly,
}

/// <summary>
/// What a <see cref="Graph.FieldEmbedding"/> call read: its plan, tables, dense inputs and the model input it was
/// called with (to tell which array a slot's codes came from).
/// </summary>
internal sealed record FieldEmbeddingTrace(FieldEmbeddingPlan Plan, Tensor[] Tables, Tensor[] Dense, int[] Categorical, float[] Numeric, int[] Sequence);

/// <summary>One recorded op: its kind, inputs, output (and the output's shape when it ran) and attributes.</summary>
internal sealed record TraceNode(TraceKind Kind, Tensor Output, Shape OutputShape, Tensor?[] Inputs, int[] Ints, float[] Floats, object? Payload);

/// <summary>
/// A record of every op a forward pass runs, in order, with its inputs and attributes (<see cref="Graph.Trace"/>): the
/// model's inference graph as it ran, which the ONNX exporter translates op by op. Recording is off unless a trace is
/// set, and then costs an allocation per op (export only).
/// </summary>
internal sealed class GraphTrace
{
    private readonly List<TraceNode> nodes = [];

    public IReadOnlyList<TraceNode> Nodes => nodes;

    public void Add(TraceKind kind, Tensor output, Tensor?[] inputs, int[]? ints = null, float[]? floats = null, object? payload = null) =>
        nodes.Add(new TraceNode(kind, output, output.Shape, inputs, ints ?? [], floats ?? [], payload));
}

internal sealed partial class Graph
{
    /// <summary>When set, every forward op is recorded in it (ONNX export); null otherwise (no cost).</summary>
    internal GraphTrace? Trace { get; set; }
}
