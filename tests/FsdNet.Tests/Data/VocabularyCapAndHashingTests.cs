using System.Globalization;
using FsdNet.Data;
using Xunit;

namespace FsdNet.Tests.Data;

/// <summary>
/// <c>max_vocab_size</c> (keep the most frequent tokens) and <c>hash_buckets</c> (no vocabulary: 1 + FNV-1a 64 mod N),
/// the two ways past one full table per field. That training and every serving path apply them alike is
/// <c>TrainServeSkewTests</c>'s job; here: the rules themselves and the configs that are refused.
/// </summary>
public sealed class VocabularyCapAndHashingTests
{
    /// <summary>Test vectors of the FNV reference (Fowler/Noll/Vo), FNV-1a 64-bit.</summary>
    [Theory]
    [InlineData("", 0xcbf29ce484222325UL)]
    [InlineData("a", 0xaf63dc4c8601ec8cUL)]
    [InlineData("foobar", 0x85944171f73967e8UL)]
    public void Fnv1a_64_matches_the_reference_vectors(string text, ulong expected) =>
        Assert.Equal(expected, FeatureCodec.HashUtf8(text));

    [Fact]
    public void Non_ascii_tokens_hash_their_utf8_bytes()
    {
        foreach (var token in new[] { "é", "ü-ß", "😀", "日本" })
        {
            var h = 14695981039346656037UL;
            foreach (var b in System.Text.Encoding.UTF8.GetBytes(token))
            {
                h = (h ^ b) * 1099511628211UL;
            }
            Assert.Equal(h, FeatureCodec.HashUtf8(token));
        }
    }

    [Fact]
    public void Max_vocab_size_keeps_the_most_frequent_tokens_sorted_by_value()
    {
        using var tmp = new TempDir();
        // a x5, b x1, c x4, d x4, e x2 (ties between c and d: the smaller token first), n: 9 x3, 7 x1, 8 x3
        var rows = new[] { "a,9", "a,9", "a,9", "a,8", "a,8", "b,8", "c,7", "c,1", "c,1", "c,2", "d,2", "d,3", "d,3", "d,4", "e,5", "e,5" };
        tmp.File("train.csv", "label,t,n\n" + string.Concat(rows.Select((r, i) => $"{i % 2},{r}\n")));
        using var data = Helpers.PrepareYaml(tmp, """
            r:
              train_data: train.csv
              max_vocab_size: 3
              feature_cols:
                - {name: t, type: categorical}
                - {name: n, type: categorical, dtype: int, max_vocab_size: 2}
              label_col: {name: label}
            """);
        var map = data.FeatureMap;
        Assert.Equal(["a", "c", "d"], map["t"].Vocab);
        Assert.Equal(5, map["t"].VocabSize);
        Assert.Equal(map["t"].OovIdx, map["t"].IndexOf("e"));
        // n counts: 9 x3, 8 x3, 1 x2, 2 x2, 3 x2, 5 x2, 7 x1, 4 x1: the two most frequent, by value.
        Assert.Equal(["8", "9"], map["n"].Vocab);
        Assert.Equal(1, map["n"].IndexOf("8.0"));
        var loaded = FeatureMap.FromJson(map.ToJson(), "test");
        Assert.Equal(3, loaded["t"].MaxVocabSize);
    }

