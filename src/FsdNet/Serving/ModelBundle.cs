using System.Globalization;
using System.Reflection;
using System.Text.Json;
using FsdNet.Data;
using FsdNet.Layers;
using FsdNet.Models;
using FsdNet.Tensors;
using FsdNet.Training;

namespace FsdNet.Serving;

/// <summary>
/// The numbers a model had when it was trained: test metrics (<c>test_metrics.json</c>), the validation metrics of
/// the best epoch (the epoch whose weights were kept) and that epoch (1-based). Empty when unknown.
/// </summary>
public sealed record ModelMetrics(IReadOnlyDictionary<string, double> Test, IReadOnlyDictionary<string, double> Valid, int? BestEpoch)
{
    public static ModelMetrics None { get; } = new(new Dictionary<string, double>(), new Dictionary<string, double>(), null);
}

/// <summary>
/// A trained model with everything evaluate, predict and serve need: the network (weights, BatchNorm statistics),
/// the fitted encoder (<see cref="FeatureMap"/>) and the config that rebuilds the network. Loaded from a run
/// directory (<c>model.fsdm</c> beside <c>feature_map.json</c>) or from a single-file bundle (<c>.fsdb</c>, see
/// <see cref="BundleFile"/>). Loading checks everything before returning: a model is never half loaded.
/// </summary>
public sealed class ModelBundle
{
    public const string ModelFile = "model.fsdm";
    public const string FeatureMapFile = "feature_map.json";

    /// <summary>
    /// The model file format this build writes: 1 (FsdNet 0.1: categorical inputs only, no version field), 2 (input
    /// schema of every feature type). Every version up to this one loads.
    /// </summary>
    public const int FormatVersion = 2;

    private ModelBundle(CtrModel model, FeatureMap featureMap, ModelConfig config, string configYaml, string sourcePath, bool fromBundleFile,
        int fileFormatVersion, string? fsdNetVersion, ModelMetrics metrics)
    {
        Model = model;
        FeatureMap = featureMap;
        Config = config;
        ConfigYaml = configYaml;
        SourcePath = sourcePath;
        IsBundleFile = fromBundleFile;
        FileFormatVersion = fileFormatVersion;
        FsdNetVersion = fsdNetVersion;
        TrainingMetrics = metrics;
    }

    internal CtrModel Model { get; }

    /// <summary>The model's name as in FuxiCTR configs (e.g. "FSDNet").</summary>
    public string ModelName => Model.ModelName;

    public FeatureMap FeatureMap { get; }

    public ModelConfig Config { get; }

    /// <summary>The experiment config as saved with the model (YAML).</summary>
    public string ConfigYaml { get; }

    /// <summary>The full path it was loaded from: the bundle file, or the run directory's model.fsdm.</summary>
    public string SourcePath { get; }

    /// <summary>Whether it came from a single-file bundle (.fsdb) rather than a run directory.</summary>
    public bool IsBundleFile { get; }

    /// <summary>The format version of the file it was read from: <see cref="BundleFile.FormatVersion"/>'s scale for a bundle, <see cref="FormatVersion"/>'s for model.fsdm.</summary>
    public int FileFormatVersion { get; }

    /// <summary>The FsdNet version that wrote the file (null for model files written before it was recorded).</summary>
    public string? FsdNetVersion { get; }

    /// <summary>Training-time metrics (test, best validation epoch), as far as the bundle or run directory records them.</summary>
    public ModelMetrics TrainingMetrics { get; }

    /// <summary>The version of this FsdNet build (what new files record).</summary>
    public static string CurrentFsdNetVersion { get; } =
        typeof(ModelBundle).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? typeof(ModelBundle).Assembly.GetName().Version?.ToString() ?? "unknown";

