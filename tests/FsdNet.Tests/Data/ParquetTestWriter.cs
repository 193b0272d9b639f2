using System.Buffers.Binary;
using System.IO.Compression;

namespace FsdNet.Tests.Data;

/// <summary>
/// Writes small Parquet files byte by byte from the format's documented structures (parquet-format's parquet.thrift,
/// Thrift compact protocol, RLE/bit-packed hybrid levels), so tests can make data page v2 list columns, dictionary
/// pages and codecs that Parquet.Net's writer does not produce. Two columns: <c>id</c> (required INT64) and
/// <c>vec</c> (optional LIST of optional DOUBLE, or FLOAT with <see cref="FloatItems"/>).
/// </summary>
internal sealed class ParquetTestWriter
{
    public const int Uncompressed = 0, Snappy = 1, Gzip = 2, Lzo = 3, Brotli = 4, Zstd = 6;
    public const int Plain = 0, Rle = 3, DeltaBinaryPacked = 5, RleDictionary = 8;

    public int Codec { get; init; }

    /// <summary>Data page v2 (true) or v1.</summary>
    public bool V2 { get; init; } = true;

    /// <summary>Values through a dictionary page and RLE_DICTIONARY indices.</summary>
    public bool Dictionary { get; init; }

    /// <summary>Levels as bit-packed runs (true) or RLE runs.</summary>
    public bool BitPacked { get; init; }

    public bool FloatItems { get; init; }

    /// <summary>Rows per data page (pages of one column chunk).</summary>
    public int RowsPerPage { get; init; } = int.MaxValue;

    /// <summary>The encoding written in the list column's data page headers (to test unsupported ones).</summary>
    public int? ValueEncoding { get; init; }

    /// <summary>Writes rows; a null list or a null item in a list is written with the matching definition level.</summary>
    public byte[] Write(IReadOnlyList<double?[]?> vec)
    {
        var file = new MemoryStream();
        file.Write("PAR1"u8);
        var n = vec.Count;
        var idChunk = Chunk(file, [.. Enumerable.Range(0, n).Select(i => new[] { (double?)i })], flatInt64: true);
        var vecChunk = Chunk(file, vec, flatInt64: false);
        var footer = new Thrift();
        footer.Struct(() =>
        {
            footer.I32(1, 1);
            footer.List(2, Thrift.StructT, 5, () =>
            {
                Element(footer, null, null, "schema", 2, null);
                Element(footer, 2, 0, "id", null, null);
                Element(footer, null, 1, "vec", 1, 3);
                Element(footer, null, 2, "list", 1, null);
                Element(footer, FloatItems ? 4 : 5, 1, "item", null, null);
            });
            footer.I64(3, n);
            footer.List(4, Thrift.StructT, 1, () => footer.Struct(() =>
            {
                footer.List(1, Thrift.StructT, 2, () =>
                {
                    ColumnChunk(footer, idChunk, 2, "id");
                    ColumnChunk(footer, vecChunk, FloatItems ? 4 : 5, "vec", "list", "item");
                });
                footer.I64(2, idChunk.Size + vecChunk.Size);
                footer.I64(3, n);
            }));
        });
        var f = footer.ToArray();
        file.Write(f);
        Span<byte> len = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(len, f.Length);
        file.Write(len);
        file.Write("PAR1"u8);
        return file.ToArray();
    }

    private sealed record ChunkInfo(long Start, long DataStart, long? DictStart, long Size, long Values, int[] Encodings, int Codec);

    private static void Element(Thrift t, int? type, int? repetition, string name, int? children, int? converted) => t.Struct(() =>
    {
        if (type is { } ty)
        {
            t.I32(1, ty);
        }
        if (repetition is { } r)
        {
            t.I32(3, r);
        }
        t.Binary(4, System.Text.Encoding.UTF8.GetBytes(name));
        if (children is { } c)
        {
            t.I32(5, c);
        }
        if (converted is { } cv)
        {
            t.I32(6, cv);
        }
    });

    private static void ColumnChunk(Thrift t, ChunkInfo c, int type, params string[] path) => t.Struct(() =>
    {
        t.I64(2, c.Start);
        t.StructField(3, () =>
        {
            t.I32(1, type);
            t.List(2, Thrift.I32T, c.Encodings.Length, () => { foreach (var e in c.Encodings) { t.Varint(Thrift.ZigZag(e)); } });
            t.List(3, Thrift.BinaryT, path.Length, () => { foreach (var p in path) { t.RawBinary(System.Text.Encoding.UTF8.GetBytes(p)); } });
            t.I32(4, c.Codec);
            t.I64(5, c.Values);
            t.I64(6, c.Size);
            t.I64(7, c.Size);
            t.I64(9, c.DataStart);
            if (c.DictStart is { } d)
            {
                t.I64(11, d);
            }
        });
    });