    [Fact]
    public void Hash_buckets_code_every_token_by_its_hash_and_the_fill_token_as_oov()
    {
        using var tmp = new TempDir();
        tmp.File("train.csv", "label,h,k,s\n1,x,3,a^b\n0,y,,c\n1,,4.0,\n");
        using var data = Helpers.PrepareYaml(tmp, """
            r:
              train_data: train.csv
              feature_cols:
                - {name: h, type: categorical, hash_buckets: 13}
                - {name: k, type: categorical, dtype: int, fill_na: 0, hash_buckets: 5}
                - {name: s, type: sequence, max_len: 3, hash_buckets: 4}
              label_col: {name: label}
            """);
        var map = data.FeatureMap;
        Assert.Empty(map["h"].Vocab);
        Assert.Equal(15, map["h"].VocabSize); // PAD, 13 buckets, OOV
        Assert.Equal(14, map["h"].OovIdx);
        int Bucket(string t, int n) => 1 + (int)(FeatureCodec.HashUtf8(t) % (ulong)n);
        int NumberBucket(double v, int n) => 1 + (int)(FeatureCodec.HashNumber(v) % (ulong)n);
        var cat = new int[2];
        var seq = new int[3];
        map.EncodeRow(c => c switch { "h" => "never-seen", "k" => "3e0", "s" => "b^zz", _ => null }, cat, [], seq, out _);
        Assert.Equal([Bucket("never-seen", 13), NumberBucket(3, 5)], cat);
        Assert.Equal([Bucket("b", 4), Bucket("zz", 4), 0], seq);
        // Missing: the fill_na token is OOV ("" for h; 0 for k, in any spelling), not a bucket.
        map.EncodeRow(c => c == "k" ? "0.0" : null, cat, [], seq, out _);
        Assert.Equal([map["h"].OovIdx, map["k"].OovIdx], cat);
        Assert.Equal([0, 0, 0], seq);
        // The train cache agrees with EncodeRow row by row.
        var rows = Helpers.Rows(data.Train);
        Assert.Equal([Bucket("x", 13), NumberBucket(3, 5)], rows[0].Cat);
        Assert.Equal([map["h"].OovIdx, NumberBucket(4, 5)], rows[2].Cat);
        Assert.Equal(map["k"].OovIdx, rows[1].Cat[1]);
        // The map round-trips (the codes of a reloaded model are the same).
        var loaded = FeatureMap.FromJson(map.ToJson(), "test");
        Assert.Equal(13, loaded["h"].HashBuckets);
        Assert.Equal(map.SchemaHash, loaded.SchemaHash);
        Assert.Equal(Bucket("q", 13), loaded["h"].IndexOf("q"));
    }

    [Theory]
    [InlineData("{name: h, type: categorical, hash_buckets: 0}", "hash_buckets must be at least 1")]
    [InlineData("{name: h, type: numeric, hash_buckets: 8}", "hash_buckets is for categorical or sequence columns, not numeric")]
    [InlineData("{name: h, type: categorical, hash_buckets: 8, min_categr_count: 2}", "min_categr_count would have no effect")]
    [InlineData("{name: h, type: categorical, hash_buckets: 8, max_vocab_size: 5}", "max_vocab_size would have no effect")]
    [InlineData("{name: h, type: categorical, hash_buckets: 8, pretrained_emb: p.npz}", "cannot be combined with pretrained_emb")]
    [InlineData("{name: h, type: categorical, max_vocab_size: -2}", "max_vocab_size must be at least 1")]
    public void Bad_hashing_and_cap_settings_are_refused_by_name(string column, string message)
    {
        using var tmp = new TempDir();
        tmp.File("train.csv", "label,h\n1,x\n");
        var e = Assert.Throws<DataConfigException>(() => Helpers.PrepareYaml(tmp, $$"""
            r:
              train_data: train.csv
              feature_cols:
                - {{column}}
              label_col: {name: label}
            """).Dispose());
        Assert.Contains("'h'", e.Message, StringComparison.Ordinal);
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Shared_tables_need_the_same_hashing()
    {
        using var tmp = new TempDir();
        tmp.File("train.csv", "label,a,b\n1,x,y\n");
        var e = Assert.Throws<DataConfigException>(() => Helpers.PrepareYaml(tmp, """
            r:
              train_data: train.csv
              feature_cols:
                - {name: a, type: categorical, hash_buckets: 8}
                - {name: b, type: categorical, share_embedding: a}
              label_col: {name: label}
            """).Dispose());
        Assert.Contains("same hash_buckets", e.Message, StringComparison.Ordinal);
        Assert.Contains(8.ToString(CultureInfo.InvariantCulture), e.Message, StringComparison.Ordinal);
    }
}
