using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace FsdNet.Data;

/// <summary>Options for preparing data.</summary>
public sealed record DataOptions
{
    /// <summary>Cache folder; null = the default (see <see cref="DataPipeline.ResolveCacheRoot"/>).</summary>
    public string? CacheDir { get; init; }

    public OnBadLine OnBadLine { get; init; } = OnBadLine.Error;

    /// <summary>Ignore existing caches and rebuild.</summary>
    public bool Rebuild { get; init; }

    /// <summary>Verify the payload checksum when opening a cache.</summary>
    public bool VerifyChecksum { get; init; } = true;

    /// <summary>Parser threads (default: all cores).</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;

    /// <summary>
    /// Scoring input (<c>fsdnet predict</c>): the label may be missing — no label column in a CSV header, an empty label
    /// cell, a libFM line whose first token is idx:val, a headerless line one column short. Missing labels are NaN.
    /// </summary>
    public bool LabelOptional { get; init; }

    /// <summary>Progress and warning messages.</summary>
    public Action<string>? Log { get; init; }
}

/// <summary>A fitted feature map plus the encoded splits (valid/test may be null when not configured).</summary>
internal sealed class PreparedData : IDisposable
{
    public required DatasetConfig Config { get; init; }
    public required FeatureMap FeatureMap { get; init; }
    public required EncodedDataset Train { get; init; }
    public EncodedDataset? Valid { get; init; }
    public EncodedDataset? Test { get; init; }

    /// <summary>The folder holding feature_map.json and the split caches.</summary>
    public required string CacheDir { get; init; }

    /// <summary>Per split: whether its cache was reused (true) or built now (false).</summary>
    public required IReadOnlyDictionary<string, bool> Reused { get; init; }

    /// <summary>Lines dropped under --on-bad-line skip, per split.</summary>
    public required IReadOnlyDictionary<string, BadLineReport> BadLines { get; init; }

    public void Dispose()
    {
        Train.Dispose();
        Valid?.Dispose();
        Test?.Dispose();
    }
}

/// <summary>
/// The entry point for trainers: dataset config (or preset) + data root -> fitted FeatureMap + encoded, cached
/// train/valid/test splits.
/// </summary>
internal static class DataPipeline
{
    /// <summary>Prepares a preset (<c>frappe</c>, <c>criteo</c>) found under <paramref name="dataRoot"/> (default: <see cref="DefaultDataRoot"/>).</summary>
    public static PreparedData Prepare(string preset, string? dataRoot = null, DataOptions? options = null) =>
        Prepare(DatasetConfigLoader.Preset(preset, dataRoot ?? DefaultDataRoot()), options);

    /// <summary>Prepares a dataset from a config: fits on train (or reuses the cache), encodes valid/test.</summary>
    public static PreparedData Prepare(DatasetConfig config, DataOptions? options = null)
    {
        options ??= new DataOptions();
        var log = options.Log ?? (_ => { });
        foreach (var w in config.Warnings)
        {
            log("warning: " + w);
        }
        if (config.FuxiEncoded)
        {
            return PrepareEncoded(config, options, log);
        }
        config.PrepareSource?.Invoke(config, Path.Combine(ResolveCacheRoot(options.CacheDir), config.DatasetId + "-source"), log);
        var trainPath = config.ResolvePath(config.TrainData)
            ?? throw new DataConfigException($"dataset '{config.DatasetId}' has no train_data");
        var cacheDir = CacheDirFor(config, options);
        var mapPath = Path.Combine(cacheDir, "feature_map.json");
        var reused = new Dictionary<string, bool>();
        var bad = new Dictionary<string, BadLineReport>();
        FeatureMap? map = null;
        return Assemble(config, cacheDir, reused, bad, Train, Split);

        (FeatureMap, EncodedDataset) Train()
        {
            var trainCache = Path.Combine(cacheDir, "train.fsdcache");
            var trainFp = SourceFingerprint(trainPath, config.Fingerprint() + "|train|" + options.OnBadLine + PretrainedSalt(config));
            if (!options.Rebuild && File.Exists(mapPath) && File.Exists(trainCache))
            {
                try
                {
                    var m = FeatureMap.Load(mapPath);
                    if (TryReuse(trainCache, trainFp, m, options, log) is { } cached)
                    {
                        map = m;
                        reused["train"] = true;
                        log($"reusing {trainCache}");
                        return (m, cached);
                    }
                }
                catch (DataFormatException e)
                {
                    log($"rebuilding: {e.Message}");
                }
            }
            log($"fitting on {trainPath}");
            (map, var train, var report) = FitAndEncode(config, trainPath, trainCache, trainFp, options);
            map.Save(mapPath);
            reused["train"] = false;
            bad["train"] = report;
            return (map, train);
        }

        EncodedDataset? Split(string role, string? configured)
        {
            var path = config.ResolvePath(configured);
            if (path is null || (config.OptionalSplits && !File.Exists(path)))
            {
                return null;
            }
            var cache = Path.Combine(cacheDir, role + ".fsdcache");
            var fp = SourceFingerprint(path, map!.SchemaHash + "|" + role + "|" + options.OnBadLine);
            if (TryReuse(cache, fp, map, options, log) is { } ds)
            {
                reused[role] = true;
                return ds;
            }
            log($"encoding {path}");
            var (enc, report) = EncodeCore(map, path, cache, fp, options);
            reused[role] = false;
            bad[role] = report;
            return enc;
        }
    }

