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
/// <para>
/// Every getter (and <see cref="Has"/>) records that its key was read; after the data, model and trainer are built,
/// <see cref="UnreadKeys"/> lists the keys nothing looked at (misspelt or meaningless keys). Each key remembers where
/// it came from (file and line, or a command-line option) so errors can say which value is wrong and where it is.
/// </para>
/// </summary>
public sealed class ModelConfig
{
    /// <summary>FuxiCTR 1.x names that are plain renames of current keys.</summary>
    private static readonly Dictionary<string, string> Renamed = new(StringComparer.Ordinal)
    {
        ["patience"] = "early_stop_patience",
        ["workers"] = "num_workers",
        ["debug"] = "debug_mode",
    };

    private readonly Dictionary<string, Entry> values;
    private readonly Tracker tracker;

    private ModelConfig(string expId, string source, Dictionary<string, Entry> values, List<string> warnings, Tracker tracker)
    {
        ExpId = expId;
        Source = source;
        this.values = values;
        Warnings = warnings;
        this.tracker = tracker;
    }

    public string ExpId { get; }

    /// <summary>Where the settings came from (file path or preset name), for error messages.</summary>
    public string Source { get; }

    /// <summary>Warnings from loading (legacy names, repeated keys).</summary>
    public IReadOnlyList<string> Warnings { get; }

    public IEnumerable<string> Keys => values.Keys;

