using System.Text.Json;

namespace FsdNet.Data;

/// <summary>
/// A pretrained embedding table aligned to a feature's vocabulary: <see cref="Values"/> is row-major
/// [<see cref="Rows"/> x <see cref="Dim"/>]; row <c>i</c> belongs to code <c>i</c>; <see cref="FromFile"/>[i] says whether
/// that row was filled from the file.
/// </summary>
internal sealed class PretrainedTable
{
    public required int Rows { get; init; }
    public required int Dim { get; init; }
    public required float[] Values { get; init; }
    public required bool[] FromFile { get; init; }

    /// <summary>How many rows came from the file.</summary>
    public int FilledRows => FromFile.Count(b => b);
}

/// <summary>Reads FuxiCTR-style pretrained embedding files (<c>key</c> and <c>value</c> arrays in npz, h5 or parquet).</summary>
internal static class PretrainedEmbeddings
{
    /// <summary>
    /// Loads <paramref name="feature"/>'s <c>pretrained_emb</c> file as a [VocabSize x pretrain_dim] float32 matrix aligned
    /// to the feature's codes (row i = code i).
    /// <list type="bullet">
    /// <item>Row 0 (PAD) is all zeros and never marked as from the file.</item>
    /// <item>A key of the file fills the row of its code (the vocabulary was expanded with every key when it was
    /// fitted, as FuxiCTR's <c>load_pretrained_vocab</c> does, so no key is lost); a later duplicate key overwrites an
    /// earlier one, as in FuxiCTR.</item>
    /// <item>Rows of tokens that are not in the file (train tokens without a vector, and OOV) are zeros with
    /// <see cref="PretrainedTable.FromFile"/> false. With <c>freeze_emb: true</c> zeros are what FuxiCTR uses; with
    /// <c>freeze_emb: false</c> FuxiCTR draws them from N(0, 1e-4): the caller initialises those rows itself.</item>
    /// </list>
    /// The file's width must equal <c>pretrain_dim</c> when that is given. The path is the feature's resolved
    /// <c>pretrained_emb</c>; a relative path is resolved against <paramref name="baseDir"/> (default: the working folder).
    /// For a map read from FuxiCTR's encoded data the keys are aligned through FuxiCTR's <c>feature_vocab.json</c> next to the
    /// file; FuxiCTR 2.0.x's <c>pretrained_emb.h5</c> (one already aligned dataset per feature) is read as it is.
    /// Errors (missing file, bad layout, width mismatch) are <see cref="DataFormatException"/> naming the file.
    /// </summary>
    public static PretrainedTable LoadTable(FeatureInfo feature, string? baseDir = null)
    {
        ArgumentNullException.ThrowIfNull(feature);
        var rel = feature.PretrainedEmb ?? throw new DataConfigException($"feature '{feature.Name}' has no pretrained_emb");
        var path = Path.IsPathRooted(rel) ? rel : Path.GetFullPath(Path.Combine(baseDir ?? Directory.GetCurrentDirectory(), rel));
        RawFiles.CheckExists(path);
        var rows = feature.VocabSize;
        if (rows <= 0)
        {
            throw new DataConfigException($"feature '{feature.Name}': pretrained_emb needs a categorical or sequence feature");
        }
        // FuxiCTR 2.0.x: pretrained_emb.h5 holds one dataset per feature, already aligned to the vocabulary.
        if (feature.FixedVocabSize is not null && path.EndsWith(".h5", StringComparison.OrdinalIgnoreCase) &&
            !H5Arrays.Names(path).Contains("key") && H5Arrays.Names(path).Contains(feature.Name))
        {
            var m = H5Arrays.Read(path, feature.Name);
            if (m.Rows != rows || !m.Is2D || m.Kind != ArrayKind.Float)
            {
                throw new DataFormatException(path, 0, feature.Name, $"dataset is {m.Rows} x {m.Cols} {m.Dtype}; expected {rows} x pretrain_dim floats");
            }
            CheckDim(feature, path, m.Cols);
            var vals = new float[rows * m.Cols];
            var from = new bool[rows];
            for (var i = 0; i < rows; i++)
            {
                from[i] = i != 0;
                for (var j = 0; j < m.Cols && i != 0; j++)
                {
                    vals[(i * m.Cols) + j] = (float)m.Floats![((long)i * m.Cols) + j];
                }
            }
            return new PretrainedTable { Rows = rows, Dim = m.Cols, Values = vals, FromFile = from };
        }
        var (keys, values) = ReadKeysValues(path);
        CheckDim(feature, path, values.Cols);
        Func<string, int?> codeOf;
        if (feature.FixedVocabSize is not null)
        {
            var vocabPath = Path.Combine(Path.GetDirectoryName(path)!, "feature_vocab.json");
            codeOf = FuxiVocab(vocabPath, feature.Name);
        }
        else
        {
            codeOf = token =>
            {
                var c = feature.IndexOf(token);
                return c == feature.OovIdx ? null : c;
            };
        }
        var dim = values.Cols;
        var table = new float[(long)rows * dim];
        var mask = new bool[rows];
        for (long k = 0; k < keys.Rows; k++)
        {
            if (codeOf(keys.Token(k)) is not { } code || code <= 0 || code >= rows)
            {
                continue;
            }
            mask[code] = true;
            for (var j = 0; j < dim; j++)
            {
                table[((long)code * dim) + j] = (float)values.Float((k * dim) + j);
            }
        }
        return new PretrainedTable { Rows = rows, Dim = dim, Values = table, FromFile = mask };
    }

