using System.Globalization;

namespace FsdNet.Data;

/// <summary>One encoded feature: its spec, its fitted vocabulary (categorical/sequence) or normaliser (numeric).</summary>
public sealed class FeatureInfo
{
    private FeatureCodec? codec;
    private IReadOnlyList<string> vocab = [];
    private double normA, normB;

    public required string Name { get; init; }
    public required FeatureType Type { get; init; }

    /// <summary><c>str</c>, <c>int</c> or <c>float</c>; numeric dtypes make categorical tokens numbers ("260" == "260.0").</summary>
    public string Dtype { get; init; } = "str";

    public string? FillNa { get; init; }
    public string? Preprocess { get; init; }
    public string Splitter { get; init; } = "^";
    /// <summary>Which end of a sequence max_len keeps.</summary>
    public SequencePadding Padding { get; init; }
    public int MinCategrCount { get; init; } = 1;

    /// <summary><c>max_vocab_size</c>: at most this many known tokens, the most frequent in train; null: no cap.</summary>
    public int? MaxVocabSize { get; init; }

    /// <summary>
    /// <c>hash_buckets</c>: no vocabulary; a token's code is 1 + FNV-1a 64(token) mod N (see <see cref="FeatureCodec"/>),
    /// the fill_na token is OOV (N + 1); null: a fitted vocabulary.
    /// </summary>
    public int? HashBuckets { get; init; }

    /// <summary>Index 0 is padding (categorical/sequence).</summary>
    public int PaddingIdx => 0;

    /// <summary>Sequence length (sequence features), else 0.</summary>
    public int MaxLen
    {
        get => maxLen;
        set
        {
            maxLen = value;
            codec = null;
        }
    }

    private int maxLen;

    /// <summary>Known tokens in index order: token <c>Vocab[i]</c> has index <c>i + 1</c>.</summary>
    public IReadOnlyList<string> Vocab
    {
        get => vocab;
        set
        {
            vocab = value;
            codec = null;
        }
    }

    /// <summary>OOV index = number of known tokens + 1 (for FuxiCTR-encoded data: FuxiCTR's <c>oov_idx</c>, else vocab_size - 1).</summary>
    public int OovIdx => FixedOovIdx ?? (FixedVocabSize is { } v ? v - 1 : (HashBuckets ?? Vocab.Count) + 1);

    /// <summary>
    /// Embedding rows: PAD + known tokens + OOV (categorical/sequence; FuxiCTR-encoded data: FuxiCTR's <c>vocab_size</c>);
    /// 1 for numeric; 0 for meta and embedding features.
    /// </summary>
    public int VocabSize => Type switch
    {
        FeatureType.Categorical or FeatureType.Sequence => FixedVocabSize ?? (HashBuckets ?? Vocab.Count) + 2,
        FeatureType.Numeric => 1,
        _ => 0,
    };

    /// <summary>Set for features of FuxiCTR-encoded data: the vocabulary size without tokens (codes are FuxiCTR's).</summary>
    internal int? FixedVocabSize { get; set; }

    internal int? FixedOovIdx { get; set; }

    /// <summary>FuxiCTR's <c>source</c> tag (user, item, context...), kept as given; null when none.</summary>
    public string? Source { get; init; }

    /// <summary>The numeric normaliser: <see cref="Scaler.StandardScaler"/> (A = mean, B = std), <see cref="Scaler.MinMaxScaler"/> (A = min, B = max) or none.</summary>
    public Scaler Normalizer { get; init; }

    public double NormA
    {
        get => normA;
        set
        {
            normA = value;
            codec = null;
        }
    }

    public double NormB
    {
        get => normB;
        set
        {
            normB = value;
            codec = null;
        }
    }

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

    /// <summary>The feature's encoding rules with its fitted vocabulary and normaliser (rebuilt when they change).</summary>
    internal FeatureCodec Codec => codec ??= new FeatureCodec(this);

    /// <summary>Drops the codec (FeatureMap.Seal: offsets and fixed vocabulary sizes may have changed).</summary>
    internal void ResetCodec() => codec = null;

    /// <summary>Index of a raw token (after fill_na/preprocess): 1..n for known tokens, <see cref="OovIdx"/> otherwise.</summary>
    public int IndexOf(string token) =>
        Codec.NumberKeyed ? (FeatureCodec.TryParseDouble(token, out var d) ? Codec.Code(d) : OovIdx) : Codec.Code(token);

    /// <summary>How a numeric token is written in the vocabulary (round-trip invariant format).</summary>
    internal static string NumberTextForTests(double d) => FeatureCodec.NumberText(d);
}
