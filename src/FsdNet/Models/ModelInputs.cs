using FsdNet.Data;
using FsdNet.Layers;
using FsdNet.Training;
using YamlDotNet.RepresentationModel;

namespace FsdNet.Models;

/// <summary>
/// The bridge from the data layer to the models: the <see cref="InputSchema"/> of a fitted feature map (with the
/// experiment's <c>use_features</c> and <c>feature_specs</c> applied, as FuxiCTR's FeatureMap.load does) and the
/// <see cref="ModelInput"/> view of a batch.
/// </summary>
internal static class ModelInputs
{
    /// <summary>Keys a <c>feature_specs</c> entry may set for a feature (besides <c>name</c>).</summary>
    public static IReadOnlyList<string> FeatureSpecKeys { get; } = ["embedding_dim", "feature_encoder", "share_embedding", "freeze_emb", "pretrain_usage"];

    /// <summary>A batch as model input (no copy: the view reads the batch's arrays).</summary>
    public static ModelInput Input(this Batch b) =>
        new(b.Size, b.Categorical, b.CategoricalCount, b.Labels, b.Numeric, b.NumericCount, b.Sequence, b.SequenceWidth, b.Embedding, b.EmbeddingWidth);

    /// <summary>
    /// The fields of <paramref name="map"/> a model reads: every non-meta feature in map order, or those named by
    /// the config's <c>use_features</c> in that order; <c>feature_specs</c> entries override per-feature keys.
    /// </summary>
    public static InputSchema Schema(FeatureMap map, ModelConfig? cfg = null)
    {
        var where = cfg is null ? "" : $"{cfg.Source} [{cfg.ExpId}]: ";
        var features = map.Features.Where(f => f.Type != FeatureType.Meta).ToList();
        var use = cfg?.GetStringList("use_features", []) ?? [];
        if (use.Count > 0)
        {
            features = [.. use.Select(n => features.FirstOrDefault(f => f.Name == n)
                ?? throw new ConfigException($"{where}use_features names '{n}', which is not a feature of '{map.DatasetId}' (features: {string.Join(", ", features.Select(f => f.Name))}).")).Distinct()];
        }
        var overrides = FeatureSpecs(cfg, where, features.Select(f => f.Name).ToHashSet(StringComparer.Ordinal));
        var fields = features.Select(f => Field(f, overrides.GetValueOrDefault(f.Name), where)).ToList();
        try
        {
            return new InputSchema(fields, map.CategoricalCount, map.NumericCount, map.SequenceWidth, map.EmbeddingWidth);
        }
        catch (ArgumentException e)
        {
            throw new ConfigException(where + e.Message);
        }
    }

    private static InputField Field(FeatureInfo f, Dictionary<string, string>? over, string where)
    {
        string? Get(string key, string? value) => over is not null && over.TryGetValue(key, out var v) ? v : value;
        var dimText = Get("embedding_dim", f.EmbeddingDim?.ToString(System.Globalization.CultureInfo.InvariantCulture));
        int? dim = dimText is null ? null : DatasetConfigLoader.ParseNumber(dimText) is { } d && d == Math.Floor(d) && d is >= 1 and <= int.MaxValue
            ? (int)d
            : throw new ConfigException($"{where}feature '{f.Name}': embedding_dim must be a whole number >= 1, got '{dimText}'.");
        var kind = f.Type switch
        {
            FeatureType.Categorical => InputKind.Categorical,
            FeatureType.Numeric => InputKind.Numeric,
            FeatureType.Sequence => InputKind.Sequence,
            _ => InputKind.Embedding,
        };
        var encoder = Get("feature_encoder", f.FeatureEncoder);
        var pooling = PoolingOf(encoder, f.Name, where);
        PretrainedSpec? pretrained = null;
        if (f.PretrainedEmb is { } file && kind is InputKind.Categorical or InputKind.Sequence)
        {
            var usageText = Get("pretrain_usage", f.PretrainUsage) ?? "init";
            var usage = usageText.ToLowerInvariant() switch
            {
                "init" => PretrainUsage.Init,
                "sum" => PretrainUsage.Sum,
                "concat" => PretrainUsage.Concat,
                _ => throw new ConfigException($"{where}feature '{f.Name}': pretrain_usage must be init, sum or concat, got '{usageText}'."),
            };
            var freezeText = Get("freeze_emb", f.FreezeEmb ? "true" : "false")!;
            var freeze = freezeText.ToLowerInvariant() switch
            {
                "true" or "yes" or "1" => true,
                "false" or "no" or "0" => false,
                _ => throw new ConfigException($"{where}feature '{f.Name}': freeze_emb must be true or false, got '{freezeText}'."),
            };
            var pdim = f.PretrainDim ?? dim ?? 0;
            pretrained = new PretrainedSpec(pdim, freeze, usage, () => LoadPretrained(f), file);
        }
        return new InputField
        {
            Name = f.Name,
            Kind = kind,
            Column = kind switch
            {
                InputKind.Sequence => f.SequenceOffset,
                InputKind.Embedding => f.EmbeddingOffset,
                _ => f.TypeIndex,
            },
            VocabSize = f.VocabSize,
            MaxLen = f.MaxLen,
            Width = kind == InputKind.Embedding ? f.PretrainDim ?? 0 : 0,
            EmbeddingDim = dim,
            ShareEmbedding = Get("share_embedding", f.ShareEmbedding),
            Pooling = pooling,
            Pretrained = pretrained,
        };
    }

