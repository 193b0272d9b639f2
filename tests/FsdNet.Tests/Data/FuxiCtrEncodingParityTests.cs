using System.Text.Json;
using FsdNet.Data;
using Xunit;

namespace FsdNet.Tests.Data;

/// <summary>
/// Raw CSV encoded by FsdNet equals what FuxiCTR 2.0.1's own FeatureProcessor and build_dataset wrote for the same
/// files (Golden/fuxictr_encoding, tools/fuxictr_encoding/make_golden.py): vocabularies from train only with
/// min_categr_count, OOV for rare and unseen tokens, fill_na, StandardScaler and MinMaxScaler fitted on train,
/// numbers written as 1, 1.0, 1e0 and 0.5e1, sequences cut at max_len with post and pre padding.
/// </summary>
public sealed class FuxiCtrEncodingParityTests : IDisposable
{
    private static readonly string Dir = Path.Combine(AppContext.BaseDirectory, "Golden", "fuxictr_encoding");
    private readonly TempDir tmp = new();

    public void Dispose() => tmp.Dispose();

    [Fact]
    public void Every_split_encodes_as_fuxictr_encoded_it()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Dir, "expected.json")));
        var cfg = DatasetConfigLoader.LoadFromDir(Dir, "enc");
        using var data = DataPipeline.Prepare(cfg, new DataOptions { CacheDir = tmp.Path });
        var map = data.FeatureMap;
        foreach (var spec in doc.RootElement.GetProperty("features").EnumerateArray().Select(e => e.EnumerateObject().Single()))
        {
            if (spec.Value.TryGetProperty("vocab_size", out var vocab))
            {
                Assert.Equal(vocab.GetInt32(), map[spec.Name].VocabSize);
            }
        }
        foreach (var (split, ds) in new[] { ("train", data.Train), ("valid", data.Valid!), ("test", data.Test!) })
        {
            var gold = doc.RootElement.GetProperty("splits").GetProperty(split);
            Assert.Equal(gold.GetProperty("label").EnumerateArray().Select(e => (float)e.GetDouble()), ds.Labels.ToArray());
            var (cat, num, seq) = (0, 0, 0);
            foreach (var f in map.Features)
            {
                var expected = gold.GetProperty(f.Name);
                switch (f.Type)
                {
                    case FeatureType.Categorical:
                        Assert.True(expected.EnumerateArray().Select(e => e.GetInt32()).SequenceEqual(ds.Categorical(cat++).ToArray()), $"{split} {f.Name}");
                        break;
                    case FeatureType.Numeric:
                    {
                        var want = expected.EnumerateArray().Select(e => e.GetDouble()).ToArray();
                        var got = ds.Numeric(num++).ToArray();
                        for (var r = 0; r < want.Length; r++)
                        {
                            Assert.True(Math.Abs(want[r] - got[r]) <= 1e-6 * Math.Max(1, Math.Abs(want[r])), $"{split} {f.Name} row {r}: FuxiCTR {want[r]}, FsdNet {got[r]}");
                        }
                        break;
                    }
                    case FeatureType.Sequence:
                    {
                        var all = ds.Sequence(seq++).ToArray();   // [rows x max_len], one block per sequence feature
                        var r = 0;
                        foreach (var row in expected.EnumerateArray())
                        {
                            var want = row.EnumerateArray().Select(e => e.GetInt32()).ToArray();
                            Assert.True(want.SequenceEqual(all.AsSpan(r * f.MaxLen, f.MaxLen).ToArray()), $"{split} {f.Name} row {r}");
                            r++;
                        }
                        break;
                    }
                }
            }
        }
    }
}
