using System.Globalization;
using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;

namespace FsdNet.Serving.Onnx;

/// <summary>
/// A small builder of an ONNX graph (the protobuf classes generated from the spec's onnx.proto3): constants become
/// initializers, every node gets a fresh output name, and <see cref="ToModel"/> wraps the graph with the opset and IR
/// version the exporter targets.
/// </summary>
internal sealed class OnnxGraph
{
    /// <summary>The default-domain opset the graph uses (ReduceSum and Unsqueeze take their axes as inputs since 13).</summary>
    public const int Opset = 17;

    /// <summary>The IR version that goes with opset 17 (ONNX 1.12).</summary>
    public const long IrVersion = 8;

    private readonly GraphProto graph;
    private readonly Dictionary<string, int> used = new(StringComparer.Ordinal);

    public OnnxGraph(string name)
    {
        graph = new GraphProto { Name = name };
    }

    /// <summary>A graph input [N, <paramref name="width"/>] with a dynamic batch dimension "N".</summary>
    public string Input(string name, TensorProto.Types.DataType type, long width)
    {
        graph.Input.Add(ValueInfo(name, type, width));
        used[name] = 1;
        return name;
    }

    /// <summary>Declares <paramref name="value"/> as the graph output [N, <paramref name="width"/>] named <paramref name="name"/>.</summary>
    public void Output(string value, string name, long width)
    {
        Node("Identity", [value], name: name);
        graph.Output.Add(ValueInfo(name, TensorProto.Types.DataType.Float, width));
    }

    /// <summary>A float initializer.</summary>
    public string Const(string hint, ReadOnlySpan<float> values, params long[] dims) =>
        Initializer(hint, values, TensorProto.Types.DataType.Float, dims);

    /// <summary>An int64 initializer.</summary>
    public string Const(string hint, ReadOnlySpan<long> values, params long[] dims) =>
        Initializer(hint, values, TensorProto.Types.DataType.Int64, dims);

    private string Initializer<T>(string hint, ReadOnlySpan<T> values, TensorProto.Types.DataType type, long[] dims)
        where T : unmanaged
    {
        var t = new TensorProto { Name = Fresh(hint), DataType = (int)type };
        t.Dims.AddRange(dims);
        t.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(values));
        CheckLength(t, values.Length);
        graph.Initializer.Add(t);
        return t.Name;
    }

    /// <summary>A float scalar initializer (shape []).</summary>
    public string Scalar(string hint, float value) => Const(hint, new[] { value });

    /// <summary>A 1-D int64 initializer.</summary>
    public string Longs(string hint, params long[] values) => Const(hint, values, values.Length);

    /// <summary>A node with one output; returns the output's name.</summary>
    public string Node(string op, string[] inputs, string? name = null, params AttributeProto[] attributes)
    {
        var output = name ?? Fresh(op.ToLowerInvariant());
        var node = new NodeProto { OpType = op, Name = "n" + graph.Node.Count.ToString(CultureInfo.InvariantCulture) + "_" + op };
        node.Input.AddRange(inputs);
        node.Output.Add(output);
        node.Attribute.AddRange(attributes);
        graph.Node.Add(node);
        return output;
    }

    public static AttributeProto Int(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto Float(string name, float value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    /// <summary>The model: this graph, the default-domain opset <see cref="Opset"/>, IR version <see cref="IrVersion"/>.</summary>
    public ModelProto ToModel(string producerVersion, string docString, IEnumerable<(string Key, string Value)> metadata)
    {
        var m = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = "FsdNet",
            ProducerVersion = producerVersion,
            Domain = "fsdnet",
            ModelVersion = 1,
            DocString = docString,
            Graph = graph,
        };
        m.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        foreach (var (k, v) in metadata)
        {
            m.MetadataProps.Add(new StringStringEntryProto { Key = k, Value = v });
        }
        return m;
    }

    private string Fresh(string hint)
    {
        var n = used.TryGetValue(hint, out var c) ? c : 0;
        used[hint] = n + 1;
        return n == 0 ? hint : hint + "_" + n.ToString(CultureInfo.InvariantCulture);
    }

    private static void CheckLength(TensorProto t, int length)
    {
        long expected = 1;
        foreach (var d in t.Dims)
        {
            expected *= d;
        }
        if (expected != length)
        {
            throw new InvalidOperationException($"ONNX initializer {t.Name}: {length} values for dims [{string.Join(", ", t.Dims)}].");
        }
    }

    private static ValueInfoProto ValueInfo(string name, TensorProto.Types.DataType type, long width)
    {
        var shape = new TensorShapeProto();
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = "N" });
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = width });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } },
        };
    }
}
