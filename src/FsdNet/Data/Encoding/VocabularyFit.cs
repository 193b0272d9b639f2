using System.Globalization;
using System.Runtime.InteropServices;

namespace FsdNet.Data;

/// <summary>
/// Fitting a feature map on the train split's parsed segments: vocabularies (train counts, min_categr_count, sorted as
/// FuxiCTR's Tokenizer), sequence lengths, normalisers, and the vocabularies pretrained_emb and share_embedding add.
/// </summary>
internal static class VocabularyFit
{
    /// <summary>Fits vocabularies (train counts), sequence lengths and normalisers into <paramref name="map"/>, then seals it.</summary>
    public static void Fit(FeatureMap map, IReadOnlyList<Segment> segs)
    {
        var order = Segment.InFileOrder(segs);
        for (var j = 0; j < map.Features.Count; j++)
        {
            var f = map.Features[j];
            switch (f.Type)
            {
                case FeatureType.Categorical or FeatureType.Sequence:
                    f.Vocab = f.HashBuckets is null ? BuildVocab(f, segs, j) : [];
                    if (f.Type == FeatureType.Sequence && f.MaxLen == 0)
                    {
                        f.MaxLen = Math.Max(1, segs.Max(s => s.MaxSeqLen[j]));
                    }
                    break;
                case FeatureType.Numeric when f.Normalizer != Scaler.None:
                {
                    // Two sequential passes in file order (chunk order) over the stored float32 values, so the
                    // parameters do not depend on how the file was split across threads.
                    double min = double.PositiveInfinity, max = double.NegativeInfinity, sum = 0, sq = 0;
                    long count = 0;
                    var buf = new float[Segment.BlockRows];
                    foreach (var (k, b) in order)
                    {
                        var seg = segs[k];
                        seg.ReadNumeric(b, seg.NumericSlot(j), buf);
                        foreach (var v in buf.AsSpan(0, seg.Blocks[b].Rows))
                        {
                            sum += v;
                            min = Math.Min(min, v);
                            max = Math.Max(max, v);
                        }
                        count += seg.Blocks[b].Rows;
                    }
                    var mean = sum / Math.Max(1, count);
                    if (f.Normalizer == Scaler.StandardScaler)
                    {
                        foreach (var (k, b) in order)
                        {
                            var seg = segs[k];
                            seg.ReadNumeric(b, seg.NumericSlot(j), buf);
                            foreach (var v in buf.AsSpan(0, seg.Blocks[b].Rows))
                            {
                                sq += (v - mean) * (v - mean);
                            }
                        }
                        f.NormA = mean;
                        f.NormB = Math.Sqrt(sq / Math.Max(1, count)); // population std, as sklearn
                    }
                    else
                    {
                        f.NormA = min;
                        f.NormB = max;
                    }
                    break;
                }
            }
        }
        ExpandVocabularies(map);
        map.Seal();
    }

    /// <summary>
    /// pretrained_emb: keys of the file that are not train tokens are appended to the vocabulary in file order (FuxiCTR's
    /// load_pretrained_vocab), so valid/test tokens with a pretrained vector are not OOV. share_embedding: the sharing
    /// column's tokens that the target lacks are appended to the target (FuxiCTR's merge_vocab), and the sharing column
    /// then uses the target's vocabulary. OOV stays the last index (FuxiCTR 2.0.x).
    /// </summary>
    internal static void ExpandVocabularies(FeatureMap map)
    {
        foreach (var f in map.Features.Where(f => f.PretrainedEmb is not null && f.Type is FeatureType.Categorical or FeatureType.Sequence))
        {
            var known = new HashSet<string>(f.Vocab, StringComparer.Ordinal);
            var added = PretrainedEmbeddings.KeyTokens(f, f.PretrainedEmb!).Where(known.Add).ToList();
            if (added.Count > 0)
            {
                f.Vocab = [.. f.Vocab, .. added];
            }
        }
        foreach (var f in map.Features.Where(f => f.ShareEmbedding is not null))
        {
            var target = map.Features.FirstOrDefault(t => t.Name == f.ShareEmbedding)
                ?? throw new DataConfigException($"feature '{f.Name}': share_embedding '{f.ShareEmbedding}' is not an active feature");
            if (f.HashBuckets != target.HashBuckets)
            {
                throw new DataConfigException($"feature '{f.Name}': share_embedding '{target.Name}' needs the same hash_buckets on both " +
                                              $"({f.HashBuckets?.ToString(CultureInfo.InvariantCulture) ?? "none"} and {target.HashBuckets?.ToString(CultureInfo.InvariantCulture) ?? "none"}): they read one table");
            }
            var known = new HashSet<string>(target.Vocab, StringComparer.Ordinal);
            var added = f.Vocab.Where(known.Add).ToList();
            if (added.Count > 0)
            {
                target.Vocab = [.. target.Vocab, .. added];
            }
        }
        foreach (var f in map.Features.Where(f => f.ShareEmbedding is not null))
        {
            f.Vocab = map[f.ShareEmbedding!].Vocab;
        }
    }

