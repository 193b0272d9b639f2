using System.Globalization;
using FsdNet.Data;
using FsdNet.Metrics;
using YamlDotNet.RepresentationModel;

namespace FsdNet.Training;

/// <summary>One trial of a tuning run: a setting of the tuned keys, its mean validation monitor and test metrics over its seeds.</summary>
internal sealed record TunerTrial(string Row, IReadOnlyDictionary<string, string> Setting, int Seeds, double ValidMonitor, double TestAuc, double TestLogloss);

/// <summary>
/// FuxiCTR's tuner (<c>fuxictr.autotuner</c>) over FsdNet's grid runner: a tuner file's <c>tuner_space</c> maps keys of
/// the base experiment to values; every list is swept and the trials are all combinations (a scalar is fixed, a
/// <c>seed</c> list gives every trial those seeds). Trials are ranked by the validation monitor only (the mean over
/// seeds of the best epoch's monitor); test metrics are reported for the chosen one after the choice.
/// </summary>
internal static class Tuner
{
    private static readonly string[] Known = ["base_config", "base_expid", "dataset_id", "tuner_space", "output"];

    /// <summary>
    /// The grid of a tuner file. <paramref name="configDir"/> and <paramref name="expId"/> (the command's --config and
    /// --expid) stand for the file's base_config and base_expid; given in both places they must agree.
    /// </summary>
    public static ExperimentGrid Load(string spacePath, string? configDir, string? expId, string? output = null, string? record = null)
    {
        if (!File.Exists(spacePath))
        {
            throw new ConfigException($"tuner file {spacePath} does not exist.");
        }
        YamlNode? node;
        try
        {
            node = YamlLoader.Load(File.ReadAllText(spacePath), spacePath, new List<string>());
        }
        catch (YamlDotNet.Core.YamlException e)
        {
            throw new ConfigException($"{spacePath}:{e.Start.Line}:{e.Start.Column}: invalid YAML: {e.InnerException?.Message ?? e.Message}");
        }
        if (node is not YamlMappingNode root)
        {
            throw new ConfigException($"{spacePath}: a tuner file is a mapping with tuner_space (and base_config, base_expid).");
        }
        var keys = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
        foreach (var (k, v) in root.Children)
        {
            var name = (k as YamlScalarNode)?.Value ?? "";
            if (!Known.Contains(name))
            {
                throw new ConfigException($"{spacePath}:{k.Start.Line}: unknown tuner key '{name}'; known: {string.Join(", ", Known)}.");
            }
            keys[name] = v;
        }
        string? Scalar(string key) => keys.TryGetValue(key, out var n) ? (n as YamlScalarNode)?.Value : null;
        var dir = Path.GetDirectoryName(Path.GetFullPath(spacePath))!;
        var fileConfig = Scalar("base_config") is { } bc ? Path.GetFullPath(Path.Combine(dir, bc)) : null;
        var config = configDir is not null ? Path.GetFullPath(configDir) : fileConfig ?? dir;
        if (configDir is not null && fileConfig is not null && Path.GetFullPath(configDir).TrimEnd('/') != fileConfig.TrimEnd('/'))
        {
            throw new ConfigException($"{spacePath}: base_config {fileConfig} differs from --config {Path.GetFullPath(configDir)}.");
        }
        var exp = expId ?? Scalar("base_expid") ?? throw new ConfigException($"{spacePath}: give the experiment to tune (base_expid, or --expid).");
        if (expId is not null && Scalar("base_expid") is { } be && be != expId)
        {
            throw new ConfigException($"{spacePath}: base_expid '{be}' differs from --expid '{expId}'.");
        }
        var baseCfg = ModelConfig.Load(config, exp);
        if (Scalar("dataset_id") is { } ds && baseCfg.DatasetId is { } own && ds != own)
        {
            throw new ConfigException($"{spacePath}: dataset_id '{ds}' differs from experiment {exp}'s '{own}' (FsdNet tunes on the experiment's own dataset).");
        }
        if (!keys.TryGetValue("tuner_space", out var spaceNode) || spaceNode is not YamlMappingNode space)
        {
            throw new ConfigException($"{spacePath}: 'tuner_space' must map keys of experiment {exp} to values or lists of values.");
        }
        var sweep = new List<KeyValuePair<string, IReadOnlyList<string>>>();
        var fixedValues = new List<KeyValuePair<string, string>>();
        IReadOnlyList<int>? seeds = null;
        var known = baseCfg.Keys.ToHashSet(StringComparer.Ordinal);
        foreach (var (k, v) in space.Children)
        {
            var key = ((YamlScalarNode)k).Value!;
            IReadOnlyList<string> values = v switch
            {
                YamlSequenceNode seq => [.. seq.Children.Select(c => (c as YamlScalarNode)?.Value ?? throw new ConfigException($"{spacePath}:{c.Start.Line}: tuner_space.{key} must list plain values."))],
                YamlScalarNode s => [s.Value ?? ""],
                _ => throw new ConfigException($"{spacePath}:{k.Start.Line}: tuner_space.{key} must be a value or a list of values."),
            };
            if (values.Count == 0 || values.Distinct().Count() != values.Count)
            {
                throw new ConfigException($"{spacePath}:{k.Start.Line}: tuner_space.{key} must list distinct values.");
            }
            // As FuxiCTR: a tuned key must be a key of the base experiment (after Base), so a misspelt one is caught.
            if (!known.Contains(key) && key != "seed")
            {
                throw new ConfigException($"{spacePath}:{k.Start.Line}: tuner_space.{key} is not a key of experiment {exp} ({baseCfg.Source}); set it there first (FuxiCTR's tuner refuses it too).");
            }
            if (key == "seed")
            {
                seeds = [.. values.Select(x => int.TryParse(x, NumberStyles.Integer, CultureInfo.InvariantCulture, out var sd) ? sd
                    : throw new ConfigException($"{spacePath}:{k.Start.Line}: seed '{x}' is not an integer."))];
            }
            else if (values.Count == 1)
            {
                fixedValues.Add(new(key, values[0]));
            }
            else
            {
                sweep.Add(new(key, values));
            }
        }
        seeds ??= [(int)baseCfg.GetDouble("seed", 2019)];
        return new ExperimentGrid
        {
            Name = $"tune_{exp}",
            Source = spacePath,
            ConfigDir = config,
            Experiments = [exp],
            Seeds = seeds,
            Sweep = sweep,
            Fixed = fixedValues,
            Output = output is not null ? Path.GetFullPath(output)
                : Scalar("output") is { } o ? Path.GetFullPath(Path.Combine(dir, o))
                : Path.GetFullPath(Path.Combine("runs", "tune", ExperimentGrid.SafeName(exp))),
            Record = record is null ? null : Path.GetFullPath(record),
        };
    }

