using System.Globalization;
using System.Text;
using FsdNet.Data;
using YamlDotNet.RepresentationModel;

namespace FsdNet.Training;

/// <summary>
/// One cell of a grid: a row (experiment and setting) and a seed, run in <see cref="RunDir"/>. <see cref="RecordDir"/>,
/// when the grid has a <c>record</c> folder, is where the cell's small result files are kept for good (see
/// <see cref="ExperimentRunner.Record"/>).
/// </summary>
internal sealed record GridCell(string Row, string ExpId, IReadOnlyList<KeyValuePair<string, string>> Setting, int Seed, string RunDir, string? RecordDir = null);

/// <summary>
/// An experiment grid (<c>fsdnet experiment --grid grid.yaml</c>): experiments x settings of the swept keys x seeds
/// on one config folder or preset. Each (experiment, setting) is one row of the results table; each row runs once
/// per seed. See docs/EXPERIMENTS.md for the file format.
/// </summary>
internal sealed class ExperimentGrid
{
    private static readonly string[] Known = ["grid", "config", "preset", "experiments", "seeds", "sweep", "fixed", "reference", "gains", "output", "record"];

    public required string Name { get; init; }

    public required string Source { get; init; }

    /// <summary>A config folder (absolute), or null with <see cref="Preset"/>.</summary>
    public string? ConfigDir { get; init; }

    public string? Preset { get; init; }

    /// <summary>Experiment ids in the config folder (with a preset: the preset's own experiment, named after it).</summary>
    public required IReadOnlyList<string> Experiments { get; init; }

    public required IReadOnlyList<int> Seeds { get; init; }

    /// <summary>Swept keys with their values, in file order; every combination is a setting.</summary>
    public IReadOnlyList<KeyValuePair<string, IReadOnlyList<string>>> Sweep { get; init; } = [];

    /// <summary>Values applied to every cell.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Fixed { get; init; } = [];

    /// <summary>The row that p-values compare with (null: the first row whose experiment mentions FSDNet, else the first row).</summary>
    public string? Reference { get; init; }

    /// <summary>Pairs of rows (base, treatment) whose difference is reported with its p-value.</summary>
    public IReadOnlyList<(string Base, string Treatment)> Gains { get; init; } = [];

    /// <summary>The grid's folder: cells/ with one run directory per cell, and the results files.</summary>
    public required string Output { get; init; }

    /// <summary>
    /// A folder (absolute) that keeps each finished cell's result files (cell.json, test_metrics.json, config.yaml,
    /// metrics.csv, train.log) after its run directory is gone, e.g. committed to git: a cell recorded there counts as
    /// finished, so a grid can be finished over several machines. Null: no record.
    /// </summary>
    public string? Record { get; init; }

    /// <summary>Every setting of the swept keys (one empty setting when nothing is swept), in grid order (last key fastest).</summary>
    public IReadOnlyList<IReadOnlyList<KeyValuePair<string, string>>> Settings()
    {
        IEnumerable<IReadOnlyList<KeyValuePair<string, string>>> acc = [[]];
        foreach (var (key, values) in Sweep)
        {
            acc = acc.SelectMany(prefix => values.Select(v => (IReadOnlyList<KeyValuePair<string, string>>)[.. prefix, new(key, v)]));
        }
        return [.. acc];
    }

    /// <summary>The row name of an experiment with a setting: "expid" or "expid (k=v, ...)".</summary>
    public static string RowName(string expId, IReadOnlyList<KeyValuePair<string, string>> setting) =>
        setting.Count == 0 ? expId : $"{expId} ({string.Join(", ", setting.Select(kv => $"{kv.Key}={kv.Value}"))})";

    /// <summary>All cells, row by row, each row's seeds in order.</summary>
    public IReadOnlyList<GridCell> Cells()
    {
        var cells = new List<GridCell>();
        foreach (var exp in Experiments)
        {
            foreach (var setting in Settings())
            {
                var row = RowName(exp, setting);
                var folder = SafeName(exp + string.Concat(setting.Select(kv => $"__{kv.Key}={kv.Value}")));
                foreach (var seed in Seeds)
                {
                    var seedDir = $"seed{seed.ToString(CultureInfo.InvariantCulture)}";
                    cells.Add(new GridCell(row, exp, setting, seed, Path.Combine(Output, "cells", folder, seedDir),
                        Record is null ? null : Path.Combine(Record, folder, seedDir)));
                }
            }
        }
        return cells;
    }

