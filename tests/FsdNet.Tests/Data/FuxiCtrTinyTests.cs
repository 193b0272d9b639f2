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

    [FuxiCtrFact]
    public void Tiny_parquet_without_feature_cols_is_fuxictr_encoded()
    {
        using var tmp = new TempDir();
        using var data = Prepare(tmp, "tiny_parquet", "parquet", ".parquet");
        Assert.True(data.Config.FuxiEncoded);
        Assert.True(data.FeatureMap.FuxiEncoded);
        Assert.Equal(14, data.FeatureMap.CategoricalCount);
        Assert.Equal(100, data.Train.RowCount);
        output.WriteLine($"tiny_parquet: rows {data.Train.RowCount}/{data.Valid!.RowCount}/{data.Test!.RowCount}, total_features {data.FeatureMap.TotalFeatures}");
        foreach (var f in data.FeatureMap.Categorical)
        {
            var codes = data.Train.Categorical(f.TypeIndex).ToArray();
            Assert.InRange(codes.Min(), 0, f.VocabSize - 1);
            Assert.InRange(codes.Max(), 0, f.VocabSize - 1);
        }
        Assert.Equal(data.Train.RowCount, data.Train.Labels.ToArray().Count(l => l is 0f or 1f));
    }

    [FuxiCtrFact]
    public void Tiny_seq_sequence_shares_adgroup_table()
    {
        using var tmp = new TempDir();
        using var data = Prepare(tmp, "tiny_seq", "npz", ".npz");
        var map = data.FeatureMap;
        var seq = map["click_sequence"];
        Assert.Equal(FeatureType.Sequence, seq.Type);
        Assert.Equal(5, seq.MaxLen);
        Assert.Equal("adgroup_id", seq.ShareEmbedding);
        Assert.Equal(96, seq.VocabSize);
        Assert.Null(seq.FeatureEncoder); // FuxiCTR wrote no feature_encoder: no pooling
        Assert.Equal(5, map.SequenceWidth);
        Assert.Equal(485, map.TotalFeatures); // FuxiCTR's total_features: the shared table is counted once
        var report = DataReport.Describe(data);
        Assert.Contains("encoded by FuxiCTR", report, StringComparison.Ordinal);
        Assert.Contains("max_len 5, shares adgroup_id, no pooling", report, StringComparison.Ordinal);
        var codes = data.Train.Sequence(0).ToArray();
        Assert.Equal(500, codes.Length);
        Assert.Equal(91, codes.Max());
        output.WriteLine($"tiny_seq: rows {data.Train.RowCount}/{data.Valid!.RowCount}/{data.Test!.RowCount}, click_sequence max_len {seq.MaxLen}, vocab {seq.VocabSize}, non-pad codes {codes.Count(c => c != 0)}");
        var loader = new BatchLoader(data.Train, new BatchLoaderOptions { BatchSize = 64 });
        var b = loader.CreateBatch();
        Assert.True(loader.Next(b));
        Assert.Equal(codes.AsSpan(0, 64 * 5).ToArray(), b.Sequence.AsSpan(0, 64 * 5).ToArray());
    }

    [FuxiCtrFact]
    public void Example5_pretrained_userid_npz_expands_vocab_and_aligns_table()
    {
        using var tmp = new TempDir();
        var data = FuxiCtrCheckout.Data("tiny_csv");
        var yaml = $$"""
            tiny_example5:
                data_root: {{tmp.Sub("data")}}
                data_format: csv
                train_data: {{data}}/train_sample.csv
                valid_data: {{data}}/valid_sample.csv
                test_data: {{data}}/test_sample.csv
                min_categr_count: 1
                feature_cols:
                    [{name: "userid", active: True, dtype: str, type: categorical, pretrained_emb: "{{data}}/userid_emb_dim8.npz",
                      embedding_dim: 8, freeze_emb: True},
                     {name: ["adgroup_id","pid","cate_id","campaign_id","customer","brand","cms_segid",
                             "cms_group_id","final_gender_code","age_level","pvalue_level","shopping_level","occupation"],
                             active: True, dtype: str, type: categorical}]
                label_col: {name: clk, dtype: float}
            """;
        var cfg = DatasetConfigLoader.Parse(yaml, tmp.File("dataset_config.yaml", yaml), "tiny_example5");
        using var prepared = DataPipeline.Prepare(cfg, new DataOptions { CacheDir = tmp.Sub("cache") });
        var user = prepared.FeatureMap["userid"];
        Assert.Equal(8, user.EmbeddingDim);
        Assert.True(user.FreezeEmb);
        Assert.Equal("init", user.PretrainUsage);
        var table = PretrainedEmbeddings.LoadTable(user);
        Assert.Equal(user.VocabSize, table.Rows);
        Assert.Equal(8, table.Dim);
        Assert.False(table.FromFile[0]);
        Assert.All(table.Values.AsSpan(0, 8).ToArray(), v => Assert.Equal(0f, v));
        Assert.False(table.FromFile[user.OovIdx]);
        Assert.Equal(24, table.FilledRows);
        // key 754948 is the file's first key
        var code = user.IndexOf("754948");
        Assert.NotEqual(user.OovIdx, code);
        Assert.True(table.FromFile[code]);
        output.WriteLine($"tiny_csv + userid_emb_dim8.npz: rows {prepared.Train.RowCount}, userid vocab_size {user.VocabSize} (OOV {user.OovIdx}), {table.FilledRows} rows from the file");
        // a reloaded map keeps the keys
        var reloaded = FeatureMap.Load(Path.Combine(prepared.CacheDir, "feature_map.json"));
        Assert.Equal(user.PretrainedEmb, reloaded["userid"].PretrainedEmb);
        Assert.Equal(prepared.FeatureMap.SchemaHash, reloaded.SchemaHash);
    }

    [FuxiCtrFact]
    public void Example8_embedding_feature_from_parquet_list()
    {
        using var tmp = new TempDir();
        var data = FuxiCtrCheckout.Data("tiny_emb");
        var yaml = $$"""
            tiny_example8:
                data_format: parquet
                data_root: {{tmp.Sub("data")}}
                feature_cols:
                - {active: true, dtype: float, name: feat1, type: numeric}
                - {active: true, dtype: float, name: feat2, type: numeric}
                - {active: true, dtype: list, name: feat3, pretrain_dim: 96, type: embedding}
                label_col: {dtype: float, name: label}
                test_data: {{data}}/test.parquet
                train_data: {{data}}/train.parquet
                valid_data: {{data}}/valid.parquet
            """;
        var cfg = DatasetConfigLoader.Parse(yaml, tmp.File("dataset_config.yaml", yaml), "tiny_example8");
        Assert.False(cfg.FuxiEncoded);
        // the list<double> column is in data page v2, which Parquet.Net 6.1 cannot decode: FsdNet's page reader reads it
        using var prepared = DataPipeline.Prepare(cfg, new DataOptions { CacheDir = tmp.Sub("cache") });
        Assert.Equal(100, prepared.Train.RowCount);
        Assert.Equal(100, prepared.Valid!.RowCount);
        Assert.Equal(100, prepared.Test!.RowCount);
        Assert.Equal(96, prepared.FeatureMap["feat3"].EmbeddingWidth);
        output.WriteLine($"tiny_emb: rows {prepared.Train.RowCount}/{prepared.Valid.RowCount}/{prepared.Test.RowCount}");
    }
}
