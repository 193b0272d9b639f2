using System.Runtime.CompilerServices;
using nietras.SeparatedValues;

namespace FsdNet.Data;

/// <summary>A raw row: columns as character spans.</summary>
internal interface IRawRow
{
    int ColCount { get; }

    ReadOnlySpan<char> Col(int i);
}

internal readonly ref struct SepRow(SepReader.Row row) : IRawRow
{
    private readonly SepReader.Row row = row;

    public int ColCount
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => row.ColCount;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ReadOnlySpan<char> Col(int i) => row[i].Span;
}

internal sealed class StringRow(string[] cols) : IRawRow
{
    public int ColCount => cols.Length;

    public ReadOnlySpan<char> Col(int i) => cols[i];
}

/// <summary>A read-only window [start, start+length) of a file.</summary>
internal sealed class RangeStream : Stream
{
    private readonly FileStream inner;
    private readonly long end;

    public RangeStream(string path, long start, long length)
    {
        inner = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        inner.Position = start;
        end = start + length;
    }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var left = end - inner.Position;
        if (left <= 0)
        {
            return 0;
        }
        return inner.Read(buffer[..(int)Math.Min(buffer.Length, left)]);
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }
        base.Dispose(disposing);
    }
}

/// <summary>Opening files: gzip detected by its magic bytes, byte ranges for parallel parsing.</summary>
internal static class RawFiles
{
    public static bool IsGzip(string path)
    {
        using var fs = File.OpenRead(path);
        Span<byte> magic = stackalloc byte[2];
        return fs.Read(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
    }

    public static void CheckExists(string path)
    {
        if (Directory.Exists(path))
        {
            throw new DataFormatException(path, 0, null, "is a directory, not a data file");
        }
        if (!File.Exists(path))
        {
            throw new DataFormatException(path, 0, null, "file not found");
        }
        if (new FileInfo(path).Length == 0)
        {
            throw new DataFormatException(path, 0, null, "empty file (0 bytes)");
        }
    }

    /// <summary>
    /// Opens the whole file, decompressing gzip transparently; gzip input is verified to its last trailer (CRC-32,
    /// ISIZE) as it is read, so a truncated or damaged archive fails instead of reading as a shorter file.
    /// </summary>
    public static Stream OpenText(string path)
    {
        if (IsGzip(path))
        {
            return new BufferedStream(new GzipReader(path), 1 << 16);
        }
        return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
    }

    /// <summary>
    /// Refuses binary data early: a NUL byte in the first line (within the first 64 KiB, after gzip decompression)
    /// means this is not a text data file (a model, a cache, a Parquet file given with a text format ...), whose
    /// "header" would be garbage. A NUL further on is left to the line checks (a bad value on that line).
    /// </summary>
    public static void CheckText(string path)
    {
        var buf = new byte[1 << 16];
        int n;
        using (var s = OpenText(path))
        {
            n = s.ReadAtLeast(buf, buf.Length, throwOnEndOfStream: false);
        }
        var head = buf.AsSpan(0, n);
        var eol = head.IndexOf((byte)'\n');
        var nul = (eol < 0 ? head : head[..eol]).IndexOf((byte)0);
        if (nul >= 0)
        {
            throw new DataFormatException(path, 0, null,
                $"binary data, not a text data file (a NUL byte at {(IsGzip(path) ? "decompressed " : "")}byte {nul}); check the file and data_format");
        }
    }

    /// <summary>Splits an uncompressed file into up to <paramref name="parts"/> ranges that start at line starts.</summary>
    public static List<(long Start, long Length)> Split(string path, int parts)
    {
        long len;
        using (var h = File.OpenHandle(path))
        {
            len = RandomAccess.GetLength(h); // follows symlinks, unlike FileInfo.Length
        }
        var result = new List<(long, long)>();
        if (parts <= 1 || len < (16L << 20) || IsGzip(path))
        {
            result.Add((0, len));
            return result;
        }
        using var handle = File.OpenHandle(path);
        var buf = new byte[1 << 16];
        long start = 0;
        for (var p = 1; p < parts; p++)
        {
            var pos = len * p / parts;
            if (pos <= start)
            {
                continue;
            }
            long cut = -1;
            while (pos < len)
            {
                var n = RandomAccess.Read(handle, buf, pos);
                if (n <= 0)
                {
                    break;
                }
                var i = buf.AsSpan(0, n).IndexOf((byte)'\n');
                if (i >= 0)
                {
                    cut = pos + i + 1;
                    break;
                }
                pos += n;
            }
            if (cut < 0 || cut >= len)
            {
                break;
            }
            result.Add((start, cut - start));
            start = cut;
        }
        result.Add((start, len - start));
        return result;
    }

    /// <summary>Whether an uncompressed file contains the byte anywhere (vectorised scan).</summary>
    public static bool Contains(string path, byte value)
    {
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.SequentialScan);
        var buf = new byte[1 << 20];
        for (long pos = 0; ; )
        {
            var n = RandomAccess.Read(handle, buf, pos);
            if (n <= 0)
            {
                return false;
            }
            if (buf.AsSpan(0, n).Contains(value))
            {
                return true;
            }
            pos += n;
        }
    }

    /// <summary>Number of '\n' in [0, end) of an uncompressed file (line offset of a range).</summary>
    public static long CountLines(string path, long end)
    {
        using var handle = File.OpenHandle(path);
        var buf = new byte[1 << 20];
        long count = 0;
        for (long pos = 0; pos < end;)
        {
            var n = RandomAccess.Read(handle, buf.AsSpan(0, (int)Math.Min(buf.Length, end - pos)), pos);
            if (n <= 0)
            {
                break;
            }
            count += buf.AsSpan(0, n).Count((byte)'\n');
            pos += n;
        }
        return count;
    }
}
