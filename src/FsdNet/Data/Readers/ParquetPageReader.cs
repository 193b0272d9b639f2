using System.Buffers.Binary;
using System.Globalization;
using System.IO.Compression;
using Parquet.Meta;

namespace FsdNet.Data;

/// <summary>
/// One leaf column of one row group: its defined (non-null) values in file order and, per level entry, the
/// definition and repetition levels (null when the column's maximum level is 0).
/// </summary>
internal sealed class ParquetLeaf
{
    /// <summary>float[], double[], int[] or long[] (Parquet FLOAT, DOUBLE, INT32, INT64), or string[] / bool[] from Parquet.Net.</summary>
    public required Array Values { get; init; }

    public int[]? Def { get; init; }

    public int[]? Rep { get; init; }

    /// <summary>Number of level entries (rows for a flat column, list items plus empty/null lists for a list column).</summary>
    public required int Count { get; init; }
}

/// <summary>
/// A small Parquet page decoder, used only for column chunks Parquet.Net cannot read (Parquet.Net 6.1 throws on a
/// repeated column stored in data page v2, which arrow writers produce by default). It reads the page headers (Thrift
/// compact protocol), the RLE/bit-packed hybrid repetition and definition levels, PLAIN and dictionary-encoded
/// FLOAT/DOUBLE/INT32/INT64 values, in data page v1 or v2, uncompressed or SNAPPY/GZIP/ZSTD/BROTLI. Anything else is
/// a <see cref="DataFormatException"/> naming the file, the column and what is not supported.
/// </summary>
internal static class ParquetPageReader
{
    private const int DataPage = 0, IndexPage = 1, DictionaryPage = 2, DataPageV2 = 3;
    private const int EncPlain = 0, EncPlainDictionary = 2, EncRle = 3, EncRleDictionary = 8;

