using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using YamlDotNet.RepresentationModel;

namespace FsdNet.Data;

/// <summary>The role of a column, as in FuxiCTR's <c>type</c> key.</summary>
public enum FeatureType
{
    Categorical,
    Numeric,
    Sequence,
    Meta,

    /// <summary>A pre-computed vector per row (FuxiCTR's <c>type: embedding</c>, <c>pretrain_dim</c> floats).</summary>
    Embedding,
}

/// <summary>How the split files are laid out.</summary>
public enum DataFormat
{
    /// <summary>Delimited text with a header line (FuxiCTR's <c>csv</c>; separator from <c>sep</c>, default ',').</summary>
    Csv,

    /// <summary>libFM/libSVM: <c>label idx:val ...</c>, fields by position, labels 1/-1 or 1/0.</summary>
    LibFm,

    /// <summary>Raw Criteo TSV without header: label, I1..I13, C1..C26.</summary>
    CriteoTsv,

    /// <summary>Apache Parquet (Parquet.Net).</summary>
    Parquet,
}

/// <summary>One feature column (a FuxiCTR <c>feature_cols</c> entry after list names are expanded).</summary>
public sealed record ColumnSpec
{
    public required string Name { get; init; }
    public bool Active { get; init; } = true;
    public string Dtype { get; init; } = "str";
    public FeatureType Type { get; init; } = FeatureType.Categorical;

    /// <summary>Value used for a missing (empty) cell. Default: "" for str (maps to OOV), 0 for numbers.</summary>
    public string? FillNa { get; init; }

    /// <summary>A preprocess function: <c>convert_to_bucket</c> or <c>copy_from(column)</c> (read another column).</summary>
    public string? Preprocess { get; init; }

    /// <summary>Per-column override of the dataset's <c>min_categr_count</c>.</summary>
    public int? MinCategrCount { get; init; }

    public string Splitter { get; init; } = "^";

    /// <summary>Sequence length; 0 = the longest sequence seen in train.</summary>
    public int MaxLen { get; init; }

    /// <summary><c>post</c> (default, keep the first max_len tokens, pad at the end) or <c>pre</c>.</summary>
    public string Padding { get; init; } = "post";

    /// <summary><c>StandardScaler</c>, <c>MinMaxScaler</c> or null.</summary>
    public string? Normalizer { get; init; }

    /// <summary>Per-column <c>embedding_dim</c> (null: the model's embedding_dim).</summary>
    public int? EmbeddingDim { get; init; }

    /// <summary><c>share_embedding</c>: the column whose table (and vocabulary) this column uses.</summary>
    public string? ShareEmbedding { get; init; }

    /// <summary><c>pretrained_emb</c>: an npz/h5 file with <c>key</c> and <c>value</c> arrays.</summary>
    public string? PretrainedEmb { get; init; }

    /// <summary><c>freeze_emb</c> (FuxiCTR: true by default when <c>pretrained_emb</c> is given).</summary>
    public bool FreezeEmb { get; init; } = true;

    /// <summary><c>pretrain_usage</c>: init (default), sum or concat.</summary>
    public string PretrainUsage { get; init; } = "init";

    /// <summary><c>pretrain_dim</c>: width of a pretrained table or of a <c>type: embedding</c> vector.</summary>
    public int? PretrainDim { get; init; }

    /// <summary><c>feature_encoder</c> as FuxiCTR writes it (<c>layers.MaskedAveragePooling()</c>, <c>layers.MaskedSumPooling()</c>, null).</summary>
    public string? FeatureEncoder { get; init; }

    public bool IsNumericDtype => Dtype is "float" or "int" or "float32" or "float64" or "int32" or "int64";
}

/// <summary>A dataset configuration in FuxiCTR's YAML form (one entry of <c>dataset_config.yaml</c>).</summary>
public sealed class DatasetConfig
{
    public required string DatasetId { get; init; }
    public string? DataRoot { get; set; }
    public DataFormat Format { get; set; } = DataFormat.Csv;
    public char Separator { get; set; } = ',';
    public string? TrainData { get; set; }
    public string? ValidData { get; set; }
    public string? TestData { get; set; }
    public int MinCategrCount { get; set; } = 1;
    public List<ColumnSpec> FeatureCols { get; } = [];
    public string LabelName { get; set; } = "label";

    /// <summary>Whether a missing valid/test file is skipped (presets) rather than an error (configs).</summary>
    public bool OptionalSplits { get; set; }

