using FsdNet.Autodiff;
using FsdNet.Tensors;
using static FsdNet.Serving.Onnx.OnnxTracer;
using DataType = Onnx.TensorProto.Types.DataType;

namespace FsdNet.Serving.Onnx;

/// <summary>
/// Each op kind of a <see cref="GraphTrace"/> as ONNX nodes (opset 17), once: the exporter's whole knowledge of what
/// FsdNet's ops compute in evaluation mode. The node's inputs are already in the graph (earlier ops' outputs,
/// parameters as initializers); <see cref="Map"/> returns the value name of the op's output.
/// </summary>
internal static class OnnxOps
{
    public static string Map(OnnxTracer e, TraceNode n)
    {
        var x = n.Inputs.Length > 0 && n.Inputs[0] is { } first ? first : null;
        string In(int i) => e.Name(n.Inputs[i]!);
        switch (n.Kind)
        {
            case TraceKind.Linear:
                return Linear(e, n);
            case TraceKind.Relu:
                return e.Node("Relu", In(0));
            case TraceKind.Sigmoid:
                return e.Node("Sigmoid", In(0));
            case TraceKind.Tanh:
                return e.Node("Tanh", In(0));
            case TraceKind.LogSigmoid:
                // log(sigmoid(x)) = -softplus(-x)
                return e.Node("Neg", e.Node("Softplus", e.Node("Neg", In(0))));
            case TraceKind.Add or TraceKind.Sub or TraceKind.Mul or TraceKind.Div:
                return e.Node(n.Kind.ToString(), In(0), In(1));   // ONNX's names, NumPy broadcasting as FsdNet's
            case TraceKind.Affine:
            {
                var y = In(0);
                var (scale, shift) = (n.Floats[0], n.Floats[1]);
                if (scale != 1f)
                {
                    y = e.Node("Mul", y, e.Scalar("scale", scale));
                }
                if (shift != 0f)
                {
                    y = e.Node("Add", y, e.Scalar("shift", shift));
                }
                return scale == 1f && shift == 0f ? e.Node("Identity", y) : y;
            }
            case TraceKind.MatMul:
                return e.Node("Gemm", [In(0), In(1)], Int("transA", n.Ints[0]), Int("transB", n.Ints[1]));
            case TraceKind.BatchMatMul:
                return e.Node("MatMul", In(0), n.Ints[0] == 1 ? e.Node("Transpose", [In(1)], Ints("perm", 0, 2, 1)) : In(1));
            case TraceKind.BatchNorm:
            case TraceKind.BatchNormRelu:
            {
                var y = BatchNorm(e, n);
                return n.Kind == TraceKind.BatchNormRelu ? e.Node("Relu", y) : y;
            }
            case TraceKind.LayerNorm:
                return e.Node("LayerNormalization", [In(0), In(1), In(2)], Int("axis", -1), Float("epsilon", n.Floats[0]));
            case TraceKind.Concat:
                return e.Node("Concat", [.. n.Inputs.Select(t => e.Name(t!))], Int("axis", n.Ints[0]));
            case TraceKind.IndexSelect:
                return e.Node("Gather", [In(0), e.Longs("index", [.. ((int[])n.Payload!).Select(i => (long)i)])], Int("axis", n.Ints[0]));
            case TraceKind.Slice:
                return e.Node("Slice", In(0), e.Longs("start", n.Ints[0]), e.Longs("end", n.Ints[0] + n.Ints[1]), e.Longs("axis1", 1));
            case TraceKind.Reshape:
                return e.Node("Reshape", In(0), e.Longs("shape", e.ReshapeDims(n.Output)));
            case TraceKind.Identity:
                return e.Node("Identity", In(0));
            case TraceKind.Permute:
                return e.Node("Transpose", [In(0)], Ints("perm", [.. ((int[])n.Payload!).Select(i => (long)i)]));
            case TraceKind.Softmax:
                return e.Node("Softmax", [In(0)], Int("axis", n.Ints[0]));
            case TraceKind.Reduce:
            {
                var (kind, axis, keep) = (n.Ints[0], n.Ints[1], n.Ints[2]);
                // Opset 17: ReduceSum takes its axes as an input, ReduceMean and ReduceMax as an attribute.
                return kind == 0
                    ? e.Node("ReduceSum", [In(0), e.Longs("axis", axis)], Int("keepdims", keep))
                    : e.Node(kind == 1 ? "ReduceMean" : "ReduceMax", [In(0)], Ints("axes", axis), Int("keepdims", keep));
            }
            case TraceKind.SumAll:
            {
                var sum = e.Node("ReduceSum", [In(0)], Int("keepdims", 0));
                var scaled = n.Floats[0] == 1f ? sum : e.Node("Mul", sum, e.Scalar("scale", n.Floats[0]));
                return e.Node("Reshape", scaled, e.Longs("one", 1));
            }
            case TraceKind.SumLast:
                return e.Node("ReduceSum", [In(0), e.Longs("last_axis", -1)], Int("keepdims", 1));
            case TraceKind.SumMiddle:
                return e.Node("ReduceSum", [In(0), e.Longs("axis1", 1)], Int("keepdims", 0));
            case TraceKind.Exp:
                return e.Node("Exp", In(0));
            case TraceKind.Log:
                return e.Node("Log", e.Node("Max", In(0), e.Scalar("min", n.Floats[0])));
            case TraceKind.LogAbs:
                return e.Node("Log", e.Node("Max", e.Node("Abs", In(0)), e.Scalar("min", n.Floats[0])));
            case TraceKind.Square:
                return e.Node("Mul", In(0), In(0));
            case TraceKind.Abs:
                return e.Node("Abs", In(0));
            case TraceKind.LeakyRelu:
                return e.Node("LeakyRelu", [In(0)], Float("alpha", n.Floats[0]));
            case TraceKind.GatedCross:
                // c + x0 * h * sigmoid(z)
                return e.Node("Add", In(0), e.Node("Mul", e.Node("Mul", In(1), In(2)), e.Node("Sigmoid", In(3))));
            case TraceKind.ScaleFields:
                return e.Node("Mul", In(0), e.Node("Unsqueeze", In(1), e.Longs("axis2", 2)));
            case TraceKind.PairwiseInnerProduct:
            {
                var (left, right) = Pairs(e, In(0), x!.Shape.D1);
                return e.Node("ReduceSum", [e.Node("Mul", left, right), e.Longs("axis2", 2)], Int("keepdims", 0));
            }
            case TraceKind.BilinearPairs:
                return Bilinear(e, n);
            case TraceKind.CinLayer:
                return Cin(e, n);
            case TraceKind.SelfAttention:
                return SelfAttention(e, n);
            case TraceKind.FieldEmbedding:
                return OnnxEmbedding.Map(e, (FieldEmbeddingTrace)n.Payload!);
            case TraceKind.EmbeddingInput:
                return e.EmbeddingInput();
            case TraceKind.Constant:
                if (e.BatchAxis(n.Output) >= 0)
                {
                    throw new NotSupportedException($"ONNX export of {e.Model}: a constant {n.OutputShape} made in the forward pass grows with the batch.");
                }
                return e.Const("constant", (float[])n.Payload!, Dims(n.OutputShape));
            case TraceKind.TrainingOnly:
                throw new NotSupportedException($"ONNX export of {e.Model}: the forward pass runs {n.Payload}, which has no place in an inference graph.");
            default:
                throw new NotSupportedException($"ONNX export of {e.Model}: op {n.Kind} has no ONNX mapping yet.");
        }
    }

