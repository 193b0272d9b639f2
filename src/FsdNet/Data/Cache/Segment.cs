using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace FsdNet.Data;

/// <summary>A problem with one row; turned into a <see cref="DataFormatException"/> with file and line by the caller.</summary>
internal sealed class RowException(string? field, string problem) : Exception(problem)
{
    public string? Field { get; } = field;
    public string Problem { get; } = problem;
}

/// <summary>
/// Parses one range of a raw file into provisional codes: each categorical/sequence field gets a per-segment
/// <see cref="TokenTable"/>; rows go into column blocks spilled to a temp file, so memory stays bounded.
/// </summary>
internal sealed class Segment : IDisposable
{
    public const int BlockRows = 1 << 16;

    private readonly FeatureMap map;
    private readonly FeatureInfo[] feats;
    private readonly int[] sourceCol;
    private readonly int labelCol;
    private readonly int expectedCols;
    private readonly bool labelOptional;
    private readonly bool headerless;
    private int shift;
    private readonly bool libFm;
    private readonly bool whiteSeparator;
    private readonly FeatureCodec[] codecs;
    private readonly double[] scratch;
    private readonly int[] catSlot;
    private readonly int[] numSlot;
    private readonly int[] seqSlot;
    private readonly int[] embSlot;
    private readonly float[][] embScratch;
    private readonly float[][] emb;
    private readonly FileStream spill;

    private readonly float[] labels = new float[BlockRows];
    private readonly long[] groups;
    private readonly int[][] cat;
    private readonly float[][] num;
    private readonly int[][] seqLen;
    private readonly IntBuffer[] seqTok;
    private int n;
    private long scratchGroup;

    public Segment(FeatureMap map, int[] sourceCol, int labelCol, int expectedCols, string spillPath, bool labelOptional = false)
    {
        this.labelOptional = labelOptional;
        this.map = map;
        feats = [.. map.Features];
        this.sourceCol = sourceCol;
        this.labelCol = labelCol;
        this.expectedCols = expectedCols;
        libFm = map.Format == DataFormat.LibFm;
        headerless = map.Format is DataFormat.LibFm or DataFormat.CriteoTsv;
        whiteSeparator = char.IsWhiteSpace(map.Separator);
        var f = feats.Length;
        codecs = [.. feats.Select(x => x.Codec)];
        scratch = new double[f];
        catSlot = new int[f];
        numSlot = new int[f];
        seqSlot = new int[f];
        embSlot = new int[f];
        embScratch = new float[f][];
        Tables = new TokenTable?[f];
        MaxSeqLen = new int[f];
        Stats = new double[f, 4];
        for (var j = 0; j < f; j++)
        {
            var fe = feats[j];
            if (codecs[j].FillProblem is { } fillProblem)
            {
                throw new DataConfigException($"feature '{fe.Name}': {fillProblem}");
            }
            catSlot[j] = numSlot[j] = seqSlot[j] = embSlot[j] = -1;
            switch (fe.Type)
            {
                case FeatureType.Categorical:
                    Tables[j] = new TokenTable(codecs[j].NumberKeyed);
                    catSlot[j] = CatCount++;
                    break;
                case FeatureType.Sequence:
                    Tables[j] = new TokenTable(false);
                    seqSlot[j] = SeqCount++;
                    break;
                case FeatureType.Embedding:
                    embSlot[j] = EmbCount++;
                    embScratch[j] = new float[fe.EmbeddingWidth];
                    break;
                case FeatureType.Numeric:
                    numSlot[j] = NumCount++;
                    Stats[j, 2] = double.PositiveInfinity;
                    Stats[j, 3] = double.NegativeInfinity;
                    break;
            }
        }
        HasGroup = map.HasGroupId;
        groups = HasGroup ? new long[BlockRows] : [];
        cat = [.. Enumerable.Range(0, CatCount).Select(_ => new int[BlockRows])];
        num = [.. Enumerable.Range(0, NumCount).Select(_ => new float[BlockRows])];
        seqLen = [.. Enumerable.Range(0, SeqCount).Select(_ => new int[BlockRows])];
        seqTok = [.. Enumerable.Range(0, SeqCount).Select(_ => new IntBuffer())];
        EmbDims = [.. feats.Where(x => x.Type == FeatureType.Embedding).Select(x => x.EmbeddingWidth)];
        emb = [.. EmbDims.Select(d => new float[BlockRows * d])];
        SpillPath = spillPath;
        spill = new FileStream(spillPath, FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1 << 20, FileOptions.DeleteOnClose);
    }