    /// <summary>
    /// Tokens with train count &gt;= min_categr_count, except the fill_na token, sorted by token value ascending
    /// (numeric order for int/float dtypes, ordinal for str), as FuxiCTR 2.0.x's Tokenizer does. With max_vocab_size
    /// only the most frequent of them are kept (ties: the smaller token), then sorted the same way.
    /// </summary>
    private static List<string> BuildVocab(FeatureInfo f, IReadOnlyList<Segment> segs, int j)
    {
        var min = Math.Max(1, f.MinCategrCount);
        if (segs[0].Tables[j]!.NumberKeyed)
        {
            var counts = new Dictionary<long, (double Value, long Count)>();
            foreach (var s in segs)
            {
                var t = s.Tables[j]!;
                var c = t.Counts;
                for (var i = 0; i < t.Count; i++)
                {
                    var v = t.NumberTokens[i];
                    ref var e = ref CollectionsMarshal.GetValueRefOrAddDefault(counts, FeatureCodec.NumberKey(v), out _);
                    e = (v, e.Count + c[i]);
                }
            }
            double? na = f.FillNa is null ? null : double.Parse(f.FillNa, NumberStyles.Float, CultureInfo.InvariantCulture);
            var kept = counts.Values.Where(e => e.Count >= min && e.Value != na);
            if (f.MaxVocabSize is { } cap)
            {
                kept = kept.OrderByDescending(e => e.Count).ThenBy(e => e.Value).Take(cap);
            }
            return [.. kept.OrderBy(e => e.Value).Select(e => FeatureCodec.NumberText(e.Value))];
        }
        else
        {
            // Counts merged by packed key into one open-addressing table (no string per token: tens of millions at
            // Criteo size); strings are made for the tokens that pass min_categr_count only. Long tokens merge by text.
            var merged = new TokenTable(numberKeyed: false);
            var longCounts = new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (var s in segs)
            {
                var t = s.Tables[j]!;
                var c = t.Counts;
                for (var i = 0; i < t.Count; i++)
                {
                    if (t.IsLong(i))
                    {
                        CollectionsMarshal.GetValueRefOrAddDefault(longCounts, t.StringToken(i), out _) += c[i];
                    }
                    else
                    {
                        var (k0, k1) = t.Key(i);
                        merged.AddCount(k0, k1, c[i]);
                    }
                }
            }
            var counts = new List<KeyValuePair<string, long>>();
            var mc = merged.Counts;
            for (var id = 0; id < merged.Count; id++)
            {
                if (mc[id] >= min)
                {
                    counts.Add(new(merged.StringToken(id), mc[id]));
                }
            }
            counts.AddRange(longCounts.Where(e => e.Value >= min));
            var na = f.FillNa ?? "";
            var kept = counts.Where(e => e.Key != na);
            if (f.MaxVocabSize is { } cap)
            {
                kept = kept.OrderByDescending(e => e.Value).ThenBy(e => e.Key, StringComparer.Ordinal).Take(cap);
            }
            return [.. kept.OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => e.Key)];
        }
    }
}
