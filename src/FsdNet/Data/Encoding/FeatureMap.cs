using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace FsdNet.Data;

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
    internal void Seal()
    {
        int c = 0, n = 0, s = 0, width = 0, emb = 0, e = 0;
        HasGroupId = false;
        foreach (var f in Features)
        {
            f.ResetCodec();
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
                // Written only when set, so maps written before these keys existed keep their schema hash.
                if (f.MaxVocabSize is { } mv)
                {
                    w.WriteNumber("max_vocab_size", mv);
                }
                if (f.HashBuckets is { } hb)
                {
                    w.WriteNumber("hash_buckets", hb);
                }
            }
            if (f.Type == FeatureType.Sequence)
            {
                w.WriteNumber("max_len", f.MaxLen);
                w.WriteString("splitter", f.Splitter);
                w.WriteString("padding", EncodingNames.Name(f.Padding));
            }
            else if (f.Type == FeatureType.Embedding && f.Splitter != "^")
            {
                // The vector's splitter (written only when not the default, so older maps keep their schema hash).
                w.WriteString("splitter", f.Splitter);
            }
            if (EncodingNames.Name(f.Normalizer) is { } scaler)
            {
                w.WriteStartObject("normalizer");
                w.WriteString("type", scaler);
                var (a, b) = EncodingNames.ParameterNames(f.Normalizer);
                w.WriteNumber(a, f.NormA);
                w.WriteNumber(b, f.NormB);
                w.WriteEndObject();
            }
            if (f.Type is FeatureType.Categorical or FeatureType.Sequence && f.FixedVocabSize is null && f.HashBuckets is null)
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
                    Padding = EncodingNames.Padding(Opt("padding")) ?? throw new FormatException($"feature '{name}': padding '{Opt("padding")}' is not post or pre"),
                    MinCategrCount = fe.TryGetProperty("min_categr_count", out var mc) ? mc.GetInt32() : 1,
                    MaxVocabSize = OptInt("max_vocab_size"),
                    HashBuckets = OptInt("hash_buckets"),
                    MaxLen = fe.TryGetProperty("max_len", out var ml) ? ml.GetInt32() : 0,
                    Normalizer = fe.TryGetProperty("normalizer", out var nz)
                        ? EncodingNames.ScalerOf(nz.GetProperty("type").GetString()) is { } scaler and not Scaler.None ? scaler
                            : throw new FormatException($"feature '{name}': normalizer '{nz.GetProperty("type").GetString()}' is not StandardScaler or MinMaxScaler")
                        : Scaler.None,
                };
                if (info.Normalizer != Scaler.None)
                {
                    var (a, b) = EncodingNames.ParameterNames(info.Normalizer);
                    info.NormA = nz.GetProperty(a).GetDouble();
                    info.NormB = nz.GetProperty(b).GetDouble();
                }
                if (type is FeatureType.Categorical or FeatureType.Sequence && !fe.TryGetProperty("vocab", out _) && r.TryGetProperty("encoded_by", out _))
                {
                    info.FixedVocabSize = fe.GetProperty("vocab_size").GetInt32();
                    info.FixedOovIdx = fe.GetProperty("oov_idx").GetInt32();
                }
                else if (type is FeatureType.Categorical or FeatureType.Sequence && info.HashBuckets is null)
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
            var text = (raw(f.SourceName) ?? "").AsSpan();
            var codec = f.Codec;
            switch (f.Type)
            {
                case FeatureType.Categorical:
                    categorical[f.TypeIndex] = codec.CategoricalCode(text);
                    break;
                case FeatureType.Numeric:
                {
                    if (codec.ParseNumber(text, out var v) is { } problem)
                    {
                        throw new DataFormatException("(row)", 0, f.Name, problem);
                    }
                    numeric[f.TypeIndex] = codec.Normalize((float)v);
                    break;
                }
                case FeatureType.Sequence:
                {
                    var dst = sequence.Slice(f.SequenceOffset, f.MaxLen);
                    if (text.IsEmpty)
                    {
                        dst.Clear();
                        break;
                    }
                    codec.EncodeSequence(new TextTokens(text, f.Splitter), dst);
                    break;
                }
                case FeatureType.Meta:
                    groupId = FeatureCodec.GroupId(codec.TextToken(text));
                    break;
                case FeatureType.Embedding:
                    if (codec.ParseVector(text, embedding.Slice(f.EmbeddingOffset, f.EmbeddingWidth)) is { } bad)
                    {
                        throw new DataFormatException("(row)", 0, f.Name, bad);
                    }
                    break;
            }
        }
    }

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
            Padding = EncodingNames.Padding(c.Padding) ?? throw new DataConfigException($"feature '{c.Name}': padding must be 'post' or 'pre'"),
            MinCategrCount = c.MinCategrCount ?? cfg.MinCategrCount,
            MaxVocabSize = c.Type is FeatureType.Categorical or FeatureType.Sequence && c.HashBuckets is null ? c.MaxVocabSize ?? cfg.MaxVocabSize : null,
            HashBuckets = c.HashBuckets,
            MaxLen = c.MaxLen,
            Normalizer = EncodingNames.ScalerOf(c.Normalizer) ?? throw new DataConfigException($"feature '{c.Name}': normalizer '{c.Normalizer}' is not supported (StandardScaler, MinMaxScaler)"),
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
