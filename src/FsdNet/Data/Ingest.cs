using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using nietras.SeparatedValues;

namespace FsdNet.Data;

/// <summary>Parse a raw split into segments, fit vocabularies, and write the encoded cache.</summary>
internal static class Ingest
{
    /// <summary>Parses <paramref name="path"/> with the map's format; segments are parsed in parallel where the format allows.</summary>
    /// <remarks>With <paramref name="labelOptional"/> (scoring input) the label may be missing: stored as NaN.</remarks>
    public static List<Segment> Parse(FeatureMap map, string path, OnBadLine onBad, string tempDir, int threads, IReadOnlyList<string>? sourceColumns,
        bool labelOptional = false)
    {
        try
        {
            return ParseCore(map, path, onBad, tempDir, threads, sourceColumns, labelOptional);
        }
        catch (InvalidDataException e)
        {
            throw new DataFormatException(path, 0, null, $"corrupt compressed data: {e.Message}");
        }
        catch (AggregateException e) when (e.InnerExceptions.Count > 0 && e.InnerExceptions[0] is InvalidDataException or DataFormatException or IOException)
        {
            throw e.InnerExceptions[0] is DataFormatException d ? d : new DataFormatException(path, 0, null, $"cannot read: {e.InnerExceptions[0].Message}");
        }
    }

