using System.IO.Compression;
using System.Text;
using System.Text.Json;
using FsdNet.Data;
using Xunit;

namespace FsdNet.Tests.Data;

/// <summary>FuxiCTR's encoded formats (h5, npz, parquet), embedding features and the new feature keys.</summary>
public sealed class FuxiFormatsTests
{
    private static string GoldenDir(params string[] p) => Path.Combine([AppContext.BaseDirectory, "Golden", "fuxictr", .. p]);

    private static JsonElement Expected()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(GoldenDir("expected.json")));
        return doc.RootElement.Clone();
    }

    /// <summary>Copies a golden folder to &lt;tmp&gt;/data/&lt;id&gt;/ and writes a config pointing at it.</summary>
    private static DatasetConfig Config(TempDir tmp, string goldenFolder, string id, string format, string train, string extra = "")
    {
        var dst = Path.Combine(tmp.Path, "data", id);
        CopyDir(GoldenDir(goldenFolder), dst);
        var yaml = $"""
            {id}:
                data_root: {Path.Combine(tmp.Path, "data")}
                data_format: {format}
                train_data: {Path.Combine(dst, train)}
            {extra}
            """;
        return DatasetConfigLoader.Parse(yaml, tmp.File("dataset_config.yaml", yaml), id);
    }

    private static void CopyDir(string src, string dst)
    {
        Directory.CreateDirectory(dst);
        foreach (var f in Directory.GetFiles(src))
        {
            File.Copy(f, Path.Combine(dst, Path.GetFileName(f)), overwrite: true);
        }
        foreach (var d in Directory.GetDirectories(src))
        {
            CopyDir(d, Path.Combine(dst, Path.GetFileName(d)));
        }
    }

    private static void AssertGoldenRows(PreparedData data)
    {
        var e = Expected();
        var map = data.FeatureMap;
        Assert.True(map.FuxiEncoded);
        Assert.Equal(e.GetProperty("rows").GetInt32(), data.Train.RowCount);
        Assert.Equal(e.GetProperty("user").EnumerateArray().Select(x => x.GetInt32()), data.Train.Categorical(map["user"].TypeIndex).ToArray());
        Assert.Equal(e.GetProperty("item").EnumerateArray().Select(x => x.GetInt32()), data.Train.Categorical(map["item"].TypeIndex).ToArray());
        Assert.Equal(e.GetProperty("price").EnumerateArray().Select(x => (float)x.GetDouble()), data.Train.Numeric(0).ToArray());
        Assert.Equal(e.GetProperty("hist").EnumerateArray().SelectMany(r => r.EnumerateArray()).Select(x => x.GetInt32()), data.Train.Sequence(0).ToArray());
        Assert.Equal(e.GetProperty("vec").EnumerateArray().SelectMany(r => r.EnumerateArray()).Select(x => (float)x.GetDouble()), data.Train.Embedding(0).ToArray());
        Assert.Equal(e.GetProperty("click").EnumerateArray().Select(x => (float)x.GetDouble()), data.Train.Labels.ToArray());
        // feature map keys as FuxiCTR wrote them
        Assert.Equal(6, map["user"].VocabSize);
        Assert.Equal(5, map["user"].OovIdx); // no oov_idx: vocab_size - 1
        Assert.Equal(8, map["user"].EmbeddingDim);
        Assert.Equal(8, map["item"].OovIdx);
        Assert.Equal("item", map["hist"].ShareEmbedding);
        Assert.Equal("layers.MaskedSumPooling()", map["hist"].FeatureEncoder);
        Assert.Equal(4, map.EmbeddingWidth);
        Assert.Equal(0, map["vec"].EmbeddingOffset);
        Assert.Equal(3, map.SequenceWidth);
        // through the batch loader, shuffled: rows follow RowIds
        var loader = new BatchLoader(data.Train, new BatchLoaderOptions { BatchSize = 5, Shuffle = true, Seed = 3 });
        var b = loader.CreateBatch();
        var vec = data.Train.Embedding(0).ToArray();
        var seen = 0;
        while (loader.Next(b))
        {
            for (var i = 0; i < b.Size; i++)
            {
                Assert.Equal(vec.AsSpan((int)b.RowIds[i] * 4, 4).ToArray(), b.Embedding.AsSpan(i * 4, 4).ToArray());
                seen++;
            }
        }
        Assert.Equal(12, seen);
    }

    [Fact]
    public void H5_written_by_h5py_decodes()
    {
        using var tmp = new TempDir();
        using var data = DataPipeline.Prepare(Config(tmp, "h5", "golden_h5", "h5", "train.h5"), new DataOptions { CacheDir = tmp.Sub("cache") });
        AssertGoldenRows(data);
    }

    [Fact]
    public void H5_block_folder_of_parts_decodes_in_order()
    {
        using var tmp = new TempDir();
        using var data = DataPipeline.Prepare(Config(tmp, "h5", "golden_h5", "h5", "train_blocks/*.h5"), new DataOptions { CacheDir = tmp.Sub("cache") });
        AssertGoldenRows(data);
        using var tmp2 = new TempDir();
        using var data2 = DataPipeline.Prepare(Config(tmp2, "h5", "golden_h5", "h5", "train_blocks"), new DataOptions { CacheDir = tmp2.Sub("cache") });
        AssertGoldenRows(data2);
    }

    [Fact]
    public void Npz_written_by_numpy_decodes_and_extension_may_be_left_out()
    {
        using var tmp = new TempDir();
        using var data = DataPipeline.Prepare(Config(tmp, "npz", "golden_npz", "npz", "train"), new DataOptions { CacheDir = tmp.Sub("cache") });
        AssertGoldenRows(data);
        // second prepare reuses the cache
        using var again = DataPipeline.Prepare(data.Config, new DataOptions { CacheDir = tmp.Sub("cache") });
        Assert.True(again.Reused["train"]);
    }

    [Fact]
    public void H5_with_feature_cols_ignores_them_with_a_warning_like_fuxictr_201()
    {
        using var tmp = new TempDir();
        var cfg = Config(tmp, "h5", "golden_h5", "h5", "train.h5", """
                feature_cols:
                -   {active: true, dtype: float, name: [user, item], type: categorical}
                label_col: {dtype: float, name: click}
                min_categr_count: 2
            """);
        Assert.True(cfg.FuxiEncoded);
        Assert.Contains(cfg.Warnings, w => w.Contains("feature_cols are not used for data_format h5", StringComparison.Ordinal));
        var log = new List<string>();
        using var data = DataPipeline.Prepare(cfg, new DataOptions { CacheDir = tmp.Sub("cache"), Log = log.Add });
        Assert.Contains(log, l => l.Contains("feature_cols are not used", StringComparison.Ordinal));
        AssertGoldenRows(data);
    }

    [Fact]
    public void Missing_feature_map_names_where_fuxictr_looks()
    {
        using var tmp = new TempDir();
        var cfg = Config(tmp, "npz", "golden_npz", "npz", "train.npz");
        File.Delete(Path.Combine(tmp.Path, "data", "golden_npz", "feature_map.json"));
        var e = Assert.Throws<DataConfigException>(() => DataPipeline.Prepare(cfg, new DataOptions { CacheDir = tmp.Sub("cache") }));
        Assert.Contains(Path.Combine(tmp.Path, "data", "golden_npz", "feature_map.json"), e.Message, StringComparison.Ordinal);
        Assert.Contains("<data_root>/<dataset_id>/", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Code_at_or_above_vocab_size_names_file_column_and_row()
    {
        using var tmp = new TempDir();
        var dir = Path.Combine(tmp.Path, "data", "bad");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "feature_map.json"), """
            {"dataset_id": "bad", "labels": ["y"], "features": [{"a": {"type": "categorical", "vocab_size": 4, "padding_idx": 0}}]}
            """);
        var npz = Path.Combine(dir, "train.npz");
        NpzWriter.Write(npz, ("a", NpzWriter.Int64([1, 2, 4])), ("y", NpzWriter.Float64([0, 1, 0])));
        var yaml = $"bad:\n  data_root: {Path.Combine(tmp.Path, "data")}\n  data_format: npz\n  train_data: {npz}\n";
        var cfg = DatasetConfigLoader.Parse(yaml, tmp.File("d.yaml", yaml), "bad");
        var e = Assert.Throws<DataFormatException>(() => DataPipeline.Prepare(cfg, new DataOptions { CacheDir = tmp.Sub("cache") }));
        Assert.Equal($"{npz}:3: field 'a': code 4 is outside 0..3 (vocab_size 4 in feature_map.json) (line = row number)", e.Message);
    }

    [Fact]
    public void Npy_dtypes_and_shapes_are_checked()
    {
        using var tmp = new TempDir();
        var p = tmp.Sub("x.npz");
        NpzWriter.Write(p, ("i4", NpzWriter.Raw("<i4", "(2,)", [1, 0, 0, 0, 2, 0, 0, 0])), ("b", NpzWriter.Raw("|b1", "(3,)", [1, 0, 1])),
            ("f4", NpzWriter.Raw("<f4", "(1, 2)", [.. BitConverter.GetBytes(1.5f), .. BitConverter.GetBytes(-2f)])),
            ("i2", NpzWriter.Raw("<i2", "(1,)", [1, 0])), ("f", NpzWriter.Raw("<i8", "(1,)", [1, 0, 0, 0, 0, 0, 0, 0], fortran: true)),
            ("cube", NpzWriter.Raw("<i8", "(1, 1, 1)", [1, 0, 0, 0, 0, 0, 0, 0])));
        Assert.Equal([1L, 2L], Npy.ReadNpz(p, "i4").Ints!);
        Assert.Equal([1L, 0L, 1L], Npy.ReadNpz(p, "b").Ints!);
        var f4 = Npy.ReadNpz(p, "f4");
        Assert.True(f4.Is2D);
        Assert.Equal(2, f4.Cols);
        Assert.Equal([1.5, -2.0], f4.Floats!);
        Assert.Contains("npy dtype '<i2' is not supported", Assert.Throws<DataFormatException>(() => Npy.ReadNpz(p, "i2")).Message, StringComparison.Ordinal);
        Assert.Contains("Fortran order", Assert.Throws<DataFormatException>(() => Npy.ReadNpz(p, "f")).Message, StringComparison.Ordinal);
        Assert.Contains("only 1-D and 2-D", Assert.Throws<DataFormatException>(() => Npy.ReadNpz(p, "cube")).Message, StringComparison.Ordinal);
        Assert.Contains("no array 'zz'", Assert.Throws<DataFormatException>(() => Npy.ReadNpz(p, "zz")).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void H5_written_by_purehdf_decodes()
    {
        using var tmp = new TempDir();
        var dir = Path.Combine(tmp.Path, "data", "ph");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "feature_map.json"), """
            {"dataset_id": "ph", "labels": ["y"], "features": [
              {"a": {"type": "categorical", "vocab_size": 5}}, {"s": {"type": "sequence", "vocab_size": 5, "max_len": 2}},
              {"g": {"type": "meta"}}, {"n": {"type": "numeric"}}]}
            """);
        var h5 = Path.Combine(dir, "train.h5");
        var file = new PureHDF.H5File
        {
            ["a"] = new int[] { 1, 4, 0 },
            ["s"] = new long[,] { { 1, 2 }, { 3, 0 }, { 0, 0 } },
            ["g"] = new long[] { 7, 7, 9 },
            ["n"] = new float[] { 0.5f, -1f, 2f },
            ["y"] = new double[] { 1, 0, 1 },
        };
        file.Write(h5);
        var yaml = $"ph:\n  data_root: {Path.Combine(tmp.Path, "data")}\n  data_format: h5\n  train_data: {h5}\n";
        var cfg = DatasetConfigLoader.Parse(yaml, tmp.File("d.yaml", yaml), "ph");
        using var data = DataPipeline.Prepare(cfg, new DataOptions { CacheDir = tmp.Sub("cache") });
        var rows = Helpers.Rows(data.Train);
        Assert.Equal([1f, 0f, 1f], rows.Select(r => r.Label));
        Assert.Equal([1, 4, 0], rows.Select(r => r.Cat[0]));
        Assert.Equal([1, 2, 3, 0, 0, 0], rows.SelectMany(r => r.Seq));
        Assert.Equal([7L, 7L, 9L], rows.Select(r => r.Group));
        Assert.Equal([0.5f, -1f, 2f], rows.Select(r => r.Num[0]));
        // the sequence has no feature_encoder in FuxiCTR's map: no pooling
        Assert.Null(data.FeatureMap["s"].FeatureEncoder);
    }

    [Fact]
    public async Task Encoded_parquet_without_feature_cols_and_predict_rules()
    {
        using var tmp = new TempDir();
        var dir = Path.Combine(tmp.Path, "data", "pq");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "feature_map.json"), """
            {"dataset_id": "pq", "labels": ["y"], "features": [
              {"a": {"source": "user", "type": "categorical", "vocab_size": 5}},
              {"s": {"type": "sequence", "vocab_size": 5, "max_len": 2, "feature_encoder": "layers.MaskedAveragePooling()"}},
              {"v": {"type": "embedding", "pretrain_dim": 3}}]}
            """);
        var rows = new[]
        {
            new EncRow { a = 1, s = [1, 2], v = [0.5f, 1f, 1.5f], y = 1 },
            new EncRow { a = 3, s = [4, 0], v = [2f, 0f, -1f], y = 0 },
        };
        var path = Path.Combine(dir, "train.parquet");
        await Parquet.Serialization.ParquetSerializer.SerializeAsync(rows, path);
        var yaml = $"pq:\n  data_root: {Path.Combine(tmp.Path, "data")}\n  data_format: parquet\n  train_data: {path}\n";
        var cfg = DatasetConfigLoader.Parse(yaml, tmp.File("d.yaml", yaml), "pq");
        Assert.True(cfg.FuxiEncoded);
        using var data = DataPipeline.Prepare(cfg, new DataOptions { CacheDir = tmp.Sub("cache") });
        var r = Helpers.Rows(data.Train);
        Assert.Equal([1, 3], r.Select(x => x.Cat[0]));
        Assert.Equal([1, 2, 4, 0], r.SelectMany(x => x.Seq));
        Assert.Equal([0.5f, 1f, 1.5f, 2f, 0f, -1f], data.Train.Embedding(0).ToArray());
        // the saved map records where it came from and reloads
        var saved = FeatureMap.Load(Path.Combine(data.CacheDir, "feature_map.json"));
        Assert.True(saved.FuxiEncoded);
        Assert.Equal(data.FeatureMap.SchemaHash, saved.SchemaHash);
        Assert.Equal(5, saved["a"].VocabSize);
        Assert.Equal("user", saved["a"].Source);
        // predict: the same encoded format works, raw text is refused clearly
        var (again, _) = DataPipeline.Encode(saved, path, tmp.Sub("again.fsdcache"));
        using (again)
        {
            Assert.Equal(data.Train.Categorical(0).ToArray(), again.Categorical(0).ToArray());
        }
        var csv = tmp.File("raw.csv", "a,s,v,y\nx,1^2,1^2^3,1\n");
        var e = Assert.Throws<DataConfigException>(() => DataPipeline.Encode(saved, csv, tmp.Sub("raw.fsdcache")));
        Assert.StartsWith($"{csv}: this model's feature map was read from FuxiCTR's encoded data (data_format parquet, dataset 'pq'), which has no raw vocabulary", e.Message, StringComparison.Ordinal);
        Assert.Throws<DataConfigException>(() => saved.EncodeRow(_ => "1", new int[1], [], new int[2], new float[3], out _));
    }

    public sealed class EncRow
    {
        public long a { get; set; }
        public List<int> s { get; set; } = [];
        public List<float> v { get; set; } = [];
        public double y { get; set; }
    }

    public sealed class RawEmbRow
    {
        public double label { get; set; }
        public string city { get; set; } = "";
        public List<float> vec { get; set; } = [];
    }

    [Fact]
    public async Task Embedding_feature_from_raw_parquet_list_and_csv_string()
    {
        using var tmp = new TempDir();
        await Parquet.Serialization.ParquetSerializer.SerializeAsync(new[]
        {
            new RawEmbRow { label = 1, city = "a", vec = [1f, 2f] },
            new RawEmbRow { label = 0, city = "b", vec = [3f, 4.5f] },
        }, tmp.Sub("train.parquet"));
        using (var data = Helpers.PrepareYaml(tmp, """
            e:
              data_format: parquet
              train_data: train.parquet
              feature_cols:
                - {name: city, type: categorical}
                - {name: vec, type: embedding, dtype: list, pretrain_dim: 2}
              label_col: {name: label}
            """))
        {
            Assert.False(data.Config.FuxiEncoded);
            Assert.Equal([1f, 2f, 3f, 4.5f], data.Train.Embedding(0).ToArray());
            Assert.Equal(2, data.FeatureMap.EmbeddingWidth);
        }
        using var tmp2 = new TempDir();
        tmp2.File("train.csv", "label,city,vec,vec2\n1,a,0.5^1,7|8|9\n0,b,2^-3,1|2|3\n");
        using (var data = Helpers.PrepareYaml(tmp2, """
            e:
              train_data: train.csv
              feature_cols:
                - {name: vec, type: embedding, pretrain_dim: 2}
                - {name: city, type: categorical}
                - {name: vec2, type: embedding, pretrain_dim: 3, splitter: "|"}
              label_col: {name: label}
            """))
        {
            var map = data.FeatureMap;
            Assert.Equal(5, map.EmbeddingWidth);
            Assert.Equal(0, map["vec"].EmbeddingOffset);
            Assert.Equal(2, map["vec2"].EmbeddingOffset);
            var loader = new BatchLoader(data.Train, new BatchLoaderOptions { BatchSize = 4 });
            var b = loader.CreateBatch();
            Assert.True(loader.Next(b));
            Assert.Equal([0.5f, 1f, 7f, 8f, 9f, 2f, -3f, 1f, 2f, 3f], b.Embedding.AsSpan(0, 10).ToArray());
            var enc = new float[5];
            map.EncodeRow(c => c switch { "vec" => "1^2", "vec2" => "3|4|5", _ => "a" }, new int[1], [], [], enc, out _);
            Assert.Equal([1f, 2f, 3f, 4f, 5f], enc);
            var reloaded = FeatureMap.Load(Path.Combine(data.CacheDir, "feature_map.json"));
            Assert.Equal(map.SchemaHash, reloaded.SchemaHash);
            Assert.Equal(3, reloaded["vec2"].PretrainDim);
        }
        using var tmp3 = new TempDir();
        var bad = tmp3.File("train.csv", "label,vec\n1,1^2\n0,1^2^3\n");
        var e = Assert.Throws<DataFormatException>(() => Helpers.PrepareYaml(tmp3, """
            e:
              train_data: train.csv
              feature_cols: [{name: vec, type: embedding, pretrain_dim: 2}]
              label_col: {name: label}
            """));
        Assert.Equal($"{bad}:3: field 'vec': embedding vector has 3 values, pretrain_dim is 2", e.Message);
    }

    [Fact]
    public void Old_version_cache_is_rebuilt_not_misread()
    {
        using var tmp = new TempDir();
        tmp.File("train.csv", "label,a\n1,x\n0,y\n");
        const string yaml = "d:\n  train_data: train.csv\n  feature_cols: [{name: a}]\n  label_col: {name: label}\n";
        string cache;
        using (var data = Helpers.PrepareYaml(tmp, yaml))
        {
            cache = data.Train.FilePath;
        }
        var bytes = File.ReadAllBytes(cache);
        BitConverter.TryWriteBytes(bytes.AsSpan(8), 1);
        File.WriteAllBytes(cache, bytes);
        Assert.Contains("cache format version 1 is not supported", Assert.Throws<DataFormatException>(() => EncodedDataset.Open(cache)).Message, StringComparison.Ordinal);
        using var again = Helpers.PrepareYaml(tmp, yaml);
        Assert.False(again.Reused["train"]);
        Assert.Equal(2, again.Train.RowCount);
    }

    [Theory]
    [InlineData("golden_emb.npz")]
    [InlineData("golden_emb.h5")]
    public void Pretrained_keys_expand_vocab_and_table_aligns(string file)
    {
        using var tmp = new TempDir();
        var src = GoldenDir("pretrained", file.Replace("golden_", "", StringComparison.Ordinal));
        File.Copy(src, tmp.Sub(file));
        tmp.File("train.csv", "label,uid,hist\n1,10,10^20\n0,20,5\n1,5,\n");
        tmp.File("valid.csv", "label,uid,hist\n1,99,99\n");
        using var data = Helpers.PrepareYaml(tmp, $$"""
            d:
              train_data: train.csv
              valid_data: valid.csv
              feature_cols:
                - {name: uid, dtype: str, pretrained_emb: {{file}}, pretrain_usage: sum, pretrain_dim: 3}
                - {name: hist, type: sequence, share_embedding: uid, max_len: 2}
              label_col: {name: label}
            """);
        var uid = data.FeatureMap["uid"];
        // train tokens sorted (10, 20, 5), then the file's keys not seen in train in file order (30, 99), OOV last
        Assert.Equal(["10", "20", "5", "30", "99"], uid.Vocab);
        Assert.Equal(6, uid.OovIdx);
        Assert.True(uid.FreezeEmb);
        Assert.Equal("sum", uid.PretrainUsage);
        var hist = data.FeatureMap["hist"];
        Assert.Equal(uid.Vocab, hist.Vocab);
        Assert.Equal("layers.MaskedAveragePooling()", hist.FeatureEncoder);
        // valid: 99 has a pretrained vector, so it is not OOV
        Assert.Equal(5, Helpers.Rows(data.Valid!)[0].Cat[0]);
        var t = PretrainedEmbeddings.LoadTable(uid);
        var e = Expected();
        var keys = e.GetProperty("pretrained_keys").EnumerateArray().Select(x => x.GetInt64().ToString(System.Globalization.CultureInfo.InvariantCulture)).ToList();
        var values = e.GetProperty("pretrained_values").EnumerateArray().Select(r => r.EnumerateArray().Select(x => (float)x.GetDouble()).ToArray()).ToList();
        Assert.Equal(7, t.Rows);
        Assert.Equal(3, t.Dim);
        Assert.Equal([false, true, true, false, true, true, false], t.FromFile); // PAD, 10, 20, 5 (no vector), 30, 99, OOV
        for (var k = 0; k < keys.Count; k++)
        {
            var code = uid.IndexOf(keys[k]);
            Assert.Equal(values[k], t.Values.AsSpan(code * 3, 3).ToArray());
        }
        Assert.All(t.Values.AsSpan(3 * 3, 3).ToArray(), v => Assert.Equal(0f, v));
        var saved = FeatureMap.Load(Path.Combine(data.CacheDir, "feature_map.json"));
        Assert.Equal(Path.GetFullPath(tmp.Sub(file)), saved["uid"].PretrainedEmb);
        Assert.Equal("uid", saved["hist"].ShareEmbedding);
    }

    [Fact]
    public void Pretrained_string_keys_and_width_mismatch()
    {
        using var tmp = new TempDir();
        File.Copy(GoldenDir("pretrained", "emb_str.npz"), tmp.Sub("emb.npz"));
        tmp.File("train.csv", "label,u\n1,a\n0,q\n");
        using var data = Helpers.PrepareYaml(tmp, """
            d:
              train_data: train.csv
              feature_cols: [{name: u, pretrained_emb: emb.npz, freeze_emb: false}]
              label_col: {name: label}
            """);
        var u = data.FeatureMap["u"];
        Assert.Equal(["a", "q", "b", "zz", "c"], u.Vocab);
        Assert.False(u.FreezeEmb);
        var t = PretrainedEmbeddings.LoadTable(u);
        Assert.Equal([false, true, false, true, true, true, false], t.FromFile);
        var bad = new FeatureInfo { Name = "u", Type = FeatureType.Categorical, PretrainedEmb = tmp.Sub("emb.npz"), PretrainDim = 5, Vocab = ["a"] };
        var e = Assert.Throws<DataFormatException>(() => PretrainedEmbeddings.LoadTable(bad));
        Assert.Equal($"{tmp.Sub("emb.npz")}: field 'value': vectors have 3 values, feature 'u' has pretrain_dim 5", e.Message);
    }

    [Fact]
    public void Missing_pretrained_file_names_both_candidates()
    {
        using var tmp = new TempDir();
        tmp.File("train.csv", "label,u\n1,a\n");
        var e = Assert.Throws<DataConfigException>(() => Helpers.PrepareYaml(tmp, """
            d:
              train_data: train.csv
              feature_cols: [{name: u, pretrained_emb: nowhere/emb.npz}]
              label_col: {name: label}
            """));
        Assert.Contains("feature 'u': pretrained_emb 'nowhere/emb.npz' not found; tried ", e.Message, StringComparison.Ordinal);
        Assert.Contains(Path.Combine(Directory.GetCurrentDirectory(), "nowhere", "emb.npz"), e.Message, StringComparison.Ordinal);
        Assert.Contains(Path.Combine(tmp.Path, "nowhere", "emb.npz"), e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("data_format: tfrecord", "data_format 'tfrecord' is not supported: FsdNet does not read TensorFlow records")]
    [InlineData("feature_cols: [{name: a, preprocess: convert_weekday}]", "feature 'a': preprocess 'convert_weekday' is not supported: FsdNet implements only convert_to_bucket and copy_from(<column>); 'convert_weekday' is a custom Python function")]
    [InlineData("feature_cols: [{name: a, type: sequence, share_embedding: b}]", "feature 'a': share_embedding 'b' is not a column of feature_cols")]
    [InlineData("feature_cols: [{name: a, type: sequence, feature_encoder: \"layers.BertEncoder()\"}]", "feature 'a': feature_encoder 'layers.BertEncoder()' is not supported")]
    [InlineData("feature_cols: [{name: a, pretrain_usage: add}]", "feature 'a': pretrain_usage must be init, sum or concat, got 'add'")]
    [InlineData("feature_cols: [{name: a, type: embedding}]", "feature 'a': type embedding needs pretrain_dim")]
    [InlineData("feature_cols: [{name: a, type: numeric, feature_encoder: \"nn.Linear(3, 4)\"}]", "feature 'a': feature_encoder 'nn.Linear(3, 4)' is not supported for a numeric column")]
    public void Config_errors_are_clear(string line, string expected)
    {
        var yaml = $"d:\n  train_data: t.csv\n  label_col: {{name: y}}\n  {(line.StartsWith("data_format", StringComparison.Ordinal) ? line + "\n  feature_cols: [{name: a}]" : line)}\n";
        var e = Assert.Throws<DataConfigException>(() => DatasetConfigLoader.Parse(yaml, "/tmp/x/dataset_config.yaml", "d"));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.StartsWith("/tmp/x/dataset_config.yaml", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, "sequence", "layers.MaskedAveragePooling()")]
    [InlineData("MaskedSumPooling", "sequence", "layers.MaskedSumPooling()")]
    [InlineData("layers.MaskedAveragePooling()", "sequence", "layers.MaskedAveragePooling()")]
    [InlineData("null", "sequence", null)]
    [InlineData("None", "sequence", null)]
    [InlineData(null, "categorical", null)]
    public void Feature_encoder_defaults_and_short_forms(string? encoder, string type, string? expected)
    {
        var enc = encoder is null ? "" : $", feature_encoder: {encoder}";
        var cfg = DatasetConfigLoader.Parse($"d:\n  train_data: t.csv\n  label_col: {{name: y}}\n  feature_cols: [{{name: a, type: {type}{enc}, embedding_dim: 4, share_embedding: b}}, {{name: b, type: {type}}}]\n", "f.yaml", "d");
        Assert.Equal(expected, cfg.FeatureCols[0].FeatureEncoder);
        Assert.Equal(4, cfg.FeatureCols[0].EmbeddingDim);
        Assert.Equal("b", cfg.FeatureCols[0].ShareEmbedding);
    }

    [Fact]
    public void Map_without_new_keys_keeps_its_schema_hash_and_explicit_null_encoder_round_trips()
    {
        using var tmp = new TempDir();
        tmp.File("train.csv", "label,a,s\n1,x,p^q\n0,y,q\n");
        using var data = Helpers.PrepareYaml(tmp, """
            d:
              train_data: train.csv
              feature_cols: [{name: a}, {name: s, type: sequence}, {name: t, type: sequence, feature_encoder: null, preprocess: copy_from(s)}]
              label_col: {name: label}
            """);
        var json = File.ReadAllText(Path.Combine(data.CacheDir, "feature_map.json"));
        using var doc = JsonDocument.Parse(json);
        var feats = doc.RootElement.GetProperty("features").EnumerateArray().ToList();
        Assert.False(feats[0].TryGetProperty("feature_encoder", out _));
        Assert.False(feats[1].TryGetProperty("feature_encoder", out _)); // the default is not written: older maps hash the same
        Assert.Equal(JsonValueKind.Null, feats[2].GetProperty("feature_encoder").ValueKind);
        var loaded = FeatureMap.Load(Path.Combine(data.CacheDir, "feature_map.json"));
        Assert.Equal("layers.MaskedAveragePooling()", loaded["s"].FeatureEncoder);
        Assert.Null(loaded["t"].FeatureEncoder);
        Assert.Equal(data.FeatureMap.SchemaHash, loaded.SchemaHash);
    }

    [Fact]
    public void Dataset_config_folder_of_fuxictr_1x_is_searched()
    {
        using var tmp = new TempDir();
        Directory.CreateDirectory(tmp.Sub("dataset_config"));
        tmp.File("dataset_config/a.yaml", "one:\n  train_data: x.csv\n  feature_cols: [{name: a}]\n  label_col: {name: y}\n");
        tmp.File("dataset_config/b.yaml", "two:\n  train_data: z.csv\n  feature_cols: [{name: b}]\n  label_col: {name: y}\n");
        var cfg = DatasetConfigLoader.LoadFromDir(tmp.Path, "two");
        Assert.Equal("two", cfg.DatasetId);
        Assert.Equal("b", cfg.FeatureCols[0].Name);
        Assert.Equal("b", DatasetConfigLoader.Load(tmp.Path, "two").FeatureCols[0].Name); // `data inspect --config <dir>` too
        var e = Assert.Throws<DataConfigException>(() => DatasetConfigLoader.LoadFromDir(tmp.Path, "three"));
        Assert.Contains("dataset id 'three' not found in", e.Message, StringComparison.Ordinal);
        Assert.Contains("a.yaml, b.yaml", e.Message, StringComparison.Ordinal);
        // dataset_config.yaml wins when present, as in FuxiCTR
        tmp.File("dataset_config.yaml", "two:\n  train_data: w.csv\n  feature_cols: [{name: c}]\n  label_col: {name: y}\n");
        Assert.Equal("c", DatasetConfigLoader.LoadFromDir(tmp.Path, "two").FeatureCols[0].Name);
    }

    [Fact]
    public void Relative_paths_resolve_against_cwd_first_then_config_folder()
    {
        using var tmp = new TempDir();
        var cfg = DatasetConfigLoader.Parse("d:\n  train_data: sub/t.csv\n  feature_cols: [{name: a}]\n  label_col: {name: y}\n", Path.Combine(tmp.Path, "dataset_config.yaml"), "d");
        var c = cfg.Candidates("sub/t.csv");
        Assert.Equal(Path.Combine(Directory.GetCurrentDirectory(), "sub", "t.csv"), c[0]);
        Assert.Equal(Path.Combine(tmp.Path, "sub", "t.csv"), c[1]);
        Directory.CreateDirectory(tmp.Sub("sub"));
        tmp.File("sub/t.csv", "y,a\n1,x\n");
        Assert.Equal(Path.Combine(tmp.Path, "sub", "t.csv"), cfg.ResolvePath("sub/t.csv"));
    }
}

