using FsdNet.Data;
using Xunit;

namespace FsdNet.Tests.Data;

public sealed class CacheAndLoaderTests
{
    private const string Yaml = """
        c:
          train_data: train.csv
          valid_data: valid.csv
          feature_cols:
            - {name: g, type: meta}
            - {name: [a, b], type: categorical}
            - {name: n, type: numeric}
            - {name: s, type: sequence, max_len: 2}
          label_col: {name: label}
        """;

    private static void WriteData(TempDir tmp, int rows, string file = "train.csv")
    {
        var sb = new System.Text.StringBuilder("label,g,a,b,n,s\n");
        for (var i = 0; i < rows; i++)
        {
            sb.Append(System.Globalization.CultureInfo.InvariantCulture, $"{i % 2},{i % 5},a{i % 7},b{i % 3},{i},t{i % 4}^t{i % 6}\n");
        }
        tmp.File(file, sb.ToString());
    }

    [Fact]
    public void Cache_is_reused_and_rebuilt_when_source_or_config_changes()
    {
        using var tmp = new TempDir();
        WriteData(tmp, 100);
        WriteData(tmp, 30, "valid.csv");
        string firstHash;
        using (var d = Helpers.PrepareYaml(tmp, Yaml))
        {
            Assert.False(d.Reused["train"]);
            firstHash = d.FeatureMap.SchemaHash;
            Assert.Equal(100, d.Train.RowCount);
        }
        using (var d = Helpers.PrepareYaml(tmp, Yaml))
        {
            Assert.True(d.Reused["train"]);
            Assert.True(d.Reused["valid"]);
        }
        // source changed -> rebuild
        WriteData(tmp, 120);
        File.SetLastWriteTimeUtc(tmp.Sub("train.csv"), DateTime.UtcNow.AddMinutes(1));
        using (var d = Helpers.PrepareYaml(tmp, Yaml))
        {
            Assert.False(d.Reused["train"]);
            Assert.Equal(120, d.Train.RowCount);
            // valid is unchanged and the refit map encodes the same way (same schema hash) -> its cache stays valid
            Assert.Equal(d.FeatureMap.SchemaHash == firstHash, d.Reused["valid"]);
        }
        // config changed -> a different cache folder, rebuilt
        using (var d = Helpers.PrepareYaml(tmp, Yaml.Replace("max_len: 2", "max_len: 3", StringComparison.Ordinal)))
        {
            Assert.False(d.Reused["train"]);
            Assert.NotEqual(firstHash, d.FeatureMap.SchemaHash);
        }
    }

    [Fact]
    public void Corrupt_cache_and_feature_map_give_errors_naming_the_file_and_prepare_rebuilds()
    {
        using var tmp = new TempDir();
        WriteData(tmp, 50);
        WriteData(tmp, 10, "valid.csv");
        string cacheDir, trainCache;
        using (var d = Helpers.PrepareYaml(tmp, Yaml))
        {
            cacheDir = d.CacheDir;
            trainCache = d.Train.FilePath;
        }
        // flip one payload byte
        var bytes = File.ReadAllBytes(trainCache);
        bytes[^5] ^= 0x55;
        File.WriteAllBytes(trainCache, bytes);
        var e = Assert.Throws<DataFormatException>(() => EncodedDataset.Open(trainCache).Dispose());
        Assert.Contains(trainCache, e.Message, StringComparison.Ordinal);
        Assert.Contains("checksum", e.Message, StringComparison.Ordinal);
        // truncated
        File.WriteAllBytes(trainCache, bytes[..(bytes.Length / 2)]);
        e = Assert.Throws<DataFormatException>(() => EncodedDataset.Open(trainCache).Dispose());
        Assert.Contains("truncated", e.Message, StringComparison.Ordinal);
        // prepare notices and rebuilds
        var logs = new List<string>();
        using (var d = Helpers.PrepareYaml(tmp, Yaml, new DataOptions { Log = logs.Add }))
        {
            Assert.False(d.Reused["train"]);
            Assert.Equal(50, d.Train.RowCount);
        }
        // feature map truncated / corrupt
        var mapPath = Path.Combine(cacheDir, "feature_map.json");
        var json = File.ReadAllText(mapPath);
        File.WriteAllText(mapPath, json[..(json.Length / 2)]);
        e = Assert.Throws<DataFormatException>(() => FeatureMap.Load(mapPath));
        Assert.Contains(mapPath, e.Message, StringComparison.Ordinal);
        Assert.Contains("truncated or corrupt", e.Message, StringComparison.Ordinal);
        File.WriteAllText(mapPath, json.Replace("\"b1\": 2", "\"b1\": 3", StringComparison.Ordinal));
        e = Assert.Throws<DataFormatException>(() => FeatureMap.Load(mapPath));
        Assert.Contains(mapPath, e.Message, StringComparison.Ordinal);
        File.WriteAllText(mapPath, "not json at all");
        Assert.Throws<DataFormatException>(() => FeatureMap.Load(mapPath));
        using (var d = Helpers.PrepareYaml(tmp, Yaml))
        {
            Assert.False(d.Reused["train"]);
        }
        Assert.Throws<DataFormatException>(() => FeatureMap.Load(tmp.Sub("nope.json")));
    }