    /// <summary>
    /// FuxiCTR's feature_encoder string as a pooling; null (as the data layer stores "no encoder") is no pooling, as in
    /// FuxiCTR, where a sequence without an encoder stays [rows, max_len, dim].
    /// </summary>
    public static SequencePooling PoolingOf(string? encoder, string feature, string where = "")
    {
        if (encoder is null)
        {
            return SequencePooling.None;
        }
        var e = encoder.Trim();
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
            "MaskedAveragePooling" => SequencePooling.Mean,
            "MaskedSumPooling" => SequencePooling.Sum,
            "null" or "None" or "none" or "" => SequencePooling.None,
            _ => throw new ConfigException(
                $"{where}feature '{feature}': feature_encoder '{encoder}' is not supported (MaskedAveragePooling, MaskedSumPooling or null)."),
        };
    }

    private static (float[] Values, bool[] FromFile) LoadPretrained(FeatureInfo f)
    {
        var table = PretrainedEmbeddings.LoadTable(f);
        return (table.Values, table.FromFile);
    }

    private static Dictionary<string, Dictionary<string, string>> FeatureSpecs(ModelConfig? cfg, string where, HashSet<string> known)
    {
        var result = new Dictionary<string, Dictionary<string, string>>(StringComparer.Ordinal);
        if (cfg?.GetNode("feature_specs") is not { } node)
        {
            return result;
        }
        if (node is not YamlSequenceNode list)
        {
            throw new ConfigException($"{where}feature_specs must be a list of {{name: ..., key: value}} entries.");
        }
        foreach (var item in list.Children)
        {
            if (item is not YamlMappingNode entry)
            {
                throw new ConfigException($"{where}feature_specs (line {item.Start.Line}): each entry is a mapping with a name.");
            }
            var names = new List<string>();
            var values = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (k, v) in entry.Children)
            {
                var key = (k as YamlScalarNode)?.Value ?? "";
                if (key == "name")
                {
                    names.AddRange(v is YamlSequenceNode ns ? ns.Children.Select(c => (c as YamlScalarNode)?.Value ?? "") : [(v as YamlScalarNode)?.Value ?? ""]);
                }
                else if (!FeatureSpecKeys.Contains(key))
                {
                    throw new ConfigException($"{where}feature_specs (line {k.Start.Line}): '{key}' is not a key FsdNet can override per feature ({string.Join(", ", FeatureSpecKeys)}).");
                }
                else
                {
                    values[key] = v is YamlScalarNode s ? s.Value ?? "null" : throw new ConfigException($"{where}feature_specs (line {v.Start.Line}): '{key}' must be a single value.");
                }
            }
            if (names.Count == 0)
            {
                throw new ConfigException($"{where}feature_specs (line {entry.Start.Line}): an entry has no name.");
            }
            foreach (var n in names)
            {
                if (!known.Contains(n))
                {
                    throw new ConfigException($"{where}feature_specs names '{n}', which is not an input feature.");
                }
                var into = result.TryGetValue(n, out var existing) ? existing : result[n] = new Dictionary<string, string>(StringComparer.Ordinal);
                foreach (var (k, v) in values)
                {
                    into[k] = v;
                }
            }
        }
        return result;
    }
}