    /// <summary>
    /// For presets whose public release needs converting first (ML-1M's raw .dat files): run by
    /// <see cref="DataPipeline.Prepare(DatasetConfig, DataOptions?)"/> before reading, with a writable fallback folder.
    /// </summary>
    public Action<DatasetConfig, string, Action<string>>? PrepareSource { get; init; }

    /// <summary>Where relative paths are resolved from (the config file's folder), besides data_root and the cwd.</summary>
    public string? BaseDir { get; set; }

    /// <summary>Keys that are not data keys (training keys, legacy names mapped to current ones) kept as given.</summary>
    public Dictionary<string, string> Extra { get; } = new(StringComparer.Ordinal);

    /// <summary>Warnings from loading (unknown keys, legacy names).</summary>
    public List<string> Warnings { get; } = [];

    /// <summary>Active feature columns in config order: the FeatureMap order.</summary>
    public IEnumerable<ColumnSpec> ActiveColumns => FeatureCols.Where(c => c.Active);

    /// <summary>Resolves a split path (train/valid/test) against BaseDir, DataRoot and the cwd; null when not configured.</summary>
    public string? ResolvePath(string? path)
    {
        if (string.IsNullOrEmpty(path))
        {
            return null;
        }
        if (Path.IsPathRooted(path))
        {
            return path;
        }
        foreach (var root in new[] { BaseDir, DataRoot, Directory.GetCurrentDirectory() })
        {
            if (root is null)
            {
                continue;
            }
            var p = Path.GetFullPath(Path.Combine(root, path));
            if (File.Exists(p) || File.Exists(p + ".gz"))
            {
                return File.Exists(p) ? p : p + ".gz";
            }
        }
        return Path.GetFullPath(Path.Combine(BaseDir ?? DataRoot ?? ".", path));
    }

    /// <summary>A hash of everything that changes the encoding (not the paths' contents).</summary>
    public string Fingerprint()
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"{DatasetId}|{Format}|{(int)Separator}|{MinCategrCount}|{LabelName}\n");
        foreach (var c in FeatureCols)
        {
            sb.Append(c.ToString()).Append('\n');
        }
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(sb.ToString())));
    }
}

/// <summary>Loads FuxiCTR-style YAML configs and the built-in presets.</summary>
public static class DatasetConfigLoader
{
    private static readonly HashSet<string> DatasetKeys = new(StringComparer.Ordinal)
    {
        "dataset_id", "data_root", "data_format", "train_data", "valid_data", "test_data", "min_categr_count",
        "feature_cols", "label_col", "sep", "rebuild_dataset", "group_id", "data_block_size", "streaming",
        "num_buckets",
    };

    private static readonly HashSet<string> ColumnKeys = new(StringComparer.Ordinal)
    {
        "name", "active", "dtype", "type", "fill_na", "preprocess", "min_categr_count", "splitter", "max_len",
        "padding", "normalizer", "source", "embedding_dim", "feature_encoder", "remap", "emb_output_dim",
    };

    /// <summary>Legacy key -> current key (FuxiCTR renamed these).</summary>
    public static IReadOnlyDictionary<string, string> LegacyKeys { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["patience"] = "early_stop_patience",
        ["every_x_epochs"] = "eval_steps",
        ["workers"] = "num_workers",
        ["na_value"] = "fill_na",
        ["debug"] = "debug_mode",
    };

    /// <summary>Names of the built-in presets.</summary>
    public static IReadOnlyList<string> Presets { get; } = ["frappe", "frappe_x1", "criteo", "ml-1m", "ml-tag"];