    [Fact]
    public void Loader_sequential_shuffled_reproducible_drop_last_and_allocation_free()
    {
        using var tmp = new TempDir();
        WriteData(tmp, 1000);
        WriteData(tmp, 10, "valid.csv");
        using var d = Helpers.PrepareYaml(tmp, Yaml);
        var ds = d.Train;
        var seq = new BatchLoader(ds, new BatchLoaderOptions { BatchSize = 64 });
        Assert.Equal(16, seq.BatchCount);
        var b = seq.CreateBatch();
        var sizes = new List<int>();
        var labels = new List<float>();
        while (seq.Next(b))
        {
            sizes.Add(b.Size);
            labels.AddRange(b.Labels.AsSpan(0, b.Size).ToArray());
            Assert.Equal(b.Categorical[0], ds.Categorical(0)[(int)b.RowIds[0]]);
            Assert.Equal(b.GroupIds[0], ds.GroupIds[(int)b.RowIds[0]]);
        }
        Assert.Equal(1000 - (15 * 64), sizes[^1]);
        Assert.Equal(ds.Labels.ToArray(), labels);

        var drop = new BatchLoader(ds, new BatchLoaderOptions { BatchSize = 64, DropLast = true });
        Assert.Equal(15, drop.BatchCount);

        List<long> Order(int seed, int epoch)
        {
            var l = new BatchLoader(ds, new BatchLoaderOptions { BatchSize = 100, Shuffle = true, Seed = seed });
            l.StartEpoch(epoch);
            var bb = l.CreateBatch();
            var ids = new List<long>();
            while (l.Next(bb))
            {
                ids.AddRange(bb.RowIds.AsSpan(0, bb.Size).ToArray());
                for (var i = 0; i < bb.Size; i++)
                {
                    var r = (int)bb.RowIds[i];
                    Assert.Equal(ds.Labels[r], bb.Labels[i]);
                    Assert.Equal(ds.Categorical(1)[r], bb.Categorical[(i * 2) + 1]);
                    Assert.Equal(ds.Numeric(0)[r], bb.Numeric[i]);
                    Assert.Equal(ds.Sequence(0).Slice(r * 2, 2).ToArray(), bb.Sequence.AsSpan(i * 2, 2).ToArray());
                }
            }
            return ids;
        }
        var e0 = Order(7, 0);
        Assert.Equal(e0, Order(7, 0));
        Assert.NotEqual(e0, Order(7, 1));
        Assert.NotEqual(e0, Order(8, 0));
        Assert.Equal(Enumerable.Range(0, 1000).Select(i => (long)i), e0.Order());

        // no per-batch allocation
        var loader = new BatchLoader(ds, new BatchLoaderOptions { BatchSize = 50, Shuffle = true, Seed = 1 });
        var batch = loader.CreateBatch();
        loader.StartEpoch(1);
        while (loader.Next(batch))
        {
        }
        loader.StartEpoch(2);
        var before = GC.GetAllocatedBytesForCurrentThread();
        while (loader.Next(batch))
        {
        }
        loader.StartEpoch(3);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void Parallel_split_of_a_large_headerless_file_matches_single_thread()
    {
        using var tmp = new TempDir();
        // > 16 MiB of libFM so the file is split across threads
        var path = tmp.Sub("big.libfm");
        using (var w = new StreamWriter(path))
        {
            var rng = new Random(3);
            for (var i = 0; i < 1_000_000; i++)
            {
                w.Write(rng.Next(2) == 0 ? "-1" : "1");
                for (var f = 0; f < 3; f++)
                {
                    w.Write(' ');
                    w.Write(rng.Next(f == 0 ? 5000 : 50).ToString(System.Globalization.CultureInfo.InvariantCulture));
                    w.Write(":1");
                }
                w.Write(i % 2 == 0 ? "\r\n" : "\n");
            }
        }
        Assert.True(new FileInfo(path).Length > (16 << 20));
        var cfg = DatasetConfigLoader.Parse("train_data: big.libfm\ndata_format: libfm\nmin_categr_count: 2\nfeature_cols: [{name: [x, y, z], dtype: float}]\nlabel_col: {name: label}\n", tmp.Sub("c.yaml"));
        var (m1, d1, _) = DataPipeline.FitAndEncode(cfg, path, tmp.Sub("one.fsdcache"), new DataOptions { Threads = 1 });
        var (m2, d2, _) = DataPipeline.FitAndEncode(cfg, path, tmp.Sub("two.fsdcache"), new DataOptions { Threads = 2 });
        using (d1)
        using (d2)
        {
            Assert.Equal(m1.SchemaHash, m2.SchemaHash);
            Assert.Equal(1_000_000, d2.RowCount);
            for (var f = 0; f < 3; f++)
            {
                Assert.True(d1.Categorical(f).SequenceEqual(d2.Categorical(f)));
            }
            Assert.True(d1.Labels.SequenceEqual(d2.Labels));
        }
        // an error in the second half reports the right global line
        var lines = File.ReadAllLines(path);
        lines[900_000] = "1 1:1 2:1";
        File.WriteAllLines(path, lines);
        var e = Assert.Throws<DataFormatException>(() => DataPipeline.FitAndEncode(cfg, path, tmp.Sub("three.fsdcache"), new DataOptions { Threads = 2 }));
        Assert.Equal(900_001, e.Line);
    }

    [Fact]
    public void Parallel_split_of_a_large_quote_free_csv_matches_single_thread()
    {
        using var tmp = new TempDir();
        var path = tmp.Sub("big.csv");
        using (var w = new StreamWriter(path))
        {
            w.Write("label,a,b,n\n");
            var rng = new Random(5);
            for (var i = 0; i < 1_000_000; i++)
            {
                w.Write(rng.Next(2) == 0 ? "0," : "1,");
                w.Write("tok" + rng.Next(3000).ToString(System.Globalization.CultureInfo.InvariantCulture));
                w.Write(',');
                w.Write(rng.Next(40).ToString(System.Globalization.CultureInfo.InvariantCulture));
                w.Write(',');
                w.Write(rng.NextDouble().ToString("F3", System.Globalization.CultureInfo.InvariantCulture));
                w.Write('\n');
            }
        }
        Assert.True(new FileInfo(path).Length > (16 << 20));
        var cfg = DatasetConfigLoader.Parse("train_data: big.csv\nmin_categr_count: 2\nfeature_cols: [{name: a}, {name: b, dtype: int}, {name: n, type: numeric, normalizer: StandardScaler}]\nlabel_col: {name: label}\n", tmp.Sub("c.yaml"));
        var (m1, d1, _) = DataPipeline.FitAndEncode(cfg, path, tmp.Sub("one.fsdcache"), new DataOptions { Threads = 1 });
        var (m2, d2, _) = DataPipeline.FitAndEncode(cfg, path, tmp.Sub("two.fsdcache"), new DataOptions { Threads = 2 });
        using (d1)
        using (d2)
        {
            Assert.Equal(1_000_000, d2.RowCount);
            Assert.Equal(m1.SchemaHash, m2.SchemaHash);
            Assert.True(d1.Categorical(0).SequenceEqual(d2.Categorical(0)));
            Assert.True(d1.Categorical(1).SequenceEqual(d2.Categorical(1)));
            Assert.True(d1.Numeric(0).SequenceEqual(d2.Numeric(0)));
            Assert.True(d1.Labels.SequenceEqual(d2.Labels));
        }
        var lines = File.ReadAllLines(path);
        lines[800_000] = "1,tok1,zz,0.5"; // file line 800,001
        File.WriteAllLines(path, lines);
        var e = Assert.Throws<DataFormatException>(() => DataPipeline.FitAndEncode(cfg, path, tmp.Sub("three.fsdcache"), new DataOptions { Threads = 2 }));
        Assert.Equal(800_001, e.Line);
        Assert.Equal("b", e.Field);
    }
}
