using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;

namespace FsdNet.Data;

/// <summary>A public data set that <c>fsdnet data download</c> knows how to fetch, verify and unpack.</summary>
internal sealed record DownloadSpec
{
    public required string Name { get; init; }
    public required string Url { get; init; }

    /// <summary>File name of the downloaded archive.</summary>
    public required string ArchiveName { get; init; }

    /// <summary>Pinned checksum of the archive ("sha256:..." or "md5:..."), or null when only members are pinned.</summary>
    public string? ArchiveChecksum { get; init; }

    /// <summary>Folder under the data root where the files land (where the presets look).</summary>
    public required string TargetDir { get; init; }

    /// <summary>Pinned md5 of extracted members (path inside the archive -> md5 hex).</summary>
    public IReadOnlyDictionary<string, string> MemberMd5 { get; init; } = new Dictionary<string, string>();

    /// <summary>Members moved to another name inside TargetDir after extraction (path in archive -> new relative path).</summary>
    public IReadOnlyDictionary<string, string> Renames { get; init; } = new Dictionary<string, string>();

    public string? Notes { get; init; }
}

/// <summary>Downloads public data sets with a known checksum and unpacks them where the presets look.</summary>
internal static class DataDownloader
{
    /// <summary>The data sets we know (URL + pinned checksums).</summary>
    public static IReadOnlyList<DownloadSpec> Known { get; } =
    [
        new DownloadSpec
        {
            Name = "frappe_x1",
            Url = "https://zenodo.org/record/5700987/files/Frappe_x1.zip",
            ArchiveName = "Frappe_x1.zip",
            TargetDir = "frappe_x1",
            // md5s published by BARS / reczoo Datasets for the csv members
            MemberMd5 = new Dictionary<string, string>
            {
                ["train.csv"] = "ba7306e6c4fc19dd2cd84f2f0596d158",
                ["valid.csv"] = "88d51bf2173505436d3a8f78f2a59da8",
                ["test.csv"] = "3470f6d32713dc5f7715f198ca7c612a",
            },
            Notes = "BARS Frappe_x1 (csv: label,user,item,daytime,...); use --dataset frappe_x1. Research use only.",
        },
        new DownloadSpec
        {
            Name = "movielens1m",
            Url = "https://files.grouplens.org/datasets/movielens/ml-1m.zip",
            ArchiveName = "ml-1m.zip",
            ArchiveChecksum = "md5:c4d9eecfca2ab87c1945afe126590906",
            TargetDir = "movielens1m",
            Notes = "GroupLens MovieLens-1M (ratings.dat, users.dat, movies.dat, '::'-separated). No redistribution.",
        },
        new DownloadSpec
        {
            Name = "criteo_sample",
            Url = "https://labs.criteo.com/wp-content/uploads/2015/04/dac_sample.tar.gz",
            ArchiveName = "dac_sample.tar.gz",
            TargetDir = "criteo",
            Renames = new Dictionary<string, string> { ["dac_sample.txt"] = "train.txt" },
            Notes = "Criteo display-ads sample (100k rows, raw TSV); lands as criteo/train.txt for --dataset criteo. " +
                    "No checksum is pinned for this archive: pass --sha256 <hex> after checking it.",
        },
    ];

    public static DownloadSpec Find(string name) =>
        Known.FirstOrDefault(k => string.Equals(k.Name, name, StringComparison.OrdinalIgnoreCase)) ??
        (name.Equals("frappe", StringComparison.OrdinalIgnoreCase) ? Known[0] : null) ??
        (name.Equals("criteo", StringComparison.OrdinalIgnoreCase) ? Known[2] : null) ??
        throw new DataConfigException($"unknown data set '{name}'; known: {string.Join(", ", Known.Select(k => k.Name))}");