    public TokenTable?[] Tables { get; }
    public int[] MaxSeqLen { get; }

    /// <summary>Per numeric feature: sum, sum of squares, min, max (over filled train values).</summary>
    public double[,] Stats { get; }

    public long Rows { get; private set; }
    public int CatCount { get; }
    public int NumCount { get; }
    public int SeqCount { get; }
    public int EmbCount { get; }
    public int[] EmbDims { get; }
    public bool HasGroup { get; }
    public string SpillPath { get; }
    public BadLineReport BadLines { get; } = new();

    /// <summary>Lines holding only whitespace, skipped (not rows, not errors).</summary>
    public long BlankLines { get; private set; }
    /// <summary>Spilled blocks in parse order; <c>Chunk</c>: the piece of the file they came from (see <see cref="InFileOrder"/>).</summary>
    public List<(int Rows, long Offset, int[] SeqTotals, int Chunk)> Blocks { get; } = [];

    /// <summary>
    /// The piece of the file the next rows belong to. A segment that parses one byte range has one chunk (its range's
    /// index); the workers of a gzip stream parse interleaved chunks of lines into their segments, so a block
    /// records its chunk, and the file order is chunk order.
    /// </summary>
    public int Chunk { get; set; }

    /// <summary>Ends the current chunk: its last rows become a block of their own (the next chunk may belong elsewhere in the file).</summary>
    public void EndChunk()
    {
        if (n > 0)
        {
            Flush();
        }
    }

    /// <summary>Every block of <paramref name="segs"/> in file order: by chunk, then segment, then block.</summary>
    public static List<(int Segment, int Block)> InFileOrder(IReadOnlyList<Segment> segs) =>
        [.. segs.SelectMany((s, k) => s.Blocks.Select((b, i) => (Segment: k, Block: i, b.Chunk)))
            .OrderBy(x => x.Chunk).ThenBy(x => x.Segment).ThenBy(x => x.Block)
            .Select(x => (x.Segment, x.Block))];

    /// <summary>Parses and stores one row; throws <see cref="RowException"/> (before storing anything) when it is bad.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void AddRow<TRow>(scoped ref TRow row) where TRow : IRawRow, allows ref struct
    {
        var cols = row.ColCount;
        if (row.Col(0).IsWhiteSpace() && IsBlank(ref row))
        {
            BlankLines++; // skipped, as pandas does (skip_blank_lines)
            return;
        }
        if (libFm && cols > 1 && row.Col(cols - 1).IsEmpty)
        {
            cols--; // trailing space
        }
        // Scoring input may come without labels: a libFM line whose first token is idx:val, a headerless line one
        // column short, or (CSV) no label column at all (labelCol < 0); the label is then stored as NaN.
        shift = labelOptional && labelCol >= 0 && headerless && (libFm ? row.Col(0).Contains(':') : cols == expectedCols - 1) ? -1 : 0;
        if (cols != expectedCols + shift)
        {
            throw new RowException(null, libFm
                ? $"wrong number of fields: expected {(labelOptional ? "an optional label" : "a label")} and {expectedCols - 1} idx:val pairs, got {cols} items"
                : $"wrong number of fields: expected {expectedCols + shift}, got {cols}");
        }
        var label = labelCol < 0 || shift != 0 ? float.NaN
            : labelOptional && row.Col(labelCol).IsEmpty ? float.NaN
            : ParseLabel(row.Col(labelCol));
        // Phase 1: everything that can fail.
        for (var j = 0; j < feats.Length; j++)
        {
            var fe = feats[j];
            if (fe.Type == FeatureType.Categorical && !Tables[j]!.NumberKeyed && !libFm)
            {
                continue;
            }
            var s = Field(ref row, j);
            switch (fe.Type)
            {
                case FeatureType.Categorical:
                    if (Tables[j]!.NumberKeyed)
                    {
                        var v = ParseNumber(s, j);
                        scratch[j] = codecs[j].NumberToken(v);
                    }
                    break;
                case FeatureType.Numeric:
                    scratch[j] = ParseNumber(s, j);
                    break;
                case FeatureType.Meta:
                    scratchGroup = FeatureCodec.GroupId(codecs[j].TextToken(s));
                    break;
                case FeatureType.Embedding:
                    if (codecs[j].ParseVector(s, embScratch[j]) is { } bad)
                    {
                        throw new RowException(fe.Name, bad);
                    }
                    break;
            }
        }
        // Phase 2: store.
        labels[n] = label;
        if (HasGroup)
        {
            groups[n] = scratchGroup;
        }
        for (var j = 0; j < feats.Length; j++)
        {
            switch (feats[j].Type)
            {
                case FeatureType.Categorical:
                {
                    var t = Tables[j]!;
                    if (t.NumberKeyed)
                    {
                        cat[catSlot[j]][n] = t.Add(scratch[j]);
                    }
                    else
                    {
                        var s = Field(ref row, j);
                        cat[catSlot[j]][n] = t.Add(codecs[j].TextToken(s));
                    }
                    break;
                }
                case FeatureType.Numeric:
                {
                    var v = scratch[j];
                    num[numSlot[j]][n] = (float)v;
                    Stats[j, 0] += v;
                    Stats[j, 1] += v * v;
                    Stats[j, 2] = Math.Min(Stats[j, 2], v);
                    Stats[j, 3] = Math.Max(Stats[j, 3], v);
                    break;
                }
                case FeatureType.Sequence:
                    AddSequence(j, Field(ref row, j));
                    break;
                case FeatureType.Embedding:
                {
                    var d = embScratch[j].Length;
                    embScratch[j].CopyTo(emb[embSlot[j]].AsSpan(n * d, d));
                    break;
                }
            }
        }
        if (++n == BlockRows)
        {
            Flush();
        }
    }

