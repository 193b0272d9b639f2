using System.Globalization;
using FsdNet.Data;
using FsdNet.Tensors;
using Xunit;

namespace FsdNet.Tests.Data;

/// <summary>
/// The cache stores each categorical column in the fewest bytes that hold its table's codes (1, 2 or 4); the codes a
/// batch gets back are those the feature map gives the raw row, whatever the width, and the widths survive a reload.
/// Packed tokens (no strings kept during the fit) come back as the same text in the vocabulary.
/// </summary>
public sealed class CodeWidthTests : IDisposable
{
    private readonly TempDir tmp = new();

    public void Dispose() => tmp.Dispose();

    [Fact]
    public void Columns_take_one_two_or_four_bytes_and_decode_to_the_feature_maps_codes()
    {
        var rng = new Rng(9);
        var rows = new List<string>();
        tmp.CsvSplits("label,small,mid,big,longtok", (_, _) =>
        {
            // small: 10 tokens (1 byte); mid: 700 (2 bytes); big: hashed into 70,000 buckets (4 bytes); longtok: tokens
            // longer than 15 chars and non-ASCII, which the fit keeps as strings.
            var row = string.Create(CultureInfo.InvariantCulture,
                $"{rng.NextInt(2)},s{rng.NextInt(10)},m{rng.NextInt(700)},b{rng.NextInt(1_000_000)},{(rng.NextInt(2) == 0 ? "a-token-longer-than-fifteen" : "é")}{rng.NextInt(4)}");
            rows.Add(row);
            return row;
        }, 6000, 500, 500);
        var yaml = """
            w:
              data_format: csv
              train_data: train.csv
              valid_data: valid.csv
              test_data: test.csv
              min_categr_count: 1
              feature_cols:
                - {name: [small, mid, longtok], type: categorical}
                - {name: big, type: categorical, hash_buckets: 70000}
              label_col: {name: label}
            """;
        byte[] widths;
        int[][] codes;
        using (var data = Helpers.PrepareYaml(tmp, yaml))
        {
            var map = data.FeatureMap;
            widths = data.Train.Layout.CatWidths;
            Assert.Equal([1, 2, 1, 4], widths.Select(w => (int)w));
            Assert.Contains("a-token-longer-than-fifteen3", map["longtok"].Vocab);
            Assert.Contains("é1", map["longtok"].Vocab);
            Assert.Equal(700, map["mid"].Vocab.Count);
            Assert.Contains("m699", map["mid"].Vocab);

            // Every training row through the loader (file order) equals the feature map's encoding of the raw row.
            var loader = new BatchLoader(data.Train, new BatchLoaderOptions { BatchSize = 512, Shuffle = false });
            var batch = loader.CreateBatch();
            loader.StartEpoch(0);
            var r = 0;
            var header = new[] { "label", "small", "mid", "big", "longtok" };
            while (loader.Next(batch))
            {
                for (var i = 0; i < batch.Size; i++, r++)
                {
                    var values = header.Zip(rows[r].Split(',')).ToDictionary(p => p.First, p => (string?)p.Second);
                    var expected = new int[4];
                    map.EncodeRow(name => values[name], expected, [], [], out _);
                    Assert.Equal(expected, batch.Categorical.AsSpan(i * 4, 4).ToArray());
                }
            }
            Assert.Equal(6000, r);
            codes = [.. Enumerable.Range(0, 4).Select(data.Train.Categorical)];
            Assert.True(codes[3].Max() > 65535, "the hashed column should use codes above 2^16");
        }
        using var again = Helpers.PrepareYaml(tmp, yaml);
        Assert.True(again.Reused["train"]);
        Assert.Equal(widths, again.Train.Layout.CatWidths);
        for (var c = 0; c < 4; c++)
        {
            Assert.Equal(codes[c], again.Train.Categorical(c));
        }
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(256, 1)]
    [InlineData(257, 2)]
    [InlineData(65536, 2)]
    [InlineData(65537, 4)]
    public void The_width_holds_the_largest_code(int tableRows, int width) =>
        Assert.Equal(width, CacheLayout.CodeWidth(tableRows));
}
