using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;
using System.Text;

namespace FsdNet.Data;

/// <summary>
/// Byte layout of a cache file: a header, then columnar sections (labels float32, group ids int64, one int32 column
/// per categorical feature, one float32 column per numeric feature, one row-major int32 [rows x max_len] block per
/// sequence feature, one row-major float32 [rows x pretrain_dim] block per embedding feature), each padded to 8 bytes.
/// </summary>
internal sealed class CacheLayout
{
    public const int FixedHeader = 128;
    public static readonly byte[] Magic = "FSDNETC1"u8.ToArray();

    public CacheLayout(long rows, int cat, int num, int[] seqLens, bool hasGroup, int[]? embDims = null, byte[]? catWidths = null)
    {
        Rows = rows;
        Cat = cat;
        Num = num;
        SeqLens = seqLens;
        EmbDims = embDims ?? [];
        HasGroup = hasGroup;
        CatWidths = catWidths ?? [.. Enumerable.Repeat((byte)4, cat)];
        if (CatWidths.Length != cat || CatWidths.Any(w => w is not (1 or 2 or 4)))
        {
            throw new ArgumentException("one code width (1, 2 or 4 bytes) per categorical column is needed", nameof(catWidths));
        }
        HeaderSize = Align(FixedHeader + (4 * seqLens.Length) + (4 * EmbDims.Length) + cat);
        long off = HeaderSize;
        LabelsOffset = off;
        off += Align(rows * 4);
        GroupOffset = off;
        if (hasGroup)
        {
            off += rows * 8;
        }
        CatOffsets = new long[cat];
        for (var i = 0; i < cat; i++)
        {
            CatOffsets[i] = off;
            off += Align(rows * CatWidths[i]);
        }
        NumOffsets = new long[num];
        for (var i = 0; i < num; i++)
        {
            NumOffsets[i] = off;
            off += Align(rows * 4);
        }
        SeqOffsets = new long[seqLens.Length];
        for (var i = 0; i < seqLens.Length; i++)
        {
            SeqOffsets[i] = off;
            off += Align(rows * seqLens[i] * 4);
        }
        EmbOffsets = new long[EmbDims.Length];
        for (var i = 0; i < EmbDims.Length; i++)
        {
            EmbOffsets[i] = off;
            off += Align(rows * EmbDims[i] * 4);
        }
        TotalBytes = off;
    }

    public int[] EmbDims { get; }
    public long[] EmbOffsets { get; }

    public long Rows { get; }
    public int Cat { get; }
    public int Num { get; }
    public int[] SeqLens { get; }
    public bool HasGroup { get; }
    public int HeaderSize { get; }
    public long LabelsOffset { get; }
    public long GroupOffset { get; }
    public long[] CatOffsets { get; }

    /// <summary>
    /// Bytes per code of each categorical column: 1, 2 or 4, the fewest that hold the column's largest code (its
    /// table's rows - 1), so a 45M-row Criteo split maps about half the bytes of 4-byte codes.
    /// </summary>
    public byte[] CatWidths { get; }

    /// <summary>The code width for a table of <paramref name="tableRows"/> rows (codes 0 .. rows - 1).</summary>
    public static byte CodeWidth(int tableRows) => tableRows <= 1 << 8 ? (byte)1 : tableRows <= 1 << 16 ? (byte)2 : (byte)4;

    /// <summary>Code <paramref name="row"/> of categorical column <paramref name="column"/> at <paramref name="basePtr"/>.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public unsafe int Code(byte* basePtr, int column, long row) => CatWidths[column] switch
    {
        1 => basePtr[CatOffsets[column] + row],
        2 => ((ushort*)(basePtr + CatOffsets[column]))[row],
        _ => ((int*)(basePtr + CatOffsets[column]))[row],
    };
    public long[] NumOffsets { get; }
    public long[] SeqOffsets { get; }
    public long TotalBytes { get; }

    private static int Align(int v) => (v + 7) & ~7;

    private static long Align(long v) => (v + 7) & ~7L;

