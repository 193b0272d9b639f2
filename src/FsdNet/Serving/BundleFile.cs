namespace FsdNet.Serving;

/// <summary>
/// The single-file model bundle (<c>.fsdb</c>): weights, the fitted encoder (feature map), the model config, the
/// FsdNet format version, training-time metrics and a checksum. (Being built: issue 10.)
/// </summary>
public static class BundleFile
{
    public const string Extension = ".fsdb";

    /// <summary>Writes the bundle of a run directory to <paramref name="outputPath"/>; returns a one-line summary.</summary>
    public static string Export(string runDir, string outputPath) =>
        throw new NotImplementedException("bundle export is being built (issue 10).");
}
