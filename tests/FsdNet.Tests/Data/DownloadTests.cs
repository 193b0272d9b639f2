using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using FsdNet.Data;
using FsdNet.Tests.Support;
using Xunit;

namespace FsdNet.Tests.Data;

public sealed class DownloadTests
{
#pragma warning disable CA5351 // md5 only to compare with published sums
    private static string Md5(byte[] b) => Convert.ToHexStringLower(MD5.HashData(b));
#pragma warning restore CA5351

    [Fact]
    public void Verify_and_unpack_zip_with_member_md5_then_the_preset_finds_it()
    {
        using var tmp = new TempDir();
        var train = "label,user,item,daytime,weekday,isweekend,homework,cost,weather,country,city\n1,1,2,3,4,5,6,7,8,9,10\n0,1,3,3,4,5,6,7,8,9,10\n"u8.ToArray();
        var zip = tmp.Sub("Frappe_x1.zip");
        using (var z = ZipFile.Open(zip, ZipArchiveMode.Create))
        {
            using var s = z.CreateEntry("Frappe_x1/train.csv").Open();
            s.Write(train);
        }
        var root = tmp.Sub("root");
        Directory.CreateDirectory(root);
        var spec = DataDownloader.Find("frappe_x1") with { MemberMd5 = new Dictionary<string, string> { ["train.csv"] = Md5(train) } };
        var target = DataDownloader.VerifyAndUnpack(zip, spec, root);
        Assert.Equal(Path.Combine(root, "frappe_x1"), target);
        Assert.Equal(train, File.ReadAllBytes(Path.Combine(target, "train.csv")));
        Assert.Single(Directory.GetDirectories(root)); // staging folder removed
        var cfg = DatasetConfigLoader.Preset("frappe_x1", root);
        cfg.MinCategrCount = 1;
        using var data = DataPipeline.Prepare(cfg, new DataOptions { CacheDir = tmp.Sub("cache") });
        Assert.Equal(2, data.Train.RowCount);
        Assert.Equal(4, data.FeatureMap["item"].VocabSize);

        // a wrong member md5 is refused and nothing lands in the target
        var bad = spec with { TargetDir = "other", MemberMd5 = new Dictionary<string, string> { ["train.csv"] = new string('0', 32) } };
        var e = Assert.Throws<DataFormatException>(() => DataDownloader.VerifyAndUnpack(zip, bad, root));
        Assert.Contains("member checksum mismatch", e.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(root, "other")));
    }

    [Fact]
    public void Verify_and_unpack_tar_gz_with_archive_sha256_rename_and_tamper_detection()
    {
        using var tmp = new TempDir();
        var src = tmp.Sub("src");
        Directory.CreateDirectory(src);
        File.WriteAllText(Path.Combine(src, "dac_sample.txt"), "1\t\t2\n");
        var archive = tmp.Sub("dac_sample.tar.gz");
        using (var fs = File.Create(archive))
        using (var gz = new GZipStream(fs, CompressionLevel.Fastest))
        {
            TarFile.CreateFromDirectory(src, gz, includeBaseDirectory: false);
        }
        var sha = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(archive)));
        var root = tmp.Sub("root");
        var spec = DataDownloader.Find("criteo_sample");
        // no pinned checksum: refused, with the computed sha256 in the message
        var e = Assert.Throws<DataFormatException>(() => DataDownloader.VerifyAndUnpack(archive, spec, root));
        Assert.Contains(sha, e.Message, StringComparison.Ordinal);
        var target = DataDownloader.VerifyAndUnpack(archive, spec, root, sha);
        Assert.True(File.Exists(Path.Combine(target, "train.txt")));
        // tampered archive
        var bytes = File.ReadAllBytes(archive);
        bytes[^3] ^= 1;
        File.WriteAllBytes(archive, bytes);
        e = Assert.Throws<DataFormatException>(() => DataDownloader.VerifyAndUnpack(archive, spec, root, sha));
        Assert.Contains("checksum mismatch", e.Message, StringComparison.Ordinal);
        Assert.Contains(archive, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Known_sets_have_pinned_checksums_and_unknown_names_are_refused()
    {
        Assert.Equal("md5:c4d9eecfca2ab87c1945afe126590906", DataDownloader.Find("movielens1m").ArchiveChecksum);
        Assert.Equal(3, DataDownloader.Find("frappe").MemberMd5.Count);
        Assert.Throws<DataConfigException>(() => DataDownloader.Find("imagenet"));
    }

    [DataFact("frappe")]
    public void Refuses_to_unpack_into_the_read_only_shared_data()
    {
        using var tmp = new TempDir();
        var zip = tmp.Sub("x.zip");
        using (var z = ZipFile.Open(zip, ZipArchiveMode.Create))
        {
            z.CreateEntry("a.txt");
        }
        var spec = DataDownloader.Find("movielens1m") with { ArchiveChecksum = null, MemberMd5 = new Dictionary<string, string> { ["a.txt"] = "d41d8cd98f00b204e9800998ecf8427e" } };
        var e = Assert.Throws<DataConfigException>(() => DataDownloader.VerifyAndUnpack(zip, spec, FsdNet.Tests.Support.SharedData.Root));
        Assert.Contains("read-only", e.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(FsdNet.Tests.Support.SharedData.Root, "movielens1m")));
    }
}