    /// <summary>A built-in preset (<c>frappe</c>, <c>criteo</c>) with paths under <paramref name="dataRoot"/>.</summary>
    public static DatasetConfig Preset(string name, string dataRoot)
    {
        switch (name.ToLowerInvariant())
        {
            case "frappe":
                return WithColumns(
                    NewPreset("frappe", dataRoot, DataFormat.LibFm, ' ', ("frappe.train.libfm.gz", "frappe.validation.libfm.gz", "frappe.test.libfm.gz"), 2, "label"),
                    FrappeFields, "float");
            case "frappe_x1":
                return WithColumns(NewPreset("frappe_x1", dataRoot, DataFormat.Csv, ',', ("train.csv", "valid.csv", "test.csv"), 2, "label"), FrappeFields, "float");
            case "criteo":
            {
                var cfg = NewPreset("criteo", dataRoot, DataFormat.CriteoTsv, '\t', ("train.txt", "valid.txt", "test.txt"), 10, "label");
                AddCriteoColumns(cfg);
                return cfg;
            }
            case "ml-1m":
            {
                // FSDNet's ML-1M config: group_id (meta, copy of UserID) then UserID, Gender, Age, Occupation, MovieID.
                var cfg = NewPreset("ml-1m", dataRoot, DataFormat.Csv, ',', ("train.csv", "valid.csv", "test.csv"), 2, "Label", MovieLens.EnsureSplits);
                cfg.FeatureCols.Add(new ColumnSpec { Name = "group_id", Dtype = "int", Type = FeatureType.Meta, Preprocess = "copy_from(UserID)" });
                cfg.FeatureCols.Add(new ColumnSpec { Name = "UserID", Dtype = "float", Type = FeatureType.Categorical });
                cfg.FeatureCols.Add(new ColumnSpec { Name = "Gender", Dtype = "str", Type = FeatureType.Categorical });
                return WithColumns(cfg, ["Age", "Occupation", "MovieID"], "float");
            }
            case "ml-tag":
                // MovielensLatest_x1 (BARS/FuxiCTR): user_id, item_id, tag_id, label.
                return WithColumns(NewPreset("ml-tag", dataRoot, DataFormat.Csv, ',', ("train.csv", "valid.csv", "test.csv"), 2, "label"), ["user_id", "item_id", "tag_id"], "float");
            default:
                throw new DataConfigException($"unknown dataset preset '{name}'; known presets: {string.Join(", ", Presets)} " +
                                              "(or pass a FuxiCTR dataset_config.yaml with --config and --dataset-id)");
        }
    }

    /// <summary>A preset reading <c>&lt;dataRoot&gt;/&lt;id&gt;/</c>; valid/test may be absent.</summary>
    private static DatasetConfig NewPreset(
        string id, string dataRoot, DataFormat format, char separator, (string Train, string Valid, string Test) files,
        int minCategrCount, string label, Action<DatasetConfig, string, Action<string>>? prepare = null) => new()
    {
        DatasetId = id,
        DataRoot = dataRoot,
        BaseDir = Path.Combine(dataRoot, id),
        Format = format,
        Separator = separator,
        TrainData = files.Train,
        ValidData = files.Valid,
        TestData = files.Test,
        MinCategrCount = minCategrCount,
        LabelName = label,
        OptionalSplits = true,
        PrepareSource = prepare,
    };

    private static DatasetConfig WithColumns(DatasetConfig cfg, IEnumerable<string> names, string dtype)
    {
        foreach (var f in names)
        {
            cfg.FeatureCols.Add(new ColumnSpec { Name = f, Dtype = dtype, Type = FeatureType.Categorical });
        }
        return cfg;
    }

    /// <summary>The Frappe field order in the libFM files.</summary>
    public static IReadOnlyList<string> FrappeFields { get; } =
        ["user", "item", "daytime", "weekday", "isweekend", "homework", "cost", "weather", "country", "city"];

    /// <summary>Adds I1..I13 (float, fill_na 0, convert_to_bucket, categorical) and C1..C26 (str categorical).</summary>
    public static void AddCriteoColumns(DatasetConfig cfg)
    {
        for (var i = 1; i <= 13; i++)
        {
            cfg.FeatureCols.Add(new ColumnSpec
            {
                Name = "I" + i.ToString(CultureInfo.InvariantCulture), Dtype = "float", Type = FeatureType.Categorical,
                FillNa = "0", Preprocess = "convert_to_bucket",
            });
        }
        for (var i = 1; i <= 26; i++)
        {
            cfg.FeatureCols.Add(new ColumnSpec { Name = "C" + i.ToString(CultureInfo.InvariantCulture), Dtype = "str", Type = FeatureType.Categorical });
        }
    }

    /// <summary>
    /// Loads a config: <paramref name="path"/> is a YAML file or a folder holding <c>dataset_config.yaml</c>; the file is
    /// either one dataset's config or a mapping of dataset ids to configs (FuxiCTR's layout).
    /// </summary>
    public static DatasetConfig Load(string path, string? datasetId = null)
    {
        var file = Directory.Exists(path) ? FindConfigFile(path) : path;
        if (!File.Exists(file))
        {
            throw new DataConfigException($"{file}: config file not found");
        }
        string text;
        try
        {
            text = File.ReadAllText(file);
        }
        catch (IOException e)
        {
            throw new DataConfigException($"{file}: cannot read config: {e.Message}", e);
        }
        return Parse(text, file, datasetId);
    }

