using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using FsdNet.Data;
using FsdNet.Training;

namespace FsdNet.Bench;

/// <summary>
/// Ingest benchmark: parse + encode + cache write of a libFM file and a raw Criteo TSV, cache reload time, and peak
/// RSS while iterating a cache. Phases run in separate processes (bench/ingest.sh) so peak RSS is per phase.
/// Options: --phase build|iterate, --preset frappe|criteo, --data-root DIR, --train FILE, --cache DIR, --reps N.
/// Prints "key=value" lines for the script.
/// </summary>
public static class IngestBenchmark
{
    public static int Run(string[] args)
    {
        string Arg(string name, string fallback)
        {
            var i = Array.IndexOf(args, name);
            return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
        }
        var inv = CultureInfo.InvariantCulture;
        var phase = Arg("--phase", "build");
        var preset = Arg("--preset", "frappe");
        var root = Arg("--data-root", DataPipeline.DefaultDataRoot());
        var cacheDir = Arg("--cache", Path.Combine(Path.GetTempPath(), "fsdnet-ingest-bench"));
        var reps = int.Parse(Arg("--reps", "3"), inv);
        var cfg = DatasetConfigLoader.Preset(preset, root);
        var train = Arg("--train", cfg.ResolvePath(cfg.TrainData)!);
        Directory.CreateDirectory(cacheDir);
        var cacheFile = Path.Combine(cacheDir, preset + ".train.fsdcache");
        var mapFile = Path.Combine(cacheDir, preset + ".feature_map.json");

        if (phase == "build")
        {
            var bytes = UncompressedBytes(train);
            var best = double.MaxValue;
            long rows = 0;
            FeatureMap? map = null;
            for (var r = 0; r < reps; r++)
            {
                var sw = Stopwatch.StartNew();
                var (m, ds, _) = DataPipeline.FitAndEncode(cfg, train, cacheFile, new DataOptions { Threads = Environment.ProcessorCount, Log = Console.Error.WriteLine });
                sw.Stop();
                rows = ds.RowCount;
                ds.Dispose();
                map = m;
                best = Math.Min(best, sw.Elapsed.TotalSeconds);
                Console.Error.WriteLine($"build rep {r}: {sw.Elapsed.TotalSeconds:F3} s");
            }
            map!.Save(mapFile);
            // The peak of parsing, the fit and the cache write, before the reloads below map the cache again.
            var buildPeak = ProcessMemory.PeakRssMiB();
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            // reload: feature map + open the memory-mapped cache with checksum verification
            var reload = double.MaxValue;
            for (var r = 0; r < 5; r++)
            {
                var sw = Stopwatch.StartNew();
                var m = FeatureMap.Load(mapFile);
                using var ds = EncodedDataset.Open(cacheFile, m, verifyChecksum: true);
                sw.Stop();
                reload = Math.Min(reload, sw.Elapsed.TotalSeconds);
            }
            Console.WriteLine(string.Create(inv, $"rows={rows}"));
            Console.WriteLine(string.Create(inv, $"bytes={bytes}"));
            Console.WriteLine(string.Create(inv, $"parse_encode_s={best:F4}"));
            Console.WriteLine(string.Create(inv, $"rows_per_s={rows / best:F0}"));
            Console.WriteLine(string.Create(inv, $"mb_per_s={bytes / 1e6 / best:F1}"));
            Console.WriteLine(string.Create(inv, $"reload_s={reload:F5}"));
            Console.WriteLine(string.Create(inv, $"cache_bytes={new FileInfo(cacheFile).Length}"));
            Console.WriteLine(string.Create(inv, $"total_features={map.TotalFeatures}"));
            Console.WriteLine(string.Create(inv, $"build_peak_rss_mb={buildPeak:F0}"));
            Console.WriteLine(string.Create(inv, $"peak_rss_mb={ProcessMemory.PeakRssMiB():F0}"));
            return 0;
        }
        if (phase == "iterate")
        {
            var map = FeatureMap.Load(mapFile);
            using var ds = EncodedDataset.Open(cacheFile, map, verifyChecksum: false);
            var loader = new BatchLoader(ds, new BatchLoaderOptions { BatchSize = 10000, Shuffle = true, Seed = 1 });
            var batch = loader.CreateBatch();
            var sw = Stopwatch.StartNew();
            long n = 0, sum = 0;
            while (loader.Next(batch))
            {
                n += batch.Size;
                sum += batch.Categorical[0];
            }
            sw.Stop();
            Console.WriteLine(string.Create(inv, $"iter_rows={n}"));
            Console.WriteLine(string.Create(inv, $"iter_s={sw.Elapsed.TotalSeconds:F3}"));
            Console.WriteLine(string.Create(inv, $"iter_checksum={sum}"));
            Console.WriteLine(string.Create(inv, $"peak_rss_mb={ProcessMemory.PeakRssMiB():F0}"));
            return 0;
        }
        Console.Error.WriteLine($"unknown phase '{phase}' (build|iterate)");
        return 2;
    }

    private static long UncompressedBytes(string path)
    {
        using var fs = File.OpenRead(path);
        Span<byte> magic = stackalloc byte[2];
        if (fs.Read(magic) < 2 || magic[0] != 0x1f || magic[1] != 0x8b)
        {
            return fs.Length;
        }
        fs.Position = 0;
        using var gz = new GZipStream(fs, CompressionMode.Decompress);
        var buf = new byte[1 << 16];
        long total = 0;
        int k;
        while ((k = gz.Read(buf)) > 0)
        {
            total += k;
        }
        return total;
    }
}
