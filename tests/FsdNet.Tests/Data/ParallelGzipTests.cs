using System.Globalization;
using System.Text;
using FsdNet.Data;
using FsdNet.Tensors;
using FsdNet.Tests.Support;
using Xunit;

namespace FsdNet.Tests.Data;

/// <summary>
/// Gzip input on two threads (one decompresses and cuts chunks of lines, the workers parse them) gives the same
/// feature map and the same cache files, byte for byte, as one thread; errors name the same line; a file with a quote
/// falls back to one thread. Chunks are made tiny here so that the workers interleave hundreds of them.
/// </summary>
[Collection(ThreadingCollection.Name)]
public sealed class ParallelGzipTests : IDisposable
{
    private readonly TempDir tmp = new();
    private readonly int chunkBytes = DelimitedTextReader.ChunkBytes;

    public ParallelGzipTests() => DelimitedTextReader.ChunkBytes = 2048;

    public void Dispose()
    {
        DelimitedTextReader.ChunkBytes = chunkBytes;
        tmp.Dispose();
    }

    private const string Yaml = """
        g:
          data_format: csv
          train_data: train.csv.gz
          valid_data: valid.csv.gz
          min_categr_count: 2
          feature_cols:
            - {name: g, type: meta}
            - {name: [u, i], type: categorical}
            - {name: c, type: categorical, dtype: int, fill_na: 0, preprocess: convert_to_bucket}
            - {name: n, type: numeric, normalizer: StandardScaler, fill_na: 1}
            - {name: m, type: numeric, normalizer: MinMaxScaler}
            - {name: s, type: sequence, max_len: 4, padding: pre}
            - {name: h, type: categorical, hash_buckets: 9}
            - {name: e, type: embedding, splitter: '|', pretrain_dim: 2}
          label_col: {name: label}
        """;

    private string Csv(int rows, int seed, Func<int, string?>? replace = null)
    {
        var rng = new Rng((ulong)seed);
        var sb = new StringBuilder("label,g,u,i,c,n,m,s,h,e\n");
        for (var r = 0; r < rows; r++)
        {
            if (replace?.Invoke(r) is { } line)
            {
                sb.Append(line).Append('\n');
                continue;
            }
            var n = rng.NextInt(10) == 0 ? "" : ((rng.NextDouble() * 9) - 3).ToString("R", CultureInfo.InvariantCulture);
            var s = string.Join('^', Enumerable.Range(0, rng.NextInt(7)).Select(_ => $"t{rng.NextInt(12)}"));
            sb.Append(CultureInfo.InvariantCulture,
                $"{rng.NextInt(2)},{rng.NextInt(50)},u{rng.NextInt(80)},i{rng.NextInt(40)},{rng.NextInt(300)},{n},{rng.NextDouble() * 100:F3},{s},h{rng.NextInt(30)},{rng.NextDouble():F3}|{-rng.NextDouble():F3}\n");
        }
        return sb.ToString();
    }

    private (string Map, byte[] Train, byte[] Valid) Prepare(string dir, int threads, OnBadLine onBad = OnBadLine.Error)
    {
        var cfg = DatasetConfigLoader.Load(Path.Combine(dir, "dataset_config.yaml"));
        using var data = DataPipeline.Prepare(cfg, new DataOptions { CacheDir = Path.Combine(dir, $"cache{threads}"), Threads = threads, OnBadLine = onBad });
        return (data.FeatureMap.ToJson(), File.ReadAllBytes(Path.Combine(data.CacheDir, "train.fsdcache")), File.ReadAllBytes(Path.Combine(data.CacheDir, "valid.fsdcache")));
    }

    private string Files(string name, string train, string valid)
    {
        var dir = tmp.Sub(name);
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "dataset_config.yaml"), Yaml);
        foreach (var (file, text) in new[] { ("train.csv.gz", train), ("valid.csv.gz", valid) })
        {
            using var fs = File.Create(Path.Combine(dir, file));
            using var gz = new System.IO.Compression.GZipStream(fs, System.IO.Compression.CompressionLevel.Fastest);
            gz.Write(Encoding.UTF8.GetBytes(text));
        }
        return dir;
    }

    [Fact]
    public void Two_threads_write_the_same_map_and_caches_as_one()
    {
        var dir = Files("same", Csv(6000, 1), Csv(1500, 2));
        var one = Prepare(dir, 1);
        var two = Prepare(dir, 2);
        Assert.Equal(one.Map, two.Map);
        Assert.Equal(one.Train, two.Train);
        Assert.Equal(one.Valid, two.Valid);
        Assert.True(new FileInfo(Path.Combine(dir, "train.csv.gz")).Length > 50 * DelimitedTextReader.ChunkBytes / 10, "too few chunks to interleave");
    }

    [Fact]
    public void A_bad_line_is_named_alike_and_skipped_alike()
    {
        var bad = new Dictionary<int, string>
        {
            [2500] = "1,7,u1,i1,5,not-a-number,3,t1,h1,0.1|0.2",
            [4000] = "1,7,u1",
        };
        var dir = Files("bad", Csv(5000, 3, r => bad.GetValueOrDefault(r)), Csv(500, 4));
        var e1 = Assert.Throws<DataFormatException>(() => Prepare(dir, 1));
        var e2 = Assert.Throws<DataFormatException>(() => Prepare(dir, 2));
        Assert.Equal(2502, e1.Line); // header, then rows from line 2
        Assert.Equal(e1.Message, e2.Message);
        var one = Prepare(dir, 1, OnBadLine.Skip);
        var two = Prepare(dir, 2, OnBadLine.Skip);
        Assert.Equal(one.Map, two.Map);
        Assert.Equal(one.Train, two.Train);
    }

    [Fact]
    public void A_quoted_field_spanning_lines_falls_back_to_one_thread()
    {
        var dir = Files("quoted", Csv(4000, 5, r => r is 3000 or 3001 ? "1,7,\"u\nquoted\",i1,5,1,3,t1,h1,0.1|0.2" : null), Csv(500, 6));
        var one = Prepare(dir, 1);
        var two = Prepare(dir, 2);
        Assert.Equal(one.Map, two.Map);
        Assert.Equal(one.Train, two.Train);
        Assert.Contains("u\\nquoted", one.Map, StringComparison.Ordinal);
    }

    [DataFact("frappe")]
    public void Frappe_libfm_gz_caches_alike_on_one_and_two_threads()
    {
        DelimitedTextReader.ChunkBytes = 64 << 10;
        var dir = tmp.Sub("frappe");
        using var a = DataPipeline.Prepare("frappe", SharedData.Root, new DataOptions { CacheDir = Path.Combine(dir, "one"), Threads = 1 });
        using var b = DataPipeline.Prepare("frappe", SharedData.Root, new DataOptions { CacheDir = Path.Combine(dir, "two"), Threads = 2 });
        Assert.Equal(a.FeatureMap.ToJson(), b.FeatureMap.ToJson());
        foreach (var split in new[] { "train", "valid", "test" })
        {
            Assert.Equal(File.ReadAllBytes(Path.Combine(a.CacheDir, split + ".fsdcache")), File.ReadAllBytes(Path.Combine(b.CacheDir, split + ".fsdcache")));
        }
    }
}