    public byte[] Header(byte[] schemaHash, byte[] sourceFp, ulong payloadChecksum)
    {
        var h = new byte[HeaderSize];
        Magic.CopyTo(h, 0);
        BitConverter.TryWriteBytes(h.AsSpan(8), EncodedDataset.FormatVersion);
        BitConverter.TryWriteBytes(h.AsSpan(12), HeaderSize);
        BitConverter.TryWriteBytes(h.AsSpan(16), Rows);
        BitConverter.TryWriteBytes(h.AsSpan(24), Cat);
        BitConverter.TryWriteBytes(h.AsSpan(28), Num);
        BitConverter.TryWriteBytes(h.AsSpan(32), SeqLens.Length);
        BitConverter.TryWriteBytes(h.AsSpan(36), HasGroup ? 1 : 0);
        schemaHash.AsSpan(0, 32).CopyTo(h.AsSpan(40));
        sourceFp.AsSpan(0, 32).CopyTo(h.AsSpan(72));
        BitConverter.TryWriteBytes(h.AsSpan(104), payloadChecksum);
        BitConverter.TryWriteBytes(h.AsSpan(120), EmbDims.Length);
        for (var i = 0; i < SeqLens.Length; i++)
        {
            BitConverter.TryWriteBytes(h.AsSpan(FixedHeader + (4 * i)), SeqLens[i]);
        }
        for (var i = 0; i < EmbDims.Length; i++)
        {
            BitConverter.TryWriteBytes(h.AsSpan(FixedHeader + (4 * (SeqLens.Length + i))), EmbDims[i]);
        }
        CatWidths.CopyTo(h, FixedHeader + (4 * (SeqLens.Length + EmbDims.Length)));
        BitConverter.TryWriteBytes(h.AsSpan(112), HeaderChecksum(h));
        return h;
    }

    public static ulong HeaderChecksum(ReadOnlySpan<byte> header)
    {
        var copy = header.ToArray();
        copy.AsSpan(112, 8).Clear();
        return Checksum.Hash(copy);
    }
}

/// <summary>A fast 64-bit checksum (4 multiply-xor lanes, 1 MiB chunks combined with their position).</summary>
internal static class Checksum
{
    private const ulong P1 = 0x9E3779B185EBCA87UL;
    private const ulong P2 = 0xC2B2AE3D27D4EB4FUL;

    /// <summary>The contribution of 1 MiB chunk number <paramref name="k"/> (the last chunk may be shorter).</summary>
    public static ulong Term(ReadOnlySpan<byte> chunk, long k) => Mix(Chunk(chunk) ^ ((ulong)k * P2));

    public const int ChunkSize = 1 << 20;

    public static ulong Hash(ReadOnlySpan<byte> data)
    {
        ulong total = 0;
        long k = 0;
        while (!data.IsEmpty)
        {
            var chunk = data[..Math.Min(data.Length, 1 << 20)];
            total += Mix(Chunk(chunk) ^ ((ulong)k * P2));
            data = data[chunk.Length..];
            k++;
        }
        return total;
    }

    public static unsafe ulong Hash(byte* p, long length)
    {
        ulong total = 0;
        long k = 0;
        for (long off = 0; off < length; off += 1 << 20, k++)
        {
            var len = (int)Math.Min(1 << 20, length - off);
            total += Mix(Chunk(new ReadOnlySpan<byte>(p + off, len)) ^ ((ulong)k * P2));
        }
        return total;
    }

    private static ulong Chunk(ReadOnlySpan<byte> s)
    {
        var words = MemoryMarshal.Cast<byte, ulong>(s);
        ulong a = P1, b = P2, c = P1 ^ P2, d = ~P1;
        var i = 0;
        for (; i + 4 <= words.Length; i += 4)
        {
            a = (a ^ words[i]) * P1;
            b = (b ^ words[i + 1]) * P1;
            c = (c ^ words[i + 2]) * P1;
            d = (d ^ words[i + 3]) * P1;
        }
        for (; i < words.Length; i++)
        {
            a = (a ^ words[i]) * P2;
        }
        for (var t = words.Length * 8; t < s.Length; t++)
        {
            b = (b ^ s[t]) * P2;
        }
        return Mix(a) ^ Mix(b + 1) ^ Mix(c + 2) ^ Mix(d + 3) ^ (ulong)s.Length;
    }