    /// <summary>Downloads the archive into <c>&lt;dataRoot&gt;/.downloads</c>, verifies it and unpacks it.</summary>
    public static async Task<string> DownloadAsync(string name, string dataRoot, string? checksumOverride = null, HttpClient? http = null,
        Action<string>? log = null, CancellationToken cancellationToken = default)
    {
        var spec = Find(name);
        EnsureWritable(dataRoot);
        var downloads = Path.Combine(dataRoot, ".downloads");
        Directory.CreateDirectory(downloads);
        var archive = Path.Combine(downloads, spec.ArchiveName);
        if (!File.Exists(archive))
        {
            log?.Invoke($"downloading {spec.Url}");
            var own = http is null;
            http ??= new HttpClient { Timeout = TimeSpan.FromMinutes(30) };
            try
            {
                using var response = await http.GetAsync(new Uri(spec.Url), HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
                response.EnsureSuccessStatusCode();
                var part = archive + ".part";
                await using (var fs = File.Create(part))
                {
                    await response.Content.CopyToAsync(fs, cancellationToken).ConfigureAwait(false);
                }
                File.Move(part, archive, overwrite: true);
            }
            finally
            {
                if (own)
                {
                    http.Dispose();
                }
            }
        }
        return VerifyAndUnpack(archive, spec, dataRoot, checksumOverride, log);
    }

    /// <summary>
    /// Verifies <paramref name="archive"/> (pinned or given checksum, then pinned member md5s) and unpacks it into
    /// <c>&lt;dataRoot&gt;/&lt;TargetDir&gt;</c>. Nothing lands in the target unless every check passes.
    /// </summary>
    public static string VerifyAndUnpack(string archive, DownloadSpec spec, string dataRoot, string? checksumOverride = null, Action<string>? log = null)
    {
        if (!File.Exists(archive))
        {
            throw new DataFormatException(archive, 0, null, "archive not found");
        }
        var expected = checksumOverride is null ? spec.ArchiveChecksum
            : checksumOverride.Contains(':', StringComparison.Ordinal) ? checksumOverride : "sha256:" + checksumOverride;
        if (expected is null && spec.MemberMd5.Count == 0)
        {
            throw new DataFormatException(archive, 0, null,
                $"no checksum is pinned for '{spec.Name}'; verify the file and pass --sha256 (its sha256 is {Hash(archive, "sha256")})");
        }
        if (expected is not null)
        {
            var parts = expected.Split(':', 2);
            var actual = Hash(archive, parts[0]);
            if (!actual.Equals(parts[1], StringComparison.OrdinalIgnoreCase))
            {
                throw new DataFormatException(archive, 0, null, $"checksum mismatch: expected {expected}, got {parts[0]}:{actual} (corrupt or different download; delete it and retry)");
            }
            log?.Invoke($"verified {parts[0]} of {Path.GetFileName(archive)}");
        }
        EnsureWritable(dataRoot);
        var target = Path.Combine(dataRoot, spec.TargetDir);
        var staging = Path.Combine(dataRoot, $".{spec.TargetDir}.unpack-{Guid.NewGuid():N}");
        Directory.CreateDirectory(staging);
        try
        {
            try
            {
                if (spec.ArchiveName.EndsWith(".zip", StringComparison.OrdinalIgnoreCase))
                {
                    ZipFile.ExtractToDirectory(archive, staging);
                }
                else
                {
                    using var fs = File.OpenRead(archive);
                    using var gz = new GZipStream(fs, CompressionMode.Decompress);
                    TarFile.ExtractToDirectory(gz, staging, overwriteFiles: false);
                }
            }
            catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
            {
                throw new DataFormatException(archive, 0, null, $"cannot unpack: {e.Message}");
            }
            // Archives often wrap files in one folder (Frappe_x1/train.csv, ml-1m/ratings.dat): flatten it.
            var root = staging;
            var entries = Directory.GetFileSystemEntries(staging);
            if (entries.Length == 1 && Directory.Exists(entries[0]))
            {
                root = entries[0];
            }
            foreach (var (member, md5) in spec.MemberMd5)
            {
                var p = Path.Combine(root, member);
                if (!File.Exists(p))
                {
                    throw new DataFormatException(archive, 0, member, "expected member is missing from the archive");
                }
                var actual = Hash(p, "md5");
                if (!actual.Equals(md5, StringComparison.OrdinalIgnoreCase))
                {
                    throw new DataFormatException(archive, 0, member, $"member checksum mismatch: expected md5 {md5}, got {actual}");
                }
            }
            foreach (var (from, to) in spec.Renames)
            {
                var src = Path.Combine(root, from);
                if (File.Exists(src))
                {
                    File.Move(src, Path.Combine(root, to), overwrite: true);
                }
            }
            Directory.CreateDirectory(target);
            foreach (var file in Directory.GetFiles(root, "*", SearchOption.AllDirectories))
            {
                var rel = Path.GetRelativePath(root, file);
                var dst = Path.Combine(target, rel);
                Directory.CreateDirectory(Path.GetDirectoryName(dst)!);
                File.Move(file, dst, overwrite: true);
            }
            log?.Invoke($"unpacked {spec.Name} into {target}");
            return target;
        }
        finally
        {
            Directory.Delete(staging, recursive: true);
        }
    }

    private static void EnsureWritable(string dataRoot)
    {
        if (!DataPipeline.IsWritable(dataRoot))
        {
            throw new DataConfigException($"data root {dataRoot} is read-only (no write permission bits); pass --data-root <writable folder>");
        }
    }

    private static string Hash(string path, string algorithm)
    {
        using var fs = File.OpenRead(path);
        return algorithm.ToLowerInvariant() switch
        {
#pragma warning disable CA5351 // md5 is only used to compare with published md5 sums, not for security
            "md5" => Convert.ToHexStringLower(MD5.HashData(fs)),
#pragma warning restore CA5351
            "sha256" => Convert.ToHexStringLower(SHA256.HashData(fs)),
            _ => throw new DataConfigException($"unknown checksum algorithm '{algorithm}' (use sha256:<hex> or md5:<hex>)"),
        };
    }
}
