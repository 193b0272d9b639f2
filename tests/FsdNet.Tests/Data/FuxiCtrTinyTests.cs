using FsdNet.Data;
using FsdNet.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace FsdNet.Tests.Data;

/// <summary>FuxiCTR's own encoded tiny sets (npz, parquet, sequences) read through the FuxiCTR-encoded path.</summary>
public sealed class FuxiCtrTinyTests(ITestOutputHelper output)
{
    private PreparedData Prepare(TempDir tmp, string id, string format, string ext)
    {
        var data = FuxiCtrCheckout.Data("");
        var yaml = $"""
            {id}:
                data_root: {data}
                data_format: {format}
                train_data: {Path.Combine(data, id, "train" + ext)}
                valid_data: {Path.Combine(data, id, "valid" + ext)}
                test_data: {Path.Combine(data, id, "test" + ext)}
            """;
        var cfg = DatasetConfigLoader.Parse(yaml, tmp.File("dataset_config.yaml", yaml), id);
        return DataPipeline.Prepare(cfg, new DataOptions { CacheDir = tmp.Sub("cache") });
    }

    [FuxiCtrFact]
    public void Tiny_npz_keeps_fuxictr_codes()
    {
        using var tmp = new TempDir();
        using var data = Prepare(tmp, "tiny_npz", "npz", ".npz");
        var map = data.FeatureMap;
        Assert.True(map.FuxiEncoded);
        Assert.Equal(14, map.CategoricalCount);
        Assert.Equal("clk", map.LabelName);
        Assert.Equal(26, map["userid"].VocabSize);
        Assert.Equal(25, map["userid"].OovIdx);
        Assert.Equal("user", map["userid"].Source);
        Assert.Equal(485, map.TotalFeatures);
        Assert.Equal(100, data.Train.RowCount);
        Assert.Equal(100, data.Valid!.RowCount);
        Assert.Equal(100, data.Test!.RowCount);
        output.WriteLine($"tiny_npz: rows {data.Train.RowCount}/{data.Valid.RowCount}/{data.Test.RowCount}, vocab " +
                         string.Join(", ", map.Features.Select(f => $"{f.Name}={f.VocabSize}")));
        // max codes as numpy reports them for train.npz: userid 24, adgroup_id 94
        Assert.Equal(24, data.Train.Categorical(map["userid"].TypeIndex).ToArray().Max());
        Assert.Equal(94, data.Train.Categorical(map["adgroup_id"].TypeIndex).ToArray().Max());
    }
}
