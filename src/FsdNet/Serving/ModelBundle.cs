using System.Text.Json;
using FsdNet.Data;
using FsdNet.Layers;
using FsdNet.Models;
using FsdNet.Tensors;
using FsdNet.Training;

namespace FsdNet.Serving;

/// <summary>
/// A trained model as saved in a run directory: <c>model.fsdm</c> (the weights, BatchNorm statistics and the
/// experiment config that rebuilds the network) beside <c>feature_map.json</c> (the fitted encoder). Everything
/// evaluate, predict and serve need.
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

    private ModelBundle(CtrModel model, FeatureMap featureMap, ModelConfig config)
    {
        Model = model;
        FeatureMap = featureMap;
        Config = config;
    }

    public CtrModel Model { get; }

    public FeatureMap FeatureMap { get; }

    public ModelConfig Config { get; }

    /// <summary>Writes the model and its feature map into <paramref name="runDir"/>.</summary>
    public static void Save(string runDir, CtrModel model, FeatureMap featureMap, ModelConfig config)
    {
        Directory.CreateDirectory(runDir);
        featureMap.Save(Path.Combine(runDir, FeatureMapFile));
        var meta = JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["format"] = "fsdnet-model",
            ["format_version"] = FormatVersion,
            ["model"] = model.ModelName,
            ["expid"] = config.ExpId,
            ["config_yaml"] = config.ToYaml(),
            ["schema_hash"] = featureMap.SchemaHash,
            ["parameters"] = model.ParameterCount(),
        });
        TensorFile.Write(Path.Combine(runDir, ModelFile), meta, model.State());
    }

    /// <summary>Loads a run directory (or a model.fsdm path) written by <see cref="Save"/>.</summary>
    public static ModelBundle Load(string runDirOrFile)
    {
        var dir = Directory.Exists(runDirOrFile) ? runDirOrFile : Path.GetDirectoryName(Path.GetFullPath(runDirOrFile))!;
        var modelPath = Directory.Exists(runDirOrFile) ? Path.Combine(dir, ModelFile) : runDirOrFile;
        if (!File.Exists(modelPath))
        {
            throw new ModelFileException($"{modelPath}: no model file (expected a run directory written by `fsdnet train`).");
        }
        var (metaJson, tensors) = TensorFile.Read(modelPath);
        var mapPath = Path.Combine(dir, FeatureMapFile);
        if (!File.Exists(mapPath))
        {
            throw new ModelFileException($"{mapPath}: the feature map of this model is missing.");
        }
        string expid, yaml, schema;
        try
        {
            using var doc = JsonDocument.Parse(metaJson);
            var root = doc.RootElement;
            if (root.GetProperty("format").GetString() != "fsdnet-model")
            {
                throw new ModelFileException($"{modelPath}: this is a '{root.GetProperty("format").GetString()}' file, not a model.");
            }
            var version = root.TryGetProperty("format_version", out var v) ? v.GetInt32() : 1;
            if (version < 1 || version > FormatVersion)
            {
                throw new ModelFileException(
                    $"{modelPath}: model format version {version}; this FsdNet reads versions 1 to {FormatVersion} (a newer FsdNet wrote it?).");
            }
            expid = root.GetProperty("expid").GetString()!;
            yaml = root.GetProperty("config_yaml").GetString()!;
            schema = root.GetProperty("schema_hash").GetString()!;
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
        catch (DataFormatException e)
        {
            // A run's feature map cannot be rebuilt (the cache's can): say so instead of "delete it to rebuild".
            var problem = e.Problem.Replace("; delete it to rebuild", "", StringComparison.Ordinal);
            throw new ModelFileException($"{mapPath}: the feature map of this model is damaged: {problem} (restore it from a copy of the run, or retrain).");
        }
        if (featureMap.SchemaHash != schema)
        {
            throw new ModelFileException($"{mapPath}: schema {featureMap.SchemaHash} does not match the model's {schema} (files from different runs?).");
        }
        var config = ModelConfig.Parse(yaml, modelPath, expid);
        var model = ModelRegistry.Create(ModelInputs.Schema(featureMap, config), config, new Rng(0), loadPretrained: false);
        TensorFile.LoadInto(modelPath, tensors, model.State());
        return new ModelBundle(model, featureMap, config);
    }
}