    /// <summary>Size and mtime of every pretrained_emb file (the vocabulary depends on their keys).</summary>
    private static string PretrainedSalt(DatasetConfig config)
    {
        var sb = new StringBuilder();
        foreach (var c in config.ActiveColumns.Where(c => c.PretrainedEmb is not null))
        {
            var p = config.ResolvePath(c.PretrainedEmb);
            var fi = p is null ? null : new FileInfo(p);
            sb.Append(CultureInfo.InvariantCulture, $"|{c.Name}:{fi?.FullName}:{(fi?.Exists == true ? fi.Length : -1)}:{(fi?.Exists == true ? fi.LastWriteTimeUtc.Ticks : 0)}");
        }
        return sb.ToString();
    }

    /// <summary>
    /// FuxiCTR-encoded data (h5, npz, parquet without feature_cols): FuxiCTR's run_expid reads
    /// <c>&lt;data_root&gt;/&lt;dataset_id&gt;/feature_map.json</c>; we do the same (also trying the train file's folder), keep
    /// the codes, and build one cache per split.
    /// </summary>
    private static PreparedData PrepareEncoded(DatasetConfig config, DataOptions options, Action<string> log)
    {
        var mapFile = FindFuxiFeatureMap(config);
        log($"reading FuxiCTR's feature map {mapFile}");
        var map = FuxiEncodedData.LoadFeatureMap(mapFile, config.Format, config.DatasetId, null, config.FeatureSpecs);
        var cacheDir = CacheDirFor(config, options);
        map.Save(Path.Combine(cacheDir, "feature_map.json"));
        var reused = new Dictionary<string, bool>();
        var bad = new Dictionary<string, BadLineReport>();
        return Assemble(config, cacheDir, reused, bad,
            () => (map, Split("train", config.TrainData) ?? throw new DataConfigException($"dataset '{config.DatasetId}' has no train_data")), Split);

        EncodedDataset? Split(string role, string? configured)
        {
            if (string.IsNullOrEmpty(configured))
            {
                return null;
            }
            var files = FuxiEncodedData.SplitFiles(EncodedPath(config, configured, role), config.Format);
            var cache = Path.Combine(cacheDir, role + ".fsdcache");
            var fp = FilesFingerprint(files, map.SchemaHash + "|" + role);
            if (TryReuse(cache, fp, map, options, log) is { } ds)
            {
                reused[role] = true;
                return ds;
            }
            log($"reading {string.Join(", ", files.Take(3))}{(files.Count > 3 ? $" (+{files.Count - 3} files)" : "")}");
            FuxiEncodedData.WriteCache(map, files, cache, fp);
            reused[role] = false;
            bad[role] = new BadLineReport();
            return EncodedDataset.Open(cache, map, verifyChecksum: false);
        }
    }

