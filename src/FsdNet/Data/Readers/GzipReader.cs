using System.Buffers.Binary;
using System.IO.Compression;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace FsdNet.Data;

/// <summary>CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320, as gzip and zlib), slicing-by-8 tables.</summary>
internal static class Crc32
{
    private static readonly uint[] Table = Build();

    private static uint[] Build()
    {
        var t = new uint[8 * 256];
        for (uint i = 0; i < 256; i++)
        {
            var c = i;
            for (var k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            }
            t[i] = c;
        }
        for (var i = 0; i < 256; i++)
        {
            for (var s = 1; s < 8; s++)
            {
                var prev = t[((s - 1) * 256) + i];
                t[(s * 256) + i] = (prev >> 8) ^ t[prev & 0xff];
            }
        }
        return t;
    }

    /// <summary>Continues a CRC over <paramref name="data"/>; start with 0 (pre- and post-conditioning are inside).</summary>
    public static uint Append(uint crc, ReadOnlySpan<byte> data)
    {
        // Table lookups without bounds checks: every index is a byte plus a multiple of 256 below 8 * 256.
        ref var t = ref MemoryMarshal.GetArrayDataReference(Table);
        var c = ~crc;
        while (data.Length >= 8)
        {
            var lo = BinaryPrimitives.ReadUInt32LittleEndian(data) ^ c;
            var hi = BinaryPrimitives.ReadUInt32LittleEndian(data[4..]);
            c = Unsafe.Add(ref t, (7 * 256) + (int)(lo & 0xff)) ^ Unsafe.Add(ref t, (6 * 256) + (int)((lo >> 8) & 0xff)) ^
                Unsafe.Add(ref t, (5 * 256) + (int)((lo >> 16) & 0xff)) ^ Unsafe.Add(ref t, (4 * 256) + (int)(lo >> 24)) ^
                Unsafe.Add(ref t, (3 * 256) + (int)(hi & 0xff)) ^ Unsafe.Add(ref t, (2 * 256) + (int)((hi >> 8) & 0xff)) ^
                Unsafe.Add(ref t, 256 + (int)((hi >> 16) & 0xff)) ^ Unsafe.Add(ref t, (int)(hi >> 24));
            data = data[8..];
        }
        foreach (var b in data)
        {
            c = Unsafe.Add(ref t, (int)((c ^ b) & 0xff)) ^ (c >> 8);
        }
        return ~c;
    }
}

/// <summary>
/// A gzip file decompressed and checked to the end: every member's header is parsed (reserved flags, header CRC),
/// its deflate data is inflated, and its trailer is verified — CRC-32 and ISIZE of the decompressed bytes. .NET's
/// GZipStream stops silently on a truncated archive (a partial file reads as a shorter one); this reader reports it.
/// Multi-member archives (concatenated gzip files) are read member after member; zero padding after the last
/// member is allowed (as gzip(1) does), other trailing bytes are an error. Every failure is a
/// <see cref="DataFormatException"/> naming the archive.
/// </summary>
internal sealed class GzipReader : Stream
{
    private const int ChunkSize = 1 << 16;

    private readonly string path;
    private readonly SafeFileHandle handle;
    private readonly long fileLength;
    private readonly Feed feed;
    private DeflateStream? inflater;
    private int member;
    private uint crc;
    private long size;
    private bool done;