    /// <summary>One column chunk; a flat INT64 column has one single-value "list" per row and no levels.</summary>
    private ChunkInfo Chunk(MemoryStream file, IReadOnlyList<double?[]?> rows, bool flatInt64)
    {
        var start = file.Position;
        var width = flatInt64 ? 8 : FloatItems ? 4 : 8;
        var useDict = Dictionary && !flatInt64;
        var dict = new List<double>();
        long? dictStart = null;
        if (useDict)
        {
            foreach (var v in rows.Where(r => r is not null).SelectMany(r => r!).Where(v => v is not null).Distinct())
            {
                dict.Add(v!.Value);
            }
            dictStart = start;
            var plain = Values(dict, width, flatInt64);
            Page(file, 2, plain, Compress(plain), h => h.StructField(7, () =>
            {
                h.I32(1, dict.Count);
                h.I32(2, Plain);
            }));
        }
        var dataStart = file.Position;
        long values = 0;
        for (var first = 0; first < rows.Count; first += RowsPerPage)
        {
            var page = rows.Skip(first).Take(RowsPerPage).ToList();
            var rep = new List<int>();
            var def = new List<int>();
            var present = new List<double>();
            foreach (var r in page)
            {
                if (r is null)
                {
                    rep.Add(0);
                    def.Add(0);
                    continue;
                }
                if (r.Length == 0)
                {
                    rep.Add(0);
                    def.Add(1);
                    continue;
                }
                for (var k = 0; k < r.Length; k++)
                {
                    rep.Add(k == 0 ? 0 : 1);
                    def.Add(r[k] is null ? 2 : 3);
                    if (r[k] is { } v)
                    {
                        present.Add(v);
                    }
                }
            }
            var count = flatInt64 ? page.Count : rep.Count;
            values += count;
            byte[] valueBytes;
            int encoding;
            if (useDict)
            {
                var idx = present.Select(v => dict.IndexOf(v)).ToArray();
                var bw = 32 - int.LeadingZeroCount(Math.Max(1, dict.Count - 1));
                valueBytes = [(byte)bw, .. Hybrid(idx, bw, BitPacked)];
                encoding = RleDictionary;
            }
            else
            {
                valueBytes = Values(present, width, flatInt64);
                encoding = Plain;
            }
            encoding = flatInt64 ? encoding : ValueEncoding ?? encoding;
            var repBytes = flatInt64 ? [] : Hybrid([.. rep], 1, BitPacked);
            var defBytes = flatInt64 ? [] : Hybrid([.. def], 2, BitPacked);
            if (V2)
            {
                var compressed = Compress(valueBytes);
                byte[] body = [.. repBytes, .. defBytes, .. compressed];
                byte[] uncompressedBody = [.. repBytes, .. defBytes, .. valueBytes];
                var nulls = count - present.Count;
                Page(file, 3, uncompressedBody, body, h => h.StructField(8, () =>
                {
                    h.I32(1, count);
                    h.I32(2, flatInt64 ? 0 : nulls);
                    h.I32(3, page.Count);
                    h.I32(4, encoding);
                    h.I32(5, defBytes.Length);
                    h.I32(6, repBytes.Length);
                    h.Bool(7, Codec != Uncompressed);
                    // statistics (skipped by readers that do not need them): null_count and a binary max_value
                    h.StructField(8, () =>
                    {
                        h.I64(3, nulls);
                        h.Binary(5, new byte[width]);
                    });
                }));
            }
            else
            {
                byte[] raw = flatInt64 ? valueBytes : [.. LengthPrefixed(repBytes), .. LengthPrefixed(defBytes), .. valueBytes];
                Page(file, 0, raw, Compress(raw), h => h.StructField(5, () =>
                {
                    h.I32(1, count);
                    h.I32(2, encoding);
                    h.I32(3, Rle);
                    h.I32(4, Rle);
                }));
            }
        }
        int[] encodings = useDict ? [Plain, Rle, RleDictionary] : [Plain, Rle];
        return new ChunkInfo(start, dataStart, dictStart, file.Position - start, values, encodings, Codec);
    }

    private static byte[] LengthPrefixed(byte[] b)
    {
        var o = new byte[4 + b.Length];
        BinaryPrimitives.WriteInt32LittleEndian(o, b.Length);
        b.CopyTo(o, 4);
        return o;
    }

    private static void Page(MemoryStream file, int type, byte[] uncompressed, byte[] compressed, Action<Thrift> header)
    {
        var h = new Thrift();
        h.Struct(() =>
        {
            h.I32(1, type);
            h.I32(2, uncompressed.Length);
            h.I32(3, compressed.Length);
            h.I32(4, 12345); // crc (not checked)
            header(h);
        });
        file.Write(h.ToArray());
        file.Write(compressed);
    }

