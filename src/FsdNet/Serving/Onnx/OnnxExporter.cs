using System.Globalization;
using FsdNet.Data;
using FsdNet.Layers;
using FsdNet.Models;
using FsdNet.Tensors;
using Google.Protobuf;
using Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace FsdNet.Serving.Onnx;

/// <summary>
/// Exports a trained model's inference graph as ONNX (opset 17, IR version 8) with its encoder as JSON beside it
/// (<c>model.encoder.json</c> for <c>model.onnx</c>). Inputs, each present when the feature map has such features:
/// <c>categorical</c> int64 [N, categorical columns] (the codes of the feature map, column i = the i-th categorical
/// feature), <c>numeric</c> float [N, numeric columns] (normalised values), <c>sequence</c> int64 [N, sum of max_len]
/// (each sequence feature's codes) and <c>embedding</c> float [N, sum of pretrain_dim] (type: embedding vectors);
/// output: <c>probability</c> float [N, 1]. The graph is traced from the model itself (<see cref="OnnxTracer"/>): the
/// ops its evaluation-mode forward pass runs, each mapped to ONNX nodes by <see cref="OnnxOps"/>, with BatchNorm folded
/// into the linear layer before it (running statistics) and dropout gone, as the Scorer scores.
/// </summary>
public static class OnnxExporter
{
    /// <summary>The models the exporter covers (FuxiCTR names): every registered model.</summary>
    public static IReadOnlyList<string> SupportedModels => ModelRegistry.Names;

    /// <summary>Name of the graph's categorical input (int64 [N, categorical columns]).</summary>
    public const string CategoricalInput = "categorical";

    /// <summary>Name of the graph's numeric input (float [N, numeric columns]), present when the feature map has numeric features.</summary>
    public const string NumericInput = "numeric";

    /// <summary>Name of the graph's sequence input (int64 [N, sum of max_len]), present when the model reads sequence features.</summary>
    public const string SequenceInput = "sequence";

    /// <summary>Name of the graph's embedding-vector input (float [N, sum of pretrain_dim]), present when the model reads <c>type: embedding</c> features.</summary>
    public const string EmbeddingInput = "embedding";

    /// <summary>Name of the graph's output (float [N, 1], the click probability).</summary>
    public const string Output = "probability";

    /// <summary>The encoder file written beside <paramref name="onnxPath"/>: model.onnx -> model.encoder.json.</summary>
    public static string EncoderPath(string onnxPath)
    {
        var full = Path.GetFullPath(onnxPath);
        var stem = Path.GetExtension(full).Equals(".onnx", StringComparison.OrdinalIgnoreCase) ? full[..^5] : full;
        return stem + ".encoder.json";
    }

    /// <summary>
    /// Writes <paramref name="outputPath"/> (the ONNX model) and the encoder JSON beside it for the run directory or
    /// bundle (.fsdb) <paramref name="model"/>; head: one FSD head (0-based), null: the model's own prediction (its score_head or
    /// the mean of all heads). Returns a one-line summary.
    /// </summary>
    public static string Export(string model, string outputPath, int? head = null)
    {
        return Export(ModelBundle.Load(model), outputPath, head);
    }

    /// <summary><see cref="Export(string, string, int?)"/> for a loaded model.</summary>
    public static string Export(ModelBundle bundle, string outputPath, int? head = null)
    {
        var (proto, description) = Build(bundle, head);
        var encoderPath = EncoderPath(outputPath);
        var encoderJson = OnnxEncoder.ToJson(bundle, Path.GetFileName(outputPath), head, description);
        var dir = Path.GetDirectoryName(Path.GetFullPath(outputPath));
        if (dir is not null)
        {
            Directory.CreateDirectory(dir);
        }
        WriteAtomically(outputPath, proto.ToByteArray());
        WriteAtomically(encoderPath, System.Text.Encoding.UTF8.GetBytes(encoderJson));
        var size = new FileInfo(outputPath).Length;
        return $"wrote {outputPath} ({size / 1024.0:F1} KiB, {bundle.Model.ModelName}, {description}, opset {OnnxGraph.Opset}) and {encoderPath}";
    }

    /// <summary>The ONNX model of <paramref name="bundle"/> and a description of what it scores (e.g. "mean of 3 heads").</summary>
    internal static (ModelProto Model, string Scores) Build(ModelBundle bundle, int? head)
    {
        if (!BitConverter.IsLittleEndian)
        {
            throw new NotSupportedException("ONNX export writes little-endian tensor data; this machine is big-endian.");
        }
        var (g, scores) = OnnxTracer.Build(bundle, head);
        var meta = new List<(string, string)>
        {
            ("fsdnet.model", bundle.Model.ModelName),
            ("fsdnet.expid", bundle.Config.ExpId),
            ("fsdnet.schema_hash", bundle.FeatureMap.SchemaHash),
            ("fsdnet.scores", scores),
        };
        var version = typeof(OnnxExporter).Assembly.GetName().Version?.ToString(3) ?? "0";
        return (g.ToModel(version, $"{bundle.Model.ModelName} ({bundle.Config.ExpId}) exported by FsdNet: {scores}.", meta), scores);
    }

    private static void WriteAtomically(string path, byte[] bytes)
    {
        var tmp = path + "." + Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + ".tmp";
        File.WriteAllBytes(tmp, bytes);
        File.Move(tmp, path, overwrite: true);
    }
}