    public GzipReader(string path)
    {
        this.path = path;
        handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.SequentialScan);
        fileLength = RandomAccess.GetLength(handle);
        feed = new Feed(handle, fileLength);
        StartMember(0);
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
        while (!done && !buffer.IsEmpty)
        {
            int n;
            try
            {
                n = inflater!.Read(buffer);
            }
            catch (InvalidDataException e)
            {
                throw Fail($"gzip member {member + 1} is corrupt near compressed byte {feed.Offset:N0}: {e.Message}");
            }
            if (n > 0)
            {
                crc = Crc32.Append(crc, buffer[..n]);
                size += n;
                return n;
            }
            EndMember();
        }
        return 0;
    }

    private DataFormatException Fail(string problem) => new(path, 0, null, problem);

    private byte[] ReadAt(long offset, int count)
    {
        var buf = new byte[(int)Math.Max(0, Math.Min(count, fileLength - offset))];
        var got = 0;
        while (got < buf.Length)
        {
            var n = RandomAccess.Read(handle, buf.AsSpan(got), offset + got);
            if (n <= 0)
            {
                break;
            }
            got += n;
        }
        return got == buf.Length ? buf : buf[..got];
    }

    /// <summary>Parses the member header at <paramref name="offset"/> and starts inflating its data.</summary>
    private void StartMember(long offset)
    {
        var what = $"gzip member {member + 1} at byte {offset:N0}";
        var h = ReadAt(offset, 10);
        if (h.Length < 10)
        {
            throw Fail($"truncated gzip archive: {what} has an incomplete header ({h.Length} of 10 bytes)");
        }
        if (h[0] != 0x1f || h[1] != 0x8b)
        {
            throw Fail($"not a gzip archive: {what} does not start with the gzip magic bytes 1f 8b");
        }
        if (h[2] != 8)
        {
            throw Fail($"{what} uses compression method {h[2]}; only deflate (8) exists");
        }
        var flags = h[3];
        if ((flags & 0xe0) != 0)
        {
            throw Fail($"{what} has reserved header flag bits set (0x{flags:x2}): the archive is damaged");
        }
        var pos = offset + 10;
        if ((flags & 0x04) != 0) // FEXTRA
        {
            var x = ReadAt(pos, 2);
            if (x.Length < 2)
            {
                throw Fail($"truncated gzip archive: {what} ends inside its header");
            }
            pos += 2 + BinaryPrimitives.ReadUInt16LittleEndian(x);
        }
        for (var bit = 0x08; bit <= 0x10; bit <<= 1) // FNAME, FCOMMENT: zero-terminated
        {
            if ((flags & bit) == 0)
            {
                continue;
            }
            while (true)
            {
                var s = ReadAt(pos, 4096);
                if (s.Length == 0)
                {
                    throw Fail($"truncated gzip archive: {what} ends inside its header");
                }
                var z = Array.IndexOf(s, (byte)0);
                if (z >= 0)
                {
                    pos += z + 1;
                    break;
                }
                pos += s.Length;
            }
        }
        if ((flags & 0x02) != 0) // FHCRC: low 16 bits of the CRC-32 of the header bytes before it
        {
            var header = ReadAt(offset, (int)Math.Min(int.MaxValue, pos - offset + 2));
            if (header.Length < pos - offset + 2)
            {
                throw Fail($"truncated gzip archive: {what} ends inside its header");
            }
            var want = BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(header.Length - 2));
            if ((Crc32.Append(0, header.AsSpan(0, header.Length - 2)) & 0xffff) != want)
            {
                throw Fail($"{what}: header CRC mismatch: the archive is damaged");
            }
            pos += 2;
        }
        if (pos > fileLength)
        {
            throw Fail($"truncated gzip archive: {what} ends inside its header");
        }
        inflater?.Dispose();
        feed.Restart(pos);
        inflater = new DeflateStream(feed, CompressionMode.Decompress, leaveOpen: true);
        crc = 0;
        size = 0;
    }

    /// <summary>
    /// The inflater returned 0: its deflate stream ended, or the input ran out. The trailer (CRC-32, ISIZE) starts at
    /// the byte after the deflate end, which lies in the last chunks handed to the inflater: it is located by its
    /// content (a chance match has probability about 2^-64 per position).
    /// </summary>
    private void EndMember()
    {
        Span<byte> want = stackalloc byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(want, crc);
        BinaryPrimitives.WriteUInt32LittleEndian(want[4..], (uint)size);
        var from = feed.SearchFrom;
        var window = ReadAt(from, (int)Math.Min(int.MaxValue, feed.Offset + 8 - from));
        var at = window.AsSpan().IndexOf(want);
        if (at < 0)
        {
            var what = $"gzip member {member + 1}";
            if (feed.Offset >= fileLength)
            {
                var tail = ReadAt(fileLength - 8, 8);
                if (tail.Length == 8 && BinaryPrimitives.ReadUInt32LittleEndian(tail.AsSpan(4)) == (uint)size)
                {
                    throw Fail($"{what}: CRC-32 mismatch: the trailer says 0x{BinaryPrimitives.ReadUInt32LittleEndian(tail):x8}, " +
                               $"the {size:N0} decompressed bytes give 0x{crc:x8}: the archive is damaged");
                }
                if (tail.Length == 8 && BinaryPrimitives.ReadUInt32LittleEndian(tail) == crc)
                {
                    throw Fail($"{what}: ISIZE mismatch: the trailer says {BinaryPrimitives.ReadUInt32LittleEndian(tail.AsSpan(4)):N0} bytes, " +
                               $"the data decompresses to {size:N0} (mod 2^32): the archive is damaged");
                }
                throw Fail($"truncated gzip archive: {what} ends at byte {fileLength:N0} without its CRC-32/ISIZE trailer " +
                           $"({size:N0} bytes decompressed so far): the file is incomplete or damaged");
            }
            throw Fail($"{what}: its CRC-32/ISIZE trailer does not match the data (CRC-32 0x{crc:x8} over {size:N0} decompressed bytes): " +
                       "the archive is damaged");
        }
        var next = from + at + 8;
        member++;
        if (next >= fileLength)
        {
            done = true;
            return;
        }
        var rest = ReadAt(next, 2);
        if (rest[0] == 0x1f && (rest.Length < 2 || rest[1] == 0x8b))
        {
            StartMember(next);
            return;
        }
        for (var p = next; p < fileLength; p += ChunkSize)
        {
            if (ReadAt(p, ChunkSize).AsSpan().ContainsAnyExcept((byte)0))
            {
                throw Fail($"unexpected bytes after gzip member {member} (at byte {next:N0} of {fileLength:N0}): not a gzip member, the archive is damaged");
            }
        }
        done = true;
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inflater?.Dispose();
            handle.Dispose();
        }
        base.Dispose(disposing);
    }

    /// <summary>The compressed bytes handed to the inflater, read at exact file offsets.</summary>
    private sealed class Feed(SafeFileHandle handle, long length) : Stream
    {
        private readonly byte[] buf = new byte[ChunkSize];
        private long bufStart;
        private int bufLen;
        private long start;
        private long prevChunk;
        private long lastChunk;

        /// <summary>Next file offset to hand out.</summary>
        public long Offset { get; private set; }

        /// <summary>Where the member's trailer may start at the earliest: the start of the chunk before the last one.</summary>
        public long SearchFrom => Math.Max(start, prevChunk);

        public void Restart(long offset)
        {
            start = prevChunk = lastChunk = Offset = offset;
            bufLen = 0;
        }

        public override int Read(Span<byte> buffer)
        {
            if (Offset >= length || buffer.IsEmpty)
            {
                return 0;
            }
            if (Offset < bufStart || Offset >= bufStart + bufLen)
            {
                bufStart = Offset;
                bufLen = RandomAccess.Read(handle, buf, Offset);
                if (bufLen <= 0)
                {
                    bufLen = 0;
                    return 0;
                }
            }
            var off = (int)(Offset - bufStart);
            var n = Math.Min(buffer.Length, bufLen - off);
            buf.AsSpan(off, n).CopyTo(buffer);
            prevChunk = lastChunk;
            lastChunk = Offset;
            Offset += n;
            return n;
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
