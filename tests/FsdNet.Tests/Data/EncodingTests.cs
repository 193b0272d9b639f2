using FsdNet.Data;
using Xunit;

namespace FsdNet.Tests.Data;

public sealed class EncodingTests
{
    private const string LibFmYaml = """
        toy:
          data_format: libfm
          train_data: train.libfm
          valid_data: valid.libfm.gz
          min_categr_count: 2
          feature_cols:
            - {name: [a, b], active: True, dtype: float, type: categorical}
            - {name: c, active: True, dtype: str, type: categorical, min_categr_count: 1}
          label_col: {name: label, dtype: float}
        """;

    [Fact]
    public void LibFm_crlf_lf_gzip_labels_min_count_order_and_oov()
    {
        using var tmp = new TempDir();
        // a: 10 x3, 2 x2, 7 x1 -> vocab (numeric order) 2->1, 10->2; 7 is rare -> OOV 3
        tmp.File("train.libfm", "1 10:1 20:1 x:1\r\n-1 10:1 20:1 y:1\n0 2:1 21:1 x:1\r\n1 2:1 21:1 z:1\n1 10:1 20:1 x:1\n-1 7:1 20:1 x:1\n");
        tmp.Gzip("valid.libfm.gz", "1 10:1 99:1 w:1\r\n-1 7:1 20:1 y:1\r\n");
        using var data = Helpers.PrepareYaml(tmp, LibFmYaml);
        var map = data.FeatureMap;
        Assert.Equal(["2", "10"], map["a"].Vocab);
        Assert.Equal(4, map["a"].VocabSize);
        Assert.Equal(["20", "21"], map["b"].Vocab);
        Assert.Equal(["x", "y", "z"], map["c"].Vocab); // per-column min_categr_count 1
        var train = Helpers.Rows(data.Train);
        Assert.Equal([1f, 0f, 0f, 1f, 1f, 0f], train.Select(r => r.Label));
        Assert.Equal([2, 1, 1], train[0].Cat);
        Assert.Equal([3, 1, 1], train[5].Cat); // rare token 7 -> OOV in train too
        var valid = Helpers.Rows(data.Valid!);
        Assert.Equal([2, 3, 4], valid[0].Cat); // unseen 99 and w -> OOV
        Assert.Equal([3, 1, 2], valid[1].Cat);
    }

