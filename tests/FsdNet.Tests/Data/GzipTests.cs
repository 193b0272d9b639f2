using System.Buffers.Binary;
using System.Globalization;
using System.IO.Compression;
using System.Text;
using FsdNet.Data;
using Xunit;

namespace FsdNet.Tests.Data;

/// <summary>gzip input is checked to its trailer: truncated or damaged archives fail in error and skip mode alike.</summary>
public sealed class GzipTests
{
    private const string Yaml = """
        g:
          data_format: libfm
          train_data: train.libfm.gz
          feature_cols: [{name: [a, b], type: categorical}]
          label_col: {name: label}
        """;

    private static readonly string Lines = string.Concat(Enumerable.Range(0, 20_000)
        .Select(i => string.Create(CultureInfo.InvariantCulture, $"{i % 2} {i % 97}:1 {i % 13}:1\n")));

    private static byte[] Gzip(string text)
    {
        using var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Optimal))
        {
            gz.Write(Encoding.UTF8.GetBytes(text));
        }
        return ms.ToArray();
    }

    /// <summary>Prepares the archive in skip and error mode: both must give the same outcome.</summary>
    private static void BothModes(byte[] archive, Action<PreparedData?, DataFormatException?, string> check)
    {
        foreach (var mode in new[] { OnBadLine.Error, OnBadLine.Skip })
        {
            using var tmp = new TempDir();
            var path = tmp.Sub("train.libfm.gz");
            File.WriteAllBytes(path, archive);
            try
            {
                using var d = Helpers.PrepareYaml(tmp, Yaml, new DataOptions { OnBadLine = mode });
                check(d, null, path);
            }
            catch (DataFormatException e)
            {
                check(null, e, path);
            }
        }
    }

    private static void Rejected(byte[] archive, string expected) => BothModes(archive, (d, e, path) =>
    {
        Assert.True(d is null, $"a damaged archive was accepted with {d?.Train.RowCount} rows");
        Assert.Equal(path, e!.FilePath);
        Assert.True(e.Message.StartsWith(path + ": ", StringComparison.Ordinal) && e.Message.Contains(expected, StringComparison.Ordinal), e.Message);
    });

    private static void Accepted(byte[] archive) => BothModes(archive, (d, e, _) =>
    {
        Assert.True(e is null, e?.Message);
        Assert.Equal(20_000, d!.Train.RowCount);
    });

    [Fact]
    public void Crc32_matches_the_standard_check_value()
    {
        Assert.Equal(0xCBF43926u, Crc32.Append(0, "123456789"u8));
        // in pieces (any split, including the 8-byte stride) gives the same value
        var data = Encoding.ASCII.GetBytes(Lines[..1000]);
        var whole = Crc32.Append(0, data);
        for (var cut = 0; cut < 20; cut++)
        {
            Assert.Equal(whole, Crc32.Append(Crc32.Append(0, data.AsSpan(0, cut)), data.AsSpan(cut)));
        }
        // and the trailer GZipStream writes
        var gz = Gzip(Lines);
        Assert.Equal(BinaryPrimitives.ReadUInt32LittleEndian(gz.AsSpan(gz.Length - 8)), Crc32.Append(0, Encoding.UTF8.GetBytes(Lines)));
    }

    [Fact]
    public void Intact_single_and_multi_member_archives_and_zero_padding_are_read_whole()
    {
        var half = Lines.Length / 2;
        half = Lines.IndexOf('\n', half) + 1;
        Accepted(Gzip(Lines));
        Accepted([.. Gzip(Lines[..half]), .. Gzip(Lines[half..])]);
        Accepted([.. Gzip(Lines[..100]), .. Gzip(""), .. Gzip(Lines[100..])]);    // an empty member in between
        Accepted([.. Gzip(Lines), .. new byte[100]]);                               // gzip(1) ignores zero padding
    }

    [Fact]
    public void Truncated_archives_are_rejected_in_both_modes()
    {
        var gz = Gzip(Lines);
        Rejected(gz[..(gz.Length / 2)], "truncated gzip archive: gzip member 1 ends at byte");
        Rejected(gz[..^8], "without its CRC-32/ISIZE trailer");      // deflate data complete, trailer missing
        Rejected(gz[..^3], "without its CRC-32/ISIZE trailer");      // half a trailer
        Rejected(gz[..5], "gzip member 1 at byte 0 has an incomplete header (5 of 10 bytes)");
        var half = Lines.IndexOf('\n', Lines.Length / 2) + 1;
        byte[] multi = [.. Gzip(Lines[..half]), .. Gzip(Lines[half..])];
        Rejected(multi[..^20], "truncated gzip archive: gzip member 2 ends at byte");
    }

    [Fact]
    public void Damaged_trailers_and_data_are_rejected_in_both_modes()
    {
        var gz = Gzip(Lines);
        var crc = (byte[])gz.Clone();
        crc[^8] ^= 0xff;
        Rejected(crc, "gzip member 1: CRC-32 mismatch: the trailer says 0x");
        var size = (byte[])gz.Clone();
        size[^2] ^= 0xff;
        Rejected(size, "gzip member 1: ISIZE mismatch: the trailer says");
        Rejected([.. gz, .. "xyz"u8], "unexpected bytes after gzip member 1");
        var flags = (byte[])gz.Clone();
        flags[3] = 0x80;
        Rejected(flags, "reserved header flag bits set (0x80)");
        // Flip every 97th bit of the deflate data in turn: zlib misses some of these (a flipped literal), the CRC does not.
        for (var pos = 10; pos < gz.Length - 8; pos += Math.Max(1, (gz.Length - 18) / 40))
        {
            var bad = (byte[])gz.Clone();
            bad[pos] ^= (byte)(1 << (pos % 8));
            // Error mode may stop earlier at a line the damage garbled; skip mode reads on and must hit the gzip check.
            BothModes(bad, (d, e, path) =>
            {
                Assert.True(d is null, $"a damaged archive (bit flipped at byte {pos}) was accepted with {d?.Train.RowCount} rows");
                Assert.StartsWith(path, e!.Message, StringComparison.Ordinal);
            });
            using var tmp = new TempDir();
            File.WriteAllBytes(tmp.Sub("train.libfm.gz"), bad);
            var skip = Assert.Throws<DataFormatException>(() => Helpers.PrepareYaml(tmp, Yaml, new DataOptions { OnBadLine = OnBadLine.Skip }).Dispose());
            Assert.Contains("gzip member 1", skip.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Optional_header_fields_are_parsed_and_the_header_crc_checked()
    {
        var data = Encoding.UTF8.GetBytes(Lines);
        byte[] deflate;
        using (var ms = new MemoryStream())
        {
            using (var d = new DeflateStream(ms, CompressionLevel.Fastest))
            {
                d.Write(data);
            }
            deflate = ms.ToArray();
        }
        var header = new List<byte> { 0x1f, 0x8b, 8, 0x04 | 0x08 | 0x10 | 0x02, 0, 0, 0, 0, 0, 3 };
        header.AddRange([3, 0, (byte)'a', (byte)'b', (byte)'c']);      // FEXTRA: 3 bytes
        header.AddRange([.. "train.libfm"u8, 0]);                        // FNAME
        header.AddRange([.. "a comment"u8, 0]);                          // FCOMMENT
        var hcrc = (ushort)(Crc32.Append(0, header.ToArray()) & 0xffff);
        var trailer = new byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(trailer, Crc32.Append(0, data));
        BinaryPrimitives.WriteUInt32LittleEndian(trailer.AsSpan(4), (uint)data.Length);
        byte[] Build(ushort h) => [.. header, (byte)h, (byte)(h >> 8), .. deflate, .. trailer];
        Accepted(Build(hcrc));
        Rejected(Build((ushort)(hcrc ^ 1)), "gzip member 1 at byte 0: header CRC mismatch");
    }
}
