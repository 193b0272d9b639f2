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

    /// <summary>
    /// Apache Parquet (Parquet.Net). Raw columns described by <c>feature_cols</c>; without <c>feature_cols</c> the files
    /// are FuxiCTR 2.3's already-encoded parquet, described by its <c>feature_map.json</c>.
    /// </summary>
    Parquet,

    /// <summary>FuxiCTR 2.0.x's encoded HDF5 (one dataset per feature/label), described by its <c>feature_map.json</c>.</summary>
    H5,

    /// <summary>FuxiCTR 2.3's encoded numpy <c>.npz</c> (one array per column), described by its <c>feature_map.json</c>.</summary>
    Npz,
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

    /// <summary><c>max_vocab_size</c> (an FsdNet key): keep at most this many tokens, the most frequent; overrides the dataset's.</summary>
    public int? MaxVocabSize { get; init; }

    /// <summary><c>hash_buckets</c> (an FsdNet key): no vocabulary; a token's code is 1 + FNV-1a(token) mod N.</summary>
    public int? HashBuckets { get; init; }

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

    /// <summary>Dataset-wide <c>max_vocab_size</c> (an FsdNet key; a column's own value overrides it); null: no cap.</summary>
    public int? MaxVocabSize { get; set; }
    public List<ColumnSpec> FeatureCols { get; } = [];
    public string LabelName { get; set; } = "label";

    /// <summary>
    /// The split files were encoded by FuxiCTR (<c>h5</c>, <c>npz</c>, or <c>parquet</c> without <c>feature_cols</c>): the
    /// encoder is FuxiCTR's <c>&lt;data_root&gt;/&lt;dataset_id&gt;/feature_map.json</c> and codes are kept as they are.
    /// </summary>
    public bool FuxiEncoded { get; set; }

    /// <summary>FuxiCTR's <c>feature_specs</c>: per-feature overrides applied on top of a FuxiCTR feature_map.json.</summary>
    public List<(string Name, Dictionary<string, string?> Keys)> FeatureSpecs { get; } = [];

    /// <summary>Whether relative paths are tried against the working directory first (configs; not presets).</summary>
    public bool CwdFirst { get; set; }

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

    /// <summary>
    /// Resolves a relative path (train/valid/test data, pretrained_emb) as FuxiCTR does, against the working directory,
    /// and also against the config file's folder and data_root (presets: their folder only); the first candidate that
    /// exists wins (a missing <c>x</c> also matches <c>x.gz</c>). Null when not configured; the first candidate when none exists.
    /// </summary>
    internal string? ResolvePath(string? path)
    {
        if (string.IsNullOrEmpty(path))
        {
            return null;
        }
        var candidates = Candidates(path);
        foreach (var p in candidates)
        {
            if (File.Exists(p) || Directory.Exists(p))
            {
                return p;
            }
            if (File.Exists(p + ".gz"))
            {
                return p + ".gz";
            }
        }
        return candidates[0];
    }

    /// <summary>Like <see cref="ResolvePath"/>, but a path that exists nowhere is an error naming every candidate tried.</summary>
    internal string ResolveExisting(string path, string key)
    {
        var p = ResolvePath(path)!;
        if (File.Exists(p) || Directory.Exists(p) || HasGlob(p))
        {
            return p;
        }
        var tried = Candidates(path);
        throw new DataConfigException(tried.Count == 1
            ? $"dataset '{DatasetId}': {key} '{path}' not found ({tried[0]})"
            : $"dataset '{DatasetId}': {key} '{path}' not found; tried {string.Join(" and ", tried)}");
    }

    internal static bool HasGlob(string p) => Path.GetFileName(p).Contains('*', StringComparison.Ordinal);

    /// <summary>The absolute paths a relative path may mean, in the order they are tried.</summary>
    internal IReadOnlyList<string> Candidates(string path)
    {
        if (Path.IsPathRooted(path))
        {
            return [path];
        }
        var roots = CwdFirst
            ? new[] { Directory.GetCurrentDirectory(), BaseDir, DataRoot }
            : new[] { BaseDir, DataRoot, Directory.GetCurrentDirectory() };
        var list = new List<string>();
        foreach (var root in roots)
        {
            if (root is not null)
            {
                var p = Path.GetFullPath(Path.Combine(root, path));
                if (!list.Contains(p))
                {
                    list.Add(p);
                }
            }
        }
        return list;
    }

    /// <summary>A hash of everything that changes the encoding (not the paths' contents).</summary>
    internal string Fingerprint()
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"{DatasetId}|{Format}|{(int)Separator}|{MinCategrCount}|{LabelName}|{FuxiEncoded}\n");
        if (MaxVocabSize is { } mv)
        {
            sb.Append(CultureInfo.InvariantCulture, $"max_vocab_size={mv}\n");
        }
        foreach (var (name, keys) in FeatureSpecs)
        {
            sb.Append(name).Append(':').AppendJoin(',', keys.Select(k => k.Key + "=" + k.Value)).Append('\n');
        }
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
        "num_buckets", "feature_specs", "max_vocab_size",
    };

    private static readonly HashSet<string> ColumnKeys = new(StringComparer.Ordinal)
    {
        "name", "active", "dtype", "type", "fill_na", "preprocess", "min_categr_count", "splitter", "max_len",
        "padding", "normalizer", "source", "embedding_dim", "feature_encoder", "remap", "emb_output_dim",
        "share_embedding", "pretrained_emb", "freeze_emb", "pretrain_usage", "pretrain_dim", "max_vocab_size", "hash_buckets",
    };

    /// <summary>FuxiCTR's spellings of "no feature encoder".</summary>
    private static bool IsNoEncoder(string? e) => e is null or "null" or "None" or "none" or "~" or "";

    /// <summary>
    /// The canonical (FuxiCTR) spelling of a sequence pooling encoder: <c>layers.MaskedAveragePooling()</c>,
    /// <c>layers.MaskedSumPooling()</c>, or null for none; the short forms <c>MaskedAveragePooling</c> /
    /// <c>MaskedSumPooling</c> / <c>null</c> are accepted. Anything else is an error naming the column.
    /// </summary>
    internal static string? CanonicalEncoder(string? encoder, string column, string where)
    {
        if (IsNoEncoder(encoder))
        {
            return null;
        }
        var e = encoder!.Replace(" ", "", StringComparison.Ordinal);
        if (e.StartsWith("layers.", StringComparison.Ordinal))
        {
            e = e[7..];
        }
        if (e.EndsWith("()", StringComparison.Ordinal))
        {
            e = e[..^2];
        }
        return e switch
        {
            "MaskedAveragePooling" => "layers.MaskedAveragePooling()",
            "MaskedSumPooling" => "layers.MaskedSumPooling()",
            _ => throw new DataConfigException($"{where}: feature '{column}': feature_encoder '{encoder}' is not supported " +
                                               "(FsdNet pools sequences with layers.MaskedAveragePooling(), layers.MaskedSumPooling() or null for none)"),
        };
    }

    /// <summary>Legacy key -> current key (FuxiCTR renamed these).</summary>
    public static IReadOnlyDictionary<string, string> LegacyKeys { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["patience"] = "early_stop_patience",
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
    internal static void AddCriteoColumns(DatasetConfig cfg)
    {
        for (var i = 1; i <= 13; i++)
        {
            cfg.FeatureCols.Add(new ColumnSpec
            {
                Name = "I" + i.ToString(CultureInfo.InvariantCulture), Dtype = "float", Type = FeatureType.Categorical,
                FillNa = "0", Preprocess = EncodingNames.ConvertToBucket,
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
        if (datasetId is not null && Directory.Exists(path) && !File.Exists(Path.Combine(path, "dataset_config.yaml")) &&
            Directory.Exists(Path.Combine(path, "dataset_config")))
        {
            return LoadFromDir(path, datasetId);
        }
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

    /// <summary>
    /// Finds dataset <paramref name="datasetId"/> in a config folder as FuxiCTR's <c>load_dataset_config</c> does:
    /// <c>dataset_config.yaml</c> if present, else every <c>dataset_config/*.yaml</c> (FuxiCTR 1.x layout, in name
    /// order); the first file whose top level holds the id wins.
    /// </summary>
    public static DatasetConfig LoadFromDir(string dir, string datasetId)
    {
        foreach (var n in new[] { "dataset_config.yaml", "dataset_config.yml" })
        {
            var p = Path.Combine(dir, n);
            if (File.Exists(p))
            {
                return Load(p, datasetId);
            }
        }
        var sub = Path.Combine(dir, "dataset_config");
        if (!Directory.Exists(sub))
        {
            throw new DataConfigException($"no dataset_config.yaml (or dataset_config/*.yaml) in {Path.GetFullPath(dir)}");
        }
        var files = Directory.GetFiles(sub, "*.yaml").Concat(Directory.GetFiles(sub, "*.yml")).Order(StringComparer.Ordinal).ToList();
        foreach (var f in files)
        {
            var stream = new YamlStream();
            try
            {
                stream.Load(new StringReader(File.ReadAllText(f)));
            }
            catch (YamlDotNet.Core.YamlException e)
            {
                throw new DataConfigException($"{f}:{e.Start.Line}: invalid YAML: {e.Message}", e);
            }
            if (stream.Documents.Count > 0 && stream.Documents[0].RootNode is YamlMappingNode root &&
                root.Children.ContainsKey(new YamlScalarNode(datasetId)))
            {
                return Load(f, datasetId);
            }
        }
        throw new DataConfigException($"dataset id '{datasetId}' not found in {sub}/*.yaml ({files.Count} file(s): {string.Join(", ", files.Select(Path.GetFileName))})");
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
        var duplicates = new List<string>();
        YamlNode? rootNode;
        try
        {
            rootNode = YamlLoader.Load(yaml, source, duplicates);
        }
        catch (YamlDotNet.Core.YamlException e)
        {
            throw new DataConfigException($"{source}:{e.Start.Line}: invalid YAML: {e.Message}", e);
        }
        catch (InvalidOperationException e) // YamlDotNet's scanner on some malformed plain scalars
        {
            throw new DataConfigException($"{source}: invalid YAML: a value could not be read ({e.Message})", e);
        }
        if (rootNode is not YamlMappingNode root)
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
        var cfg = FromNode(node, id, source);
        cfg.Warnings.InsertRange(0, duplicates);
        return cfg;
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
                if (key is "early_stop_patience" or "eval_steps" or "every_x_epochs" or "num_workers" or "debug_mode" or "partition_block_size")
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
            "h5" or "hdf5" => DataFormat.H5,
            "npz" => DataFormat.Npz,
            "tfrecord" => throw new DataConfigException(
                $"{source}: dataset '{id}': data_format 'tfrecord' is not supported: FsdNet does not read TensorFlow records. " +
                "Give the raw csv (data_format: csv with feature_cols), or have FuxiCTR write the encoded data as parquet or npz " +
                "(data_format: parquet / npz) and point FsdNet at that folder and its feature_map.json"),
            _ => throw new DataConfigException($"{source}: data_format '{fmt}' is not one of csv, tsv, libfm, libsvm, criteo, parquet, h5, npz"),
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
        cfg.MaxVocabSize = IntValue(node, "max_vocab_size", source);
        if (cfg.MaxVocabSize is < 1)
        {
            throw new DataConfigException($"{source}: dataset '{id}': max_vocab_size must be at least 1, got {cfg.MaxVocabSize}");
        }
        if (cfg.MinCategrCount < 1)
        {
            throw new DataConfigException($"{source}: dataset '{id}': min_categr_count must be at least 1, got {cfg.MinCategrCount}");
        }
        node.Children.TryGetValue(new YamlScalarNode("feature_cols"), out var fc);
        var hasFeatureCols = fc is YamlSequenceNode { Children.Count: > 0 };
        // FuxiCTR's run_expid builds a dataset only for data_format csv; h5/npz (and 2.3's parquet without feature_cols)
        // are already encoded and described by <data_root>/<dataset_id>/feature_map.json.
        cfg.FuxiEncoded = cfg.Format is DataFormat.H5 or DataFormat.Npz || (cfg.Format == DataFormat.Parquet && !hasFeatureCols);
        ParseFeatureSpecs(node, source, cfg);
        if (cfg.FuxiEncoded)
        {
            cfg.CwdFirst = true;
            if (hasFeatureCols)
            {
                cfg.Warnings.Add($"{source}: dataset '{id}': feature_cols are not used for data_format {fmt}: as FuxiCTR, FsdNet reads the " +
                                 "encoder from <data_root>/<dataset_id>/feature_map.json and keeps FuxiCTR's codes");
            }
            if (node.Children.TryGetValue(new YamlScalarNode("label_col"), out var ln))
            {
                var lm = ln as YamlMappingNode ?? (ln as YamlSequenceNode)?.Children.OfType<YamlMappingNode>().FirstOrDefault();
                if (lm is not null && Scalar(lm, "name", source) is { } labelName)
                {
                    cfg.LabelName = labelName;
                }
            }
            return cfg;
        }
        if (!node.Children.TryGetValue(new YamlScalarNode("label_col"), out var labelNode))
        {
            throw new DataConfigException($"{source}: dataset '{id}' is missing the required key 'label_col'");
        }
        if (labelNode is YamlSequenceNode { Children.Count: > 1 } labelList)
        {
            var labels = labelList.Children.Select(l => l is YamlMappingNode lm && Scalar(lm, "name", source) is { } n ? n : l.ToString());
            throw new DataConfigException(
                $"{source}:{labelList.Start.Line}: dataset '{id}' has {labelList.Children.Count} label_col entries ({string.Join(", ", labels)}): " +
                "multi-task models are not supported yet (FsdNet trains one binary label)");
        }
        var labelMap = labelNode switch
        {
            YamlMappingNode lm => lm,
            YamlSequenceNode { Children.Count: > 0 } ls when ls.Children[0] is YamlMappingNode lm0 => lm0,
            _ => throw new DataConfigException($"{source}: label_col must be a mapping like {{name: label, dtype: float}}"),
        };
        cfg.LabelName = Scalar(labelMap, "name", source)
                        ?? throw new DataConfigException($"{source}: label_col is missing the required key 'name'");
        if (fc is not YamlSequenceNode cols)
        {
            throw new DataConfigException($"{source}: dataset '{id}' is missing the required key 'feature_cols' (a list)");
        }
        cfg.CwdFirst = true;
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
        foreach (var c in cfg.FeatureCols.Where(c => c.ShareEmbedding is not null))
        {
            var target = cfg.FeatureCols.FirstOrDefault(t => t.Name == c.ShareEmbedding);
            if (target is null || !target.Active)
            {
                throw new DataConfigException($"{source}: feature '{c.Name}': share_embedding '{c.ShareEmbedding}' is not " +
                                              (target is null ? "a column of feature_cols" : "an active column"));
            }
            if (target.Name == c.Name || target.ShareEmbedding is not null)
            {
                throw new DataConfigException($"{source}: feature '{c.Name}': share_embedding '{c.ShareEmbedding}' must name a column that owns its table (not itself or another sharing column)");
            }
            if (c.Type is not (FeatureType.Categorical or FeatureType.Sequence) || target.Type is not (FeatureType.Categorical or FeatureType.Sequence))
            {
                throw new DataConfigException($"{source}: feature '{c.Name}': share_embedding works between categorical/sequence columns ('{c.Name}' is {c.Type.ToString().ToLowerInvariant()}, '{target.Name}' is {target.Type.ToString().ToLowerInvariant()})");
            }
            if (TokenKind(c) != TokenKind(target))
            {
                throw new DataConfigException($"{source}: feature '{c.Name}': share_embedding '{target.Name}': the two columns must hold the same kind of tokens " +
                                              $"('{c.Name}' has {TokenKind(c)} tokens, '{target.Name}' {TokenKind(target)}); set dtype: str on both");
            }
            if (c.PretrainedEmb is not null)
            {
                throw new DataConfigException($"{source}: feature '{c.Name}': pretrained_emb cannot be combined with share_embedding (the column uses '{target.Name}''s table); put pretrained_emb on '{target.Name}'");
            }
        }
        return cfg;
    }

    private static string TokenKind(ColumnSpec c) =>
        c.Type == FeatureType.Categorical && (c.IsNumericDtype || c.Preprocess == EncodingNames.ConvertToBucket) ? "number" : "text";

    private static void ParseFeatureSpecs(YamlMappingNode node, string source, DatasetConfig cfg)
    {
        if (!node.Children.TryGetValue(new YamlScalarNode("feature_specs"), out var fs) || fs is YamlScalarNode { Value: null or "null" or "~" })
        {
            return;
        }
        if (fs is not YamlSequenceNode seq)
        {
            throw new DataConfigException($"{source}:{fs.Start.Line}: feature_specs must be a list of {{name: ..., key: value}} entries");
        }
        foreach (var item in seq.Children)
        {
            if (item is not YamlMappingNode m || !m.Children.TryGetValue(new YamlScalarNode("name"), out var nameNode))
            {
                throw new DataConfigException($"{source}:{item.Start.Line}: each feature_specs entry must be a mapping with a 'name'");
            }
            var names = nameNode is YamlSequenceNode ns ? ns.Children.Select(c => (c as YamlScalarNode)?.Value ?? "").ToList() : [(nameNode as YamlScalarNode)?.Value ?? ""];
            var keys = new Dictionary<string, string?>(StringComparer.Ordinal);
            foreach (var (k, v) in m.Children)
            {
                var key = (k as YamlScalarNode)?.Value ?? "";
                if (key == "name")
                {
                    continue;
                }
                if (key is not ("embedding_dim" or "feature_encoder" or "freeze_emb" or "pretrain_usage" or "pretrain_dim" or "share_embedding" or "source"))
                {
                    throw new DataConfigException($"{source}:{m.Start.Line}: feature_specs key '{key}' is not supported (embedding_dim, feature_encoder, freeze_emb, pretrain_usage, pretrain_dim, share_embedding, source)");
                }
                keys[key] = v is YamlScalarNode s2 ? (s2.Value is null or "~" or "null" or "None" ? null : s2.Value) : throw new DataConfigException($"{source}:{v.Start.Line}: '{key}' must be a single value");
            }
            foreach (var n in names)
            {
                cfg.FeatureSpecs.Add((n, keys));
            }
        }
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
        var type = EncodingNames.TypeOf(typeText)
            ?? throw new DataConfigException($"{source}:{line}: type '{typeText}' is not one of {EncodingNames.TypeNames}");
        var dtype = (Scalar(cm, "dtype", source) ?? (type is FeatureType.Numeric or FeatureType.Embedding ? "float" : "str")).ToLowerInvariant();
        if (dtype is not ("str" or "float" or "int" or "float32" or "float64" or "int32" or "int64") && !(type == FeatureType.Embedding && dtype == "list"))
        {
            throw new DataConfigException($"{source}:{line}: dtype '{dtype}' is not one of str, int, float" + (type == FeatureType.Embedding ? ", list" : ""));
        }
        var colName = string.Join(", ", names);
        var active = Scalar(cm, "active", source) is not { } a || ParseBool(a, source, line, "active");
        var fill = Scalar(cm, "fill_na", source) ?? Scalar(cm, "na_value", source);
        var pre = Scalar(cm, "preprocess", source);
        pre = pre?.Replace(" ", "", StringComparison.Ordinal);
        if (pre is "convert_to_bucket()" || (pre is not null && pre.StartsWith("convert_to_bucket(", StringComparison.Ordinal)))
        {
            pre = EncodingNames.ConvertToBucket;
        }
        if (pre is not null && pre != EncodingNames.ConvertToBucket &&
            !(pre.StartsWith("copy_from(", StringComparison.Ordinal) && pre.EndsWith(')') && pre.Length > "copy_from()".Length))
        {
            var fn = pre.Split('(')[0];
            throw new DataConfigException($"{source}:{line}: feature '{colName}': preprocess '{pre}' is not supported: FsdNet implements only " +
                                          $"convert_to_bucket and copy_from(<column>); '{fn}' is a custom Python function of your FuxiCTR code. " +
                                          "Compute it in the raw data (write the result as a column) and list that column instead");
        }
        var norm = Scalar(cm, "normalizer", source);
        if (EncodingNames.ScalerOf(norm) is null)
        {
            throw new DataConfigException($"{source}:{line}: normalizer '{norm}' is not supported (StandardScaler, MinMaxScaler)");
        }
        var padding = Scalar(cm, "padding", source) ?? "post";
        if (EncodingNames.Padding(padding) is null)
        {
            throw new DataConfigException($"{source}:{line}: padding must be 'post' or 'pre'");
        }
        var minCount = IntValue(cm, "min_categr_count", source);
        if (minCount is < 1)
        {
            throw new DataConfigException($"{source}:{line}: feature '{string.Join(", ", names)}': min_categr_count must be at least 1, got {minCount}");
        }
        var maxVocab = IntValue(cm, "max_vocab_size", source);
        var buckets = IntValue(cm, "hash_buckets", source);
        if (maxVocab is < 1 || buckets is < 1)
        {
            throw new DataConfigException($"{source}:{line}: feature '{colName}': {(maxVocab is < 1 ? "max_vocab_size" : "hash_buckets")} must be at least 1");
        }
        if ((maxVocab is not null || buckets is not null) && type is not (FeatureType.Categorical or FeatureType.Sequence))
        {
            throw new DataConfigException($"{source}:{line}: feature '{colName}': {(buckets is not null ? "hash_buckets" : "max_vocab_size")} is for categorical or sequence columns, not {typeText}");
        }
        if (buckets is not null && (maxVocab is not null || minCount is not null))
        {
            throw new DataConfigException($"{source}:{line}: feature '{colName}': hash_buckets builds no vocabulary, so {(maxVocab is not null ? "max_vocab_size" : "min_categr_count")} would have no effect; give one or the other");
        }
        if (buckets is not null && Scalar(cm, "pretrained_emb", source) is not null)
        {
            throw new DataConfigException($"{source}:{line}: feature '{colName}': hash_buckets cannot be combined with pretrained_emb (a pretrained table is indexed by its keys' vocabulary)");
        }
        var maxLen = IntValue(cm, "max_len", source) ?? 0;
        if (maxLen < 0)
        {
            throw new DataConfigException($"{source}:{line}: max_len must be >= 0");
        }
        var pretrainDim = IntValue(cm, "pretrain_dim", source);
        var embDim = IntValue(cm, "embedding_dim", source);
        if (pretrainDim is <= 0 || embDim is <= 0)
        {
            throw new DataConfigException($"{source}:{line}: feature '{colName}': {(pretrainDim is <= 0 ? "pretrain_dim" : "embedding_dim")} must be a positive integer");
        }
        if (type == FeatureType.Embedding && pretrainDim is null)
        {
            throw new DataConfigException($"{source}:{line}: feature '{colName}': type embedding needs pretrain_dim (the length of each vector)");
        }
        var pretrained = Scalar(cm, "pretrained_emb", source);
        if (pretrained is not null && type is not (FeatureType.Categorical or FeatureType.Sequence))
        {
            throw new DataConfigException($"{source}:{line}: feature '{colName}': pretrained_emb is for categorical or sequence columns, not {typeText}");
        }
        var usage = Scalar(cm, "pretrain_usage", source) ?? "init";
        if (usage is not ("init" or "sum" or "concat"))
        {
            throw new DataConfigException($"{source}:{line}: feature '{colName}': pretrain_usage must be init, sum or concat, got '{usage}'");
        }
        var freeze = Scalar(cm, "freeze_emb", source) is not { } fz || ParseBool(fz, source, line, "freeze_emb");
        string? encoder;
        if (cm.Children.TryGetValue(new YamlScalarNode("feature_encoder"), out var encNode))
        {
            var raw = encNode is YamlScalarNode es ? es.Value : throw new DataConfigException($"{source}:{encNode.Start.Line}: 'feature_encoder' must be a single value");
            encoder = type == FeatureType.Sequence ? CanonicalEncoder(raw, colName, $"{source}:{line}")
                : IsNoEncoder(raw) ? null
                : throw new DataConfigException($"{source}:{line}: feature '{colName}': feature_encoder '{raw}' is not supported for a {typeText} column (FsdNet supports feature_encoder only for sequence pooling)");
        }
        else
        {
            encoder = type == FeatureType.Sequence ? "layers.MaskedAveragePooling()" : null;
        }
        if (cm.Children.ContainsKey(new YamlScalarNode("category_processor")))
        {
            throw new DataConfigException($"{source}:{line}: feature '{colName}': category_processor is not supported (FsdNet encodes categorical columns with a vocabulary)");
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
                MinCategrCount = minCount,
                MaxVocabSize = maxVocab,
                HashBuckets = buckets,
                Splitter = Scalar(cm, "splitter", source) ?? "^",
                MaxLen = maxLen,
                Padding = padding,
                Normalizer = norm,
                EmbeddingDim = embDim,
                ShareEmbedding = Scalar(cm, "share_embedding", source),
                PretrainedEmb = pretrained,
                FreezeEmb = freeze,
                PretrainUsage = usage,
                PretrainDim = pretrainDim,
                FeatureEncoder = encoder,
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
    internal static double? ParseNumber(string s)
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