    private static ulong Mix(ulong x)
    {
        x ^= x >> 33;
        x *= 0xFF51AFD7ED558CCDUL;
        x ^= x >> 33;
        x *= 0xC4CEB9FE1A85EC53UL;
        x ^= x >> 33;
        return x;
    }
}

/// <summary>
/// One encoded split in the binary cache, memory-mapped (read-only): a dataset larger than memory is paged in by
/// the OS as batches touch it. Columns are exposed as spans; use <see cref="BatchLoader"/> to train.
/// </summary>
internal sealed unsafe class EncodedDataset : IDisposable
{
    /// <summary>2: embedding blocks (version 1 caches are rebuilt, never misread).</summary>
    public const int FormatVersion = 3;

    private readonly MemoryMappedFile mmf;
    private readonly MemoryMappedViewAccessor view;
    private readonly byte* basePtr;
    private readonly CacheLayout layout;
    private bool disposed;

    private EncodedDataset(string path, MemoryMappedFile mmf, MemoryMappedViewAccessor view, byte* basePtr, CacheLayout layout, string schemaHash, byte[] sourceFp)
    {
        FilePath = path;
        this.mmf = mmf;
        this.view = view;
        this.basePtr = basePtr;
        this.layout = layout;
        SchemaHash = schemaHash;
        SourceFingerprint = sourceFp;
    }

    /// <summary>The cache file.</summary>
    public string FilePath { get; }

    public long RowCount => layout.Rows;
    public int CategoricalCount => layout.Cat;
    public int NumericCount => layout.Num;
    public bool HasGroupIds => layout.HasGroup;

    /// <summary>max_len of each sequence feature, in FeatureMap order.</summary>
    public IReadOnlyList<int> SequenceLengths => layout.SeqLens;

    public int SequenceWidth => layout.SeqLens.Sum();

    /// <summary>pretrain_dim of each embedding feature, in FeatureMap order.</summary>
    public IReadOnlyList<int> EmbeddingDims => layout.EmbDims;

    /// <summary>Sum of pretrain_dim over embedding features (width of a Batch.Embedding row).</summary>
    public int EmbeddingWidth => layout.EmbDims.Sum();

    /// <summary>Row-major [rows x pretrain_dim] vectors of embedding feature <paramref name="index"/>.</summary>
    public ReadOnlySpan<float> Embedding(int index) => Span<float>(layout.EmbOffsets[index], layout.Rows * layout.EmbDims[index]);

    /// <summary>Hex SHA-256 of the FeatureMap this split was encoded with.</summary>
    public string SchemaHash { get; }

    /// <summary>Fingerprint of the raw source + config the cache was built from.</summary>
    public byte[] SourceFingerprint { get; }

    /// <summary>Size of the cache file in bytes.</summary>
    public long SizeBytes => layout.TotalBytes;

    public ReadOnlySpan<float> Labels => Span<float>(layout.LabelsOffset, layout.Rows);

    /// <summary>Group ids of the meta column (empty if none).</summary>
    public ReadOnlySpan<long> GroupIds => layout.HasGroup ? Span<long>(layout.GroupOffset, layout.Rows) : default;

    /// <summary>
    /// A copy of the codes of categorical feature <paramref name="index"/> (its position among categorical features),
    /// widened to int (the cache stores each column in 1, 2 or 4 bytes).
    /// </summary>
    public int[] Categorical(int index)
    {
        var codes = new int[layout.Rows];
        for (var r = 0; r < codes.Length; r++)
        {
            codes[r] = layout.Code(basePtr, index, r);
        }
        return codes;
    }

    /// <summary>The cache's code width of each categorical feature of <paramref name="map"/>, from its table size.</summary>
    internal static byte[] CodeWidths(FeatureMap map) =>
        [.. map.Features.Where(f => f.Type == FeatureType.Categorical).OrderBy(f => f.TypeIndex).Select(f => CacheLayout.CodeWidth(f.VocabSize))];

