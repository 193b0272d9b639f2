using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace FsdNet.Data;

/// <summary>One encoded feature: its spec, its fitted vocabulary (categorical/sequence) or normaliser (numeric).</summary>
public sealed class FeatureInfo
{
    private Dictionary<string, int>? stringLookup;
    private Dictionary<long, int>? numberLookup;

    public required string Name { get; init; }
    public required FeatureType Type { get; init; }

    /// <summary><c>str</c>, <c>int</c> or <c>float</c>; numeric dtypes make categorical tokens numbers ("260" == "260.0").</summary>
    public string Dtype { get; init; } = "str";

    public string? FillNa { get; init; }
    public string? Preprocess { get; init; }
    public string Splitter { get; init; } = "^";
    public string Padding { get; init; } = "post";
    public int MinCategrCount { get; init; } = 1;

    /// <summary>Index 0 is padding (categorical/sequence).</summary>
    public int PaddingIdx => 0;

    /// <summary>Sequence length (sequence features), else 0.</summary>
    public int MaxLen { get; set; }

    /// <summary>Known tokens in index order: token <c>Vocab[i]</c> has index <c>i + 1</c>.</summary>
    public IReadOnlyList<string> Vocab
    {
        get => vocab;
        set
        {
            vocab = value;
            stringLookup = null;
            numberLookup = null;
        }
    }

    private IReadOnlyList<string> vocab = [];

    /// <summary>OOV index = number of known tokens + 1 (for FuxiCTR-encoded data: FuxiCTR's <c>oov_idx</c>, else vocab_size - 1).</summary>
    public int OovIdx => FixedOovIdx ?? (FixedVocabSize is { } v ? v - 1 : Vocab.Count + 1);

    /// <summary>
    /// Embedding rows: PAD + known tokens + OOV (categorical/sequence; FuxiCTR-encoded data: FuxiCTR's <c>vocab_size</c>);
    /// 1 for numeric; 0 for meta and embedding features.
    /// </summary>
    public int VocabSize => Type switch
    {
        FeatureType.Categorical or FeatureType.Sequence => FixedVocabSize ?? Vocab.Count + 2,
        FeatureType.Numeric => 1,
        _ => 0,
    };

    /// <summary>Set for features of FuxiCTR-encoded data: the vocabulary size without tokens (codes are FuxiCTR's).</summary>
    internal int? FixedVocabSize { get; set; }

    internal int? FixedOovIdx { get; set; }

    /// <summary>FuxiCTR's <c>source</c> tag (user, item, context...), kept as given; null when none.</summary>
    public string? Source { get; init; }

    /// <summary><c>StandardScaler</c> (A = mean, B = std), <c>MinMaxScaler</c> (A = min, B = max) or null.</summary>
    public string? Normalizer { get; init; }
    public double NormA { get; set; }
    public double NormB { get; set; }

    /// <summary>Per-feature <c>embedding_dim</c> (null: the model's).</summary>
    public int? EmbeddingDim { get; init; }

    /// <summary><c>share_embedding</c>: the feature whose table this one uses.</summary>
    public string? ShareEmbedding { get; init; }

    /// <summary><c>pretrained_emb</c> file (resolved path), <c>freeze_emb</c>, <c>pretrain_usage</c>, <c>pretrain_dim</c>.</summary>
    public string? PretrainedEmb { get; init; }
    public bool FreezeEmb { get; init; } = true;
    public string PretrainUsage { get; init; } = "init";
    public int? PretrainDim { get; init; }

    /// <summary>
    /// Sequence pooling as FuxiCTR's <c>feature_encoder</c>: <c>layers.MaskedAveragePooling()</c> (the default for
    /// sequences), <c>layers.MaskedSumPooling()</c>, or null (no pooling; always null for other types).
    /// </summary>
    public string? FeatureEncoder { get; init; }

    /// <summary>Floats per row of a <see cref="FeatureType.Embedding"/> feature (its pretrain_dim), else 0.</summary>
    public int EmbeddingWidth => Type == FeatureType.Embedding ? PretrainDim ?? 0 : 0;

    /// <summary>The default <see cref="FeatureEncoder"/> of a feature type (what an absent key means).</summary>
    internal static string? DefaultEncoder(FeatureType t) => t == FeatureType.Sequence ? "layers.MaskedAveragePooling()" : null;