    /// <summary>
    /// A line holding only whitespace: one column (any separator), or only empty/whitespace columns when the separator
    /// itself is whitespace (libFM, space- or tab-separated files). <c>,,</c> in a CSV is a row of empty cells, not blank.
    /// </summary>
    private bool IsBlank<TRow>(scoped ref TRow row) where TRow : IRawRow, allows ref struct
    {
        if (row.ColCount == 1)
        {
            return true;
        }
        if (!whiteSeparator)
        {
            return false;
        }
        for (var i = 1; i < row.ColCount; i++)
        {
            if (!row.Col(i).IsWhiteSpace())
            {
                return false;
            }
        }
        return true;
    }

    private void AddSequence(int j, ReadOnlySpan<char> s)
    {
        var t = Tables[j]!;
        var buf = seqTok[seqSlot[j]];
        var codec = codecs[j];
        // Local ids; -1 = padding (the fill_na token). The codec's tokens are Python's str.split (a trailing splitter
        // gives an empty last token).
        var tokens = new TextTokens(s, feats[j].Splitter);
        var len = s.IsEmpty ? 0 : tokens.Count;
        for (var i = 0; i < len; i++)
        {
            var tok = tokens.Next();
            buf.Add(codec.IsPadding(tok) ? -1 : t.Add(tok));
        }
        seqLen[seqSlot[j]][n] = len;
        if (len > MaxSeqLen[j])
        {
            MaxSeqLen[j] = len;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ReadOnlySpan<char> Field<TRow>(scoped ref TRow row, int j) where TRow : IRawRow, allows ref struct
    {
        var s = row.Col(sourceCol[j] + shift);
        if (!libFm)
        {
            return s;
        }
        var i = s.IndexOf(':');
        if (i <= 0)
        {
            throw new RowException(feats[j].Name, $"token is not idx:val: '{Clip(s)}'");
        }
        var val = s[(i + 1)..];
        if (!FeatureCodec.TryParseDouble(val, out var v))
        {
            throw new RowException(feats[j].Name, $"token is not idx:val: value '{Clip(val)}' is not a number");
        }
        if (!double.IsFinite(v))
        {
            throw new RowException(feats[j].Name, $"NaN/Inf not allowed: value '{Clip(val)}'");
        }
        return s[..i];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private double ParseNumber(ReadOnlySpan<char> s, int j)
    {
        var codec = codecs[j];
        return codec.TryParseNumber(s, out var v) ? v : throw new RowException(feats[j].Name, codec.NumberProblem(s));
    }

    private float ParseLabel(ReadOnlySpan<char> s)
    {
        if (s.Length == 1)
        {
            if (s[0] == '1')
            {
                return 1f;
            }
            if (s[0] == '0')
            {
                return 0f;
            }
        }
        if (s.Length == 2 && s[0] == '-' && s[1] == '1')
        {
            return 0f;
        }
        if (s.IsEmpty)
        {
            throw new RowException(map.LabelName, "label is empty");
        }
        if (!FeatureCodec.TryParseDouble(s, out var v))
        {
            throw new RowException(map.LabelName, $"label is not a number: '{Clip(s)}'");
        }
        return v switch
        {
            1 => 1f,
            0 or -1 => 0f,
            _ => throw new RowException(map.LabelName, $"label outside {{0,1,-1}}: '{Clip(s)}'"),
        };
    }

    private static string Clip(ReadOnlySpan<char> s) => FeatureCodec.Clip(s);

    public void Finish()
    {
        if (n > 0)
        {
            Flush();
        }
        spill.Flush();
    }

    private void Flush()
    {
        var offset = spill.Position;
        spill.Write(MemoryMarshal.AsBytes(labels.AsSpan(0, n)));
        if (HasGroup)
        {
            spill.Write(MemoryMarshal.AsBytes(groups.AsSpan(0, n)));
        }
        foreach (var c in cat)
        {
            spill.Write(MemoryMarshal.AsBytes(c.AsSpan(0, n)));
        }
        foreach (var c in num)
        {
            spill.Write(MemoryMarshal.AsBytes(c.AsSpan(0, n)));
        }
        var totals = new int[SeqCount];
        for (var s = 0; s < SeqCount; s++)
        {
            spill.Write(MemoryMarshal.AsBytes(seqLen[s].AsSpan(0, n)));
            totals[s] = seqTok[s].Count;
            spill.Write(MemoryMarshal.AsBytes(seqTok[s].Span));
            seqTok[s].Clear();
        }
        for (var e = 0; e < EmbCount; e++)
        {
            spill.Write(MemoryMarshal.AsBytes(emb[e].AsSpan(0, n * EmbDims[e])));
        }
        Blocks.Add((n, offset, totals, Chunk));
        Rows += n;
        n = 0;
    }

    /// <summary>Reads numeric column <paramref name="slot"/> of spilled block <paramref name="b"/> (raw, before normalising).</summary>
    public void ReadNumeric(int b, int slot, float[] dst)
    {
        var (rows, offset, _, _) = Blocks[b];
        var pos = offset + (rows * 4L) + (HasGroup ? rows * 8L : 0) + (CatCount * rows * 4L) + (slot * rows * 4L);
        var bytes = MemoryMarshal.AsBytes(dst.AsSpan(0, rows));
        while (bytes.Length > 0)
        {
            var k = RandomAccess.Read(spill.SafeFileHandle, bytes, pos);
            if (k <= 0)
            {
                throw new IOException($"spill file {SpillPath} is shorter than expected");
            }
            pos += k;
            bytes = bytes[k..];
        }
    }

    /// <summary>Position of feature <paramref name="j"/> among numeric features (-1 if not numeric).</summary>
    public int NumericSlot(int j) => numSlot[j];

    /// <summary>Reads a spilled block back into the given buffers (same shapes as the writer's).</summary>
    public void ReadBlock(int b, float[] lab, long[] grp, int[][] c, float[][] nu, int[][] sl, int[][] st, float[][] em)
    {
        var (rows, offset, totals, _) = Blocks[b];
        var h = spill.SafeFileHandle;
        var pos = offset;
        void Read<T>(Span<T> dst) where T : struct
        {
            var bytes = MemoryMarshal.AsBytes(dst);
            while (bytes.Length > 0)
            {
                var k = RandomAccess.Read(h, bytes, pos);
                if (k <= 0)
                {
                    throw new IOException($"spill file {SpillPath} is shorter than expected");
                }
                pos += k;
                bytes = bytes[k..];
            }
        }
        Read(lab.AsSpan(0, rows));
        if (HasGroup)
        {
            Read(grp.AsSpan(0, rows));
        }
        for (var i = 0; i < CatCount; i++)
        {
            Read(c[i].AsSpan(0, rows));
        }
        for (var i = 0; i < NumCount; i++)
        {
            Read(nu[i].AsSpan(0, rows));
        }
        for (var s = 0; s < SeqCount; s++)
        {
            Read(sl[s].AsSpan(0, rows));
            if (st[s].Length < totals[s])
            {
                st[s] = new int[Math.Max(totals[s], st[s].Length * 2)];
            }
            Read(st[s].AsSpan(0, totals[s]));
        }
        for (var e = 0; e < EmbCount; e++)
        {
            Read(em[e].AsSpan(0, rows * EmbDims[e]));
        }
    }

    public void Dispose() => spill.Dispose();
}
