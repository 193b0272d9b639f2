namespace FsdNet.Serving.Onnx;

/// <summary>Exports a trained model's inference graph as ONNX, with its encoder as JSON beside it. (Being built: issue 10.)</summary>
public static class OnnxExporter
{
    /// <summary>
    /// Writes <paramref name="outputPath"/> (the ONNX model) and the encoder JSON beside it for the run directory or
    /// bundle <paramref name="model"/>; head: one FSD head, null: the model's own prediction. Returns a one-line summary.
    /// </summary>
    public static string Export(string model, string outputPath, int? head = null) =>
        throw new NotImplementedException("ONNX export is being built (issue 10).");
}