    /// <summary>For <see cref="FeatureType.Embedding"/>: offset of this feature in a row of Batch.Embedding.</summary>
    public int EmbeddingOffset { get; internal set; }

    /// <summary>Position of this feature among features of its type (column in Batch.Categorical etc.).</summary>
    public int TypeIndex { get; internal set; }

    /// <summary>For sequences: offset of this feature in a row of Batch.Sequence.</summary>
    public int SequenceOffset { get; internal set; }

    internal bool IsNumberToken => Dtype != "str";

    /// <summary>The raw column this feature reads: the <c>copy_from(column)</c> argument, else its own name.</summary>
    public string SourceName => Preprocess is { } p && p.StartsWith("copy_from(", StringComparison.Ordinal) ? p[10..^1] : Name;

    /// <summary>Index of a raw token (after fill_na/preprocess): 1..n for known tokens, <see cref="OovIdx"/> otherwise.</summary>
    public int IndexOf(string token)
    {
        if (IsNumberToken)
        {
            return double.TryParse(token, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? IndexOfNumber(d) : OovIdx;
        }
        return StringLookup().TryGetValue(token, out var i) ? i : OovIdx;
    }

    internal Dictionary<string, int> StringLookup()
    {
        if (stringLookup is null)
        {
            var d = new Dictionary<string, int>(Vocab.Count, StringComparer.Ordinal);
            for (var i = 0; i < Vocab.Count; i++)
            {
                d[Vocab[i]] = i + 1;
            }
            stringLookup = d;
        }
        return stringLookup;
    }

    internal int IndexOfNumber(double d) =>
        NumberLookup().TryGetValue(NumberKey(d), out var i) ? i : OovIdx;

    internal Dictionary<long, int> NumberLookup()
    {
        if (numberLookup is null)
        {
            var d = new Dictionary<long, int>(Vocab.Count);
            for (var i = 0; i < Vocab.Count; i++)
            {
                d[NumberKey(double.Parse(Vocab[i], NumberStyles.Float, CultureInfo.InvariantCulture))] = i + 1;
            }
            numberLookup = d;
        }
        return numberLookup;
    }

    internal static long NumberKey(double d) => BitConverter.DoubleToInt64Bits(d == 0 ? 0.0 : d);

    internal static string NumberText(double d) => d.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>How a numeric token is written in the vocabulary (round-trip invariant format).</summary>
    public static string NumberTextForTests(double d) => NumberText(d);

    internal float Normalize(float v) => Normalizer switch
    {
        "StandardScaler" => (float)((v - NormA) / (NormB == 0 ? 1 : NormB)),
        "MinMaxScaler" => (float)((v - NormA) / (NormB - NormA == 0 ? 1 : NormB - NormA)),
        _ => v,
    };
}

/// <summary>
/// The fitted encoder of a dataset: features in order with their vocabularies, the label name, the source format
/// and a schema hash. Saved as readable JSON and reloaded by evaluate/predict.
/// </summary>
public sealed class FeatureMap
{
    public const int FormatVersion = 1;

    public required string DatasetId { get; init; }
    public string LabelName { get; init; } = "label";
    public DataFormat Format { get; init; } = DataFormat.Csv;
    public char Separator { get; init; } = ',';
    public required IReadOnlyList<FeatureInfo> Features { get; init; }

    /// <summary>Column names in file order for headerless formats (libFM: label then every configured field); else null.</summary>
    public IReadOnlyList<string>? SourceColumns { get; init; }

    /// <summary>SHA-256 (hex) of the encoding (features, vocabularies, normalisers); caches carry it.</summary>
    public string SchemaHash { get; private set; } = "";

    public int CategoricalCount { get; private set; }
    public int NumericCount { get; private set; }

    /// <summary>Sum of max_len over sequence features (width of a Batch.Sequence row).</summary>
    public int SequenceWidth { get; private set; }

    /// <summary>Whether there is a meta column (group id for gAUC).</summary>
    public bool HasGroupId { get; private set; }

    /// <summary>Sum of pretrain_dim over <c>type: embedding</c> features (width of a Batch.Embedding row).</summary>
    public int EmbeddingWidth { get; private set; }