    /// <summary>Every trial with all its seeds finished, best validation monitor first (the monitor is maximised, as FuxiCTR's monitor_mode max).</summary>
    public static IReadOnlyList<TunerTrial> Rank(ExperimentGrid grid, IReadOnlyList<CellResult> cells, bool maximize = true)
    {
        var trials = new List<TunerTrial>();
        foreach (var group in cells.GroupBy(c => c.Row, StringComparer.Ordinal))
        {
            var cs = group.ToList();
            if (cs.Count < grid.Seeds.Count)
            {
                continue;   // a trial is ranked once every seed has finished
            }
            trials.Add(new TunerTrial(group.Key, cs[0].Setting, cs.Count, Statistics.Mean([.. cs.Select(c => c.ValidMonitor)]),
                Statistics.Mean([.. cs.Select(c => c.Test.GetValueOrDefault("AUC", double.NaN))]),
                Statistics.Mean([.. cs.Select(c => c.Test.GetValueOrDefault("logloss", double.NaN))])));
        }
        return maximize ? [.. trials.OrderByDescending(t => t.ValidMonitor)] : [.. trials.OrderBy(t => t.ValidMonitor)];
    }

    /// <summary>
    /// Writes the chosen trial as a runnable config folder: model_config.yaml with experiment <c>&lt;expid&gt;_tuned</c>
    /// (the base experiment's settings with the trial's values) beside a copy of the base dataset_config.yaml.
    /// </summary>
    public static string WriteBest(ExperimentGrid grid, TunerTrial best, string expId)
    {
        var dir = Path.Combine(grid.Output, "best");
        Directory.CreateDirectory(dir);
        var baseCfg = ModelConfig.Load(grid.ConfigDir!, expId);
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var kv in grid.Fixed)
        {
            values[kv.Key] = kv.Value;
        }
        foreach (var kv in best.Setting)
        {
            values[kv.Key] = kv.Value;
        }
        if (grid.Seeds.Count == 1)
        {
            values["seed"] = grid.Seeds[0].ToString(CultureInfo.InvariantCulture);   // so the config reruns the trial exactly
        }
        var tuned = baseCfg.With(values, $"{grid.Source} (best trial by validation)");
        var yaml = tuned.ToYaml();
        var firstLine = yaml.IndexOf('\n', StringComparison.Ordinal);
        var name = expId + "_tuned";
        yaml = $"# Chosen by fsdnet tune on the validation monitor only ({grid.Source}): {best.Row}\n{name}:{yaml[(yaml.IndexOf(':', StringComparison.Ordinal) + 1)..firstLine]}{yaml[firstLine..]}";
        File.WriteAllText(Path.Combine(dir, "model_config.yaml"), yaml);
        WriteDataset(grid.ConfigDir!, baseCfg.DatasetId ?? throw new ConfigException($"{baseCfg.Source} [{expId}]: 'dataset_id' is missing."), Path.Combine(dir, "dataset_config.yaml"));
        return dir;
    }

    /// <summary>The experiment's dataset block, with its data paths made absolute so that it works from the new folder.</summary>
    private static void WriteDataset(string configDir, string datasetId, string target)
    {
        var ds = DatasetConfigLoader.LoadFromDir(configDir, datasetId);
        var block = new YamlMappingNode();
        var source = Path.Combine(configDir, "dataset_config.yaml");
        if (File.Exists(source) && YamlLoader.Load(File.ReadAllText(source), source, new List<string>()) is YamlMappingNode all
            && all.Children.TryGetValue(new YamlScalarNode(datasetId), out var node) && node is YamlMappingNode original)
        {
            foreach (var (k, v) in original.Children)
            {
                block.Add(k, v);
            }
        }
        foreach (var key in new[] { "train_data", "valid_data", "test_data", "infer_data" })
        {
            if (block.Children.TryGetValue(new YamlScalarNode(key), out var v) && v is YamlScalarNode { Value: { Length: > 0 } path })
            {
                block.Children[new YamlScalarNode(key)] = new YamlScalarNode(ds.ResolvePath(path) ?? path);
            }
        }
        if (ds.DataRoot is { } root && ds.Candidates(root).FirstOrDefault(Directory.Exists) is { } absolute)
        {
            block.Children[new YamlScalarNode("data_root")] = new YamlScalarNode(absolute);
        }
        using var w = new StringWriter(CultureInfo.InvariantCulture);
        new YamlStream(new YamlDocument(new YamlMappingNode { { datasetId, block } })).Save(w, assignAnchors: false);
        File.WriteAllText(target, $"# {datasetId} of {source}, data paths made absolute by fsdnet tune\n" + w);
    }
}