    [Fact]
    public void Csv_with_every_feature_type_and_preprocess()
    {
        using var tmp = new TempDir();
        tmp.File("train.csv", """
            label,uid,cat,num,mm,seq,bucket,skipme
            1,u1,a,1.5,10,x^y^z,0,q
            0,u1,,2.5,20,y,3,q
            1,u2,b,,30,,100,q
            0,u3,a,4,40,x^x^y^w^v,1.9,q
            """.Replace("\r\n", "\n", StringComparison.Ordinal));
        tmp.File("test.csv", "label,uid,cat,num,mm,seq,bucket,skipme\n1,u9,zzz,1,50,q^x,-3,q\n");
        using var data = Helpers.PrepareYaml(tmp, """
            mixed:
              data_format: csv
              train_data: train.csv
              test_data: test.csv
              min_categr_count: 1
              feature_cols:
                - {name: uid, type: meta, dtype: str}
                - {name: cat, type: categorical, dtype: str}
                - {name: num, type: numeric, dtype: float, fill_na: 0, normalizer: StandardScaler}
                - {name: mm, type: numeric, dtype: float, normalizer: MinMaxScaler}
                - {name: seq, type: sequence, dtype: str, splitter: ^, max_len: 3, padding: post}
                - {name: bucket, type: categorical, dtype: float, fill_na: 0, preprocess: convert_to_bucket}
                - {name: skipme, active: false, type: categorical}
              label_col: {name: label, dtype: float}
            """);
        var map = data.FeatureMap;
        Assert.True(map.HasGroupId);
        Assert.Equal(2, map.CategoricalCount);
        Assert.Equal(2, map.NumericCount);
        Assert.Equal(3, map.SequenceWidth);
        Assert.Equal(["a", "b"], map["cat"].Vocab); // "" (fill_na) excluded -> OOV
        // buckets: 0 -> 0 (== fill_na -> excluded), 3 -> floor(ln3^2)=1, 100 -> floor(ln100^2)=21, 1.9 -> 1
        Assert.Equal(["1", "21"], map["bucket"].Vocab);
        Assert.Equal(["v", "w", "x", "y", "z"], map["seq"].Vocab);
        var rows = Helpers.Rows(data.Train);
        Assert.Equal([1, 3], rows[0].Cat);
        Assert.Equal([3, 1], rows[1].Cat); // empty cat -> OOV; bucket 3 -> "1"
        Assert.Equal([2, 2], rows[2].Cat);
        Assert.Equal([1, 1], rows[3].Cat);
        // numeric: num filled 0 for row 3, standard-scaled with population std
        var nums = new[] { 1.5, 2.5, 0, 4 };
        var mean = nums.Average();
        var std = Math.Sqrt(nums.Select(v => (v - mean) * (v - mean)).Average());
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal((float)((nums[i] - mean) / std), rows[i].Num[0], 5);
            Assert.Equal(i / 3f, rows[i].Num[1], 5); // min-max over 10..40
        }
        Assert.Equal([3, 4, 5], rows[0].Seq); // x y z
        Assert.Equal([4, 0, 0], rows[1].Seq); // post padding
        Assert.Equal([0, 0, 0], rows[2].Seq); // empty sequence
        Assert.Equal([3, 3, 4], rows[3].Seq); // truncated (post: keep first)
        Assert.Equal(rows[0].Group, rows[1].Group);
        Assert.NotEqual(rows[0].Group, rows[2].Group);
        var test = Helpers.Rows(data.Test!);
        Assert.Equal([3, 3], test[0].Cat); // unseen zzz -> OOV; bucket int(-3) = -3 unseen -> OOV
        Assert.Equal([6, 3, 0], test[0].Seq); // q unseen -> OOV 6
        Assert.Equal((float)((1 - mean) / std), test[0].Num[0], 5);
    }

    [Fact]
    public void Sequence_pre_padding_keeps_the_last_tokens()
    {
        using var tmp = new TempDir();
        tmp.File("train.tsv", "label\tseq\n1\ta|b|c|d\n0\tb\n");
        using var data = Helpers.PrepareYaml(tmp, """
            s:
              data_format: tsv
              train_data: train.tsv
              feature_cols: [{name: seq, type: sequence, splitter: '|', max_len: 2, padding: pre}]
              label_col: {name: label}
            """);
        var rows = Helpers.Rows(data.Train);
        Assert.Equal([3, 4], rows[0].Seq);
        Assert.Equal([0, 2], rows[1].Seq);
    }

    [Fact]
    public void Sequence_max_len_zero_means_longest_in_train()
    {
        using var tmp = new TempDir();
        tmp.File("train.csv", "label,seq\n1,a^b^c\n0,b\n");
        using var data = Helpers.PrepareYaml(tmp, """
            s:
              train_data: train.csv
              feature_cols: [{name: seq, type: sequence}]
              label_col: {name: label}
            """);
        Assert.Equal(3, data.FeatureMap["seq"].MaxLen);
    }

    [Fact]
    public void Criteo_raw_tsv_preset_layout_with_buckets()
    {
        using var tmp = new TempDir();
        var ints = string.Join('\t', Enumerable.Range(0, 13).Select(i => i == 0 ? "" : (i * 10).ToString(System.Globalization.CultureInfo.InvariantCulture)));
        var cats = string.Join('\t', Enumerable.Range(0, 26).Select(i => i == 3 ? "" : "c" + i.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        Directory.CreateDirectory(tmp.Sub("criteo"));
        File.WriteAllText(Path.Combine(tmp.Sub("criteo"), "train.txt"), $"1\t{ints}\t{cats}\n0\t{ints}\t{cats}\n");
        var cfg = DatasetConfigLoader.Preset("criteo", tmp.Path);
        cfg.MinCategrCount = 1;
        using var data = DataPipeline.Prepare(cfg, new DataOptions { CacheDir = tmp.Sub("cache") });
        Assert.Equal(2, data.Train.RowCount);
        Assert.Null(data.Valid);
        Assert.Equal(39, data.FeatureMap.CategoricalCount);
        Assert.Empty(data.FeatureMap["I1"].Vocab); // missing -> fill 0 -> excluded -> OOV
        Assert.Equal([FsdNet.Data.FeatureInfo.NumberTextForTests(Math.Floor(Math.Log(20) * Math.Log(20)))], data.FeatureMap["I3"].Vocab);
        Assert.Empty(data.FeatureMap["C4"].Vocab); // "" -> OOV
        Assert.Equal(1, Helpers.Rows(data.Train)[0].Cat[1]); // I2 = 10 -> bucket 5 -> index 1
    }

    [Fact]
    public void Predict_time_unseen_values_go_to_oov_and_feature_map_round_trips()
    {
        using var tmp = new TempDir();
        tmp.File("train.csv", "label,a,n\n1,x,1\n0,y,2\n");
        tmp.File("new.csv", "label,a,n\n1,never-seen,3\n0,x,4\n");
        using var data = Helpers.PrepareYaml(tmp, """
            p:
              train_data: train.csv
              feature_cols: [{name: a, type: categorical}, {name: n, type: numeric, normalizer: MinMaxScaler}]
              label_col: {name: label}
            """);
        var path = tmp.Sub("fm.json");
        data.FeatureMap.Save(path);
        var loaded = FeatureMap.Load(path);
        Assert.Equal(data.FeatureMap.SchemaHash, loaded.SchemaHash);
        Assert.Equal(data.FeatureMap.ToJson(), loaded.ToJson());
        var (enc, bad) = DataPipeline.Encode(loaded, tmp.Sub("new.csv"), tmp.Sub("new.fsdcache"));
        using (enc)
        {
            Assert.Equal(0, bad.Dropped);
            var rows = Helpers.Rows(enc);
            Assert.Equal(loaded["a"].OovIdx, rows[0].Cat[0]);
            Assert.Equal(1, rows[1].Cat[0]);
            Assert.Equal(2f, rows[0].Num[0]); // (3-1)/(2-1)
        }
        Assert.Equal(loaded["a"].OovIdx, loaded["a"].IndexOf("zzz"));
        Assert.Equal(2, loaded["a"].IndexOf("y"));
    }

    [Fact]
    public async Task Parquet_input()
    {
        using var tmp = new TempDir();
        var rows = new[]
        {
            new PqRow { label = 1, city = "paris", price = 2.5, tags = "a^b" },
            new PqRow { label = 0, city = "rome", price = 1.5, tags = "b" },
            new PqRow { label = 1, city = "paris", price = 3.5, tags = "" },
        };
        var path = tmp.Sub("train.parquet");
        await Parquet.Serialization.ParquetSerializer.SerializeAsync(rows, path);
        using var data = Helpers.PrepareYaml(tmp, """
            pq:
              data_format: parquet
              train_data: train.parquet
              feature_cols:
                - {name: city, type: categorical}
                - {name: price, type: numeric}
                - {name: tags, type: sequence, max_len: 2}
              label_col: {name: label}
            """);
        var r = Helpers.Rows(data.Train);
        Assert.Equal([1f, 0f, 1f], r.Select(x => x.Label));
        Assert.Equal([1, 2, 1], r.Select(x => x.Cat[0]));
        Assert.Equal(2.5f, r[0].Num[0]);
        Assert.Equal([1, 2], r[0].Seq);
    }

    [Fact]
    public void Copy_from_meta_group_id_like_the_ML1M_config()
    {
        using var tmp = new TempDir();
        tmp.File("train.csv", "Label,UserID,MovieID\n1,7,100\n0,7,101\n1,9,100\n");
        using var data = Helpers.PrepareYaml(tmp, """
            ML-1M:
              train_data: train.csv
              min_categr_count: 1
              feature_cols:
                - {name: group_id, active: True, dtype: int, type: meta, preprocess: "copy_from(UserID)", remap: False}
                - {name: [UserID, MovieID], active: True, dtype: float, type: categorical}
              label_col: {name: Label, dtype: float}
            """);
        Assert.Equal([7L, 7L, 9L], data.Train.GroupIds.ToArray());
        Assert.Equal(["7", "9"], data.FeatureMap["UserID"].Vocab);
        Assert.Equal("UserID", data.FeatureMap["group_id"].SourceName);
        Assert.Equal(2, data.FeatureMap.NumFields);
    }

    [Fact]
    public void EncodeRow_matches_the_cache_row_by_row_and_sends_unseen_values_to_oov()
    {
        using var tmp = new TempDir();
        var lines = new[]
        {
            "label,g,c,f,n,s",
            "1,u1,a,260.0,1.5,x^y",
            "0,u2,,,2.5,y^z^x^w",
            "1,u1,b,3,,",
            "0,u3,a,-1,4,x",
        };
        tmp.File("train.csv", string.Join('\n', lines) + "\n");
        using var data = Helpers.PrepareYaml(tmp, """
            r:
              train_data: train.csv
              feature_cols:
                - {name: g, type: meta}
                - {name: c, type: categorical}
                - {name: f, type: categorical, dtype: float, fill_na: 0, preprocess: convert_to_bucket}
                - {name: n, type: numeric, normalizer: StandardScaler}
                - {name: s, type: sequence, max_len: 3, padding: pre}
              label_col: {name: label}
            """);
        var map = data.FeatureMap;
        var rows = Helpers.Rows(data.Train);
        var header = lines[0].Split(',');
        var cat = new int[map.CategoricalCount];
        var num = new float[map.NumericCount];
        var seq = new int[map.SequenceWidth];
        for (var r = 0; r < rows.Count; r++)
        {
            var cells = lines[r + 1].Split(',');
            map.EncodeRow(name => cells[Array.IndexOf(header, name)], cat, num, seq, out var group);
            Assert.Equal(rows[r].Cat, cat);
            Assert.Equal(rows[r].Num, num);
            Assert.Equal(rows[r].Seq, seq);
            Assert.Equal(rows[r].Group, group);
        }
        map.EncodeRow(name => name switch { "c" => "never", "f" => "not-a-number", "n" => "1", "s" => "q^q", _ => null }, cat, num, seq, out _);
        Assert.Equal([map["c"].OovIdx, map["f"].OovIdx], cat);
        Assert.Equal([0, map["s"].OovIdx, map["s"].OovIdx], seq);
        var e = Assert.Throws<DataFormatException>(() => map.EncodeRow(name => name == "n" ? "abc" : null, cat, num, seq, out _));
        Assert.Equal("n", e.Field);
    }

    /// <summary>
    /// An embedding feature's splitter survives the feature map's save and load: a reloaded model (predict, serve)
    /// splits vectors as training did. It was lost once, and served vectors were split on '^'.
    /// </summary>
    [Fact]
    public void An_embedding_splitter_round_trips_through_the_feature_map()
    {
        using var tmp = new TempDir();
        tmp.File("train.csv", "label,c,e\n1,a,0.5|1.5|-2\n0,b,1|2|3\n");
        using var data = Helpers.PrepareYaml(tmp, """
            r:
              train_data: train.csv
              feature_cols:
                - {name: c, type: categorical}
                - {name: e, type: embedding, splitter: '|', pretrain_dim: 3}
              label_col: {name: label}
            """);
        var path = tmp.Sub("feature_map.json");
        data.FeatureMap.Save(path);
        var loaded = FeatureMap.Load(path);
        Assert.Equal("|", loaded["e"].Splitter);
        Assert.Equal(data.FeatureMap.SchemaHash, loaded.SchemaHash);
        var emb = new float[3];
        loaded.EncodeRow(name => name == "e" ? "0.25|-1|4e0" : "a", new int[1], [], [], emb, out _);
        Assert.Equal([0.25f, -1f, 4f], emb);
    }

    public sealed class PqRow
    {
        public int label { get; set; }
        public string city { get; set; } = "";
        public double price { get; set; }
        public string tags { get; set; } = "";
    }
}