    /// <summary>
    /// The map was read from FuxiCTR's feature_map.json for data FuxiCTR had already encoded (h5, npz, encoded
    /// parquet): there is no raw vocabulary, so raw text cannot be encoded; only the same encoded format can be read.
    /// </summary>
    public bool FuxiEncoded { get; init; }

    /// <summary>Features of type embedding, in order (their EmbeddingOffset gives their slice of Batch.Embedding).</summary>
    public IEnumerable<FeatureInfo> Embedding => Features.Where(f => f.Type == FeatureType.Embedding);

    /// <summary>The error for encoding raw text with a map of FuxiCTR-encoded data.</summary>
    internal DataConfigException RawInputError(string what) => new(
        $"{what}: this model's feature map was read from FuxiCTR's encoded data (data_format {Format.ToString().ToLowerInvariant()}, dataset '{DatasetId}'), " +
        "which has no raw vocabulary: raw input cannot be encoded. Give data in the same encoded format (FuxiCTR-encoded " +
        $"{Format.ToString().ToLowerInvariant()} with the same feature_map.json), or train on the raw data (data_format csv with feature_cols)");
    public IEnumerable<FeatureInfo> Categorical => Features.Where(f => f.Type == FeatureType.Categorical);
    public IEnumerable<FeatureInfo> Numeric => Features.Where(f => f.Type == FeatureType.Numeric);
    public IEnumerable<FeatureInfo> Sequence => Features.Where(f => f.Type == FeatureType.Sequence);

    /// <summary>Number of embedded fields (categorical + numeric + sequence).</summary>
    public int NumFields => Features.Count(f => f.Type != FeatureType.Meta);

    /// <summary>Sum of vocab sizes (categorical, sequence) plus one per numeric feature; a share_embedding feature adds nothing (FuxiCTR).</summary>
    public long TotalFeatures => Features.Where(f => f.ShareEmbedding is null).Sum(f => (long)f.VocabSize);

    public FeatureInfo this[string name] => Features.FirstOrDefault(f => f.Name == name)
        ?? throw new KeyNotFoundException($"no feature '{name}' in the feature map of '{DatasetId}'");

    /// <summary>Recomputes type indices, widths and the schema hash; call after changing vocabularies.</summary>
    public void Seal()
    {
        int c = 0, n = 0, s = 0, width = 0, emb = 0, e = 0;
        HasGroupId = false;
        foreach (var f in Features)
        {
            switch (f.Type)
            {
                case FeatureType.Categorical: f.TypeIndex = c++; break;
                case FeatureType.Numeric: f.TypeIndex = n++; break;
                case FeatureType.Sequence:
                    f.TypeIndex = s++;
                    f.SequenceOffset = width;
                    width += f.MaxLen;
                    break;
                case FeatureType.Embedding:
                    if (f.EmbeddingWidth <= 0)
                    {
                        throw new DataConfigException($"feature '{f.Name}': type embedding needs pretrain_dim (the length of each vector)");
                    }
                    f.TypeIndex = e++;
                    f.EmbeddingOffset = emb;
                    emb += f.EmbeddingWidth;
                    break;
                case FeatureType.Meta:
                    if (HasGroupId)
                    {
                        throw new DataConfigException($"more than one meta column ('{f.Name}'); one group id column is supported");
                    }
                    HasGroupId = true;
                    break;
            }
        }
        SequenceWidth = width;
        EmbeddingWidth = emb;
        CategoricalCount = c;
        NumericCount = n;
        using var ms = new MemoryStream();
        Write(ms, includeHash: false);
        SchemaHash = Convert.ToHexStringLower(SHA256.HashData(ms.ToArray()));
    }

