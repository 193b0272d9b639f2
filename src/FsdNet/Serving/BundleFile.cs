using System.Globalization;
using System.Text.Json;

namespace FsdNet.Serving;

/// <summary>
/// The single-file model bundle (<c>.fsdb</c>): a <see cref="TensorFile"/> (SHA-256 checksum, atomic write) whose
/// metadata says <c>"format": "fsdnet-bundle"</c> and holds the bundle format version, the FsdNet version that wrote
/// it, the model name, expid and config (YAML), the fitted feature map (its JSON), the schema hash, the parameter
/// count and the training-time metrics; its tensors are the model's state (weights and BatchNorm statistics).
/// <see cref="ModelBundle.Load"/> reads it (and run directories).
/// </summary>
public static class BundleFile
{
    public const string Extension = ".fsdb";

    /// <summary>The <c>format</c> of a bundle's metadata.</summary>
    public const string Format = "fsdnet-bundle";

    /// <summary>The bundle format this build writes (and the newest it reads).</summary>
    public const int FormatVersion = 1;

    /// <summary>Writes the bundle of a run directory (or its model.fsdm) to <paramref name="outputPath"/>; returns a one-line summary.</summary>
    public static string Export(string runDir, string outputPath)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(runDir);
        ArgumentException.ThrowIfNullOrWhiteSpace(outputPath);
        if (Directory.Exists(outputPath))
        {
            throw new ArgumentException($"--output {outputPath} is a directory; give a file name (e.g. model{Extension}).");
        }
        var bundle = ModelBundle.Load(runDir);
        if (bundle.IsBundleFile)
        {
            throw new ArgumentException($"{runDir} is already a bundle; give the run directory written by `fsdnet train`.");
        }
        var metrics = ModelBundle.RunMetrics(Path.GetDirectoryName(bundle.SourcePath)!, verify: true);
        Write(outputPath, bundle, metrics);
        var check = ModelBundle.Load(outputPath); // what was written loads, as the same model
        var bytes = new FileInfo(outputPath).Length;
        var test = metrics.Test.Count == 0 ? "no test metrics" : "test " + string.Join(", ", metrics.Test.Select(kv => $"{kv.Key} {kv.Value:F6}"));
        return $"wrote {outputPath}: {check.Model.ModelName} ({check.Config.ExpId}), {check.Model.ParameterCount():N0} parameters, " +
               $"{bytes:N0} bytes, bundle format {FormatVersion}; {test}";
    }

    /// <summary>Writes <paramref name="bundle"/> as one bundle file with the given metrics (tests write their own).</summary>
    internal static void Write(string outputPath, ModelBundle bundle, ModelMetrics metrics)
    {
        static Dictionary<string, object> Numbers(IReadOnlyDictionary<string, double> d) =>
            d.ToDictionary(kv => kv.Key, kv => double.IsFinite(kv.Value) ? kv.Value : (object)kv.Value.ToString("R", CultureInfo.InvariantCulture), StringComparer.Ordinal);
        var meta = JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["format"] = Format,
            ["bundle_version"] = FormatVersion,
            ["fsdnet_version"] = ModelBundle.CurrentFsdNetVersion,
            ["model"] = bundle.Model.ModelName,
            ["expid"] = bundle.Config.ExpId,
            ["config_yaml"] = bundle.ConfigYaml,
            ["schema_hash"] = bundle.FeatureMap.SchemaHash,
            ["feature_map"] = bundle.FeatureMap.ToJson(),
            ["parameters"] = bundle.Model.ParameterCount(),
            ["metrics"] = new Dictionary<string, object?>
            {
                ["test"] = Numbers(metrics.Test),
                ["valid"] = Numbers(metrics.Valid),
                ["best_epoch"] = metrics.BestEpoch,
            },
            ["created_utc"] = DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture),
        });
        TensorFile.Write(outputPath, meta, bundle.Model.State());
    }
}