    private static string FindConfigFile(string dir)
    {
        foreach (var n in new[] { "dataset_config.yaml", "dataset_config.yml" })
        {
            var p = Path.Combine(dir, n);
            if (File.Exists(p))
            {
                return p;
            }
        }
        var yamls = Directory.GetFiles(dir, "*.yaml").Concat(Directory.GetFiles(dir, "*.yml")).ToArray();
        return yamls.Length == 1 ? yamls[0] : Path.Combine(dir, "dataset_config.yaml");
    }

    /// <summary>Parses YAML text; <paramref name="source"/> names the file in errors and anchors relative paths.</summary>
    public static DatasetConfig Parse(string yaml, string source, string? datasetId = null)
    {
        try
        {
            return ParseCore(yaml, source, datasetId);
        }
        catch (Exception e) when (e is not DataConfigException and not OutOfMemoryException)
        {
            // YamlDotNet reports duplicate keys, odd node kinds, etc. with various exception types.
            throw new DataConfigException($"{source}: invalid config: {e.Message}", e);
        }
    }

    private static DatasetConfig ParseCore(string yaml, string source, string? datasetId)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlDotNet.Core.YamlException e)
        {
            throw new DataConfigException($"{source}:{e.Start.Line}: invalid YAML: {e.Message}", e);
        }
        catch (InvalidOperationException e) // YamlDotNet's scanner on some malformed plain scalars
        {
            throw new DataConfigException($"{source}: invalid YAML: a value could not be read ({e.Message})", e);
        }
        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            throw new DataConfigException($"{source}: empty config or not a YAML mapping");
        }
        YamlMappingNode node;
        string id;
        if (root.Children.Keys.OfType<YamlScalarNode>().Any(k => DatasetKeys.Contains(k.Value ?? "")))
        {
            node = root;
            id = datasetId ?? Scalar(root, "dataset_id", source) ?? Path.GetFileNameWithoutExtension(source);
        }
        else
        {
            var ids = root.Children.Keys.OfType<YamlScalarNode>().Select(k => k.Value ?? "").ToList();
            if (datasetId is null)
            {
                if (ids.Count != 1)
                {
                    throw new DataConfigException($"{source}: holds {ids.Count} datasets ({string.Join(", ", ids)}); choose one with --dataset-id");
                }
                datasetId = ids[0];
            }
            if (!root.Children.TryGetValue(new YamlScalarNode(datasetId), out var sub) || sub is not YamlMappingNode m)
            {
                throw new DataConfigException($"{source}: dataset id '{datasetId}' not found; present: {string.Join(", ", ids)}");
            }
            node = m;
            id = datasetId;
        }
        return FromNode(node, id, source);
    }

    private static DatasetConfig FromNode(YamlMappingNode node, string id, string source)
    {
        var cfg = new DatasetConfig { DatasetId = id, BaseDir = Path.GetDirectoryName(Path.GetFullPath(source)) };
        foreach (var (k, v) in node.Children)
        {
            var key = (k as YamlScalarNode)?.Value ?? "";
            if (LegacyKeys.TryGetValue(key, out var current))
            {
                cfg.Warnings.Add($"{source}: legacy key '{key}' is read as '{current}'");
                key = current;
            }
            if (!DatasetKeys.Contains(key))
            {
                if (key is "early_stop_patience" or "eval_steps" or "num_workers" or "debug_mode")
                {
                    cfg.Extra[key] = v is YamlScalarNode s ? s.Value ?? "" : v.ToString();
                }
                else
                {
                    cfg.Warnings.Add($"{source}: unknown key '{key}' in dataset '{id}' (ignored)");
                }
            }
        }
        cfg.DataRoot = Scalar(node, "data_root", source);
        var fmt = Scalar(node, "data_format", source)?.ToLowerInvariant();
        cfg.Format = fmt switch
        {
            null or "csv" => DataFormat.Csv,
            "tsv" => DataFormat.Csv,
            "libfm" or "libsvm" => DataFormat.LibFm,
            "criteo" or "criteo_tsv" => DataFormat.CriteoTsv,
            "parquet" => DataFormat.Parquet,
            _ => throw new DataConfigException($"{source}: data_format '{fmt}' is not one of csv, tsv, libfm, libsvm, criteo, parquet"),
        };
        cfg.Separator = fmt == "tsv" || cfg.Format == DataFormat.CriteoTsv ? '\t' : cfg.Format == DataFormat.LibFm ? ' ' : ',';
        var sep = Scalar(node, "sep", source);
        if (sep is not null)
        {
            var unescaped = sep.Replace("\\t", "\t", StringComparison.Ordinal);
            if (unescaped.Length != 1)
            {
                throw new DataConfigException($"{source}: sep must be one character, got '{sep}'");
            }
            cfg.Separator = unescaped[0];
        }
        cfg.TrainData = Scalar(node, "train_data", source);
        cfg.ValidData = Scalar(node, "valid_data", source);
        cfg.TestData = Scalar(node, "test_data", source);
        if (cfg.TrainData is null)
        {
            throw new DataConfigException($"{source}: dataset '{id}' is missing the required key 'train_data'");
        }
        cfg.MinCategrCount = IntValue(node, "min_categr_count", source) ?? 1;
        if (!node.Children.TryGetValue(new YamlScalarNode("label_col"), out var labelNode))
        {
            throw new DataConfigException($"{source}: dataset '{id}' is missing the required key 'label_col'");
        }
        var labelMap = labelNode switch
        {
            YamlMappingNode lm => lm,
            YamlSequenceNode { Children.Count: > 0 } ls when ls.Children[0] is YamlMappingNode lm0 => lm0,
            _ => throw new DataConfigException($"{source}: label_col must be a mapping like {{name: label, dtype: float}}"),
        };
        cfg.LabelName = Scalar(labelMap, "name", source)
                        ?? throw new DataConfigException($"{source}: label_col is missing the required key 'name'");
        if (!node.Children.TryGetValue(new YamlScalarNode("feature_cols"), out var fc) || fc is not YamlSequenceNode cols)
        {
            throw new DataConfigException($"{source}: dataset '{id}' is missing the required key 'feature_cols' (a list)");
        }
        if (cfg.Format == DataFormat.CriteoTsv && cols.Children.Count == 0)
        {
            AddCriteoColumns(cfg);
        }
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var item in cols.Children)
        {
            if (item is not YamlMappingNode cm)
            {
                throw new DataConfigException($"{source}:{item.Start.Line}: each feature_cols entry must be a mapping");
            }
            foreach (var spec in ParseColumn(cm, source, cfg))
            {
                if (!seen.Add(spec.Name))
                {
                    throw new DataConfigException($"{source}:{item.Start.Line}: feature '{spec.Name}' is listed twice");
                }
                cfg.FeatureCols.Add(spec);
            }
        }
        if (!cfg.ActiveColumns.Any())
        {
            throw new DataConfigException($"{source}: dataset '{id}' has no active feature columns");
        }
        return cfg;
    }

    private static IEnumerable<ColumnSpec> ParseColumn(YamlMappingNode cm, string source, DatasetConfig cfg)
    {
        var line = cm.Start.Line;
        foreach (var (k, _) in cm.Children)
        {
            var key = (k as YamlScalarNode)?.Value ?? "";
            if (key == "na_value")
            {
                cfg.Warnings.Add($"{source}:{line}: legacy key 'na_value' is read as 'fill_na'");
            }
            else if (!ColumnKeys.Contains(key))
            {
                cfg.Warnings.Add($"{source}:{line}: unknown key '{key}' in a feature_cols entry (ignored)");
            }
        }
        if (!cm.Children.TryGetValue(new YamlScalarNode("name"), out var nameNode))
        {
            throw new DataConfigException($"{source}:{line}: a feature_cols entry is missing the required key 'name'");
        }
        var names = nameNode switch
        {
            YamlScalarNode s => [s.Value ?? ""],
            YamlSequenceNode seq => seq.Children.Select(c => (c as YamlScalarNode)?.Value ?? "").ToList(),
            _ => throw new DataConfigException($"{source}:{line}: 'name' must be a string or a list of strings"),
        };
        var typeText = (Scalar(cm, "type", source) ?? "categorical").ToLowerInvariant();
        var type = typeText switch
        {
            "categorical" => FeatureType.Categorical,
            "numeric" => FeatureType.Numeric,
            "sequence" => FeatureType.Sequence,
            "meta" => FeatureType.Meta,
            _ => throw new DataConfigException($"{source}:{line}: type '{typeText}' is not one of categorical, numeric, sequence, meta"),
        };
        var dtype = (Scalar(cm, "dtype", source) ?? (type == FeatureType.Numeric ? "float" : "str")).ToLowerInvariant();
        if (dtype is not ("str" or "float" or "int" or "float32" or "float64" or "int32" or "int64"))
        {
            throw new DataConfigException($"{source}:{line}: dtype '{dtype}' is not one of str, int, float");
        }
        var active = Scalar(cm, "active", source) is not { } a || ParseBool(a, source, line, "active");
        var fill = Scalar(cm, "fill_na", source) ?? Scalar(cm, "na_value", source);
        var pre = Scalar(cm, "preprocess", source);
        pre = pre?.Replace(" ", "", StringComparison.Ordinal);
        if (pre is "convert_to_bucket()" || (pre is not null && pre.StartsWith("convert_to_bucket(", StringComparison.Ordinal)))
        {
            pre = "convert_to_bucket";
        }
        if (pre is not null && pre != "convert_to_bucket" &&
            !(pre.StartsWith("copy_from(", StringComparison.Ordinal) && pre.EndsWith(')') && pre.Length > "copy_from()".Length))
        {
            throw new DataConfigException($"{source}:{line}: preprocess '{pre}' is not supported (supported: convert_to_bucket, copy_from(<column>))");
        }
        var norm = Scalar(cm, "normalizer", source);
        if (norm is not null && norm is not ("StandardScaler" or "MinMaxScaler"))
        {
            throw new DataConfigException($"{source}:{line}: normalizer '{norm}' is not supported (StandardScaler, MinMaxScaler)");
        }
        var padding = Scalar(cm, "padding", source) ?? "post";
        if (padding is not ("post" or "pre"))
        {
            throw new DataConfigException($"{source}:{line}: padding must be 'post' or 'pre'");
        }
        var maxLen = IntValue(cm, "max_len", source) ?? 0;
        if (maxLen < 0)
        {
            throw new DataConfigException($"{source}:{line}: max_len must be >= 0");
        }
        foreach (var n in names)
        {
            if (string.IsNullOrWhiteSpace(n))
            {
                throw new DataConfigException($"{source}:{line}: empty feature name");
            }
            yield return new ColumnSpec
            {
                Name = n,
                Active = active,
                Dtype = dtype,
                Type = type,
                FillNa = fill,
                Preprocess = pre,
                MinCategrCount = IntValue(cm, "min_categr_count", source),
                Splitter = Scalar(cm, "splitter", source) ?? "^",
                MaxLen = maxLen,
                Padding = padding,
                Normalizer = norm,
            };
        }
    }

    private static string? Scalar(YamlMappingNode node, string key, string source)
    {
        if (!node.Children.TryGetValue(new YamlScalarNode(key), out var v))
        {
            return null;
        }
        return v switch
        {
            YamlScalarNode s when s.Value is null or "~" or "null" or "None" => null,
            YamlScalarNode s => s.Value,
            _ => throw new DataConfigException($"{source}:{v.Start.Line}: '{key}' must be a single value"),
        };
    }

    private static int? IntValue(YamlMappingNode node, string key, string source)
    {
        var s = Scalar(node, key, source);
        if (s is null)
        {
            return null;
        }
        var d = ParseNumber(s) ?? throw new DataConfigException($"{source}: '{key}' must be a number, got '{s}'");
        if (d != Math.Floor(d) || d > int.MaxValue || d < int.MinValue)
        {
            throw new DataConfigException($"{source}: '{key}' must be an integer, got '{s}'");
        }
        return (int)d;
    }

    /// <summary>Parses a YAML number the way Python users write it: <c>10</c>, <c>1e-5</c>, <c>1.e-5</c>, <c>.5</c>.</summary>
    public static double? ParseNumber(string s)
    {
        s = s.Trim();
        if (double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d))
        {
            return d;
        }
        var i = s.IndexOf(".e", StringComparison.OrdinalIgnoreCase);
        if (i > 0 && double.TryParse(s.Remove(i, 1), NumberStyles.Float, CultureInfo.InvariantCulture, out d))
        {
            return d;
        }
        return null;
    }

    private static bool ParseBool(string s, string source, long line, string key) => s.ToLowerInvariant() switch
    {
        "true" or "yes" or "on" or "1" => true,
        "false" or "no" or "off" or "0" => false,
        _ => throw new DataConfigException($"{source}:{line}: '{key}' must be true or false, got '{s}'"),
    };
}