    /// <summary>Writes readable JSON (atomically: temp file + rename).</summary>
    public void Save(string path)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null)
        {
            Directory.CreateDirectory(dir);
        }
        var tmp = path + "." + Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + ".tmp";
        using (var fs = File.Create(tmp))
        {
            Write(fs, includeHash: true);
        }
        File.Move(tmp, path, overwrite: true);
    }

    /// <summary>The JSON text (what <see cref="Save"/> writes).</summary>
    public string ToJson()
    {
        using var ms = new MemoryStream();
        Write(ms, includeHash: true);
        return Encoding.UTF8.GetString(ms.ToArray());
    }

    private void Write(Stream stream, bool includeHash)
    {
        using var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        w.WriteStartObject();
        w.WriteNumber("format_version", FormatVersion);
        w.WriteString("dataset_id", DatasetId);
        w.WriteString("label", LabelName);
        w.WriteString("data_format", Format.ToString());
        w.WriteString("sep", Separator.ToString());
        if (FuxiEncoded)
        {
            w.WriteString("encoded_by", "fuxictr");
        }
        if (SourceColumns is not null)
        {
            w.WriteStartArray("source_columns");
            foreach (var c in SourceColumns)
            {
                w.WriteStringValue(c);
            }
            w.WriteEndArray();
        }
        w.WriteNumber("num_fields", NumFields);
        w.WriteNumber("total_features", TotalFeatures);
        if (includeHash)
        {
            w.WriteString("schema_hash", SchemaHash);
        }
        w.WriteStartArray("features");
        foreach (var f in Features)
        {
            w.WriteStartObject();
            w.WriteString("name", f.Name);
            w.WriteString("type", f.Type.ToString().ToLowerInvariant());
            w.WriteString("dtype", f.Dtype);
            if (f.FillNa is not null)
            {
                w.WriteString("fill_na", f.FillNa);
            }
            if (f.Preprocess is not null)
            {
                w.WriteString("preprocess", f.Preprocess);
            }
            // Embedding keys are written only when they differ from the defaults, so maps written before they existed
            // keep their schema hash.
            if (f.Source is not null)
            {
                w.WriteString("source", f.Source);
            }
            if (f.EmbeddingDim is { } ed)
            {
                w.WriteNumber("embedding_dim", ed);
            }
            if (f.ShareEmbedding is not null)
            {
                w.WriteString("share_embedding", f.ShareEmbedding);
            }
            if (f.PretrainedEmb is not null)
            {
                w.WriteString("pretrained_emb", f.PretrainedEmb);
                w.WriteBoolean("freeze_emb", f.FreezeEmb);
            }
            else if (!f.FreezeEmb)
            {
                w.WriteBoolean("freeze_emb", false);
            }
            if (f.PretrainUsage != "init")
            {
                w.WriteString("pretrain_usage", f.PretrainUsage);
            }
            if (f.PretrainDim is { } pd)
            {
                w.WriteNumber("pretrain_dim", pd);
            }
            if (f.FeatureEncoder != FeatureInfo.DefaultEncoder(f.Type))
            {
                if (f.FeatureEncoder is null)
                {
                    w.WriteNull("feature_encoder");
                }
                else
                {
                    w.WriteString("feature_encoder", f.FeatureEncoder);
                }
            }
            if (f.Type is FeatureType.Categorical or FeatureType.Sequence)
            {
                w.WriteNumber("vocab_size", f.VocabSize);
                w.WriteNumber("padding_idx", 0);
                w.WriteNumber("oov_idx", f.OovIdx);
                w.WriteNumber("min_categr_count", f.MinCategrCount);
            }
            if (f.Type == FeatureType.Sequence)
            {
                w.WriteNumber("max_len", f.MaxLen);
                w.WriteString("splitter", f.Splitter);
                w.WriteString("padding", f.Padding);
            }
            if (f.Normalizer is not null)
            {
                w.WriteStartObject("normalizer");
                w.WriteString("type", f.Normalizer);
                var (a, b) = f.Normalizer == "StandardScaler" ? ("mean", "std") : ("min", "max");
                w.WriteNumber(a, f.NormA);
                w.WriteNumber(b, f.NormB);
                w.WriteEndObject();
            }
            if (f.Type is FeatureType.Categorical or FeatureType.Sequence && f.FixedVocabSize is null)
            {
                w.WriteStartObject("vocab");
                w.WriteNumber("__PAD__", 0);
                for (var i = 0; i < f.Vocab.Count; i++)
                {
                    w.WriteNumber(f.Vocab[i], i + 1);
                }
                w.WriteNumber("__OOV__", f.OovIdx);
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    /// <summary>Loads a feature map; a missing, truncated or corrupt file gives an error naming the file.</summary>
    public static FeatureMap Load(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataFormatException(path, 0, null, $"cannot read feature map: {e.Message}");
        }
        return Parse(bytes, path);
    }

    /// <summary>A feature map from its JSON text (what <see cref="ToJson"/> gives); errors name <paramref name="origin"/>.</summary>
    public static FeatureMap FromJson(string json, string origin) => Parse(Encoding.UTF8.GetBytes(json), origin);

    private static FeatureMap Parse(byte[] bytes, string path)
    {
        try
        {
            using var doc = JsonDocument.Parse(bytes);
            var r = doc.RootElement;
            var version = r.GetProperty("format_version").GetInt32();
            if (version != FormatVersion)
            {
                throw new DataFormatException(path, 0, null, $"feature map format_version {version} is not supported (expected {FormatVersion})");
            }
            var features = new List<FeatureInfo>();
            foreach (var fe in r.GetProperty("features").EnumerateArray())
            {
                var name = fe.GetProperty("name").GetString() ?? throw new FormatException("feature without a name");
                var type = Enum.Parse<FeatureType>(fe.GetProperty("type").GetString() ?? "", ignoreCase: true);
                string? Opt(string k) => fe.TryGetProperty(k, out var v) ? v.GetString() : null;
                int? OptInt(string k) => fe.TryGetProperty(k, out var v) ? v.GetInt32() : null;
                var info = new FeatureInfo
                {
                    Source = Opt("source"),
                    EmbeddingDim = OptInt("embedding_dim"),
                    ShareEmbedding = Opt("share_embedding"),
                    PretrainedEmb = Opt("pretrained_emb"),
                    FreezeEmb = !fe.TryGetProperty("freeze_emb", out var fz) || fz.GetBoolean(),
                    PretrainUsage = Opt("pretrain_usage") ?? "init",
                    PretrainDim = OptInt("pretrain_dim"),
                    FeatureEncoder = fe.TryGetProperty("feature_encoder", out var fenc) ? fenc.GetString() : FeatureInfo.DefaultEncoder(type),
                    Name = name,
                    Type = type,
                    Dtype = Opt("dtype") ?? "str",
                    FillNa = Opt("fill_na"),
                    Preprocess = Opt("preprocess"),
                    Splitter = Opt("splitter") ?? "^",
                    Padding = Opt("padding") ?? "post",
                    MinCategrCount = fe.TryGetProperty("min_categr_count", out var mc) ? mc.GetInt32() : 1,
                    MaxLen = fe.TryGetProperty("max_len", out var ml) ? ml.GetInt32() : 0,
                    Normalizer = fe.TryGetProperty("normalizer", out var nz) ? nz.GetProperty("type").GetString() : null,
                };
                if (info.Normalizer is not null)
                {
                    var (a, b) = info.Normalizer == "StandardScaler" ? ("mean", "std") : ("min", "max");
                    info.NormA = nz.GetProperty(a).GetDouble();
                    info.NormB = nz.GetProperty(b).GetDouble();
                }
                if (type is FeatureType.Categorical or FeatureType.Sequence && !fe.TryGetProperty("vocab", out _) && r.TryGetProperty("encoded_by", out _))
                {
                    info.FixedVocabSize = fe.GetProperty("vocab_size").GetInt32();
                    info.FixedOovIdx = fe.GetProperty("oov_idx").GetInt32();
                }
                else if (type is FeatureType.Categorical or FeatureType.Sequence)
                {
                    var vocab = new List<string>();
                    foreach (var p in fe.GetProperty("vocab").EnumerateObject())
                    {
                        var idx = p.Value.GetInt32();
                        if (p.Name is "__PAD__" or "__OOV__")
                        {
                            continue;
                        }
                        if (idx != vocab.Count + 1)
                        {
                            throw new FormatException($"feature '{name}': vocabulary index {idx} of '{p.Name}' is out of order");
                        }
                        vocab.Add(p.Name);
                    }
                    info.Vocab = vocab;
                    if (fe.GetProperty("vocab_size").GetInt32() != info.VocabSize)
                    {
                        throw new FormatException($"feature '{name}': vocab_size {fe.GetProperty("vocab_size").GetInt32()} does not match its vocabulary ({info.VocabSize})");
                    }
                }
                features.Add(info);
            }
            var sep = r.GetProperty("sep").GetString();
            var map = new FeatureMap
            {
                DatasetId = r.GetProperty("dataset_id").GetString() ?? "",
                LabelName = r.GetProperty("label").GetString() ?? "label",
                Format = Enum.Parse<DataFormat>(r.GetProperty("data_format").GetString() ?? "", ignoreCase: true),
                Separator = string.IsNullOrEmpty(sep) ? ',' : sep[0],
                Features = features,
                SourceColumns = r.TryGetProperty("source_columns", out var sc) ? [.. sc.EnumerateArray().Select(e => e.GetString() ?? "")] : null,
                FuxiEncoded = r.TryGetProperty("encoded_by", out var eb) && eb.GetString() == "fuxictr",
            };
            map.Seal();
            var stored = r.GetProperty("schema_hash").GetString();
            if (stored != map.SchemaHash)
            {
                throw new DataFormatException(path, 0, null, "feature map is corrupt: its schema_hash does not match its content (edited or damaged file)");
            }
            return map;
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException or ArgumentException)
        {
            throw new DataFormatException(path, 0, null, $"feature map is truncated or corrupt ({e.Message}); delete it to rebuild");
        }
    }

    /// <summary>
    /// Encodes one raw row exactly as the cache does (serving / single predictions): <paramref name="raw"/> returns the
    /// text of a source column (null or "" = missing). Unseen or rare tokens go to OOV; a non-numeric or non-finite
    /// value in a numeric feature is a <see cref="DataFormatException"/> naming the field.
    /// </summary>
    public void EncodeRow(Func<string, string?> raw, Span<int> categorical, Span<float> numeric, Span<int> sequence, out long groupId) =>
        EncodeRow(raw, categorical, numeric, sequence, [], out groupId);

    /// <summary>
    /// <see cref="EncodeRow(Func{string, string?}, Span{int}, Span{float}, Span{int}, out long)"/> with the vectors of
    /// <c>type: embedding</c> features (<see cref="EmbeddingWidth"/> floats; in raw text a splitter-joined list).
    /// </summary>
    public void EncodeRow(Func<string, string?> raw, Span<int> categorical, Span<float> numeric, Span<int> sequence, Span<float> embedding, out long groupId)
    {
        if (FuxiEncoded)
        {
            throw RawInputError("(row)");
        }
        if (categorical.Length < CategoricalCount || numeric.Length < NumericCount || sequence.Length < SequenceWidth || embedding.Length < EmbeddingWidth)
        {
            throw new ArgumentException($"buffers too small: need {CategoricalCount} categorical, {NumericCount} numeric, {SequenceWidth} sequence, {EmbeddingWidth} embedding slots");
        }
        groupId = 0;
        foreach (var f in Features)
        {
            var text = raw(f.SourceName) ?? "";
            switch (f.Type)
            {
                case FeatureType.Categorical:
                    if (f.IsNumberToken)
                    {
                        var t = text.Length == 0 ? f.FillNa ?? "0" : text;
                        if (!Segment.TryParseDouble(t, out var v) || !double.IsFinite(v))
                        {
                            categorical[f.TypeIndex] = f.OovIdx;
                            break;
                        }
                        categorical[f.TypeIndex] = f.IndexOfNumber(f.Preprocess == "convert_to_bucket" ? Segment.ConvertToBucket(v) : v);
                    }
                    else
                    {
                        categorical[f.TypeIndex] = StringIndex(f, text.Length == 0 ? f.FillNa ?? "" : text);
                    }
                    break;
                case FeatureType.Numeric:
                {
                    var t = text.Length == 0 ? f.FillNa ?? "0" : text;
                    if (!Segment.TryParseDouble(t, out var v))
                    {
                        throw new DataFormatException("(row)", 0, f.Name, $"non-numeric value in a numeric column: '{Segment.Clip(t)}'");
                    }
                    if (!double.IsFinite(v))
                    {
                        throw new DataFormatException("(row)", 0, f.Name, $"NaN/Inf not allowed: '{Segment.Clip(t)}'");
                    }
                    numeric[f.TypeIndex] = f.Normalize((float)v);
                    break;
                }
                case FeatureType.Sequence:
                {
                    var dst = sequence.Slice(f.SequenceOffset, f.MaxLen);
                    dst.Clear();
                    if (text.Length == 0)
                    {
                        break;
                    }
                    var parts = f.Splitter.Length == 0 ? [text] : text.Split(f.Splitter);
                    var keep = Math.Min(parts.Length, f.MaxLen);
                    var src = f.Padding == "pre" ? parts.Length - keep : 0;
                    var off = f.Padding == "pre" ? f.MaxLen - keep : 0;
                    var na = f.FillNa ?? "";
                    for (var i = 0; i < keep; i++)
                    {
                        var tok = parts[src + i];
                        dst[off + i] = tok == na ? 0 : StringIndex(f, tok);
                    }
                    break;
                }
                case FeatureType.Meta:
                    groupId = Segment.GroupId(text.Length == 0 ? f.FillNa ?? "" : text);
                    break;
                case FeatureType.Embedding:
                {
                    var dst = embedding.Slice(f.EmbeddingOffset, f.EmbeddingWidth);
                    var parts = text.Length == 0 ? [] : f.Splitter.Length == 0 ? [text] : text.Split(f.Splitter);
                    if (parts.Length != dst.Length)
                    {
                        throw new DataFormatException("(row)", 0, f.Name, $"embedding vector has {parts.Length} values, pretrain_dim is {dst.Length}");
                    }
                    for (var i = 0; i < parts.Length; i++)
                    {
                        if (!Segment.TryParseDouble(parts[i], out var v) || !double.IsFinite(v))
                        {
                            throw new DataFormatException("(row)", 0, f.Name, $"embedding value {i} is not a finite number: '{Segment.Clip(parts[i])}'");
                        }
                        dst[i] = (float)v;
                    }
                    break;
                }
            }
        }
    }

    private static int StringIndex(FeatureInfo f, string token) =>
        f.StringLookup().TryGetValue(token, out var i) ? i : f.OovIdx;

    /// <summary>An empty (unfitted) map from a config: vocabularies are filled by fitting.</summary>
    internal static FeatureMap FromConfig(DatasetConfig cfg)
    {
        var features = cfg.ActiveColumns.Select(c => new FeatureInfo
        {
            Name = c.Name,
            Type = c.Type,
            Dtype = c.Type == FeatureType.Categorical ? NormalizeDtype(c.Dtype) : c.Type is FeatureType.Numeric or FeatureType.Embedding ? "float" : "str",
            FillNa = c.FillNa,
            Preprocess = c.Preprocess,
            Splitter = c.Splitter,
            Padding = c.Padding,
            MinCategrCount = c.MinCategrCount ?? cfg.MinCategrCount,
            MaxLen = c.MaxLen,
            Normalizer = c.Normalizer,
            EmbeddingDim = c.EmbeddingDim,
            ShareEmbedding = c.ShareEmbedding,
            PretrainedEmb = c.PretrainedEmb is null ? null : cfg.ResolveExisting(c.PretrainedEmb, $"feature '{c.Name}': pretrained_emb"),
            FreezeEmb = c.FreezeEmb,
            PretrainUsage = c.PretrainUsage,
            PretrainDim = c.PretrainDim,
            FeatureEncoder = c.FeatureEncoder,
        }).ToList();
        var map = new FeatureMap
        {
            DatasetId = cfg.DatasetId,
            LabelName = cfg.LabelName,
            Format = cfg.Format,
            Separator = cfg.Separator,
            Features = features,
            SourceColumns = cfg.Format switch
            {
                DataFormat.LibFm => [cfg.LabelName, .. cfg.FeatureCols.Select(c => c.Name)],
                DataFormat.CriteoTsv => [cfg.LabelName, .. Enumerable.Range(1, 13).Select(i => $"I{i}"), .. Enumerable.Range(1, 26).Select(i => $"C{i}")],
                _ => null,
            },
        };
        map.Seal();
        return map;
    }

    private static string NormalizeDtype(string d) => d.StartsWith("int", StringComparison.Ordinal) ? "int" : d.StartsWith("float", StringComparison.Ordinal) ? "float" : "str";

    internal static ReadOnlySpan<byte> AsBytes<T>(ReadOnlySpan<T> s) where T : struct => MemoryMarshal.AsBytes(s);
}