    /// <summary>Values of numeric feature <paramref name="index"/> (after fill_na and normaliser).</summary>
    public ReadOnlySpan<float> Numeric(int index) => Span<float>(layout.NumOffsets[index], layout.Rows);

    /// <summary>Row-major [rows x max_len] codes of sequence feature <paramref name="index"/>; 0 = padding.</summary>
    public ReadOnlySpan<int> Sequence(int index) => Span<int>(layout.SeqOffsets[index], layout.Rows * layout.SeqLens[index]);

    internal byte* Pointer(long offset) => basePtr + offset;

    internal CacheLayout Layout => layout;

    private ReadOnlySpan<T> Span<T>(long offset, long count) where T : unmanaged
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        if (count > int.MaxValue)
        {
            throw new NotSupportedException("column longer than 2^31 elements: use BatchLoader");
        }
        return new ReadOnlySpan<T>(basePtr + offset, (int)count);
    }

    /// <summary>
    /// Opens a cache file. Checks magic, version, header checksum, size, the schema hash (when a map is given) and,
    /// when <paramref name="verifyChecksum"/>, the payload checksum; a bad file gives an error naming it.
    /// </summary>
    public static EncodedDataset Open(string path, FeatureMap? map = null, bool verifyChecksum = true)
    {
        if (!File.Exists(path))
        {
            throw new DataFormatException(path, 0, null, "cache file not found");
        }
        var fileLength = new FileInfo(path).Length;
        Span<byte> fixedHeader = stackalloc byte[CacheLayout.FixedHeader];
        using (var fs = File.OpenRead(path))
        {
            if (fs.ReadAtLeast(fixedHeader, fixedHeader.Length, throwOnEndOfStream: false) < fixedHeader.Length ||
                !fixedHeader[..8].SequenceEqual(CacheLayout.Magic))
            {
                throw new DataFormatException(path, 0, null, "not an FsdNet cache file (bad magic or truncated header); delete it to rebuild");
            }
        }
        var version = BitConverter.ToInt32(fixedHeader[8..]);
        if (version != FormatVersion)
        {
            throw new DataFormatException(path, 0, null, $"cache format version {version} is not supported (expected {FormatVersion}); delete it to rebuild");
        }
        var headerSize = BitConverter.ToInt32(fixedHeader[12..]);
        var rows = BitConverter.ToInt64(fixedHeader[16..]);
        var cat = BitConverter.ToInt32(fixedHeader[24..]);
        var num = BitConverter.ToInt32(fixedHeader[28..]);
        var seq = BitConverter.ToInt32(fixedHeader[32..]);
        var hasGroup = BitConverter.ToInt32(fixedHeader[36..]) == 1;
        var emb = BitConverter.ToInt32(fixedHeader[120..]);
        if (headerSize < CacheLayout.FixedHeader || headerSize > 1 << 20 || rows < 0 || cat < 0 || num < 0 || seq < 0 || seq > 1 << 16 ||
            emb < 0 || emb > 1 << 16 || cat > 1 << 16 || headerSize > fileLength || CacheLayout.FixedHeader + (4L * (seq + emb)) + cat > headerSize)
        {
            throw new DataFormatException(path, 0, null, "cache header is corrupt; delete it to rebuild");
        }
        var header = new byte[headerSize];
        using (var fs = File.OpenRead(path))
        {
            fs.ReadExactly(header);
        }
        if (BitConverter.ToUInt64(header, 112) != CacheLayout.HeaderChecksum(header))
        {
            throw new DataFormatException(path, 0, null, "cache header checksum mismatch (corrupt file); delete it to rebuild");
        }
        var seqLens = new int[seq];
        for (var i = 0; i < seq; i++)
        {
            seqLens[i] = BitConverter.ToInt32(header, CacheLayout.FixedHeader + (4 * i));
        }
        var embDims = new int[emb];
        for (var i = 0; i < emb; i++)
        {
            embDims[i] = BitConverter.ToInt32(header, CacheLayout.FixedHeader + (4 * (seq + i)));
        }
        var catWidths = header.AsSpan(CacheLayout.FixedHeader + (4 * (seq + emb)), cat).ToArray();
        if (catWidths.Any(w => w is not (1 or 2 or 4)))
        {
            throw new DataFormatException(path, 0, null, "cache header is corrupt (a code width is not 1, 2 or 4 bytes); delete it to rebuild");
        }
        var layout = new CacheLayout(rows, cat, num, seqLens, hasGroup, embDims, catWidths);
        if (layout.TotalBytes != fileLength)
        {
            throw new DataFormatException(path, 0, null, $"cache file has {fileLength} bytes, its header says {layout.TotalBytes} (truncated or corrupt); delete it to rebuild");
        }
        var schemaHash = Convert.ToHexStringLower(header.AsSpan(40, 32));
        if (map is not null)
        {
            if (map.SchemaHash != schemaHash)
            {
                throw new DataFormatException(path, 0, null, "cache was encoded with a different feature map (schema hash mismatch); delete it to rebuild");
            }
            if (map.CategoricalCount != cat || map.NumericCount != num || map.Sequence.Count() != seq || map.HasGroupId != hasGroup ||
                !map.Embedding.Select(f => f.EmbeddingWidth).SequenceEqual(embDims) || !CodeWidths(map).AsSpan().SequenceEqual(catWidths))
            {
                throw new DataFormatException(path, 0, null, "cache columns do not match the feature map");
            }
        }
        var mmf = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        var view = mmf.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
        byte* ptr = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref ptr);
        ptr += view.PointerOffset;
        var ds = new EncodedDataset(path, mmf, view, ptr, layout, schemaHash, header.AsSpan(72, 32).ToArray());
        if (verifyChecksum)
        {
            var expected = BitConverter.ToUInt64(header, 104);
            if (Checksum.Hash(ptr + headerSize, layout.TotalBytes - headerSize) != expected)
            {
                ds.Dispose();
                throw new DataFormatException(path, 0, null, "cache payload checksum mismatch (corrupt file); delete it to rebuild");
            }
            ds.ReleasePages();
        }
        return ds;
    }

    /// <summary>
    /// Drops this process's mapping of the file's pages (madvise DONTNEED): they leave the resident set and stay in
    /// the page cache, so the next read is a minor fault, not disk. Called after a pass over the whole split (the
    /// checksum at open, a validation or test pass, an epoch), so a split held open but not in use costs no memory.
    /// </summary>
    internal void ReleasePages()
    {
        if (!OperatingSystem.IsLinux() || disposed)
        {
            return;
        }
        // The view starts at a page boundary (offset 0 of the file); the length is rounded up by the kernel.
        _ = Madvise((nint)basePtr, (nuint)layout.TotalBytes, MadvDontNeed);
    }

    private const int MadvDontNeed = 4;

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "madvise", SetLastError = true)]
    private static extern int Madvise(nint address, nuint length, int advice);

    /// <summary>Reads only the header's source fingerprint and schema hash (cheap check for cache reuse).</summary>
    internal static (byte[] SourceFp, string SchemaHash)? PeekHeader(string path)
    {
        try
        {
            using var fs = File.OpenRead(path);
            var h = new byte[CacheLayout.FixedHeader];
            if (fs.ReadAtLeast(h, h.Length, throwOnEndOfStream: false) < h.Length || !h.AsSpan(0, 8).SequenceEqual(CacheLayout.Magic) ||
                BitConverter.ToInt32(h, 8) != FormatVersion)
            {
                return null;
            }
            return (h.AsSpan(72, 32).ToArray(), Convert.ToHexStringLower(h.AsSpan(40, 32)));
        }
        catch (IOException)
        {
            return null;
        }
    }

    public override string ToString() =>
        new StringBuilder().Append(Path.GetFileName(FilePath)).Append(": ").Append(RowCount).Append(" rows").ToString();

    public void Dispose()
    {
        if (disposed)
        {
            return;
        }
        disposed = true;
        view.SafeMemoryMappedViewHandle.ReleasePointer();
        view.Dispose();
        mmf.Dispose();
    }
}