    /// <summary>y = x W^T + b: Gemm for a matrix, MatMul with W^T (and Add b) for other ranks; Relu for a fused packed layer.</summary>
    private static string Linear(OnnxTracer e, TraceNode n)
    {
        var (x, w, b) = (n.Inputs[0]!, n.Inputs[1]!, n.Inputs[2]);
        string y;
        if (x.Shape.Rank == 2)
        {
            y = b is null
                ? e.Node("Gemm", [e.Name(x), e.Name(w)], Int("transB", 1))
                : e.Node("Gemm", [e.Name(x), e.Name(w), e.Name(b)], Int("transB", 1));
        }
        else
        {
            y = e.Node("MatMul", e.Name(x), e.Node("Transpose", [e.Name(w)], Ints("perm", 1, 0)));
            if (b is not null)
            {
                y = e.Node("Add", y, e.Name(b));
            }
        }
        return n.Ints.Length > 0 && n.Ints[0] == 1 ? e.Node("Relu", y) : y;
    }

    /// <summary>BatchNorm with running statistics: x * s + t, s = gamma / sqrt(var + eps), t = beta - mean * s (in double).</summary>
    private static string BatchNorm(OnnxTracer e, TraceNode n)
    {
        ReadOnlySpan<float> gamma = e.Values(n.Inputs[1]!), beta = e.Values(n.Inputs[2]!);
        ReadOnlySpan<float> mean = e.Values(n.Inputs[3]!), variance = e.Values(n.Inputs[4]!);
        var eps = (double)n.Floats[0];
        var c = gamma.Length;
        var s = new float[c];
        var t = new float[c];
        for (var i = 0; i < c; i++)
        {
            var scale = gamma[i] / Math.Sqrt(variance[i] + eps);
            s[i] = (float)scale;
            t[i] = (float)(beta[i] - (mean[i] * scale));
        }
        var hint = e.HintOf(n.Inputs[1]!, "batch_norm");
        return e.Node("Add", e.Node("Mul", e.Name(n.Inputs[0]!), e.Const(hint + ".scale", s, c)), e.Const(hint + ".shift", t, c));
    }