    /// <summary>Decodes the column chunk described by <paramref name="meta"/> (offsets and sizes from the footer).</summary>
    public static ParquetLeaf ReadChunk(Stream file, ColumnMetaData meta, int maxDef, int maxRep, string path, string column)
    {
        var type = meta.Type;
        if (type is not (Parquet.Meta.Type.FLOAT or Parquet.Meta.Type.DOUBLE or Parquet.Meta.Type.INT32 or Parquet.Meta.Type.INT64))
        {
            throw Fail(path, column, $"physical type {type} is not supported by FsdNet's page reader (FLOAT, DOUBLE, INT32, INT64)");
        }
        var start = meta.DictionaryPageOffset is > 0 and var d && d < meta.DataPageOffset ? d : meta.DataPageOffset;
        if (start < 4 || meta.TotalCompressedSize <= 0 || start + meta.TotalCompressedSize > file.Length)
        {
            throw Fail(path, column, $"column chunk at offset {start} with {meta.TotalCompressedSize} bytes lies outside the file ({file.Length} bytes)");
        }
        var chunk = new byte[checked((int)meta.TotalCompressedSize)];
        file.Seek(start, SeekOrigin.Begin);
        file.ReadExactly(chunk);

        var total = checked((int)meta.NumValues);
        var width = type is Parquet.Meta.Type.FLOAT or Parquet.Meta.Type.INT32 ? 4 : 8;
        var values = new byte[checked(total * width)];   // defined values, little-endian, as stored
        var def = maxDef > 0 ? new int[total] : null;
        var rep = maxRep > 0 ? new int[total] : null;
        byte[]? dictionary = null;
        var dictCount = 0;
        int levels = 0, defined = 0, pos = 0, pageNo = 0;
        while (levels < total)
        {
            if (pos >= chunk.Length)
            {
                throw Fail(path, column, $"column chunk ended after {levels} of {total} values");
            }
            var where = $"page {pageNo} at file offset {start + pos}";
            var thrift = new ThriftReader(chunk, pos);
            PageHeader ph;
            try
            {
                ph = ReadPageHeader(ref thrift);
            }
            catch (InvalidDataException e)
            {
                throw Fail(path, column, $"{where}: bad page header ({e.Message})");
            }
            var bodyStart = thrift.Position;
            if (ph.CompressedPageSize < 0 || bodyStart + ph.CompressedPageSize > chunk.Length)
            {
                throw Fail(path, column, $"{where}: page of {ph.CompressedPageSize} bytes runs past the column chunk");
            }
            var body = chunk.AsSpan(bodyStart, ph.CompressedPageSize);
            pos = bodyStart + ph.CompressedPageSize;
            pageNo++;
            switch ((int)ph.Type)
            {
                case IndexPage:
                    continue;
                case DictionaryPage:
                {
                    var dh = ph.DictionaryPageHeader ?? throw Fail(path, column, $"{where}: dictionary page without its header");
                    if (dh.Encoding is not (Encoding.PLAIN or Encoding.PLAIN_DICTIONARY))
                    {
                        throw Fail(path, column, $"{where}: dictionary page encoding {dh.Encoding} is not supported (PLAIN)");
                    }
                    dictionary = Decompress(body, ph.UncompressedPageSize, meta.Codec, path, column, where);
                    dictCount = dh.NumValues;
                    if (dictionary.Length < dictCount * width)
                    {
                        throw Fail(path, column, $"{where}: dictionary page holds {dictionary.Length} bytes, {dictCount} values need {dictCount * width}");
                    }
                    continue;
                }
                case DataPage:
                case DataPageV2:
                    break;
                default:
                    throw Fail(path, column, $"{where}: page type {ph.Type} is not supported");
            }

            int n;
            Encoding encoding;
            ReadOnlySpan<byte> valueBytes;
            byte[] buffer;
            if ((int)ph.Type == DataPage)
            {
                var h = ph.DataPageHeader ?? throw Fail(path, column, $"{where}: data page without its header");
                n = h.NumValues;
                encoding = h.Encoding;
                CheckRoom(n, levels, total, path, column, where);
                buffer = Decompress(body, ph.UncompressedPageSize, meta.Codec, path, column, where);
                var used = 0;
                if (rep is not null)
                {
                    used += V1Levels(buffer.AsSpan(used), h.RepetitionLevelEncoding, maxRep, rep.AsSpan(levels, n), path, column, where, "repetition");
                }
                if (def is not null)
                {
                    used += V1Levels(buffer.AsSpan(used), h.DefinitionLevelEncoding, maxDef, def.AsSpan(levels, n), path, column, where, "definition");
                }
                valueBytes = buffer.AsSpan(used);
            }
            else
            {
                var h = ph.DataPageHeaderV2 ?? throw Fail(path, column, $"{where}: data page v2 without its header");
                n = h.NumValues;
                encoding = h.Encoding;
                CheckRoom(n, levels, total, path, column, where);
                int repLen = h.RepetitionLevelsByteLength, defLen = h.DefinitionLevelsByteLength;
                if (repLen < 0 || defLen < 0 || repLen + defLen > body.Length)
                {
                    throw Fail(path, column, $"{where}: level lengths {repLen}+{defLen} exceed the page ({body.Length} bytes)");
                }
                if (rep is not null)
                {
                    Levels(body[..repLen], maxRep, rep.AsSpan(levels, n), path, column, where, "repetition");
                }
                if (def is not null)
                {
                    Levels(body.Slice(repLen, defLen), maxDef, def.AsSpan(levels, n), path, column, where, "definition");
                }
                var rest = body[(repLen + defLen)..];
                buffer = h.IsCompressed != false
                    ? Decompress(rest, ph.UncompressedPageSize - repLen - defLen, meta.Codec, path, column, where)
                    : rest.ToArray();
                valueBytes = buffer;
            }

            var present = n;
            if (def is not null)
            {
                present = 0;
                foreach (var l in def.AsSpan(levels, n))
                {
                    present += l == maxDef ? 1 : 0;
                }
            }
            var dest = values.AsSpan(defined * width, present * width);
            switch ((int)encoding)
            {
                case EncPlain:
                    if (valueBytes.Length < dest.Length)
                    {
                        throw Fail(path, column, $"{where}: PLAIN values hold {valueBytes.Length} bytes, {present} values need {dest.Length}");
                    }
                    valueBytes[..dest.Length].CopyTo(dest);
                    break;
                case EncPlainDictionary:
                case EncRleDictionary:
                {
                    if (dictionary is null)
                    {
                        throw Fail(path, column, $"{where}: dictionary-encoded page without a dictionary page");
                    }
                    var idx = new int[present];
                    if (present > 0)
                    {
                        if (valueBytes.Length < 1 || valueBytes[0] > 32)
                        {
                            throw Fail(path, column, $"{where}: bad dictionary index bit width");
                        }
                        Hybrid(valueBytes[1..], valueBytes[0], idx, path, column, where, "dictionary index");
                    }
                    for (var i = 0; i < present; i++)
                    {
                        if ((uint)idx[i] >= (uint)dictCount)
                        {
                            throw Fail(path, column, $"{where}: dictionary index {idx[i]} outside the dictionary of {dictCount} values");
                        }
                        dictionary.AsSpan(idx[i] * width, width).CopyTo(dest.Slice(i * width, width));
                    }
                    break;
                }
                default:
                    throw Fail(path, column, $"{where}: value encoding {encoding} is not supported by FsdNet's page reader (PLAIN, PLAIN_DICTIONARY, RLE_DICTIONARY)");
            }
            levels += n;
            defined += present;
        }
        return new ParquetLeaf { Values = Typed(values, defined, type), Def = def, Rep = rep, Count = levels };
    }

