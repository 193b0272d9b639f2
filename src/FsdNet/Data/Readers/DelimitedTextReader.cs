using System.Runtime.CompilerServices;
using nietras.SeparatedValues;

namespace FsdNet.Data;

/// <summary>
/// Delimited text read with Sep (gzip detected by its magic bytes): a header line names the columns, or the format
/// fixes them (<see cref="FeatureMap.SourceColumns"/>). Files without quotes are split into byte ranges parsed in
/// parallel; a quoted field may span lines. The formats differ only in their header and separator.
/// </summary>
internal abstract class DelimitedTextReader : IRowReader
{
    /// <summary>Whether the file has no header line (the format names its columns).</summary>
    protected abstract bool Headerless { get; }

    public List<Segment> Read(FeatureMap map, string path, RowReadOptions options)
    {
        var (onBad, tempDir, threads, labelOptional) = (options.OnBadLine, options.TempDir, options.Threads, options.LabelOptional);
        RawFiles.CheckText(path);
        var sep = new Sep(map.Separator);
        var headerless = Headerless;
        int[] sourceCol;
        int labelCol;
        int expected;
        if (headerless)
        {
            var names = map.SourceColumns ?? throw new InvalidOperationException("headerless format needs source columns");
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
        if (threads > 1 && RawFiles.IsGzip(path) &&
            ParseChunked(map, path, options, sep, headerless, () => new Segment(map, sourceCol, labelCol, expected, Path.Combine(tempDir, $"spill-{Guid.NewGuid():N}.tmp"), labelOptional)) is { } chunked)
        {
            return chunked;
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
            return Result(path, segments, errors);
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
        var error = ParseStream(seg, stream, path, baseLine, sep, hasHeader, quoteFree, onBad);
        if (error is null)
        {
            seg.Finish();
        }
        return error;
    }

    /// <summary>
    /// Parses the rows of <paramref name="stream"/> (disposed here) into <paramref name="seg"/>; errors name the file and
    /// the line (<paramref name="baseLine"/> lines come before the stream's first); returns the first error in error mode.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static DataFormatException? ParseStream(Segment seg, Stream stream, string path, Lazy<long> baseLine, Sep sep,
        bool hasHeader, bool quoteFree, OnBadLine onBad)
    {
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
        return null;
    }

    /// <summary>Bytes of decompressed text handed to a worker at a time (whole lines).</summary>
    internal static int ChunkBytes { get; set; } = 4 << 20;

    /// <summary>
    /// A gzip file on several threads: one thread decompresses (verifying the CRC as it goes) and cuts the text into
    /// chunks of whole lines; the workers parse the chunks into their own segments, each block tagged with its chunk,
    /// so the cache holds the rows in file order. Null when the file turns out to hold a quote character (a quoted
    /// field may span lines, so lines cannot be cut apart): the caller then parses it on one thread.
    /// </summary>
    private static List<Segment>? ParseChunked(FeatureMap map, string path, RowReadOptions options, Sep sep, bool headerless, Func<Segment> newSegment)
    {
        var threads = options.Threads;
        var segments = new Segment[threads];
        using var queue = new System.Collections.Concurrent.BlockingCollection<(int Index, byte[] Bytes, int Length, long BaseLine)>(2 * threads);
        var errors = new System.Collections.Concurrent.ConcurrentBag<DataFormatException>();
        var quoted = false;
        var firstBad = int.MaxValue; // the earliest chunk with an error (error mode): later chunks need not be parsed
        try
        {
            var workers = Enumerable.Range(0, threads).Select(k => Task.Run(() =>
            {
                var seg = segments[k] = newSegment();
                foreach (var chunk in queue.GetConsumingEnumerable())
                {
                    if (chunk.Index > Volatile.Read(ref firstBad) || Volatile.Read(ref quoted))
                    {
                        continue; // drain: past the first error, or the file must be parsed on one thread
                    }
                    seg.Chunk = chunk.Index;
                    var baseLine = new Lazy<long>(() => chunk.BaseLine);
                    var error = ParseStream(seg, new MemoryStream(chunk.Bytes, 0, chunk.Length, writable: false), path, baseLine, sep, hasHeader: false, quoteFree: true, options.OnBadLine);
                    seg.EndChunk();
                    if (error is not null)
                    {
                        // Every chunk before this one was taken earlier and is parsed to its end.
                        errors.Add(error);
                        var seen = Volatile.Read(ref firstBad);
                        while (chunk.Index < seen && Interlocked.CompareExchange(ref firstBad, chunk.Index, seen) != seen)
                        {
                            seen = Volatile.Read(ref firstBad);
                        }
                    }
                }
                seg.Finish();
            })).ToArray();
            try
            {
                using var text = RawFiles.OpenText(path);
                var buffer = new byte[ChunkBytes];
                var filled = 0;
                long line = 0;
                var index = 0;
                var header = !headerless;
                while (Volatile.Read(ref firstBad) == int.MaxValue) // no error yet: later chunks are still needed
                {
                    if (filled == buffer.Length)
                    {
                        if (buffer.Length >= 64 << 20)
                        {
                            throw new DataFormatException(path, line + 1, null, LineTooLong);
                        }
                        Array.Resize(ref buffer, buffer.Length * 2); // a line longer than the chunk
                    }
                    // Fill the buffer (a decompressing stream hands out a few KiB a call), so chunks are ChunkBytes long.
                    var n = text.ReadAtLeast(buffer.AsSpan(filled), buffer.Length - filled, throwOnEndOfStream: false);
                    filled += n;
                    var end = n == 0 ? filled : buffer.AsSpan(0, filled).LastIndexOf((byte)'\n') + 1;
                    if (end <= 0)
                    {
                        if (n == 0)
                        {
                            break;
                        }
                        continue;
                    }
                    var start = 0;
                    if (header)
                    {
                        // The header was read already; the first chunk starts after it.
                        start = buffer.AsSpan(0, end).IndexOf((byte)'\n') + 1;
                        line = 1;
                        header = false;
                    }
                    var piece = buffer.AsSpan(start, end - start);
                    if (!headerless && piece.Contains((byte)'"'))
                    {
                        Volatile.Write(ref quoted, true);
                        break;
                    }
                    if (piece.Length > 0)
                    {
                        queue.Add((index++, piece.ToArray(), piece.Length, line));
                        line += piece.Count((byte)'\n');
                    }
                    buffer.AsSpan(end, filled - end).CopyTo(buffer);
                    filled -= end;
                    if (n == 0)
                    {
                        break;
                    }
                }
            }
            catch (InvalidDataException e)
            {
                Volatile.Write(ref firstBad, -1);
                errors.Add(new DataFormatException(path, 0, null, $"corrupt gzip stream: {e.Message}"));
            }
            finally
            {
                queue.CompleteAdding();
                Task.WaitAll(workers);
            }
            if (quoted)
            {
                foreach (var s in segments)
                {
                    s?.Dispose();
                }
                return null;
            }
            return Result(path, segments, errors);
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

    /// <summary>The parsed segments, or the first error in file order, or "no usable rows" / "empty file".</summary>
    private static List<Segment> Result(string path, Segment[] segments, IEnumerable<DataFormatException?> errors)
    {
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


}