    /// <summary>Writes the model and its feature map into <paramref name="runDir"/>.</summary>
    internal static void Save(string runDir, CtrModel model, FeatureMap featureMap, ModelConfig config)
    {
        Directory.CreateDirectory(runDir);
        featureMap.Save(Path.Combine(runDir, FeatureMapFile));
        var meta = JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["format"] = "fsdnet-model",
            ["format_version"] = FormatVersion,
            ["fsdnet_version"] = CurrentFsdNetVersion,
            ["model"] = model.ModelName,
            ["expid"] = config.ExpId,
            ["config_yaml"] = config.ToYaml(),
            ["schema_hash"] = featureMap.SchemaHash,
            ["parameters"] = model.ParameterCount(),
        });
        TensorFile.Write(Path.Combine(runDir, ModelFile), meta, model.State());
    }

    /// <summary>
    /// Loads a run directory (or its model.fsdm) written by <see cref="Save"/>, or a bundle file (.fsdb) written by
    /// <see cref="BundleFile.Export"/>. Every problem (missing, truncated, tampered, newer or other kind of file,
    /// tensors that do not fit the model, a damaged feature map or config) is a <see cref="ModelFileException"/>
    /// naming the file.
    /// </summary>
    public static ModelBundle Load(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (Directory.Exists(path))
        {
            var file = Path.Combine(path, ModelFile);
            if (!File.Exists(file))
            {
                throw new ModelFileException($"{file}: no model file (expected a run directory written by `fsdnet train`, or a bundle file).");
            }
            path = file;
        }
        else if (!File.Exists(path))
        {
            throw new ModelFileException($"{path}: no model file (no such file or directory; expected a run directory, its model.fsdm, or a bundle .fsdb).");
        }
        var (metaJson, tensors) = TensorFile.Read(path);
        string format;
        try
        {
            using var doc = JsonDocument.Parse(metaJson);
            format = doc.RootElement.GetProperty("format").GetString() ?? "";
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new ModelFileException($"{path}: bad metadata: {e.Message}");
        }
        return format switch
        {
            "fsdnet-model" => LoadModelFile(path, metaJson, tensors),
            BundleFile.Format => LoadBundleFile(path, metaJson, tensors),
            "fsdnet-checkpoint" => throw new ModelFileException(
                $"{path}: this is a training checkpoint, not a model; give the run directory (or `fsdnet export --format bundle` it)."),
            _ => throw new ModelFileException($"{path}: this is a '{format}' file, not a model or bundle."),
        };
    }

    private static ModelBundle LoadModelFile(string modelPath, string metaJson, IReadOnlyList<(string Name, Tensor Value)> tensors)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(modelPath))!;
        var mapPath = Path.Combine(dir, FeatureMapFile);
        if (!File.Exists(mapPath))
        {
            throw new ModelFileException($"{mapPath}: the feature map of this model is missing.");
        }
        string expid, yaml, schema;
        int version;
        string? written;
        try
        {
            using var doc = JsonDocument.Parse(metaJson);
            var root = doc.RootElement;
            version = root.TryGetProperty("format_version", out var v) ? v.GetInt32() : 1;
            if (version < 1 || version > FormatVersion)
            {
                throw new ModelFileException(
                    $"{modelPath}: model format version {version}; this FsdNet reads versions 1 to {FormatVersion} (a newer FsdNet wrote it?).");
            }
            expid = root.GetProperty("expid").GetString()!;
            yaml = root.GetProperty("config_yaml").GetString()!;
            schema = root.GetProperty("schema_hash").GetString()!;
            written = root.TryGetProperty("fsdnet_version", out var fv) ? fv.GetString() : null;
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new ModelFileException($"{modelPath}: bad metadata: {e.Message}");
        }
        FeatureMap featureMap;
        try
        {
            featureMap = FeatureMap.Load(mapPath);
        }
        catch (Exception e) when (e is DataFormatException or DataConfigException)
        {
            // A run's feature map cannot be rebuilt (the cache's can): say so instead of "delete it to rebuild".
            var problem = (e is DataFormatException d ? d.Problem : e.Message).Replace("; delete it to rebuild", "", StringComparison.Ordinal);
            throw new ModelFileException($"{mapPath}: the feature map of this model is damaged: {problem} (restore it from a copy of the run, or retrain).");
        }
        if (featureMap.SchemaHash != schema)
        {
            throw new ModelFileException($"{mapPath}: schema {featureMap.SchemaHash} does not match the model's {schema} (files from different runs?).");
        }
        var model = Build(modelPath, yaml, expid, null, featureMap, tensors, out var config);
        return new ModelBundle(model, featureMap, config, yaml, Path.GetFullPath(modelPath), false, version, written, RunMetrics(dir, verify: false));
    }

    private static ModelBundle LoadBundleFile(string path, string metaJson, IReadOnlyList<(string Name, Tensor Value)> tensors)
    {
        string expid, yaml, schema, mapJson, modelName;
        string? written;
        int version;
        ModelMetrics metrics;
        try
        {
            using var doc = JsonDocument.Parse(metaJson);
            var root = doc.RootElement;
            version = root.GetProperty("bundle_version").GetInt32();
            written = root.TryGetProperty("fsdnet_version", out var fv) ? fv.GetString() : null;
            if (version < 1 || version > BundleFile.FormatVersion)
            {
                throw new ModelFileException(
                    $"{path}: bundle format version {version} (written by FsdNet {written ?? "?"}); this FsdNet ({CurrentFsdNetVersion}) reads versions 1 to " +
                    $"{BundleFile.FormatVersion}: load it with a newer FsdNet.");
            }
            modelName = root.GetProperty("model").GetString() ?? throw new FormatException("'model' is null");
            expid = root.GetProperty("expid").GetString() ?? throw new FormatException("'expid' is null");
            yaml = root.GetProperty("config_yaml").GetString() ?? throw new FormatException("'config_yaml' is null");
            schema = root.GetProperty("schema_hash").GetString() ?? throw new FormatException("'schema_hash' is null");
            mapJson = root.GetProperty("feature_map").GetString() ?? throw new FormatException("'feature_map' is null");
            metrics = root.TryGetProperty("metrics", out var m) ? ReadMetrics(m) : ModelMetrics.None;
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new ModelFileException($"{path}: bad bundle metadata: {e.Message}");
        }
        FeatureMap featureMap;
        try
        {
            featureMap = FeatureMap.FromJson(mapJson, $"{path} (embedded feature map)");
        }
        catch (Exception e) when (e is DataFormatException or DataConfigException)
        {
            var problem = (e is DataFormatException d ? d.Problem : e.Message).Replace("; delete it to rebuild", "", StringComparison.Ordinal);
            throw new ModelFileException($"{path}: the embedded feature map is damaged: {problem}.");
        }
        if (featureMap.SchemaHash != schema)
        {
            throw new ModelFileException($"{path}: the embedded feature map's schema {featureMap.SchemaHash} does not match the bundle's {schema} (edited file?).");
        }
        var model = Build(path, yaml, expid, modelName, featureMap, tensors, out var config);
        return new ModelBundle(model, featureMap, config, yaml, Path.GetFullPath(path), true, version, written, metrics);
    }

    /// <summary>Rebuilds the network from its config and fills it with the saved tensors, checking every one.</summary>
    private static CtrModel Build(string path, string yaml, string expid, string? modelName, FeatureMap featureMap,
        IReadOnlyList<(string Name, Tensor Value)> tensors, out ModelConfig config)
    {
        CtrModel model;
        try
        {
            config = ModelConfig.Parse(yaml, path, expid);
            model = ModelRegistry.Create(ModelInputs.Schema(featureMap, config), config, new Rng(0), loadPretrained: false);
        }
        catch (Exception e) when (e is ConfigException or ArgumentException or FormatException or InvalidOperationException
                                      or KeyNotFoundException or DataConfigException or YamlDotNet.Core.YamlException or OverflowException)
        {
            throw new ModelFileException($"{path}: the saved model config does not build a model: {e.Message}");
        }
        if (modelName is not null && model.ModelName != modelName)
        {
            throw new ModelFileException($"{path}: the bundle says model '{modelName}' but its config builds '{model.ModelName}' (edited file?).");
        }
        TensorFile.LoadInto(path, tensors, model.State());
        foreach (var (name, t) in model.State())
        {
            var span = t.Span;
            for (var i = 0; i < span.Length; i++)
            {
                if (!float.IsFinite(span[i]))
                {
                    throw new ModelFileException($"{path}: tensor '{name}' holds {span[i]} at index {i}: a model with NaN/Inf weights cannot score.");
                }
            }
        }
        return model;
    }

    /// <summary>
    /// What a run directory records of its training: test_metrics.json, and the best epoch's validation metrics from
    /// the checkpoint's history. <paramref name="verify"/>: read the whole checkpoint (checksum checked); else only
    /// its header. Missing or unreadable parts are left empty.
    /// </summary>
    /// <summary>
    /// The click probability of every row of a data file in the format the model was trained on (gzip allowed), in
    /// file order; the label column may be absent or empty. Values are encoded with the model's own feature map
    /// (unseen tokens are OOV), as <c>fsdnet predict</c> does. <paramref name="options"/>: bad-line policy, log, threads.
    /// </summary>
    public float[] Predict(string dataPath, DataOptions? options = null) => ScoreFile(dataPath, options, labelOptional: true).Predictions;

    /// <summary>
    /// The model's metrics on a labelled data file (as <c>fsdnet evaluate</c>): <paramref name="metrics"/> among
    /// AUC, gAUC (needs a group_id feature) and logloss; default AUC and logloss.
    /// </summary>
    public IReadOnlyDictionary<string, double> Evaluate(string dataPath, IEnumerable<string>? metrics = null, DataOptions? options = null)
    {
        var names = (metrics ?? ["AUC", "logloss"]).ToList();
        Training.TrainingMetrics.Check(names);
        var (predictions, labels, groups, _) = ScoreFile(dataPath, options, labelOptional: false);
        return Training.TrainingMetrics.Compute(names, labels, predictions, groups);
    }

    /// <summary>Encodes a raw file with the feature map into a temporary cache and predicts every row; also the lines skipped as bad.</summary>
    internal (float[] Predictions, float[] Labels, long[]? Groups, long Skipped) ScoreFile(string dataPath, DataOptions? options, bool labelOptional)
    {
        var cacheDir = Path.Combine(Path.GetTempPath(), "fsdnet-eval-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(cacheDir);
        try
        {
            var (encoded, bad) = DataPipeline.Encode(FeatureMap, dataPath, Path.Combine(cacheDir, "data.fsdcache"),
                (options ?? new DataOptions()) with { LabelOptional = labelOptional });
            using (encoded)
            {
                var batchSize = Config.GetInt("batch_size", 10000);
                var (p, l, g) = Predictor.PredictAll(Model, new Autodiff.Graph(), encoded, batchSize);
                return (p, l, g, bad.Dropped);
            }
        }
        finally
        {
            Directory.Delete(cacheDir, recursive: true);
        }
    }

    /// <summary>
    /// A copy of the model for inference only (scoring, export): the same weights, with every DenseLayer's BatchNorm
    /// folded into its linear layer when <paramref name="foldBatchNorm"/> (<paramref name="folded"/> counts them). The
    /// bundle's model is never changed; the copy must not be trained or saved.
    /// </summary>
    internal CtrModel InferenceCopy(bool foldBatchNorm, out int folded)
    {
        var copy = ModelRegistry.Create(ModelInputs.Schema(FeatureMap, Config), Config, new Rng(0), loadPretrained: false);
        using (var src = Model.State().GetEnumerator())
        {
            foreach (var (name, t) in copy.State())
            {
                if (!src.MoveNext() || src.Current.Name != name || src.Current.Value.Shape != t.Shape)
                {
                    throw new InvalidOperationException($"the inference copy of the model differs from the loaded model at '{name}'.");
                }
                src.Current.Value.Span.CopyTo(t.Span);
            }
        }
        folded = foldBatchNorm ? copy.Modules().OfType<DenseLayer>().Count(d => d.FoldBatchNorm()) : 0;
        return copy;
    }

    internal static ModelMetrics RunMetrics(string runDir, bool verify)
    {
        IReadOnlyDictionary<string, double> test = new Dictionary<string, double>();
        IReadOnlyDictionary<string, double> valid = new Dictionary<string, double>();
        int? best = null;
        try
        {
            var testPath = Path.Combine(runDir, TrainingRun.TestMetricsFile);
            if (File.Exists(testPath))
            {
                test = JsonSerializer.Deserialize<Dictionary<string, double>>(File.ReadAllText(testPath), Trainer.Json) ?? [];
            }
        }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException or NotSupportedException)
        {
        }
        try
        {
            var ck = Path.Combine(runDir, "checkpoint.fsdc");
            if (File.Exists(ck))
            {
                var meta = verify ? TensorFile.Read(ck).Metadata : TensorFile.ReadMetadata(ck);
                using var doc = JsonDocument.Parse(meta);
                var root = doc.RootElement;
                var history = root.GetProperty("history").Deserialize<List<EpochRecord>>(Trainer.Json) ?? [];
                // The kept weights are those of the last validation that improved the monitor.
                if (history.LastOrDefault(h => h.Improved) is { } kept)
                {
                    valid = new Dictionary<string, double>(kept.Valid);
                    best = kept.Epoch;
                }
            }
        }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException or ModelFileException or KeyNotFoundException
                                      or InvalidOperationException or FormatException or NotSupportedException)
        {
        }
        return new ModelMetrics(test, valid, best);
    }

    private static ModelMetrics ReadMetrics(JsonElement m)
    {
        static Dictionary<string, double> Read(JsonElement e, string key)
        {
            var d = new Dictionary<string, double>(StringComparer.Ordinal);
            if (e.TryGetProperty(key, out var o))
            {
                foreach (var p in o.EnumerateObject())
                {
                    d[p.Name] = p.Value.ValueKind == JsonValueKind.String
                        ? double.Parse(p.Value.GetString()!, NumberStyles.Float, CultureInfo.InvariantCulture)
                        : p.Value.GetDouble();
                }
            }
            return d;
        }
        int? best = m.TryGetProperty("best_epoch", out var b) && b.ValueKind == JsonValueKind.Number ? b.GetInt32() : null;
        return new ModelMetrics(Read(m, "test"), Read(m, "valid"), best);
    }
}