    private static void CheckRoom(int n, int levels, int total, string path, string column, string where)
    {
        if (n < 0 || levels + n > total)
        {
            throw Fail(path, column, $"{where}: page of {n} values goes past the {total} values of the column chunk");
        }
    }

    private static Array Typed(byte[] raw, int count, Parquet.Meta.Type type)
    {
        switch (type)
        {
            case Parquet.Meta.Type.FLOAT:
            {
                var a = new float[count];
                for (var i = 0; i < count; i++)
                {
                    a[i] = BinaryPrimitives.ReadSingleLittleEndian(raw.AsSpan(i * 4));
                }
                return a;
            }
            case Parquet.Meta.Type.DOUBLE:
            {
                var a = new double[count];
                for (var i = 0; i < count; i++)
                {
                    a[i] = BinaryPrimitives.ReadDoubleLittleEndian(raw.AsSpan(i * 8));
                }
                return a;
            }
            case Parquet.Meta.Type.INT32:
            {
                var a = new int[count];
                for (var i = 0; i < count; i++)
                {
                    a[i] = BinaryPrimitives.ReadInt32LittleEndian(raw.AsSpan(i * 4));
                }
                return a;
            }
            default:
            {
                var a = new long[count];
                for (var i = 0; i < count; i++)
                {
                    a[i] = BinaryPrimitives.ReadInt64LittleEndian(raw.AsSpan(i * 8));
                }
                return a;
            }
        }
    }

    /// <summary>Data page v1 levels: RLE with a 4-byte length prefix. Returns the bytes used.</summary>
    private static int V1Levels(ReadOnlySpan<byte> page, Encoding encoding, int maxLevel, Span<int> dest, string path, string column, string where, string what)
    {
        if ((int)encoding != EncRle)
        {
            throw Fail(path, column, $"{where}: {what} level encoding {encoding} is not supported (RLE)");
        }
        if (page.Length < 4)
        {
            throw Fail(path, column, $"{where}: {what} levels cut short");
        }
        var len = BinaryPrimitives.ReadInt32LittleEndian(page);
        if (len < 0 || len > page.Length - 4)
        {
            throw Fail(path, column, $"{where}: {what} levels claim {len} bytes, the page has {page.Length - 4}");
        }
        Levels(page.Slice(4, len), maxLevel, dest, path, column, where, what);
        return 4 + len;
    }

    private static void Levels(ReadOnlySpan<byte> data, int maxLevel, Span<int> dest, string path, string column, string where, string what)
    {
        Hybrid(data, 32 - int.LeadingZeroCount(maxLevel), dest, path, column, where, what + " level");
        foreach (var l in dest)
        {
            if (l > maxLevel)
            {
                throw Fail(path, column, $"{where}: {what} level {l} above the maximum {maxLevel}");
            }
        }
    }

    /// <summary>Decodes the RLE / bit-packed hybrid encoding (without a length prefix) into <paramref name="dest"/>.</summary>
    internal static void Hybrid(ReadOnlySpan<byte> data, int bitWidth, Span<int> dest, string path, string column, string where, string what)
    {
        var pos = 0;
        var o = 0;
        var valueBytes = (bitWidth + 7) / 8;
        var mask = bitWidth == 32 ? -1L : (1L << bitWidth) - 1;
        while (o < dest.Length)
        {
            if (pos >= data.Length)
            {
                throw Fail(path, column, $"{where}: {what}s end after {o} of {dest.Length} values");
            }
            var header = VarInt(data, ref pos, path, column, where);
            if ((header & 1) == 0)
            {
                var run = header >> 1;
                if (pos + valueBytes > data.Length)
                {
                    throw Fail(path, column, $"{where}: {what} run cut short");
                }
                var v = 0;
                for (var b = 0; b < valueBytes; b++)
                {
                    v |= data[pos + b] << (8 * b);
                }
                pos += valueBytes;
                var take = (int)Math.Min(run, dest.Length - o);
                dest.Slice(o, take).Fill(v);
                o += take;
            }
            else
            {
                var count = (header >> 1) * 8;
                var bytes = (header >> 1) * bitWidth;
                if (pos + bytes > data.Length)
                {
                    throw Fail(path, column, $"{where}: bit-packed {what}s cut short");
                }
                for (long i = 0; i < count && o < dest.Length; i++)
                {
                    var bit = i * bitWidth;
                    long word = 0;
                    var first = (int)(bit >> 3);
                    for (var b = 0; b < 5 && first + b < bytes; b++)
                    {
                        word |= (long)data[pos + first + b] << (8 * b);
                    }
                    dest[o++] = (int)((word >> (int)(bit & 7)) & mask);
                }
                pos += (int)bytes;
            }
        }
    }