    /// <summary>The reference row: as given, else the first row of an experiment named like FSDNet, else the first row.</summary>
    public string ReferenceRow()
    {
        var rows = Cells().Select(c => c.Row).Distinct().ToList();
        return Reference ?? rows.FirstOrDefault(r => r.Contains("FSDNet", StringComparison.OrdinalIgnoreCase)) ?? rows[0];
    }

    /// <summary>The run of one cell: its experiment with the fixed values, the setting and the seed.</summary>
    public RunSpec SpecFor(GridCell cell, string? dataRoot, string? cacheDir, bool resume) => new()
    {
        Preset = Preset,
        ConfigDir = ConfigDir,
        ExpId = ConfigDir is null ? null : cell.ExpId,
        DataRoot = dataRoot,
        CacheDir = cacheDir,
        RunDir = cell.RunDir,
        Resume = resume,
        Overrides =
        [
            .. Fixed.Select(kv => new ConfigOverride(kv.Key, kv.Value, $"{Source}: fixed.{kv.Key}")),
            .. cell.Setting.Select(kv => new ConfigOverride(kv.Key, kv.Value, $"{Source}: sweep.{kv.Key}")),
            new ConfigOverride("seed", cell.Seed.ToString(CultureInfo.InvariantCulture), $"{Source}: seeds"),
        ],
    };

