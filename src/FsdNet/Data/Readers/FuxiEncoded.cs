using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace FsdNet.Data;

/// <summary>
/// Data that FuxiCTR has already encoded (<c>h5</c> of FuxiCTR 2.0.x, <c>npz</c> and encoded <c>parquet</c> of 2.3),
/// described by FuxiCTR's <c>feature_map.json</c>: the map is read as the encoder and the codes are kept exactly.
/// </summary>
internal static class FuxiEncodedData
{
    /// <summary>
    /// Reads FuxiCTR's <c>feature_map.json</c> as a sealed <see cref="FeatureMap"/> (<see cref="FeatureMap.FuxiEncoded"/> set,
    /// no raw vocabulary: vocab_size / oov_idx as FuxiCTR wrote them). <paramref name="format"/> is the data format the
    /// split files have; <paramref name="featureSpecs"/> are FuxiCTR's <c>feature_specs</c> overrides.
    /// </summary>
    public static FeatureMap LoadFeatureMap(string path, DataFormat format, string? datasetId = null, string? labelName = null,
        IEnumerable<(string Name, Dictionary<string, string?> Keys)>? featureSpecs = null)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataFormatException(path, 0, null, $"cannot read FuxiCTR feature map: {e.Message}");
        }
        try
        {
            using var doc = JsonDocument.Parse(bytes);
            var r = doc.RootElement;
            var id = r.GetProperty("dataset_id").GetString() ?? "";
            if (datasetId is not null && id != datasetId)
            {
                throw new DataFormatException(path, 0, "dataset_id", $"dataset_id '{id}' does not match the config's '{datasetId}' (FuxiCTR refuses this too)");
            }
            var labels = r.TryGetProperty("labels", out var lb) ? lb.EnumerateArray().Select(e => e.GetString() ?? "").ToList() : [];
            var label = labelName ?? (labels.Count > 0 ? labels[0] : throw new DataFormatException(path, 0, "labels", "no 'labels' in the feature map and no label_col in the config"));
            var overrides = new Dictionary<string, Dictionary<string, string?>>(StringComparer.Ordinal);
            foreach (var (n, keys) in featureSpecs ?? [])
            {
                if (!overrides.TryGetValue(n, out var d))
                {
                    overrides[n] = d = new Dictionary<string, string?>(StringComparer.Ordinal);
                }
                foreach (var (k, v) in keys)
                {
                    d[k] = v;
                }
            }
            var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
            var features = new List<FeatureInfo>();
            foreach (var entry in r.GetProperty("features").EnumerateArray())
            {
                foreach (var p in entry.EnumerateObject())
                {
                    features.Add(Feature(path, dir, p.Name, p.Value, overrides.GetValueOrDefault(p.Name)));
                    overrides.Remove(p.Name);
                }
            }
            if (overrides.Count > 0)
            {
                throw new DataConfigException($"feature_specs names '{overrides.Keys.First()}', which is not a feature of {path}");
            }
            foreach (var f in features.Where(f => f.ShareEmbedding is not null))
            {
                var t = features.FirstOrDefault(x => x.Name == f.ShareEmbedding)
                    ?? throw new DataFormatException(path, 0, f.Name, $"share_embedding '{f.ShareEmbedding}' is not a feature of this map");
                if (t.Type is not (FeatureType.Categorical or FeatureType.Sequence))
                {
                    throw new DataFormatException(path, 0, f.Name, $"share_embedding '{f.ShareEmbedding}' is a {t.Type.ToString().ToLowerInvariant()} feature");
                }
            }
            var map = new FeatureMap
            {
                DatasetId = id,
                LabelName = label,
                Format = format,
                Separator = ',',
                Features = features,
                FuxiEncoded = true,
            };
            map.Seal();
            return map;
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new DataFormatException(path, 0, null, $"not a FuxiCTR feature_map.json ({e.Message})");
        }
    }

    private static FeatureInfo Feature(string path, string dir, string name, JsonElement spec, Dictionary<string, string?>? over)
    {
        string? Str(string k)
        {
            if (over is not null && over.TryGetValue(k, out var o))
            {
                return o;
            }
            if (!spec.TryGetProperty(k, out var v) || v.ValueKind == JsonValueKind.Null)
            {
                return null;
            }
            return v.ValueKind == JsonValueKind.String ? v.GetString() : v.GetRawText();
        }
        int? Int(string k)
        {
            var s = Str(k);
            if (s is null)
            {
                return null;
            }
            return int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i) && i >= 0 ? i
                : throw new DataFormatException(path, 0, name, $"'{k}' must be a non-negative integer, got '{s}'");
        }
        var typeText = Str("type") ?? throw new DataFormatException(path, 0, name, "feature has no 'type'");
        var type = EncodingNames.TypeOf(typeText)
            ?? throw new DataFormatException(path, 0, name, $"feature type '{typeText}' is not one of {EncodingNames.TypeNames}");
        if (Str("category_processor") is { } cp)
        {
            throw new DataFormatException(path, 0, name, $"category_processor '{cp}' is not supported");
        }
        int? vocab = null, oov = null;
        if (type is FeatureType.Categorical or FeatureType.Sequence)
        {
            vocab = Int("vocab_size") ?? throw new DataFormatException(path, 0, name, "categorical/sequence feature has no 'vocab_size'");
            if (vocab < 2)
            {
                throw new DataFormatException(path, 0, name, $"vocab_size {vocab} is too small (PAD and OOV need 2 rows)");
            }
            if (Int("padding_idx") is { } pad && pad != 0)
            {
                throw new DataFormatException(path, 0, name, $"padding_idx {pad} is not supported (FsdNet pads with index 0, as FuxiCTR writes it)");
            }
            oov = Int("oov_idx") ?? vocab - 1;
            if (oov >= vocab)
            {
                throw new DataFormatException(path, 0, name, $"oov_idx {oov} is not below vocab_size {vocab}");
            }
        }
        var maxLen = 0;
        if (type == FeatureType.Sequence)
        {
            maxLen = Int("max_len") ?? throw new DataFormatException(path, 0, name, "sequence feature has no 'max_len'");
            if (maxLen < 1)
            {
                throw new DataFormatException(path, 0, name, "max_len must be at least 1");
            }
        }
        var pretrainDim = Int("pretrain_dim");
        if (type == FeatureType.Embedding && pretrainDim is not > 0)
        {
            throw new DataFormatException(path, 0, name, "embedding feature has no positive 'pretrain_dim'");
        }
        // FuxiCTR writes feature_encoder only when one is used: an absent key means none (for sequences too).
        var encoderText = Str("feature_encoder");
        var encoder = type == FeatureType.Sequence ? DatasetConfigLoader.CanonicalEncoder(encoderText, name, path)
            : encoderText is null or "null" or "None" or "none" ? null
            : throw new DataFormatException(path, 0, name, $"feature_encoder '{encoderText}' is not supported for a {typeText} feature (only sequence pooling)");
        var usage = Str("pretrain_usage") ?? "init";
        if (usage is not ("init" or "sum" or "concat"))
        {
            throw new DataFormatException(path, 0, name, $"pretrain_usage must be init, sum or concat, got '{usage}'");
        }
        var pretrained = Str("pretrained_emb");
        var freezeText = Str("freeze_emb");
        return new FeatureInfo
        {
            Name = name,
            Type = type,
            Dtype = type is FeatureType.Numeric or FeatureType.Embedding ? "float" : "int",
            Source = Str("source") is { Length: > 0 } src ? src : null,
            MaxLen = maxLen,
            EmbeddingDim = Int("embedding_dim"),
            ShareEmbedding = Str("share_embedding"),
            // FuxiCTR resolves pretrained_emb against its data folder (where feature_map.json is).
            PretrainedEmb = pretrained is null ? null : Path.IsPathRooted(pretrained) ? pretrained : Path.GetFullPath(Path.Combine(dir, pretrained)),
            FreezeEmb = freezeText is null || freezeText is "true" or "True" or "1",
            PretrainUsage = usage,
            PretrainDim = pretrainDim,
            FeatureEncoder = encoder,
            FixedVocabSize = vocab,
            FixedOovIdx = oov,
        };
    }

    /// <summary>
    /// The files of one split: a file; <c>x</c> meaning <c>x.npz</c>/<c>x.parquet</c>/<c>x.h5</c> (as FuxiCTR's loaders append
    /// the extension); a folder (its files of that extension, sorted: FuxiCTR's <c>part_*</c> blocks); or a <c>*</c> pattern.
    /// </summary>
    public static IReadOnlyList<string> SplitFiles(string path, DataFormat format)
    {
        var ext = Extension(format);
        if (File.Exists(path))
        {
            return [path];
        }
        if (Directory.Exists(path))
        {
            var files = Directory.GetFiles(path, "*" + ext).Order(StringComparer.Ordinal).ToList();
            return files.Count > 0 ? files : throw new DataFormatException(path, 0, null, $"folder holds no {ext} files");
        }
        if (DatasetConfig.HasGlob(path))
        {
            var dir = Path.GetDirectoryName(path) ?? ".";
            var files = Directory.Exists(dir) ? Directory.GetFiles(dir, Path.GetFileName(path)).Order(StringComparer.Ordinal).ToList() : [];
            return files.Count > 0 ? files : throw new DataFormatException(path, 0, null, "no file matches this pattern");
        }
        if (File.Exists(path + ext))
        {
            return [path + ext];
        }
        throw new DataFormatException(path, 0, null, "file not found");
    }

    internal static string Extension(DataFormat f) => FormatReaders.Arrays(f).Extension;

    private static ArrayFile OpenSource(string path, DataFormat format)
    {
        RawFiles.CheckExists(path);
        return FormatReaders.Arrays(format).Open(path);
    }

    /// <summary>
    /// Writes the cache of one split of FuxiCTR-encoded files with <paramref name="map"/> (FuxiEncoded): codes are copied
    /// as they are and checked (0 &lt;= code &lt; vocab_size; a bad one is an error naming file, column and row).
    /// </summary>
    internal static void WriteCache(FeatureMap map, IReadOnlyList<string> files, string outPath, byte[] sourceFp)
    {
        var sources = files.Select(f => OpenSource(f, map.Format)).ToList();
        var rowCounts = new long[sources.Count];
        for (var k = 0; k < sources.Count; k++)
        {
            var src = sources[k];
            foreach (var name in map.Features.Select(f => f.Name).Prepend(map.LabelName))
            {
                if (!src.Names.Contains(name))
                {
                    throw new DataFormatException(src.Path, 0, name, $"column of the feature map is absent from the file (it has: {string.Join(", ", src.Names.Take(60))})");
                }
            }
            rowCounts[k] = src.Read(map.LabelName).Rows;
        }
        var rows = rowCounts.Sum();
        if (rows == 0)
        {
            throw new DataFormatException(files[0], 0, null, "empty file (no data rows)");
        }
        var seq = map.Sequence.ToArray();
        var emb = map.Embedding.ToArray();
        var layout = new CacheLayout(rows, map.CategoricalCount, map.NumericCount, [.. seq.Select(f => f.MaxLen)], map.HasGroupId, [.. emb.Select(f => f.EmbeddingWidth)], EncodedDataset.CodeWidths(map));
        var dir = Path.GetDirectoryName(Path.GetFullPath(outPath))!;
        Directory.CreateDirectory(dir);
        var tmp = outPath + $".{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        try
        {
            using (var handle = File.OpenHandle(tmp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None))
            {
                RandomAccess.SetLength(handle, layout.TotalBytes);
                long row0 = 0;
                var narrow = Array.Empty<byte>();
                for (var k = 0; k < sources.Count; k++)
                {
                    var src = sources[k];
                    var n = rowCounts[k];
                    var lab = Expect(src, map.LabelName, n, 1);
                    var labels = new float[n];
                    for (long i = 0; i < n; i++)
                    {
                        var v = lab.Float(i);
                        labels[i] = v switch
                        {
                            1 => 1f,
                            0 or -1 => 0f,
                            _ => throw new DataFormatException(src.Path, i + 1, map.LabelName, $"label outside {{0,1,-1}}: {v.ToString("R", CultureInfo.InvariantCulture)} (line = row number)"),
                        };
                    }
                    Write(handle, labels, layout.LabelsOffset + (row0 * 4));
                    foreach (var f in map.Features)
                    {
                        switch (f.Type)
                        {
                            case FeatureType.Categorical:
                            {
                                var width = layout.CatWidths[f.TypeIndex];
                                var codes = Codes(src, f, n, 1);
                                if (narrow.Length < codes.Length * 2)
                                {
                                    narrow = new byte[codes.Length * 2];
                                }
                                CacheWriter.WriteCodes(handle, codes, width, layout.CatOffsets[f.TypeIndex] + (row0 * width), narrow);
                                break;
                            }
                            case FeatureType.Sequence:
                                Write(handle, Codes(src, f, n, f.MaxLen), layout.SeqOffsets[f.TypeIndex] + (row0 * f.MaxLen * 4L));
                                break;
                            case FeatureType.Numeric:
                                Write(handle, Floats(src, f, n, 1), layout.NumOffsets[f.TypeIndex] + (row0 * 4));
                                break;
                            case FeatureType.Embedding:
                                Write(handle, Floats(src, f, n, f.EmbeddingWidth), layout.EmbOffsets[f.TypeIndex] + (row0 * f.EmbeddingWidth * 4L));
                                break;
                            case FeatureType.Meta:
                            {
                                var a = Expect(src, f.Name, n, 1);
                                var g = new long[n];
                                for (long i = 0; i < n; i++)
                                {
                                    g[i] = a.Kind == ArrayKind.Text ? FeatureCodec.GroupId(a.Texts![i]) : a.Kind == ArrayKind.Float ? (long)a.Floats![i] : a.Ints![i];
                                }
                                Write(handle, g, layout.GroupOffset + (row0 * 8));
                                break;
                            }
                        }
                    }
                    row0 += n;
                }
            }
            CacheWriter.FinishCache(tmp, layout, map, sourceFp);
            File.Move(tmp, outPath, overwrite: true);
        }
        finally
        {
            if (File.Exists(tmp))
            {
                File.Delete(tmp);
            }
        }
    }

    private static NdArray Expect(ArrayFile src, string name, long rows, int cols)
    {
        var a = src.Read(name);
        if (a.Rows != rows)
        {
            throw new DataFormatException(src.Path, 0, name, $"column has {a.Rows} rows, the label column has {rows}");
        }
        if (a.Cols != cols)
        {
            throw new DataFormatException(src.Path, 0, name, cols == 1
                ? $"column has {a.Cols} values per row, expected 1"
                : $"column has {a.Cols} values per row, the feature map says {cols} (max_len / pretrain_dim)");
        }
        return a;
    }

    private static int[] Codes(ArrayFile src, FeatureInfo f, long rows, int cols)
    {
        var a = Expect(src, f.Name, rows, cols);
        var vocab = f.VocabSize;
        var n = rows * cols;
        var codes = new int[n];
        for (long i = 0; i < n; i++)
        {
            double v;
            if (a.Kind is ArrayKind.Int or ArrayKind.Bool)
            {
                v = a.Ints![i];
            }
            else if (a.Kind == ArrayKind.Float)
            {
                v = a.Floats![i];
                if (v != Math.Floor(v))
                {
                    throw new DataFormatException(src.Path, (i / cols) + 1, f.Name, $"code {v.ToString("R", CultureInfo.InvariantCulture)} is not an integer (line = row number)");
                }
            }
            else
            {
                throw new DataFormatException(src.Path, 0, f.Name, $"column holds text ({a.Dtype}); FuxiCTR-encoded data holds integer codes");
            }
            if (v < 0 || v >= vocab)
            {
                throw new DataFormatException(src.Path, (i / cols) + 1, f.Name,
                    $"code {v.ToString("R", CultureInfo.InvariantCulture)} is outside 0..{vocab - 1} (vocab_size {vocab} in feature_map.json) (line = row number)");
            }
            codes[i] = (int)v;
        }
        return codes;
    }

    private static float[] Floats(ArrayFile src, FeatureInfo f, long rows, int cols)
    {
        var a = Expect(src, f.Name, rows, cols);
        if (a.Kind == ArrayKind.Text)
        {
            throw new DataFormatException(src.Path, 0, f.Name, $"column holds text ({a.Dtype}); expected numbers");
        }
        var n = rows * cols;
        var v = new float[n];
        for (long i = 0; i < n; i++)
        {
            var d = a.Float(i);
            if (!double.IsFinite(d))
            {
                throw new DataFormatException(src.Path, (i / cols) + 1, f.Name, $"NaN/Inf not allowed (line = row number)");
            }
            v[i] = (float)d;
        }
        return v;
    }

    private static void Write<T>(Microsoft.Win32.SafeHandles.SafeFileHandle h, T[] data, long offset) where T : struct =>
        RandomAccess.Write(h, MemoryMarshal.AsBytes(data.AsSpan()), offset);
}
