using System.Runtime.InteropServices;

namespace FsdNet.Data;

/// <summary>Writes the encoded cache of parsed segments with a fitted map: codes through each feature's codec, atomically.</summary>
internal static class CacheWriter
{
    /// <summary>Writes the cache for <paramref name="segs"/> encoded with the sealed <paramref name="map"/> (atomically).</summary>
    public static void WriteCache(FeatureMap map, IReadOnlyList<Segment> segs, string outPath, byte[] sourceFp, int threads)
    {
        var rows = segs.Sum(s => s.Rows);
        var seqFeats = map.Features.Select((f, j) => (f, j)).Where(x => x.f.Type == FeatureType.Sequence).ToArray();
        var catFeats = map.Features.Select((f, j) => (f, j)).Where(x => x.f.Type == FeatureType.Categorical).ToArray();
        var numFeats = map.Features.Where(f => f.Type == FeatureType.Numeric).ToArray();
        var embDims = map.Embedding.Select(f => f.EmbeddingWidth).ToArray();
        var layout = new CacheLayout(rows, map.CategoricalCount, map.NumericCount, [.. seqFeats.Select(x => x.f.MaxLen)], map.HasGroupId, embDims, EncodedDataset.CodeWidths(map));
        var dir = Path.GetDirectoryName(Path.GetFullPath(outPath))!;
        Directory.CreateDirectory(dir);
        var tmp = outPath + $".{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        try
        {
            using (var handle = File.OpenHandle(tmp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None))
            {
                RandomAccess.SetLength(handle, layout.TotalBytes);
                // Each block's first row in the file: blocks in file order (chunk order), rows counted up.
                var starts = segs.Select(seg => new long[seg.Blocks.Count]).ToArray();
                long next = 0;
                foreach (var (k, b) in Segment.InFileOrder(segs))
                {
                    starts[k][b] = next;
                    next += segs[k].Blocks[b].Rows;
                }
                // local id -> final code, per segment and categorical/sequence feature (one lookup per distinct token)
                var maps = new int[segs.Count][][];
                Parallel.For(0, segs.Count, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, threads) }, k =>
                {
                    var seg = segs[k];
                    var segMaps = new int[map.Features.Count][];
                    Span<char> buf = stackalloc char[15];
                    for (var j = 0; j < map.Features.Count; j++)
                    {
                        var t = seg.Tables[j];
                        if (t is null)
                        {
                            continue;
                        }
                        var codec = map.Features[j].Codec;
                        var m = new int[t.Count];
                        for (var i = 0; i < m.Length; i++)
                        {
                            m[i] = t.NumberKeyed ? codec.Code(t.NumberTokens[i]) : codec.Code(t.TokenSpan(i, buf));
                        }
                        segMaps[j] = m;
                    }
                    maps[k] = segMaps;
                });
                // Blocks in file order, shared out to the threads: their writes move through the file together, whichever
                // segment (or gzip chunk) a block came from.
                var order = Segment.InFileOrder(segs);
                Parallel.For(0, order.Count, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, threads) }, () => new BlockBuffers(layout, seqFeats.Select(x => x.f.MaxLen).ToArray(), embDims), (index, _, buffers) =>
                {
                    var (k, b) = order[index];
                    var seg = segs[k];
                    var (lab, grp, cat, num, sl, st, seqOut, em) = (buffers.Lab, buffers.Grp, buffers.Cat, buffers.Num, buffers.Sl, buffers.St, buffers.SeqOut, buffers.Em);
                    {
                        var row0 = starts[k][b];
                        var n = seg.Blocks[b].Rows;
                        seg.ReadBlock(b, lab, grp, cat, num, sl, st, em);
                        Write(handle, lab.AsSpan(0, n), layout.LabelsOffset + (row0 * 4));
                        if (layout.HasGroup)
                        {
                            Write(handle, grp.AsSpan(0, n), layout.GroupOffset + (row0 * 8));
                        }
                        for (var c = 0; c < catFeats.Length; c++)
                        {
                            var m = maps[k][catFeats[c].j];
                            var col = cat[c].AsSpan(0, n);
                            for (var i = 0; i < col.Length; i++)
                            {
                                col[i] = m[col[i]];
                            }
                            WriteCodes(handle, col, layout.CatWidths[c], layout.CatOffsets[c] + (row0 * layout.CatWidths[c]), buffers.Narrow);
                        }
                        for (var c = 0; c < numFeats.Length; c++)
                        {
                            var col = num[c].AsSpan(0, n);
                            var codec = numFeats[c].Codec;
                            if (codec.Scaler != Scaler.None)
                            {
                                for (var i = 0; i < col.Length; i++)
                                {
                                    col[i] = codec.Normalize(col[i]);
                                }
                            }
                            Write(handle, col, layout.NumOffsets[c] + (row0 * 4));
                        }
                        for (var s = 0; s < seqFeats.Length; s++)
                        {
                            var (f, j) = seqFeats[s];
                            var m = maps[k][j];
                            var codec = f.Codec;
                            var maxLen = f.MaxLen;
                            var outSpan = seqOut[s].AsSpan(0, n * maxLen);
                            outSpan.Clear();
                            var pos = 0;
                            for (var i = 0; i < n; i++)
                            {
                                var len = sl[s][i];
                                var (skip, offset, keep) = codec.Window(len);
                                var srcStart = pos + skip;
                                var dstStart = (i * maxLen) + offset;
                                for (var t = 0; t < keep; t++)
                                {
                                    var local = st[s][srcStart + t];
                                    outSpan[dstStart + t] = local < 0 ? 0 : m[local];
                                }
                                pos += len;
                            }
                            Write(handle, (ReadOnlySpan<int>)outSpan, layout.SeqOffsets[s] + (row0 * maxLen * 4));
                        }
                        for (var e = 0; e < embDims.Length; e++)
                        {
                            Write(handle, em[e].AsSpan(0, n * embDims[e]), layout.EmbOffsets[e] + (row0 * embDims[e] * 4));
                        }
                    }
                    return buffers;
                }, _ => { });
            }
            FinishCache(tmp, layout, map, sourceFp);
            File.Move(tmp, outPath, overwrite: true);
        }
        finally
        {
            if (File.Exists(tmp))
            {
                File.Delete(tmp);
            }
        }
    }

    /// <summary>One thread's buffers for reading a spilled block back and encoding it.</summary>
    private sealed class BlockBuffers(CacheLayout layout, int[] maxLens, int[] embDims)
    {
        public float[] Lab { get; } = new float[Segment.BlockRows];

        /// <summary>A block's codes narrowed to 1 or 2 bytes before writing.</summary>
        public byte[] Narrow { get; } = new byte[Segment.BlockRows * 2];

        public long[] Grp { get; } = new long[layout.HasGroup ? Segment.BlockRows : 0];

        public int[][] Cat { get; } = [.. Enumerable.Range(0, layout.Cat).Select(_ => new int[Segment.BlockRows])];

        public float[][] Num { get; } = [.. Enumerable.Range(0, layout.Num).Select(_ => new float[Segment.BlockRows])];

        public int[][] Sl { get; } = [.. maxLens.Select(_ => new int[Segment.BlockRows])];

        /// <summary>Sequence tokens of a block (grown by <see cref="Segment.ReadBlock"/> when a block holds more).</summary>
        public int[][] St { get; } = [.. maxLens.Select(_ => new int[Segment.BlockRows])];

        public int[][] SeqOut { get; } = [.. maxLens.Select(l => new int[Segment.BlockRows * l])];

        public float[][] Em { get; } = [.. embDims.Select(d => new float[Segment.BlockRows * d])];
    }

    /// <summary>Computes the payload checksum of a written cache file and writes its header.</summary>
    internal static void FinishCache(string tmp, CacheLayout layout, FeatureMap map, byte[] sourceFp)
    {
        // Checksum by plain reads (page cache), not through a mapping, so the build's RSS does not grow by the cache size.
        ulong checksum = 0;
        using (var handle = File.OpenHandle(tmp, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.SequentialScan))
        {
            var buf = new byte[Checksum.ChunkSize];
            long k = 0;
            for (long off = layout.HeaderSize; off < layout.TotalBytes; off += Checksum.ChunkSize, k++)
            {
                var len = (int)Math.Min(Checksum.ChunkSize, layout.TotalBytes - off);
                var span = buf.AsSpan(0, len);
                var got = 0;
                while (got < len)
                {
                    var n = RandomAccess.Read(handle, span[got..], off + got);
                    if (n <= 0)
                    {
                        throw new IOException($"{tmp}: short read while computing the checksum");
                    }
                    got += n;
                }
                checksum += Checksum.Term(span, k);
            }
        }
        var header = layout.Header(Convert.FromHexString(map.SchemaHash), sourceFp, checksum);
        using (var handle = File.OpenHandle(tmp, FileMode.Open, FileAccess.Write))
        {
            RandomAccess.Write(handle, header, 0);
        }
    }

    /// <summary>Writes codes narrowed to <paramref name="width"/> bytes each (the column's width in the cache).</summary>
    internal static void WriteCodes(Microsoft.Win32.SafeHandles.SafeFileHandle h, ReadOnlySpan<int> codes, byte width, long offset, byte[] scratch)
    {
        switch (width)
        {
            case 1:
                for (var i = 0; i < codes.Length; i++)
                {
                    scratch[i] = (byte)codes[i];
                }
                RandomAccess.Write(h, scratch.AsSpan(0, codes.Length), offset);
                break;
            case 2:
                var wide = MemoryMarshal.Cast<byte, ushort>(scratch.AsSpan(0, codes.Length * 2));
                for (var i = 0; i < codes.Length; i++)
                {
                    wide[i] = (ushort)codes[i];
                }
                RandomAccess.Write(h, scratch.AsSpan(0, codes.Length * 2), offset);
                break;
            default:
                Write(h, codes, offset);
                break;
        }
    }

    private static void Write<T>(Microsoft.Win32.SafeHandles.SafeFileHandle h, ReadOnlySpan<T> data, long offset) where T : struct =>
        RandomAccess.Write(h, MemoryMarshal.AsBytes(data), offset);

    private static void Write<T>(Microsoft.Win32.SafeHandles.SafeFileHandle h, Span<T> data, long offset) where T : struct =>
        RandomAccess.Write(h, MemoryMarshal.AsBytes((ReadOnlySpan<T>)data), offset);
}