    /// <summary>The cache folder of a dataset config (created): its id and a prefix of its fingerprint, under the cache root.</summary>
    private static string CacheDirFor(DatasetConfig config, DataOptions options)
    {
        var dir = Path.Combine(ResolveCacheRoot(options.CacheDir), $"{config.DatasetId}-{config.Fingerprint()[..12]}");
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>A cached split whose header matches the source fingerprint and the map's schema; null when it must be built (a damaged cache is logged).</summary>
    private static EncodedDataset? TryReuse(string cache, byte[] fp, FeatureMap map, DataOptions options, Action<string> log)
    {
        if (options.Rebuild || EncodedDataset.PeekHeader(cache) is not { } p || !p.SourceFp.AsSpan().SequenceEqual(fp) || p.SchemaHash != map.SchemaHash)
        {
            return null;
        }
        try
        {
            return EncodedDataset.Open(cache, map, options.VerifyChecksum);
        }
        catch (DataFormatException e)
        {
            log($"rebuilding: {e.Message}");
            return null;
        }
    }

    /// <summary>Loads train, then valid and test, into a <see cref="PreparedData"/>; on any failure the splits already open are closed.</summary>
    private static PreparedData Assemble(
        DatasetConfig config, string cacheDir, Dictionary<string, bool> reused, Dictionary<string, BadLineReport> bad,
        Func<(FeatureMap Map, EncodedDataset Train)> loadTrain, Func<string, string?, EncodedDataset?> loadSplit)
    {
        EncodedDataset? train = null, valid = null, test = null;
        try
        {
            (var map, train) = loadTrain();
            valid = loadSplit("valid", config.ValidData);
            test = loadSplit("test", config.TestData);
            if (reused.ContainsValue(false))
            {
                // Parsing and the fit's token tables (gigabytes at Criteo size) are garbage now: give their memory back
                // to the system before training instead of keeping it in the GC heap for the whole run.
                GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            }
            return new PreparedData
            {
                Config = config,
                FeatureMap = map,
                Train = train,
                Valid = valid,
                Test = test,
                CacheDir = cacheDir,
                Reused = reused,
                BadLines = bad,
            };
        }
        catch
        {
            train?.Dispose();
            valid?.Dispose();
            test?.Dispose();
            throw;
        }
    }

    /// <summary>A split path of encoded data, resolved like FuxiCTR (cwd first), also accepting a missing extension.</summary>
    private static string EncodedPath(DatasetConfig config, string configured, string role)
    {
        var ext = FuxiEncodedData.Extension(config.Format);
        foreach (var candidate in config.Candidates(configured))
        {
            if (File.Exists(candidate) || Directory.Exists(candidate) || File.Exists(candidate + ext) ||
                (DatasetConfig.HasGlob(candidate) && Directory.Exists(Path.GetDirectoryName(candidate))))
            {
                return candidate;
            }
        }
        return config.ResolveExisting(configured, role + "_data");
    }

    /// <summary><c>&lt;data_root&gt;/&lt;dataset_id&gt;/feature_map.json</c> (data_root resolved like FuxiCTR), else beside the train file.</summary>
    private static string FindFuxiFeatureMap(DatasetConfig config)
    {
        var tried = new List<string>();
        if (config.DataRoot is not null)
        {
            foreach (var root in config.Candidates(config.DataRoot))
            {
                tried.Add(Path.Combine(root, config.DatasetId, "feature_map.json"));
            }
        }
        if (config.TrainData is not null)
        {
            foreach (var t in config.Candidates(config.TrainData))
            {
                var dir = Directory.Exists(t) ? Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(t)) : Path.GetDirectoryName(t);
                if (dir is not null)
                {
                    tried.Add(Path.Combine(dir, "feature_map.json"));
                }
            }
        }
        tried = [.. tried.Distinct()];
        return tried.FirstOrDefault(File.Exists) ?? throw new DataConfigException(
            $"dataset '{config.DatasetId}' (data_format {config.Format.ToString().ToLowerInvariant()}) is FuxiCTR-encoded data and needs FuxiCTR's " +
            $"feature_map.json, as FuxiCTR reads it from <data_root>/<dataset_id>/; not found (tried {string.Join(", ", tried)})");
    }

    private static byte[] FilesFingerprint(IReadOnlyList<string> files, string salt)
    {
        var sb = new StringBuilder(salt);
        foreach (var f in files)
        {
            sb.Append('|').Append(Convert.ToHexString(SourceFingerprint(f, "")));
        }
        return SHA256.HashData(Encoding.UTF8.GetBytes(sb.ToString()));
    }