    /// <summary>Reads a grid file; every mistake is a <see cref="ConfigException"/> naming the file, line and key.</summary>
    public static ExperimentGrid Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new ConfigException($"grid file {path} does not exist.");
        }
        var warnings = new List<string>();
        YamlNode? rootNode;
        try
        {
            rootNode = YamlLoader.Load(File.ReadAllText(path), path, warnings);
        }
        catch (YamlDotNet.Core.YamlException e)
        {
            throw new ConfigException($"{path}:{e.Start.Line}:{e.Start.Column}: invalid YAML: {e.InnerException?.Message ?? e.Message}");
        }
        if (rootNode is not YamlMappingNode root)
        {
            throw new ConfigException($"{path}: a grid file is a mapping of keys ({string.Join(", ", Known)}).");
        }
        var keys = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
        foreach (var (k, v) in root.Children)
        {
            var keyName = (k as YamlScalarNode)?.Value ?? "";
            if (!Known.Contains(keyName))
            {
                throw new ConfigException($"{path}:{k.Start.Line}: unknown grid key '{keyName}'; known: {string.Join(", ", Known)}.");
            }
            keys[keyName] = v;
        }
        string At(string key) => keys.TryGetValue(key, out var n) ? $"{path}:{n.Start.Line}" : path;
        string? Scalar(string key) => keys.TryGetValue(key, out var n)
            ? (n as YamlScalarNode)?.Value ?? throw new ConfigException($"{At(key)}: '{key}' must be a single value.")
            : null;
        IReadOnlyList<string> List(YamlNode n, string key) => n switch
        {
            YamlSequenceNode seq => [.. seq.Children.Select(c => (c as YamlScalarNode)?.Value
                ?? throw new ConfigException($"{path}:{c.Start.Line}: '{key}' must list plain values, got '{c}'."))],
            YamlScalarNode s when s.Value is { Length: > 0 } v => [v],
            _ => throw new ConfigException($"{path}:{n.Start.Line}: '{key}' must be a list of values."),
        };

        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        var config = Scalar("config");
        var preset = Scalar("preset");
        if ((config is null) == (preset is null))
        {
            throw new ConfigException($"{path}: give exactly one of 'config' (a folder with model_config.yaml) or 'preset' ({string.Join(", ", Presets.Names)}).");
        }
        if (preset is not null && !Presets.Names.Contains(preset))
        {
            throw new ConfigException($"{At("preset")}: unknown preset '{preset}'; known: {string.Join(", ", Presets.Names)}.");
        }
        var configDir = config is null ? null : Path.GetFullPath(Path.Combine(dir, config));
        if (configDir is not null && !Directory.Exists(configDir))
        {
            throw new ConfigException($"{At("config")}: config folder {configDir} does not exist.");
        }
        IReadOnlyList<string> experiments = keys.TryGetValue("experiments", out var en) ? List(en, "experiments") : [];
        if (preset is not null)
        {
            if (experiments.Count > 0)
            {
                throw new ConfigException($"{At("experiments")}: a preset grid runs the preset's experiment; 'experiments' needs 'config'.");
            }
            experiments = [preset];
        }
        else if (experiments.Count == 0)
        {
            throw new ConfigException($"{path}: 'experiments' must list at least one experiment id of {configDir}.");
        }
        else
        {
            foreach (var e in experiments)
            {
                _ = ModelConfig.Load(configDir!, e);   // an unknown id fails here, before any cell runs
            }
        }
        if (!keys.TryGetValue("seeds", out var sn))
        {
            throw new ConfigException($"{path}: 'seeds' must list the seeds, e.g. seeds: [2023, 2024, 2025, 2026, 2027].");
        }
        var seeds = List(sn, "seeds").Select(s => int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v)
            ? v : throw new ConfigException($"{At("seeds")}: seed '{s}' is not an integer.")).ToList();
        if (seeds.Distinct().Count() != seeds.Count)
        {
            throw new ConfigException($"{At("seeds")}: a seed is listed twice.");
        }
        var sweep = new List<KeyValuePair<string, IReadOnlyList<string>>>();
        if (keys.TryGetValue("sweep", out var swn))
        {
            if (swn is not YamlMappingNode sm)
            {
                throw new ConfigException($"{At("sweep")}: 'sweep' must map config keys to lists of values, e.g. sweep: {{loss_coefficient: [0.1, 0.5]}}.");
            }
            foreach (var (k, v) in sm.Children)
            {
                var key = ((YamlScalarNode)k).Value!;
                var values = List(v, $"sweep.{key}");
                if (values.Count == 0 || values.Distinct().Count() != values.Count)
                {
                    throw new ConfigException($"{path}:{k.Start.Line}: 'sweep.{key}' must list distinct values.");
                }
                sweep.Add(new(key, values));
            }
        }
        var fixedValues = new List<KeyValuePair<string, string>>();
        if (keys.TryGetValue("fixed", out var fn))
        {
            if (fn is not YamlMappingNode fm)
            {
                throw new ConfigException($"{At("fixed")}: 'fixed' must map config keys to values.");
            }
            foreach (var (k, v) in fm.Children)
            {
                var key = ((YamlScalarNode)k).Value!;
                fixedValues.Add(new(key, (v as YamlScalarNode)?.Value ?? throw new ConfigException($"{path}:{k.Start.Line}: 'fixed.{key}' must be a single value (sweep lists go under 'sweep').")));
            }
        }
        var gains = new List<(string, string)>();
        if (keys.TryGetValue("gains", out var gn))
        {
            foreach (var pair in (gn as YamlSequenceNode)?.Children ?? throw new ConfigException($"{At("gains")}: 'gains' must list [base row, treatment row] pairs."))
            {
                var two = List(pair, "gains");
                if (two.Count != 2)
                {
                    throw new ConfigException($"{path}:{pair.Start.Line}: each entry of 'gains' is [base row, treatment row].");
                }
                gains.Add((two[0], two[1]));
            }
        }
        var name = Scalar("grid") ?? Path.GetFileNameWithoutExtension(path);
        var grid = new ExperimentGrid
        {
            Name = name,
            Source = path,
            ConfigDir = configDir,
            Preset = preset,
            Experiments = experiments,
            Seeds = seeds,
            Sweep = sweep,
            Fixed = fixedValues,
            Reference = Scalar("reference"),
            Gains = gains,
            Output = Path.GetFullPath(Scalar("output") is { } o ? Path.Combine(dir, o) : Path.Combine("runs", "grids", SafeName(name))),
            Record = Scalar("record") is { } rec ? Path.GetFullPath(Path.Combine(dir, rec)) : null,
        };
        var rows = grid.Cells().Select(c => c.Row).ToHashSet(StringComparer.Ordinal);
        if (grid.Reference is { } r && !rows.Contains(r))
        {
            throw new ConfigException($"{At("reference")}: reference '{r}' is not a row of this grid; rows: {string.Join(", ", rows)}.");
        }
        foreach (var (b, t) in gains)
        {
            foreach (var x in new[] { b, t }.Where(x => !rows.Contains(x)))
            {
                throw new ConfigException($"{At("gains")}: '{x}' is not a row of this grid; rows: {string.Join(", ", rows)}.");
            }
        }
        return grid;
    }

    /// <summary>A folder name: letters, digits and . _ = - kept, anything else as '-'.</summary>
    internal static string SafeName(string s)
    {
        var b = new StringBuilder(s.Length);
        foreach (var ch in s)
        {
            b.Append(char.IsAsciiLetterOrDigit(ch) || ch is '.' or '_' or '=' or '-' ? ch : '-');
        }
        return b.ToString();
    }
}