    private byte[] Values(List<double> v, int width, bool int64)
    {
        var o = new byte[v.Count * width];
        for (var i = 0; i < v.Count; i++)
        {
            if (int64)
            {
                BinaryPrimitives.WriteInt64LittleEndian(o.AsSpan(i * 8), (long)v[i]);
            }
            else if (FloatItems)
            {
                BinaryPrimitives.WriteSingleLittleEndian(o.AsSpan(i * 4), (float)v[i]);
            }
            else
            {
                BinaryPrimitives.WriteDoubleLittleEndian(o.AsSpan(i * 8), v[i]);
            }
        }
        return o;
    }

    private byte[] Compress(byte[] raw)
    {
        switch (Codec)
        {
            case Uncompressed or Lzo:
                return raw;
            case Snappy:
                return Snappier.Snappy.CompressToArray(raw);
            case Zstd:
            {
                using var z = new ZstdSharp.Compressor();
                return z.Wrap(raw).ToArray();
            }
            case Gzip:
            {
                var ms = new MemoryStream();
                using (var gz = new GZipStream(ms, CompressionLevel.Optimal, leaveOpen: true))
                {
                    gz.Write(raw);
                }
                return ms.ToArray();
            }
            case Brotli:
            {
                var dst = new byte[raw.Length + 64];
                return BrotliEncoder.TryCompress(raw, dst, out var n) ? dst[..n] : throw new InvalidOperationException("brotli");
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(raw), Codec, "codec");
        }
    }

    /// <summary>RLE / bit-packed hybrid encoding of levels or indices (no length prefix).</summary>
    internal static byte[] Hybrid(int[] v, int bitWidth, bool bitPacked)
    {
        var o = new List<byte>();
        if (bitPacked)
        {
            var groups = (v.Length + 7) / 8;
            VarInt(o, ((long)groups << 1) | 1);
            var bits = new byte[groups * bitWidth];
            for (var i = 0; i < v.Length; i++)
            {
                for (var b = 0; b < bitWidth; b++)
                {
                    if (((v[i] >> b) & 1) != 0)
                    {
                        var bit = i * bitWidth + b;
                        bits[bit >> 3] |= (byte)(1 << (bit & 7));
                    }
                }
            }
            o.AddRange(bits);
            return [.. o];
        }
        for (var i = 0; i < v.Length;)
        {
            var j = i;
            while (j < v.Length && v[j] == v[i])
            {
                j++;
            }
            VarInt(o, (long)(j - i) << 1);
            for (var b = 0; b < (bitWidth + 7) / 8; b++)
            {
                o.Add((byte)(v[i] >> (8 * b)));
            }
            i = j;
        }
        return [.. o];
    }

    private static void VarInt(List<byte> o, long v)
    {
        while (v >= 0x80)
        {
            o.Add((byte)(v | 0x80));
            v >>= 7;
        }
        o.Add((byte)v);
    }

    /// <summary>Thrift compact protocol writer (only what the structures above need).</summary>
    private sealed class Thrift
    {
        public const int BoolTrue = 1, BoolFalse = 2, I32T = 5, I64T = 6, BinaryT = 8, ListT = 9, StructT = 12;
        private readonly List<byte> s = [];
        private readonly Stack<short> last = new();

        public byte[] ToArray() => [.. s];

        public static long ZigZag(long v) => (v << 1) ^ (v >> 63);

        public void Struct(Action body)
        {
            last.Push(0);
            body();
            s.Add(0);
            last.Pop();
        }

        public void StructField(short id, Action body)
        {
            Field(id, StructT);
            Struct(body);
        }

        public void I32(short id, int v)
        {
            Field(id, I32T);
            Varint(ZigZag(v));
        }

        public void I64(short id, long v)
        {
            Field(id, I64T);
            Varint(ZigZag(v));
        }

        public void Bool(short id, bool v) => Field(id, v ? BoolTrue : BoolFalse);

        public void Binary(short id, byte[] b)
        {
            Field(id, BinaryT);
            RawBinary(b);
        }

        public void RawBinary(byte[] b)
        {
            Varint(b.Length);
            s.AddRange(b);
        }

        public void List(short id, int elemType, int size, Action elems)
        {
            Field(id, ListT);
            if (size < 15)
            {
                s.Add((byte)((size << 4) | elemType));
            }
            else
            {
                s.Add((byte)(0xF0 | elemType));
                Varint(size);
            }
            elems();
        }

        public void Varint(long v)
        {
            var u = (ulong)v;
            while (u >= 0x80)
            {
                s.Add((byte)(u | 0x80));
                u >>= 7;
            }
            s.Add((byte)u);
        }

        private void Field(short id, int type)
        {
            var prev = last.Pop();
            var delta = id - prev;
            if (delta is > 0 and <= 15)
            {
                s.Add((byte)((delta << 4) | type));
            }
            else
            {
                s.Add((byte)type);
                Varint(ZigZag(id));
            }
            last.Push(id);
        }
    }
}