    /// <summary>Fits a feature map on <paramref name="trainPath"/> and writes its encoded cache to <paramref name="cacheFile"/>.</summary>
    public static (FeatureMap Map, EncodedDataset Train, BadLineReport BadLines) FitAndEncode(DatasetConfig config, string trainPath, string cacheFile, DataOptions? options = null) =>
        FitAndEncode(config, trainPath, cacheFile, SourceFingerprint(trainPath, config.Fingerprint()), options ?? new DataOptions());

    private static (FeatureMap, EncodedDataset, BadLineReport) FitAndEncode(DatasetConfig config, string trainPath, string cacheFile, byte[] fp, DataOptions options)
    {
        var map = FeatureMap.FromConfig(config);
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var segs = FormatReaders.ReadRows(map, trainPath, new RowReadOptions { OnBadLine = options.OnBadLine, TempDir = TempDir(cacheFile), Threads = options.Threads });
        try
        {
            var parsed = sw.Elapsed.TotalSeconds;
            VocabularyFit.Fit(map, segs);
            var fitted = sw.Elapsed.TotalSeconds;
            CacheWriter.WriteCache(map, segs, cacheFile, fp, options.Threads);
            options.Log?.Invoke(string.Create(CultureInfo.InvariantCulture,
                $"{Path.GetFileName(trainPath)}: {segs.Sum(s => s.Rows)} rows in {segs.Count} segment(s): parse {parsed:F2} s, fit {fitted - parsed:F2} s, write cache {sw.Elapsed.TotalSeconds - fitted:F2} s"));
            var report = Report(segs, trainPath, options);
            return (map, EncodedDataset.Open(cacheFile, map, verifyChecksum: false), report);
        }
        finally
        {
            foreach (var s in segs)
            {
                s.Dispose();
            }
        }
    }

    /// <summary>
    /// Encodes a raw file with a fitted map (evaluate/predict): unseen tokens go to OOV. Writes the cache to
    /// <paramref name="cacheFile"/> and opens it.
    /// </summary>
    public static (EncodedDataset Data, BadLineReport BadLines) Encode(FeatureMap map, string rawPath, string cacheFile, DataOptions? options = null) =>
        EncodeCore(map, rawPath, cacheFile, SourceFingerprint(rawPath, map.SchemaHash), options ?? new DataOptions());

    private static (EncodedDataset, BadLineReport) EncodeCore(FeatureMap map, string rawPath, string cacheFile, byte[] fp, DataOptions options)
    {
        if (map.FuxiEncoded)
        {
            // Only the encoded format the model was trained on can be read: FuxiCTR kept no raw vocabulary.
            var ext = FuxiEncodedData.Extension(map.Format);
            if (!Directory.Exists(rawPath) && !rawPath.EndsWith(ext, StringComparison.OrdinalIgnoreCase) && !File.Exists(rawPath + ext))
            {
                throw map.RawInputError(rawPath);
            }
            var files = FuxiEncodedData.SplitFiles(rawPath, map.Format);
            FuxiEncodedData.WriteCache(map, files, cacheFile, FilesFingerprint(files, map.SchemaHash));
            return (EncodedDataset.Open(cacheFile, map, verifyChecksum: false), new BadLineReport());
        }
        var segs = FormatReaders.ReadRows(map, rawPath, new RowReadOptions
        {
            OnBadLine = options.OnBadLine, TempDir = TempDir(cacheFile), Threads = options.Threads, LabelOptional = options.LabelOptional,
        });
        try
        {
            CacheWriter.WriteCache(map, segs, cacheFile, fp, options.Threads);
            return (EncodedDataset.Open(cacheFile, map, verifyChecksum: false), Report(segs, rawPath, options));
        }
        finally
        {
            foreach (var s in segs)
            {
                s.Dispose();
            }
        }
    }