/// <summary>A minimal .npz writer for tests (numpy format 1.0, uncompressed members).</summary>
internal static class NpzWriter
{
    public static byte[] Int64(long[] v) => Raw("<i8", $"({v.Length},)", [.. v.SelectMany(BitConverter.GetBytes)]);

    public static byte[] Float64(double[] v) => Raw("<f8", $"({v.Length},)", [.. v.SelectMany(BitConverter.GetBytes)]);

    public static byte[] Raw(string descr, string shape, byte[] data, bool fortran = false)
    {
        var header = $"{{'descr': '{descr}', 'fortran_order': {(fortran ? "True" : "False")}, 'shape': {shape}, }}";
        var total = 10 + header.Length + 1;
        header = header.PadRight(header.Length + ((64 - (total % 64)) % 64)) + "\n";
        using var ms = new MemoryStream();
        ms.Write([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0]);
        ms.Write(BitConverter.GetBytes((ushort)header.Length));
        ms.Write(Encoding.Latin1.GetBytes(header));
        ms.Write(data);
        return ms.ToArray();
    }

    public static void Write(string path, params (string Name, byte[] Npy)[] arrays)
    {
        using var fs = File.Create(path);
        using var zip = new ZipArchive(fs, ZipArchiveMode.Create);
        foreach (var (name, npy) in arrays)
        {
            using var s = zip.CreateEntry(name + ".npy", CompressionLevel.NoCompression).Open();
            s.Write(npy);
        }
    }
}