    private static List<Segment> ParseCore(FeatureMap map, string path, OnBadLine onBad, string tempDir, int threads, IReadOnlyList<string>? sourceColumns,
        bool labelOptional)
    {
        RawFiles.CheckExists(path);
        Directory.CreateDirectory(tempDir);
        if (map.Format == DataFormat.Parquet)
        {
            return [ParseParquet(map, path, onBad, tempDir, labelOptional)];
        }
        RawFiles.CheckText(path);
        var sep = new Sep(map.Separator);
        var headerless = map.Format is DataFormat.LibFm or DataFormat.CriteoTsv;
        int[] sourceCol;
        int labelCol;
        int expected;
        if (headerless)
        {
            var names = sourceColumns ?? throw new InvalidOperationException("headerless format needs source columns");
            labelCol = 0;
            sourceCol = [.. map.Features.Select(f => IndexOf(names, f.SourceName, path, isHeader: false))];
            expected = names.Count;
        }
        else
        {
            using var r = ReadHeader(path, sep);
            if (r.Header.IsEmpty)
            {
                throw new DataFormatException(path, 0, null, "empty file (no header line)");
            }
            var names = r.Header.ColNames;
            labelCol = labelOptional && !names.Contains(map.LabelName) ? -1 : IndexOf(names, map.LabelName, path, isHeader: true);
            sourceCol = [.. map.Features.Select(f => IndexOf(names, f.SourceName, path, isHeader: true))];
            expected = names.Count;
        }
        // Headerless formats never quote; a delimited file with a header is split across threads only when it holds
        // no quote character at all (then no record can span lines).
        var quoteFree = headerless || (threads > 1 && !RawFiles.IsGzip(path) && !RawFiles.Contains(path, (byte)'"'));
        var ranges = quoteFree ? RawFiles.Split(path, threads) : [(0L, new FileInfo(path).Length)];
        var segments = new Segment[ranges.Count];
        var errors = new DataFormatException?[ranges.Count];
        try
        {
            Parallel.For(0, ranges.Count, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, threads) }, k =>
            {
                var seg = new Segment(map, sourceCol, labelCol, expected, Path.Combine(tempDir, $"spill-{Guid.NewGuid():N}.tmp"), labelOptional);
                segments[k] = seg;
                errors[k] = ParseRange(seg, path, ranges[k], ranges.Count, sep, hasHeader: !headerless && k == 0, quoteFree, onBad);
            });
            var first = errors.Where(e => e is not null).OrderBy(e => e!.Line).FirstOrDefault();
            if (first is not null)
            {
                throw first;
            }
            if (segments.Sum(s => s.Rows) == 0)
            {
                var dropped = segments.Sum(s => s.BadLines.Dropped);
                var blank = segments.Sum(s => s.BlankLines);
                throw new DataFormatException(path, 0, null, dropped > 0 ? $"no usable rows (all {dropped} lines were bad)"
                    : blank > 0 ? $"empty file (no data rows, {blank} blank lines)" : "empty file (no data rows)");
            }
            return [.. segments];
        }
        catch
        {
            foreach (var s in segments)
            {
                s?.Dispose();
            }
            throw;
        }
    }

    /// <summary>Parses one byte range of a file into <paramref name="seg"/>; returns the first error in error mode.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static DataFormatException? ParseRange(Segment seg, string path, (long Start, long Length) range, int rangeCount, Sep sep,
        bool hasHeader, bool quoteFree, OnBadLine onBad)
    {
        var (start, length) = range;
        var baseLine = new Lazy<long>(() => start == 0 ? 0 : RawFiles.CountLines(path, start));
        var stream = rangeCount == 1 ? RawFiles.OpenText(path) : new RangeStream(path, start, length);
        var nextLine = hasHeader ? 2L : 1L; // line (within the range) where the next row starts
        try
        {
            using var reader = Sep.Reader(o => o with
            {
                Sep = sep,
                HasHeader = hasHeader,
                Unescape = !quoteFree,
                DisableQuotesParsing = quoteFree,
                DisableColCountCheck = true,
            }).From(stream);
            foreach (var row in reader)
            {
                nextLine = quoteFree ? row.RowIndex + 2 : row.LineNumberToExcl;
                // An unclosed quote makes the parser read the rest of the file as one field: fatal in every mode.
                if (!quoteFree && OpenQuote(row.Span) is var open and >= 0)
                {
                    var from = row.LineNumberFrom + row.Span[..open].Count('\n');
                    return new DataFormatException(path, baseLine.Value + from, null,
                        "unterminated quote: the quoted field that opens on this line is never closed (it would run to the end of the file)");
                }
                try
                {
                    var r = new SepRow(row);
                    seg.AddRow(ref r);
                }
                catch (RowException e)
                {
                    // Sep's LineNumberFrom is only reliable when quotes are parsed; quote-free input has one record per line.
                    var line = quoteFree ? row.RowIndex + 1 : row.LineNumberFrom;
                    var err = new DataFormatException(path, baseLine.Value + line, e.Field, e.Problem);
                    if (onBad == OnBadLine.Error)
                    {
                        return err;
                    }
                    seg.BadLines.Add(err);
                }
            }
        }
        catch (InvalidDataException e)
        {
            return new DataFormatException(path, 0, null, $"corrupt gzip stream: {e.Message}");
        }
        catch (NotSupportedException e) when (e.Message.Contains("maximum supported length", StringComparison.Ordinal))
        {
            // Sep holds a whole row in memory and stops at 16 Mi characters: binary data, or a quote that never closes.
            return new DataFormatException(path, baseLine.Value + nextLine, null, LineTooLong);
        }
        seg.Finish();
        return null;
    }

    private const string LineTooLong = "line too long: more than 16,777,216 characters in one row (is this a line-based text file?)";

    private static SepReader ReadHeader(string path, Sep sep)
    {
        var stream = RawFiles.OpenText(path);
        try
        {
            return Sep.Reader(o => o with { Sep = sep, HasHeader = true, Unescape = true, DisableColCountCheck = true }).From(stream);
        }
        catch (NotSupportedException e) when (e.Message.Contains("maximum supported length", StringComparison.Ordinal))
        {
            stream.Dispose();
            throw new DataFormatException(path, 1, null, LineTooLong);
        }
        catch (ArgumentException e)
        {
            stream.Dispose();
            // Sep refuses a header that names a column twice: which of the two columns is meant would be ambiguous.
            string? first;
            using (var text = new StreamReader(RawFiles.OpenText(path)))
            {
                first = text.ReadLine();
            }
            var dup = (first ?? "").Split(sep.Separator).Select((n, i) => (Name: n.Trim('"'), Col: i + 1)).GroupBy(x => x.Name)
                .FirstOrDefault(g => g.Count() > 1);
            throw new DataFormatException(path, 1, null, dup is null
                ? $"bad header line: {e.Message}"
                : $"duplicate column name in the header: '{dup.Key}' appears as columns {string.Join(" and ", dup.Select(x => x.Col))}; column names must be unique");
        }
    }

    /// <summary>Offset of the quote that opens a quoted section never closed in <paramref name="raw"/>, else -1.</summary>
    private static int OpenQuote(ReadOnlySpan<char> raw)
    {
        var i = raw.IndexOf('"');
        if (i < 0)
        {
            return -1;
        }
        var open = -1;
        for (; i < raw.Length; i++)
        {
            if (raw[i] == '"')
            {
                open = open < 0 ? i : -1; // a doubled quote "" inside a quoted field closes and reopens: still balanced
            }
        }
        return open;
    }

    private static int IndexOf(IReadOnlyList<string> names, string name, string path, bool isHeader)
    {
        for (var i = 0; i < names.Count; i++)
        {
            if (names[i] == name)
            {
                return i;
            }
        }
        throw isHeader
            ? new DataFormatException(path, 1, name, $"column named in the config is absent from the header (header has: {string.Join(", ", names.Take(50).Select(n => FeatureCodec.Clip(n)))}{(names.Count > 50 ? ", ..." : "")})")
            : new DataConfigException($"column '{name}' is not one of the format's columns ({string.Join(", ", names)})");
    }

    private static Segment ParseParquet(FeatureMap map, string path, OnBadLine onBad, string tempDir, bool labelOptional)
    {
        var (rows, columns) = ParquetArrays.ReadRows(path);
        var wanted = new List<string> { map.LabelName };
        wanted.AddRange(map.Features.Select(f => f.SourceName));
        foreach (var w in wanted)
        {
            if (!columns.Contains(w) && !(labelOptional && w == map.LabelName))
            {
                throw new DataFormatException(path, 0, w, $"column named in the config is absent from the Parquet schema (columns: {string.Join(", ", columns)})");
            }
        }
        var seg = new Segment(map, [.. Enumerable.Range(1, map.Features.Count)], 0, wanted.Count, Path.Combine(tempDir, $"spill-{Guid.NewGuid():N}.tmp"), labelOptional);
        try
        {
            long line = 0;
            var cells = new string[wanted.Count];
            string[] splitters = ["^", .. map.Features.Select(f => f.Type is FeatureType.Sequence or FeatureType.Embedding ? f.Splitter : "^")];
            var row = new StringRow(cells);
            foreach (var r in rows)
            {
                line++;
                for (var c = 0; c < wanted.Count; c++)
                {
                    cells[c] = CellText(r.GetValueOrDefault(wanted[c]), splitters[c]);
                }
                try
                {
                    seg.AddRow(ref row);
                }
                catch (RowException e)
                {
                    var err = new DataFormatException(path, line, e.Field, e.Problem + " (line = row number)");
                    if (onBad == OnBadLine.Error)
                    {
                        throw err;
                    }
                    seg.BadLines.Add(err);
                }
            }
            seg.Finish();
            if (seg.Rows == 0)
            {
                throw new DataFormatException(path, 0, null, "empty file (no data rows)");
            }
            return seg;
        }
        catch
        {
            seg.Dispose();
            throw;
        }
    }

    private static string CellText(object? v, string splitter = "^") => v switch
    {
        null => "",
        string s => s,
        float f => f.ToString("R", CultureInfo.InvariantCulture),
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        bool b => b ? "1" : "0",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        System.Collections.IEnumerable list => string.Join(splitter, list.Cast<object?>().Select(x => CellText(x))),
        _ => v.ToString() ?? "",
    };

    /// <summary>Fits vocabularies (train counts), sequence lengths and normalisers into <paramref name="map"/>, then seals it.</summary>
    public static void Fit(FeatureMap map, IReadOnlyList<Segment> segs)
    {
        for (var j = 0; j < map.Features.Count; j++)
        {
            var f = map.Features[j];
            switch (f.Type)
            {
                case FeatureType.Categorical or FeatureType.Sequence:
                    f.Vocab = BuildVocab(f, segs, j);
                    if (f.Type == FeatureType.Sequence && f.MaxLen == 0)
                    {
                        f.MaxLen = Math.Max(1, segs.Max(s => s.MaxSeqLen[j]));
                    }
                    break;
                case FeatureType.Numeric when f.Normalizer != Scaler.None:
                {
                    // Two sequential passes in file order over the stored float32 values, so the parameters do not
                    // depend on how the file was split across threads.
                    double min = double.PositiveInfinity, max = double.NegativeInfinity, sum = 0, sq = 0;
                    long count = 0;
                    var buf = new float[Segment.BlockRows];
                    foreach (var seg in segs)
                    {
                        for (var b = 0; b < seg.Blocks.Count; b++)
                        {
                            seg.ReadNumeric(b, seg.NumericSlot(j), buf);
                            foreach (var v in buf.AsSpan(0, seg.Blocks[b].Rows))
                            {
                                sum += v;
                                min = Math.Min(min, v);
                                max = Math.Max(max, v);
                            }
                            count += seg.Blocks[b].Rows;
                        }
                    }
                    var mean = sum / Math.Max(1, count);
                    if (f.Normalizer == Scaler.StandardScaler)
                    {
                        foreach (var seg in segs)
                        {
                            for (var b = 0; b < seg.Blocks.Count; b++)
                            {
                                seg.ReadNumeric(b, seg.NumericSlot(j), buf);
                                foreach (var v in buf.AsSpan(0, seg.Blocks[b].Rows))
                                {
                                    sq += (v - mean) * (v - mean);
                                }
                            }
                        }
                        f.NormA = mean;
                        f.NormB = Math.Sqrt(sq / Math.Max(1, count)); // population std, as sklearn
                    }
                    else
                    {
                        f.NormA = min;
                        f.NormB = max;
                    }
                    break;
                }
            }
        }
        ExpandVocabularies(map);
        map.Seal();
    }

    /// <summary>
    /// pretrained_emb: keys of the file that are not train tokens are appended to the vocabulary in file order (FuxiCTR's
    /// load_pretrained_vocab), so valid/test tokens with a pretrained vector are not OOV. share_embedding: the sharing
    /// column's tokens that the target lacks are appended to the target (FuxiCTR's merge_vocab), and the sharing column
    /// then uses the target's vocabulary. OOV stays the last index (FuxiCTR 2.0.x).
    /// </summary>
    internal static void ExpandVocabularies(FeatureMap map)
    {
        foreach (var f in map.Features.Where(f => f.PretrainedEmb is not null && f.Type is FeatureType.Categorical or FeatureType.Sequence))
        {
            var known = new HashSet<string>(f.Vocab, StringComparer.Ordinal);
            var added = PretrainedEmbeddings.KeyTokens(f, f.PretrainedEmb!).Where(known.Add).ToList();
            if (added.Count > 0)
            {
                f.Vocab = [.. f.Vocab, .. added];
            }
        }
        foreach (var f in map.Features.Where(f => f.ShareEmbedding is not null))
        {
            var target = map.Features.FirstOrDefault(t => t.Name == f.ShareEmbedding)
                ?? throw new DataConfigException($"feature '{f.Name}': share_embedding '{f.ShareEmbedding}' is not an active feature");
            var known = new HashSet<string>(target.Vocab, StringComparer.Ordinal);
            var added = f.Vocab.Where(known.Add).ToList();
            if (added.Count > 0)
            {
                target.Vocab = [.. target.Vocab, .. added];
            }
        }
        foreach (var f in map.Features.Where(f => f.ShareEmbedding is not null))
        {
            f.Vocab = map[f.ShareEmbedding!].Vocab;
        }
    }

    /// <summary>
    /// Tokens with train count &gt;= min_categr_count, except the fill_na token, sorted by token value ascending
    /// (numeric order for int/float dtypes, ordinal for str), as FuxiCTR 2.0.x's Tokenizer does.
    /// </summary>
    private static List<string> BuildVocab(FeatureInfo f, IReadOnlyList<Segment> segs, int j)
    {
        var min = Math.Max(1, f.MinCategrCount);
        if (segs[0].Tables[j]!.NumberKeyed)
        {
            var counts = new Dictionary<long, (double Value, long Count)>();
            foreach (var s in segs)
            {
                var t = s.Tables[j]!;
                var c = t.Counts;
                for (var i = 0; i < t.Count; i++)
                {
                    var v = t.NumberTokens[i];
                    ref var e = ref CollectionsMarshal.GetValueRefOrAddDefault(counts, FeatureCodec.NumberKey(v), out _);
                    e = (v, e.Count + c[i]);
                }
            }
            double? na = f.FillNa is null ? null : double.Parse(f.FillNa, NumberStyles.Float, CultureInfo.InvariantCulture);
            return [.. counts.Values.Where(e => e.Count >= min && e.Value != na)
                .OrderBy(e => e.Value)
                .Select(e => FeatureCodec.NumberText(e.Value))];
        }
        else
        {
            var counts = new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (var s in segs)
            {
                var t = s.Tables[j]!;
                var c = t.Counts;
                for (var i = 0; i < t.Count; i++)
                {
                    ref var e = ref CollectionsMarshal.GetValueRefOrAddDefault(counts, t.StringTokens[i], out _);
                    e += c[i];
                }
            }
            var na = f.FillNa ?? "";
            return [.. counts.Where(e => e.Value >= min && e.Key != na)
                .OrderBy(e => e.Key, StringComparer.Ordinal)
                .Select(e => e.Key)];
        }
    }

    /// <summary>Writes the cache for <paramref name="segs"/> encoded with the sealed <paramref name="map"/> (atomically).</summary>
    public static void WriteCache(FeatureMap map, IReadOnlyList<Segment> segs, string outPath, byte[] sourceFp, int threads)
    {
        var rows = segs.Sum(s => s.Rows);
        var seqFeats = map.Features.Select((f, j) => (f, j)).Where(x => x.f.Type == FeatureType.Sequence).ToArray();
        var catFeats = map.Features.Select((f, j) => (f, j)).Where(x => x.f.Type == FeatureType.Categorical).ToArray();
        var numFeats = map.Features.Where(f => f.Type == FeatureType.Numeric).ToArray();
        var embDims = map.Embedding.Select(f => f.EmbeddingWidth).ToArray();
        var layout = new CacheLayout(rows, map.CategoricalCount, map.NumericCount, [.. seqFeats.Select(x => x.f.MaxLen)], map.HasGroupId, embDims);
        var dir = Path.GetDirectoryName(Path.GetFullPath(outPath))!;
        Directory.CreateDirectory(dir);
        var tmp = outPath + $".{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        try
        {
            using (var handle = File.OpenHandle(tmp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None))
            {
                RandomAccess.SetLength(handle, layout.TotalBytes);
                var starts = new long[segs.Count];
                for (var k = 1; k < segs.Count; k++)
                {
                    starts[k] = starts[k - 1] + segs[k - 1].Rows;
                }
                Parallel.For(0, segs.Count, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, threads) }, k =>
                {
                    var seg = segs[k];
                    // local id -> final code, per categorical/sequence feature
                    var maps = new int[map.Features.Count][];
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
                            m[i] = t.NumberKeyed ? codec.Code(t.NumberTokens[i]) : codec.Code(t.StringTokens[i]);
                        }
                        maps[j] = m;
                    }
                    var br = Segment.BlockRows;
                    var lab = new float[br];
                    var grp = new long[layout.HasGroup ? br : 0];
                    var cat = Enumerable.Range(0, layout.Cat).Select(_ => new int[br]).ToArray();
                    var num = Enumerable.Range(0, layout.Num).Select(_ => new float[br]).ToArray();
                    var sl = seqFeats.Select(_ => new int[br]).ToArray();
                    var st = seqFeats.Select(_ => new int[br]).ToArray();
                    var seqOut = seqFeats.Select(x => new int[br * x.f.MaxLen]).ToArray();
                    var em = embDims.Select(d => new float[br * d]).ToArray();
                    var row0 = starts[k];
                    for (var b = 0; b < seg.Blocks.Count; b++)
                    {
                        var n = seg.Blocks[b].Rows;
                        seg.ReadBlock(b, lab, grp, cat, num, sl, st, em);
                        Write(handle, lab.AsSpan(0, n), layout.LabelsOffset + (row0 * 4));
                        if (layout.HasGroup)
                        {
                            Write(handle, grp.AsSpan(0, n), layout.GroupOffset + (row0 * 8));
                        }
                        for (var c = 0; c < catFeats.Length; c++)
                        {
                            var m = maps[catFeats[c].j];
                            var col = cat[c].AsSpan(0, n);
                            for (var i = 0; i < col.Length; i++)
                            {
                                col[i] = m[col[i]];
                            }
                            Write(handle, col, layout.CatOffsets[c] + (row0 * 4));
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
                            var m = maps[j];
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
                        row0 += n;
                    }
                });
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

    private static void Write<T>(Microsoft.Win32.SafeHandles.SafeFileHandle h, ReadOnlySpan<T> data, long offset) where T : struct =>
        RandomAccess.Write(h, MemoryMarshal.AsBytes(data), offset);

    private static void Write<T>(Microsoft.Win32.SafeHandles.SafeFileHandle h, Span<T> data, long offset) where T : struct =>
        RandomAccess.Write(h, MemoryMarshal.AsBytes((ReadOnlySpan<T>)data), offset);
}
