using System.Globalization;
using FsdNet.Data;
using YamlDotNet.RepresentationModel;

namespace FsdNet.Training;

/// <summary>A problem in a model/experiment config, with the file and key it concerns.</summary>
public sealed class ConfigException(string message) : Exception(message);

/// <summary>
/// An experiment's resolved settings in FuxiCTR's model_config.yaml form: the <c>Base</c> block, updated with the
/// experiment's block (FuxiCTR's load_config). Values keep their YAML text and are typed on access, so
/// <c>1e-5</c> and <c>1.e-5</c> both read as numbers (PyYAML would read the first as a string).
/// </summary>
public sealed class ModelConfig
{
    /// <summary>Keys FsdNet knows (model and trainer); anything else draws a warning.</summary>
    public static readonly IReadOnlySet<string> KnownKeys = new HashSet<string>(StringComparer.Ordinal)
    {
        "model", "dataset_id", "loss", "metrics", "task", "optimizer", "learning_rate", "embedding_regularizer",
        "net_regularizer", "batch_size", "embedding_dim", "epochs", "shuffle", "seed", "monitor", "monitor_mode",
        "early_stop_patience", "eval_steps", "max_gradient_norm", "reduce_lr_on_plateau", "model_root", "num_workers",
        "verbose", "pickle_feature_encoder", "save_best_only", "debug_mode", "group_id", "use_features",
        "feature_specs", "feature_config", "model_structure", "parallel_dnn_hidden_units", "dnn_activations",
        "hidden_activations", "num_cross_layers", "net_dropout", "batch_norm", "choice", "loss_coefficient",
        "fea_coefficient", "Temp", "noise_ratio", "soft_loss", "detach_teacher", "score_head", "threads",
        "stacked_dnn_hidden_units", "use_low_rank_mixture", "dnn_hidden_units", "num_heads", "attention_dim",
        "cin_hidden_units", "low_rank", "num_experts", "ordered_features",

        // Dataset keys FuxiCTR merges into the experiment's parameters (recorded in a run's config.yaml).
        "data_root", "data_format", "train_data", "valid_data", "test_data", "min_categr_count",
    };