    /// <summary>The field pairs (i, j), i &lt; j, in row-major upper-triangle order: fields [N, F, D] gathered to [N, P, D] twice.</summary>
    private static (string Left, string Right) Pairs(OnnxTracer e, string fields, int f)
    {
        var (left, right) = PairIndex(f);
        return (PairGather(e, fields, left, "pair_left"), PairGather(e, fields, right, "pair_right"));
    }

    /// <summary>Entry <paramref name="index"/>[p] of axis 1 for each pair p: [N, F, ...] to [N, P, ...].</summary>
    private static string PairGather(OnnxTracer e, string x, long[] index, string hint) =>
        e.Node("Gather", [x, e.Longs(hint, index)], Int("axis", 1));

    private static (long[] Left, long[] Right) PairIndex(int f)
    {
        var left = new List<long>();
        var right = new List<long>();
        for (var i = 0; i < f - 1; i++)
        {
            for (var j = i + 1; j < f; j++)
            {
                left.Add(i);
                right.Add(j);
            }
        }
        return ([.. left], [.. right]);
    }

    /// <summary>FiBiNET's bilinear pairs: (e_i W_k) * e_j, W shared, per left field or per pair.</summary>
    private static string Bilinear(OnnxTracer e, TraceNode n)
    {
        var (fx, w) = (e.Name(n.Inputs[0]!), e.Name(n.Inputs[1]!));
        var (leftIndex, rightIndex) = PairIndex(n.Inputs[0]!.Shape.D1);
        var axis2 = e.Longs("axis2", 2);
        // x [N, K, D] times one W per k: [N, K, 1, D] x [K, D, D] -> [N, K, D].
        string PerItem(string x) => e.Node("Squeeze", e.Node("MatMul", e.Node("Unsqueeze", x, axis2), w), axis2);
        var left = (BilinearType)n.Ints[0] switch
        {
            BilinearType.FieldAll => PairGather(e, e.Node("MatMul", fx, w), leftIndex, "pair_left"),
            BilinearType.FieldEach => PairGather(e, PerItem(fx), leftIndex, "pair_left"),
            _ => PerItem(PairGather(e, fx, leftIndex, "pair_left")),
        };
        return e.Node("Mul", left, PairGather(e, fx, rightIndex, "pair_right"));
    }

    /// <summary>
    /// A CIN layer: x0 [N, F*d] as [N, d, F], the maps [N, d, H] (x0's own for the first layer), their outer product
    /// per embedding position [N, d, F*H] (channel f*H + h) times W^T [F*H, U], plus the bias: [N, d, U].
    /// </summary>
    private static string Cin(OnnxTracer e, TraceNode n)
    {
        var (x0, previous) = (n.Inputs[0]!, n.Inputs[1]);
        var fields = n.Ints[0];
        var dim = x0.Shape.D1 / fields;
        var x0t = e.Node("Transpose", [e.Node("Reshape", e.Name(x0), e.Longs("fields_shape", -1, fields, dim))], Ints("perm", 0, 2, 1));
        var maps = previous is null ? x0t : e.Name(previous);
        var h = previous?.Shape.D2 ?? fields;
        var outer = e.Node("Mul", e.Node("Unsqueeze", x0t, e.Longs("axis3", 3)), e.Node("Unsqueeze", maps, e.Longs("axis2", 2)));
        var z = e.Node("Reshape", outer, e.Longs("cin_shape", 0, 0, fields * h));
        var y = e.Node("MatMul", z, e.Node("Transpose", [e.Name(n.Inputs[2]!)], Ints("perm", 1, 0)));
        return e.Node("Add", y, e.Name(n.Inputs[3]!));
    }

    /// <summary>Multi-head self-attention on q, k, v [N*F, A]: per sample and head softmax(scale Q K^T) V, heads side by side.</summary>
    private static string SelfAttention(OnnxTracer e, TraceNode n)
    {
        var (fields, heads, scale) = (n.Ints[0], n.Ints[1], n.Floats[0]);
        var width = n.Inputs[0]!.Shape.D1;
        var headShape = e.Longs("head_shape", -1, fields, heads, width / heads);
        string Heads(int i, params long[] perm) => e.Node("Transpose", [e.Node("Reshape", e.Name(n.Inputs[i]!), headShape)], Ints("perm", perm));
        var q = Heads(0, 0, 2, 1, 3);
        var kt = Heads(1, 0, 2, 3, 1);
        var v = Heads(2, 0, 2, 1, 3);
        var scores = e.Node("Mul", e.Node("MatMul", q, kt), e.Scalar("attention_scale", scale));
        var p = e.Node("Softmax", [scores], Int("axis", -1));
        var o = e.Node("Transpose", [e.Node("MatMul", p, v)], Ints("perm", 0, 2, 1, 3));
        return e.Node("Reshape", o, e.Longs("rows_shape", -1, width));
    }

}