    private static long VarInt(ReadOnlySpan<byte> data, ref int pos, string path, string column, string where)
    {
        long v = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (pos >= data.Length)
            {
                throw Fail(path, column, $"{where}: varint cut short");
            }
            var b = data[pos++];
            v |= (long)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return v;
            }
        }
        throw Fail(path, column, $"{where}: varint too long");
    }

    private static byte[] Decompress(ReadOnlySpan<byte> src, int size, CompressionCodec codec, string path, string column, string where)
    {
        if (size < 0)
        {
            throw Fail(path, column, $"{where}: negative uncompressed size {size}");
        }
        var dst = new byte[size];
        int got;
        try
        {
            switch (codec)
            {
                case CompressionCodec.UNCOMPRESSED:
                    src[..Math.Min(size, src.Length)].CopyTo(dst);
                    got = Math.Min(size, src.Length);
                    break;
                case CompressionCodec.SNAPPY:
                    got = Snappier.Snappy.Decompress(src, dst);
                    break;
                case CompressionCodec.ZSTD:
                {
                    using var z = new ZstdSharp.Decompressor();
                    got = z.Unwrap(src, dst);
                    break;
                }
                case CompressionCodec.GZIP:
                {
                    using var gz = new GZipStream(new MemoryStream(src.ToArray()), CompressionMode.Decompress);
                    got = 0;
                    int r;
                    while (got < size && (r = gz.Read(dst, got, size - got)) > 0)
                    {
                        got += r;
                    }
                    break;
                }
                case CompressionCodec.BROTLI:
                    if (!BrotliDecoder.TryDecompress(src, dst, out got))
                    {
                        throw new InvalidDataException("brotli data is corrupt or larger than the page size");
                    }
                    break;
                default:
                    throw Fail(path, column, $"{where}: compression codec {codec} is not supported by FsdNet's page reader (UNCOMPRESSED, SNAPPY, GZIP, ZSTD, BROTLI)");
            }
        }
        catch (Exception e) when (e is InvalidDataException or InvalidOperationException or ArgumentException or ZstdSharp.ZstdException)
        {
            throw Fail(path, column, $"{where}: cannot decompress {codec} page: {e.Message}");
        }
        if (got != size)
        {
            throw Fail(path, column, $"{where}: {codec} page decompressed to {got} bytes, the header says {size}");
        }
        return dst;
    }

    private static DataFormatException Fail(string path, string column, string problem) =>
        new(path, 0, column, "Parquet: " + problem);

    // ---- Thrift compact protocol: the PageHeader fields this reader needs; everything else is skipped. ----

    private static PageHeader ReadPageHeader(ref ThriftReader r)
    {
        var ph = new PageHeader();
        r.Struct((ref ThriftReader t, short id, int type) =>
        {
            switch (id)
            {
                case 1: ph.Type = (PageType)t.I32(); break;
                case 2: ph.UncompressedPageSize = t.I32(); break;
                case 3: ph.CompressedPageSize = t.I32(); break;
                case 5:
                {
                    var h = new DataPageHeader();
                    t.Struct((ref ThriftReader u, short f, int ft) =>
                    {
                        switch (f)
                        {
                            case 1: h.NumValues = u.I32(); break;
                            case 2: h.Encoding = (Encoding)u.I32(); break;
                            case 3: h.DefinitionLevelEncoding = (Encoding)u.I32(); break;
                            case 4: h.RepetitionLevelEncoding = (Encoding)u.I32(); break;
                            default: u.Skip(ft); break;
                        }
                    });
                    ph.DataPageHeader = h;
                    break;
                }
                case 7:
                {
                    var h = new DictionaryPageHeader();
                    t.Struct((ref ThriftReader u, short f, int ft) =>
                    {
                        switch (f)
                        {
                            case 1: h.NumValues = u.I32(); break;
                            case 2: h.Encoding = (Encoding)u.I32(); break;
                            default: u.Skip(ft); break;
                        }
                    });
                    ph.DictionaryPageHeader = h;
                    break;
                }
                case 8:
                {
                    var h = new DataPageHeaderV2();
                    t.Struct((ref ThriftReader u, short f, int ft) =>
                    {
                        switch (f)
                        {
                            case 1: h.NumValues = u.I32(); break;
                            case 2: h.NumNulls = u.I32(); break;
                            case 3: h.NumRows = u.I32(); break;
                            case 4: h.Encoding = (Encoding)u.I32(); break;
                            case 5: h.DefinitionLevelsByteLength = u.I32(); break;
                            case 6: h.RepetitionLevelsByteLength = u.I32(); break;
                            case 7: h.IsCompressed = u.Bool(ft); break;
                            default: u.Skip(ft); break;
                        }
                    });
                    ph.DataPageHeaderV2 = h;
                    break;
                }
                default: t.Skip(type); break;
            }
        });
        return ph;
    }

    private delegate void FieldReader(ref ThriftReader r, short id, int type);

    /// <summary>A reader of the Thrift compact protocol over a byte array (throws InvalidDataException when cut short).</summary>
    private ref struct ThriftReader(byte[] data, int pos)
    {
        private const int BoolTrue = 1, BoolFalse = 2, Byte = 3, I16 = 4, I32T = 5, I64 = 6, Double = 7, Binary = 8, List = 9, Set = 10, Map = 11, StructT = 12;
        private int depth;

        public int Position { get; private set; } = pos;

        public void Struct(FieldReader field)
        {
            if (++depth > 32)
            {
                throw new InvalidDataException("structures nested too deeply");
            }
            short last = 0;
            while (true)
            {
                var b = Next();
                if (b == 0)
                {
                    break;
                }
                var type = b & 0x0F;
                var delta = b >> 4;
                var id = delta != 0 ? (short)(last + delta) : (short)ZigZag(VarU());
                last = id;
                field(ref this, id, type);
            }
            depth--;
        }

        public int I32() => (int)ZigZag(VarU());

        public bool Bool(int type) => type switch
        {
            BoolTrue => true,
            BoolFalse => false,
            _ => throw new InvalidDataException($"field type {type} where a bool was expected"),
        };

        public void Skip(int type)
        {
            switch (type)
            {
                case BoolTrue or BoolFalse: break;
                case Byte: Next(); break;
                case I16 or I32T or I64: VarU(); break;
                case Double: Take(8); break;
                case Binary: Take(checked((int)VarU())); break;
                case List or Set:
                {
                    var h = Next();
                    var n = h >> 4 == 15 ? checked((int)VarU()) : h >> 4;
                    for (var i = 0; i < n; i++)
                    {
                        SkipElement(h & 0x0F);
                    }
                    break;
                }
                case Map:
                {
                    var n = checked((int)VarU());
                    if (n > 0)
                    {
                        var kv = Next();
                        for (var i = 0; i < n; i++)
                        {
                            SkipElement(kv >> 4);
                            SkipElement(kv & 0x0F);
                        }
                    }
                    break;
                }
                case StructT: Struct((ref ThriftReader r, short _, int t) => r.Skip(t)); break;
                default: throw new InvalidDataException($"unknown Thrift field type {type}");
            }
        }

        private void SkipElement(int type)
        {
            // inside lists and maps a bool takes one byte
            if (type is BoolTrue or BoolFalse)
            {
                Next();
            }
            else
            {
                Skip(type);
            }
        }

        private byte Next()
        {
            if (Position >= data.Length)
            {
                throw new InvalidDataException("cut short");
            }
            return data[Position++];
        }

        private void Take(int n)
        {
            if (n < 0 || Position + n > data.Length)
            {
                throw new InvalidDataException("cut short");
            }
            Position += n;
        }

        private ulong VarU()
        {
            ulong v = 0;
            for (var shift = 0; shift < 64; shift += 7)
            {
                var b = Next();
                v |= (ulong)(b & 0x7F) << shift;
                if (b < 0x80)
                {
                    return v;
                }
            }
            throw new InvalidDataException("varint too long");
        }

        private static long ZigZag(ulong v) => (long)(v >> 1) ^ -(long)(v & 1);
    }
}