    /// <summary>FuxiCTR 1.x names and their current form.</summary>
    public static readonly IReadOnlyDictionary<string, string> LegacyKeys = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["patience"] = "early_stop_patience",
        ["every_x_epochs"] = "eval_steps",
        ["workers"] = "num_workers",
        ["debug"] = "debug_mode",
        ["partition_block_size"] = "batch_size",
    };

    private readonly Dictionary<string, YamlNode?> values;

    private ModelConfig(string expId, string source, Dictionary<string, YamlNode?> values, List<string> warnings)
    {
        ExpId = expId;
        Source = source;
        this.values = values;
        Warnings = warnings;
    }

    public string ExpId { get; }

    /// <summary>Where the settings came from (file path or preset name), for error messages.</summary>
    public string Source { get; }

    public IReadOnlyList<string> Warnings { get; }

    public IEnumerable<string> Keys => values.Keys;

    public string Model => GetString("model") ?? throw new ConfigException($"{Source} [{ExpId}]: 'model' is missing (e.g. model: FSDNet).");

    public string? DatasetId => GetString("dataset_id");

    /// <summary>Loads experiment <paramref name="expId"/> from <c>model_config.yaml</c> (or <c>model_config/*.yaml</c>) in a folder.</summary>
    public static ModelConfig Load(string configDir, string expId)
    {
        var files = new List<string>();
        var single = Path.Combine(configDir, "model_config.yaml");
        if (File.Exists(single))
        {
            files.Add(single);
        }
        else if (Directory.Exists(Path.Combine(configDir, "model_config")))
        {
            files.AddRange(Directory.GetFiles(Path.Combine(configDir, "model_config"), "*.yaml").Order(StringComparer.Ordinal));
        }
        if (files.Count == 0)
        {
            throw new ConfigException($"No model_config.yaml (or model_config/*.yaml) in {Path.GetFullPath(configDir)}.");
        }
        var blocks = new Dictionary<string, (YamlMappingNode Node, string File)>(StringComparer.Ordinal);
        foreach (var f in files)
        {
            foreach (var (name, node) in ReadBlocks(File.ReadAllText(f), f))
            {
                blocks[name] = (node, f);
            }
        }
        if (!blocks.TryGetValue(expId, out var exp))
        {
            throw new ConfigException(
                $"Experiment '{expId}' is not in {string.Join(", ", files)}; it has: {string.Join(", ", blocks.Keys.Where(k => k != "Base"))}.");
        }
        return Merge(expId, exp.File, blocks.TryGetValue("Base", out var b) ? b.Node : null, exp.Node);
    }

    /// <summary>Parses YAML text holding a <c>Base</c> block (optional) and the experiment block.</summary>
    public static ModelConfig Parse(string yaml, string source, string expId)
    {
        var blocks = ReadBlocks(yaml, source);
        if (!blocks.TryGetValue(expId, out var exp))
        {
            throw new ConfigException($"Experiment '{expId}' is not in {source}.");
        }
        return Merge(expId, source, blocks.GetValueOrDefault("Base"), exp);
    }

    /// <summary>A copy with some keys set (e.g. from the command line: --seed, --epochs).</summary>
    public ModelConfig With(IReadOnlyDictionary<string, string> overrides)
    {
        var copy = new Dictionary<string, YamlNode?>(values, StringComparer.Ordinal);
        foreach (var (k, v) in overrides)
        {
            copy[k] = new YamlScalarNode(v);
        }
        return new ModelConfig(ExpId, Source, copy, [.. Warnings]);
    }

    public bool Has(string key) => values.TryGetValue(key, out var n) && !IsNull(n);

    public string? GetString(string key) =>
        values.TryGetValue(key, out var n) && !IsNull(n) ? n is YamlScalarNode s ? s.Value : n!.ToString() : null;

    public double GetDouble(string key, double fallback)
    {
        var s = GetString(key);
        if (s is null)
        {
            return fallback;
        }
        return DatasetConfigLoader.ParseNumber(s) ?? throw new ConfigException($"{Source} [{ExpId}]: '{key}' must be a number, got '{s}'.");
    }

    public int GetInt(string key, int fallback)
    {
        var d = GetDouble(key, fallback);
        if (d != Math.Floor(d) || d is > int.MaxValue or < int.MinValue)
        {
            throw new ConfigException($"{Source} [{ExpId}]: '{key}' must be a whole number, got '{GetString(key)}'.");
        }
        return (int)d;
    }

    public int? GetNullableInt(string key) => Has(key) ? GetInt(key, 0) : null;

    public bool GetBool(string key, bool fallback)
    {
        var s = GetString(key);
        return s is null ? fallback : s.ToLowerInvariant() switch
        {
            "true" or "yes" or "on" or "1" => true,
            "false" or "no" or "off" or "0" => false,
            _ => throw new ConfigException($"{Source} [{ExpId}]: '{key}' must be true or false, got '{s}'."),
        };
    }

    /// <summary>A list of whole numbers such as <c>[400, 400, 400]</c>.</summary>
    public IReadOnlyList<int> GetIntList(string key, IReadOnlyList<int> fallback)
    {
        if (!values.TryGetValue(key, out var n) || IsNull(n))
        {
            return fallback;
        }
        if (n is not YamlSequenceNode seq)
        {
            throw new ConfigException($"{Source} [{ExpId}]: '{key}' must be a list like [400, 400, 400], got '{n}'.");
        }
        return [.. seq.Children.Select(c => c is YamlScalarNode s && int.TryParse(s.Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v)
            ? v
            : throw new ConfigException($"{Source} [{ExpId}]: '{key}' must hold whole numbers, got '{c}'."))];
    }

    /// <summary>A list of strings, or a single string as a one-element list.</summary>
    public IReadOnlyList<string> GetStringList(string key, IReadOnlyList<string> fallback)
    {
        if (!values.TryGetValue(key, out var n) || IsNull(n))
        {
            return fallback;
        }
        return n switch
        {
            YamlSequenceNode seq => [.. seq.Children.Select(c => c is YamlScalarNode s ? s.Value ?? "" : c.ToString())],
            YamlScalarNode s => [s.Value ?? ""],
            _ => throw new ConfigException($"{Source} [{ExpId}]: '{key}' must be a list of names, got '{n}'."),
        };
    }

    /// <summary>
    /// FuxiCTR's monitor: a metric name (<c>AUC</c>) or weights (<c>{AUC: 1, logloss: -1}</c>, also as a quoted
    /// Python dict). The monitored value is the weighted sum.
    /// </summary>
    public IReadOnlyDictionary<string, double> GetMonitor()
    {
        if (!values.TryGetValue("monitor", out var n) || IsNull(n))
        {
            return new Dictionary<string, double> { ["AUC"] = 1 };
        }
        if (n is YamlScalarNode s && s.Value is { } text && text.TrimStart().StartsWith('{'))
        {
            n = ParseNode(text.Replace('\'', '"'), $"{Source} [{ExpId}] monitor");
        }
        return n switch
        {
            YamlScalarNode single => new Dictionary<string, double> { [single.Value ?? "AUC"] = 1 },
            YamlMappingNode map => map.Children.ToDictionary(
                kv => (kv.Key as YamlScalarNode)?.Value ?? throw new ConfigException($"{Source} [{ExpId}]: monitor metric names must be plain names, got '{kv.Key}'."),
                kv => DatasetConfigLoader.ParseNumber((kv.Value as YamlScalarNode)?.Value ?? "")
                      ?? throw new ConfigException($"{Source} [{ExpId}]: monitor weight of '{kv.Key}' must be a number.")),
            _ => throw new ConfigException($"{Source} [{ExpId}]: monitor must be a metric name or {{metric: weight}}, got '{n}'."),
        };
    }

    /// <summary>
    /// An L2 regulariser strength: a number (FuxiCTR: l2 with that lambda), <c>l2(x)</c>, or 0/null for none.
    /// L1 forms are rejected with a clear message (not supported yet).
    /// </summary>
    public double GetL2(string key)
    {
        var s = GetString(key)?.Trim();
        if (string.IsNullOrEmpty(s))
        {
            return 0;
        }
        if (DatasetConfigLoader.ParseNumber(s) is { } d)
        {
            return d;
        }
        if (s.StartsWith("l2(", StringComparison.OrdinalIgnoreCase) && s.EndsWith(')') &&
            DatasetConfigLoader.ParseNumber(s[3..^1]) is { } l2)
        {
            return l2;
        }
        throw new ConfigException($"{Source} [{ExpId}]: '{key}' must be a number or l2(x); got '{s}' (l1 regularisers are not supported).");
    }

    /// <summary>The settings as a plain YAML document (written into every run directory).</summary>
    public string ToYaml()
    {
        var map = new YamlMappingNode();
        foreach (var (k, v) in values.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            map.Add(k, v ?? new YamlScalarNode("null"));
        }
        var root = new YamlMappingNode { { ExpId, map } };
        using var w = new StringWriter(CultureInfo.InvariantCulture);
        new YamlStream(new YamlDocument(root)).Save(w, assignAnchors: false);
        return w.ToString().TrimEnd('.', '\n', '\r') + "\n";
    }

    private static bool IsNull(YamlNode? n) =>
        n is null || (n is YamlScalarNode s && (s.Value is null or "null" or "~" or "None" or "" && s.Style == YamlDotNet.Core.ScalarStyle.Plain));

    private static ModelConfig Merge(string expId, string source, YamlMappingNode? baseBlock, YamlMappingNode exp)
    {
        var warnings = new List<string>();
        var merged = new Dictionary<string, YamlNode?>(StringComparer.Ordinal);
        foreach (var block in new[] { baseBlock, exp })
        {
            if (block is null)
            {
                continue;
            }
            foreach (var (k, v) in block.Children)
            {
                var key = (k as YamlScalarNode)?.Value ?? throw new ConfigException($"{source}:{k.Start.Line}: a setting name must be a plain name, got '{k}'.");
                if (LegacyKeys.TryGetValue(key, out var current))
                {
                    warnings.Add($"{source} [{expId}]: '{key}' is a legacy name; read as '{current}'.");
                    key = current;
                }
                else if (!KnownKeys.Contains(key))
                {
                    warnings.Add($"{source} [{expId}]: unknown key '{key}' is ignored.");
                }
                merged[key] = v;
            }
        }
        return new ModelConfig(expId, source, merged, warnings);
    }

    private static Dictionary<string, YamlMappingNode> ReadBlocks(string yaml, string source)
    {
        var root = ParseNode(yaml, source) as YamlMappingNode
            ?? throw new ConfigException($"{source}: expected experiments as a mapping (Base: ..., <expid>: ...).");
        var blocks = new Dictionary<string, YamlMappingNode>(StringComparer.Ordinal);
        foreach (var (k, v) in root.Children)
        {
            var name = (k as YamlScalarNode)?.Value
                ?? throw new ConfigException($"{source}:{k.Start.Line}: an experiment name must be a plain name, got '{k}'.");
            blocks[name] = v as YamlMappingNode
                ?? (IsNull(v) ? new YamlMappingNode() : null)
                ?? throw new ConfigException($"{source}:{k.Start.Line}: experiment '{name}' must be a mapping of settings.");
        }
        return blocks;
    }

    private static YamlNode? ParseNode(string yaml, string source)
    {
        try
        {
            var stream = new YamlStream();
            stream.Load(new StringReader(yaml));
            return stream.Documents.Count == 0 ? null : stream.Documents[0].RootNode;
        }
        catch (YamlDotNet.Core.YamlException e)
        {
            throw new ConfigException($"{source}:{e.Start.Line}:{e.Start.Column}: invalid YAML: {e.InnerException?.Message ?? e.Message}");
        }
        catch (InvalidOperationException e)
        {
            // YamlDotNet's scanner throws this on some malformed plain scalars instead of a YamlException.
            throw new ConfigException($"{source}: invalid YAML: a value could not be read ({e.Message})");
        }
    }
}