    private static BadLineReport Report(IEnumerable<Segment> segs, string path, DataOptions options)
    {
        var report = new BadLineReport();
        foreach (var s in segs)
        {
            report.Merge(s.BadLines);
            report.BlankLines += s.BlankLines;
        }
        if (report.BlankLines > 0)
        {
            options.Log?.Invoke(string.Create(CultureInfo.InvariantCulture, $"{path}: skipped {report.BlankLines} blank line(s)"));
        }
        if (report.Dropped > 0)
        {
            options.Log?.Invoke($"{path}: {report}");
        }
        return report;
    }

    private static string TempDir(string cacheFile) => Path.GetDirectoryName(Path.GetFullPath(cacheFile)) ?? Path.GetTempPath();

    /// <summary>Fingerprint of a raw file (full path, size, mtime) plus whatever else the cache depends on.</summary>
    public static byte[] SourceFingerprint(string path, string salt)
    {
        var fi = new FileInfo(path);
        if (fi.Exists && fi.LinkTarget is not null && fi.ResolveLinkTarget(returnFinalTarget: true) is FileInfo target)
        {
            fi = target; // a symlinked source changes when its target does
        }
        var text = string.Create(CultureInfo.InvariantCulture, $"{fi.FullName}|{(fi.Exists ? fi.Length : -1)}|{(fi.Exists ? fi.LastWriteTimeUtc.Ticks : 0)}|{salt}");
        return SHA256.HashData(Encoding.UTF8.GetBytes(text));
    }

    /// <summary>
    /// The data root when none is given: $FSDNET_DATA, else the first <c>shared/data</c> found beside the current
    /// folder or one of its parents (the repository layout <c>../shared/data</c>), else <c>./data</c>.
    /// </summary>
    public static string DefaultDataRoot()
    {
        if (Environment.GetEnvironmentVariable("FSDNET_DATA") is { Length: > 0 } env)
        {
            return env;
        }
        for (var d = new DirectoryInfo(Directory.GetCurrentDirectory()); d is not null; d = d.Parent)
        {
            var p = Path.Combine(d.FullName, "shared", "data");
            if (Directory.Exists(p))
            {
                return p;
            }
        }
        return Path.GetFullPath("data");
    }

    /// <summary>
    /// The cache root: <paramref name="requested"/> if given; else <c>$XDG_CACHE_HOME/fsdnet</c> (or
    /// <c>~/.cache/fsdnet</c>); else <c>./cache</c>. The data root is never written by default: data folders are
    /// inputs (often shared between people or machines), and a cache inside one would change them.
    /// </summary>
    public static string ResolveCacheRoot(string? requested)
    {
        if (!string.IsNullOrEmpty(requested))
        {
            if (!IsWritable(requested))
            {
                throw new DataConfigException($"cache folder {requested} is not writable");
            }
            return Path.GetFullPath(requested);
        }
        var candidates = new List<string>();
        var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        if (!string.IsNullOrEmpty(xdg))
        {
            candidates.Add(Path.Combine(xdg, "fsdnet"));
        }
        else if (!string.IsNullOrEmpty(home))
        {
            candidates.Add(Path.Combine(home, ".cache", "fsdnet"));
        }
        candidates.Add(Path.Combine(Directory.GetCurrentDirectory(), "cache"));
        foreach (var c in candidates)
        {
            if (IsWritable(c))
            {
                return Path.GetFullPath(c);
            }
        }
        throw new DataConfigException($"no writable cache folder (tried {string.Join(", ", candidates)}); pass --cache-dir");
    }

    internal static bool IsWritable(string dir)
    {
        // Root ignores permission bits, so a probe write alone would succeed in a folder meant to be read-only
        // (e.g. ../shared/data): also require a write bit on the nearest existing folder.
        if (!OperatingSystem.IsWindows())
        {
            var existing = Path.GetFullPath(dir);
            while (!Directory.Exists(existing) && Path.GetDirectoryName(existing) is { } parent)
            {
                existing = parent;
            }
            const UnixFileMode anyWrite = UnixFileMode.UserWrite | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite;
            if (Directory.Exists(existing) && (File.GetUnixFileMode(existing) & anyWrite) == 0)
            {
                return false;
            }
        }
        try
        {
            Directory.CreateDirectory(dir);
            var probe = Path.Combine(dir, $".probe-{Environment.ProcessId}-{Guid.NewGuid():N}");
            File.WriteAllBytes(probe, []);
            File.Delete(probe);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