    private static void CheckDim(FeatureInfo f, string path, int cols)
    {
        if (f.PretrainDim is { } pd && pd != cols)
        {
            throw new DataFormatException(path, 0, "value", $"vectors have {cols} values, feature '{f.Name}' has pretrain_dim {pd}");
        }
    }

    /// <summary>The keys (1-D) and values (2-D) of a pretrained embedding file; its type comes from the extension (.npz, .h5, .parquet).</summary>
    internal static (NdArray Keys, NdArray Values) ReadKeysValues(string path)
    {
        RawFiles.CheckExists(path);
        NdArray keys, values;
        var ext = Path.GetExtension(path).ToLowerInvariant();
        switch (ext)
        {
            case ".npz":
                keys = Npy.ReadNpz(path, "key");
                values = Npy.ReadNpz(path, "value");
                break;
            case ".h5" or ".hdf5":
                keys = H5Arrays.Read(path, "key");
                values = H5Arrays.Read(path, "value");
                break;
            case ".parquet":
            {
                var (_, read, _) = ParquetArrays.Open(path);
                keys = read("key");
                values = read("value");
                break;
            }
            default:
                throw new DataFormatException(path, 0, null, "pretrained_emb must be an .npz, .h5 or .parquet file with arrays 'key' and 'value' (as FuxiCTR reads)");
        }
        if (keys.Is2D)
        {
            throw new DataFormatException(path, 0, "key", $"'key' must be 1-D, got {keys.Rows} x {keys.Cols}");
        }
        if (values.Kind != ArrayKind.Float || (!values.Is2D && keys.Rows > 1))
        {
            throw new DataFormatException(path, 0, "value", $"'value' must be a 2-D float array [keys x dim], got {values.Dtype} {values.Rows} x {values.Cols}");
        }
        if (values.Rows != keys.Rows)
        {
            throw new DataFormatException(path, 0, "value", $"'value' has {values.Rows} rows, 'key' has {keys.Rows}");
        }
        return (keys, values);
    }

    /// <summary>The pretrained keys as vocabulary tokens of <paramref name="f"/> (numbers in the feature's number form).</summary>
    internal static List<string> KeyTokens(FeatureInfo f, string path)
    {
        var (keys, _) = ReadKeysValues(path);
        var list = new List<string>((int)keys.Rows);
        for (long i = 0; i < keys.Rows; i++)
        {
            if (f.Codec.NumberKeyed && keys.Kind != ArrayKind.Text)
            {
                list.Add(FeatureCodec.NumberText(keys.Float(i)));
            }
            else if (f.Codec.NumberKeyed)
            {
                list.Add(double.TryParse(keys.Texts![i], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var d)
                    ? FeatureCodec.NumberText(d)
                    : throw new DataFormatException(path, 0, "key", $"key '{keys.Texts[i]}' is not a number but feature '{f.Name}' has a numeric dtype"));
            }
            else
            {
                list.Add(keys.Token(i));
            }
        }
        return list;
    }

    private static Func<string, int?> FuxiVocab(string vocabPath, string feature)
    {
        if (!File.Exists(vocabPath))
        {
            throw new DataFormatException(vocabPath, 0, feature,
                "FuxiCTR's feature_vocab.json is needed to align the pretrained keys of FuxiCTR-encoded data to their codes, and it is absent");
        }
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(vocabPath));
            if (!doc.RootElement.TryGetProperty(feature, out var v))
            {
                throw new DataFormatException(vocabPath, 0, feature, "feature is absent from feature_vocab.json");
            }
            var d = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var p in v.EnumerateObject())
            {
                d[p.Name] = p.Value.GetInt32();
            }
            return t => d.TryGetValue(t, out var c) ? c : null;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            throw new DataFormatException(vocabPath, 0, feature, $"not a FuxiCTR feature_vocab.json ({e.Message})");
        }
    }
}