    /// <summary>Keys acknowledged as having no effect in FsdNet (<see cref="Acknowledge"/>), with the reason.</summary>
    public IReadOnlyDictionary<string, string> Acknowledged => tracker.Acknowledged;

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
        var warnings = new List<string>();
        var blocks = new Dictionary<string, (YamlMappingNode Node, string File)>(StringComparer.Ordinal);
        foreach (var f in files)
        {
            foreach (var (name, node) in ReadBlocks(File.ReadAllText(f), f, warnings))
            {
                blocks[name] = (node, f);
            }
        }
        if (!blocks.TryGetValue(expId, out var exp))
        {
            throw new ConfigException(
                $"Experiment '{expId}' is not in {string.Join(", ", files)}; it has: {string.Join(", ", blocks.Keys.Where(k => k != "Base"))}.");
        }
        return Merge(expId, exp.File, blocks.TryGetValue("Base", out var b) ? b : null, (exp.Node, exp.File), warnings);
    }

    /// <summary>Parses YAML text holding a <c>Base</c> block (optional) and the experiment block.</summary>
    public static ModelConfig Parse(string yaml, string source, string expId)
    {
        var warnings = new List<string>();
        var blocks = ReadBlocks(yaml, source, warnings);
        if (!blocks.TryGetValue(expId, out var exp))
        {
            throw new ConfigException($"Experiment '{expId}' is not in {source}.");
        }
        return Merge(expId, source, blocks.TryGetValue("Base", out var b) ? (b, source) : null, (exp, source), warnings);
    }

    /// <summary>
    /// A copy with some keys set (e.g. from the command line: --seed, --epochs, --set). <paramref name="origin"/> says
    /// where the values came from ("--set net_dropout=0.5"); errors and warnings about those keys name it. Values
    /// written as <c>[..]</c> or <c>{..}</c> are read as YAML lists and mappings. The copy shares the record of which
    /// keys were read.
    /// </summary>
    public ModelConfig With(IReadOnlyDictionary<string, string> overrides, string? origin = null)
    {
        var copy = new Dictionary<string, Entry>(values, StringComparer.Ordinal);
        foreach (var (k, v) in overrides)
        {
            YamlNode node = new YamlScalarNode(v);
            var t = v.TrimStart();
            if (t.StartsWith('[') || t.StartsWith('{'))
            {
                node = ParseNode(v, origin ?? $"override of '{k}'", []) ?? node;
            }
            copy[k] = new Entry(node, origin ?? $"override of '{k}'", 0);
        }
        return new ModelConfig(ExpId, Source, copy, [.. Warnings], tracker);
    }

    /// <summary>The raw YAML value of a key (lists and mappings such as feature_specs), or null when absent.</summary>
    internal YamlNode? GetNode(string key) => TryGet(key, out var n) ? n : null;

    /// <summary>Where a key's value came from: <c>file:line [expid]</c>, or the option that set it.</summary>
    public string Origin(string key) =>
        values.TryGetValue(key, out var e)
            ? e.Line > 0 ? $"{e.Origin}:{e.Line} [{ExpId}]" : e.Origin
            : $"{Source} [{ExpId}]";

    /// <summary>Keys present in the config that no getter has read (in file order).</summary>
    internal IReadOnlyList<string> UnreadKeys() => [.. values.Keys.Where(k => !tracker.Read.Contains(k))];

    /// <summary>
    /// Marks a FuxiCTR key that has no meaning in FsdNet as read, with the one-line reason (listed for the user).
    /// Returns whether the key is present.
    /// </summary>
    internal bool Acknowledge(string key, string reason)
    {
        tracker.Read.Add(key);
        if (!values.ContainsKey(key))
        {
            return false;
        }
        tracker.Acknowledged[key] = reason;
        return true;
    }

    public bool Has(string key) => TryGet(key, out _);

    internal string? GetString(string key) =>
        TryGet(key, out var n) ? n is YamlScalarNode s ? s.Value : n.ToString() : null;

    /// <summary>A number; with <paramref name="min"/> (and <paramref name="minExclusive"/>) a range check naming the key.</summary>
    internal double GetDouble(string key, double fallback, double? min = null, bool minExclusive = false, double? max = null)
    {
        var s = GetString(key);
        if (s is null)
        {
            return fallback;
        }
        var d = DatasetConfigLoader.ParseNumber(s) ?? throw new ConfigException($"{Origin(key)}: '{key}' must be a number, got '{s}'.");
        if (min is { } lo && (minExclusive ? d <= lo : d < lo))
        {
            throw new ConfigException($"{Origin(key)}: '{key}' must be {(minExclusive ? ">" : ">=")} {Num(lo)}, got {s}.");
        }
        if (max is { } hi && d > hi)
        {
            throw new ConfigException($"{Origin(key)}: '{key}' must be <= {Num(hi)}, got {s}.");
        }
        return d;
    }

    /// <summary>A whole number; with <paramref name="min"/>/<paramref name="max"/> a range check naming the key.</summary>
    internal int GetInt(string key, int fallback, int? min = null, int? max = null)
    {
        var d = GetDouble(key, fallback);
        if (d != Math.Floor(d) || d is > int.MaxValue or < int.MinValue)
        {
            throw new ConfigException($"{Origin(key)}: '{key}' must be a whole number, got '{GetString(key)}'.");
        }
        var v = (int)d;
        if (Has(key) && min is { } lo && v < lo)
        {
            throw new ConfigException($"{Origin(key)}: '{key}' must be at least {lo}, got {v}.");
        }
        if (Has(key) && max is { } hi && v > hi)
        {
            throw new ConfigException($"{Origin(key)}: '{key}' must be at most {hi}, got {v}.");
        }
        return v;
    }

    internal int? GetNullableInt(string key, int? min = null) => Has(key) ? GetInt(key, 0, min) : null;

    internal bool GetBool(string key, bool fallback)
    {
        var s = GetString(key);
        return s is null ? fallback : ParseBool(s) ?? throw new ConfigException($"{Origin(key)}: '{key}' must be true or false, got '{s}'.");
    }

    /// <summary>A list of whole numbers such as <c>[400, 400, 400]</c>.</summary>
    internal IReadOnlyList<int> GetIntList(string key, IReadOnlyList<int> fallback)
    {
        if (!TryGet(key, out var n))
        {
            return fallback;
        }
        if (n is not YamlSequenceNode seq)
        {
            throw new ConfigException($"{Origin(key)}: '{key}' must be a list like [400, 400, 400], got '{n}'.");
        }
        return [.. seq.Children.Select(c => c is YamlScalarNode s && int.TryParse(s.Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v)
            ? v
            : throw new ConfigException($"{Origin(key)}: '{key}' must hold whole numbers, got '{c}'."))];
    }

    /// <summary>A list of strings, or a single string as a one-element list.</summary>
    internal IReadOnlyList<string> GetStringList(string key, IReadOnlyList<string> fallback)
    {
        if (!TryGet(key, out var n))
        {
            return fallback;
        }
        return n switch
        {
            YamlSequenceNode seq => [.. seq.Children.Select(c => c is YamlScalarNode s ? s.Value ?? "" : c.ToString())],
            YamlScalarNode s => [s.Value ?? ""],
            _ => throw new ConfigException($"{Origin(key)}: '{key}' must be a list of names, got '{n}'."),
        };
    }

    /// <summary>
    /// A mapping of names to scalars or lists of scalars (e.g. <c>optimizer_params: {momentum: 0.9}</c>), each value as
    /// its list of texts (a scalar is a one-element list). Empty when the key is absent or null.
    /// </summary>
    internal IReadOnlyDictionary<string, IReadOnlyList<string>> GetMapping(string key)
    {
        if (!TryGet(key, out var n))
        {
            return new Dictionary<string, IReadOnlyList<string>>();
        }
        if (n is YamlScalarNode s && s.Value is { } text && text.TrimStart().StartsWith('{'))
        {
            n = ParseNode(text.Replace('\'', '"'), $"{Origin(key)} {key}", []) ?? n;
        }
        if (n is not YamlMappingNode map)
        {
            throw new ConfigException($"{Origin(key)}: '{key}' must be a mapping like {{name: value}}, got '{n}'.");
        }
        var result = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        foreach (var (k, v) in map.Children)
        {
            var name = (k as YamlScalarNode)?.Value ?? k.ToString();
            result[name] = v switch
            {
                YamlScalarNode sv => [sv.Value ?? ""],
                YamlSequenceNode seq when seq.Children.All(c => c is YamlScalarNode) => [.. seq.Children.Select(c => ((YamlScalarNode)c).Value ?? "")],
                _ => throw new ConfigException($"{Origin(key)}: '{key}.{name}' must be a value or a list of values, got '{v}'."),
            };
        }
        return result;
    }

    /// <summary>
    /// FuxiCTR's monitor: a metric name (<c>AUC</c>) or weights (<c>{AUC: 1, logloss: -1}</c>, also as a quoted
    /// Python dict). The monitored value is the weighted sum.
    /// </summary>
    internal IReadOnlyDictionary<string, double> GetMonitor()
    {
        if (!TryGet("monitor", out var n))
        {
            return new Dictionary<string, double> { ["AUC"] = 1 };
        }
        if (n is YamlScalarNode s && s.Value is { } text && text.TrimStart().StartsWith('{'))
        {
            n = ParseNode(text.Replace('\'', '"'), $"{Origin("monitor")} monitor", []) ?? n;
        }
        return n switch
        {
            YamlScalarNode single => new Dictionary<string, double> { [single.Value ?? "AUC"] = 1 },
            YamlMappingNode map => map.Children.ToDictionary(
                kv => (kv.Key as YamlScalarNode)?.Value ?? throw new ConfigException($"{Origin("monitor")}: monitor metric names must be plain names, got '{kv.Key}'."),
                kv => DatasetConfigLoader.ParseNumber((kv.Value as YamlScalarNode)?.Value ?? "")
                      ?? throw new ConfigException($"{Origin("monitor")}: monitor weight of '{kv.Key}' must be a number.")),
            _ => throw new ConfigException($"{Origin("monitor")}: monitor must be a metric name or {{metric: weight}}, got '{n}'."),
        };
    }

    /// <summary>
    /// A regulariser as FuxiCTR's get_regularizer: a number (l2 with that lambda), <c>l2(x)</c>, <c>l1(x)</c>,
    /// <c>l1_l2(x, y)</c>, or 0/null for none. The penalty is L1 · ‖W‖₁ + (L2 / 2) · ‖W‖². Negative strengths are refused.
    /// </summary>
    internal (double L1, double L2) GetRegularizer(string key)
    {
        if (TryGet(key, out var n) && n is not YamlScalarNode)
        {
            throw new ConfigException($"{Origin(key)}: '{key}' must be a number, l2(x), l1(x) or l1_l2(x, y); got '{n}'.");
        }
        var s = GetString(key)?.Trim().Replace(" ", "", StringComparison.Ordinal);
        if (string.IsNullOrEmpty(s))
        {
            return (0, 0);
        }
        (double L1, double L2)? r = null;
        if (DatasetConfigLoader.ParseNumber(s) is { } d)
        {
            r = (0, d);
        }
        else if (s.EndsWith(')') && s.IndexOf('(', StringComparison.Ordinal) is var open and > 0)
        {
            var args = s[(open + 1)..^1].Split(',');
            var nums = args.Select(DatasetConfigLoader.ParseNumber).ToArray();
            r = (s[..open].ToLowerInvariant(), nums) switch
            {
                ("l2", [{ } x]) => (0, x),
                ("l1", [{ } x]) => (x, 0),
                ("l1_l2", [{ } x, { } y]) => (x, y),
                _ => null,
            };
        }
        if (r is not { } reg)
        {
            throw new ConfigException($"{Origin(key)}: '{key}' must be a number, l2(x), l1(x) or l1_l2(x, y); got '{s}'.");
        }
        if (reg.L1 < 0 || reg.L2 < 0 || !double.IsFinite(reg.L1) || !double.IsFinite(reg.L2))
        {
            throw new ConfigException($"{Origin(key)}: '{key}' must not be negative, got '{s}'.");
        }
        return reg;
    }

    /// <summary>
    /// The keys whose values differ between two configs (a run's saved config and a new one), as
    /// <c>key: old -> new</c> lines; does not count as reading them.
    /// </summary>
    internal static IReadOnlyList<string> Differences(ModelConfig before, ModelConfig after, IReadOnlySet<string>? ignore = null)
    {
        var result = new List<string>();
        foreach (var key in before.values.Keys.Union(after.values.Keys).Order(StringComparer.Ordinal))
        {
            if (ignore?.Contains(key) == true)
            {
                continue;
            }
            var a = before.values.TryGetValue(key, out var ea) ? Canonical(ea.Node) : null;
            var b = after.values.TryGetValue(key, out var eb) ? Canonical(eb.Node) : null;
            if (a != b)
            {
                result.Add($"{key}: {a ?? "(absent)"} -> {b ?? "(absent)"}");
            }
        }
        return result;
    }

    /// <summary>The settings as a plain YAML document (written into every run directory).</summary>
    public string ToYaml()
    {
        var map = new YamlMappingNode();
        foreach (var (k, v) in values.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            map.Add(k, v.Node ?? new YamlScalarNode("null"));
        }
        var root = new YamlMappingNode { { ExpId, map } };
        using var w = new StringWriter(CultureInfo.InvariantCulture);
        new YamlStream(new YamlDocument(root)).Save(w, assignAnchors: false);
        return w.ToString().TrimEnd('.', '\n', '\r') + "\n";
    }

    internal static bool? ParseBool(string s) => s.ToLowerInvariant() switch
    {
        "true" or "yes" or "on" or "1" => true,
        "false" or "no" or "off" or "0" => false,
        _ => null,
    };

    private static string Num(double d) => d.ToString("G", CultureInfo.InvariantCulture);

    private bool TryGet(string key, out YamlNode node)
    {
        tracker.Read.Add(key);
        if (values.TryGetValue(key, out var e) && !IsNull(e.Node))
        {
            node = e.Node!;
            return true;
        }
        node = null!;
        return false;
    }

    private static string? Canonical(YamlNode? n)
    {
        if (IsNull(n))
        {
            return "null";
        }
        if (n is YamlScalarNode s)
        {
            var v = s.Value ?? "";
            return DatasetConfigLoader.ParseNumber(v) is { } d ? d.ToString("R", CultureInfo.InvariantCulture) : ParseBool(v)?.ToString() ?? v;
        }
        return n switch
        {
            YamlSequenceNode seq => "[" + string.Join(", ", seq.Children.Select(Canonical)) + "]",
            YamlMappingNode map => "{" + string.Join(", ", map.Children.Select(kv => $"{Canonical(kv.Key)}: {Canonical(kv.Value)}")) + "}",
            _ => n!.ToString(),
        };
    }

    private static bool IsNull(YamlNode? n) =>
        n is null || (n is YamlScalarNode s && (s.Value is null or "null" or "~" or "None" or "" && s.Style == YamlDotNet.Core.ScalarStyle.Plain));

    private static ModelConfig Merge(
        string expId, string source, (YamlMappingNode Node, string File)? baseBlock, (YamlMappingNode Node, string File) exp, List<string> warnings)
    {
        var merged = new Dictionary<string, Entry>(StringComparer.Ordinal);
        foreach (var block in new[] { baseBlock, exp })
        {
            if (block is not { } b)
            {
                continue;
            }
            foreach (var (k, v) in b.Node.Children)
            {
                var key = (k as YamlScalarNode)?.Value ?? throw new ConfigException($"{source}:{k.Start.Line}: a setting name must be a plain name, got '{k}'.");
                if (Renamed.TryGetValue(key, out var current))
                {
                    warnings.Add($"{b.File}:{k.Start.Line} [{expId}]: '{key}' is a legacy name; read as '{current}'.");
                    key = current;
                }
                merged[key] = new Entry(v, b.File, k.Start.Line);
            }
        }
        return new ModelConfig(expId, source, merged, warnings, new Tracker());
    }

    private static Dictionary<string, YamlMappingNode> ReadBlocks(string yaml, string source, List<string> warnings)
    {
        var root = ParseNode(yaml, source, warnings) as YamlMappingNode
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

    private static YamlNode? ParseNode(string yaml, string source, List<string> warnings)
    {
        try
        {
            return YamlLoader.Load(yaml, source, warnings);
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

    /// <summary>A value with where it came from: a file and line, or (line 0) an option such as <c>--set k=v</c>.</summary>
    private sealed record Entry(YamlNode? Node, string Origin, long Line);

    /// <summary>Which keys were read, shared by a config and the copies made with <see cref="With"/>.</summary>
    private sealed class Tracker
    {
        public HashSet<string> Read { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, string> Acknowledged { get; } = new(StringComparer.Ordinal);
    }
}
