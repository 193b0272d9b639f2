using System.Globalization;
using System.Runtime.CompilerServices;

namespace FsdNet.Data;

/// <summary>
/// How a raw value of one feature becomes model input: the one definition of the rules, read from the fitted
/// <see cref="FeatureInfo"/> into typed fields once. Every path that encodes calls it: cache building
/// (<see cref="Segment"/>, <see cref="CacheWriter"/>), <see cref="FeatureMap.EncodeRow(Func{string, string?}, Span{int}, Span{float}, Span{int}, Span{float}, out long)"/>,
/// the Scorer's row batches (and so the HTTP server) and the ONNX encoder JSON.
/// <list type="bullet">
/// <item>A missing value (empty text) takes <c>fill_na</c>: its token, or for numbers its value (0 when none).</item>
/// <item>Categorical tokens of a numeric dtype, or with <c>convert_to_bucket</c>, are numbers: "260", "260.0" and
/// "2.6e2" are one token. Tokens not in the vocabulary (unseen, or rarer than <c>min_categr_count</c>) are OOV.</item>
/// <item>Numeric values are scaled by the fitted normaliser.</item>
/// <item>Sequences split on <c>splitter</c> (a trailing splitter gives an empty last token, as Python's str.split);
/// the fill_na token is padding (0); max_len keeps the first (post) or last (pre) tokens.</item>
/// <item>Embedding vectors are <c>pretrain_dim</c> finite numbers joined by the splitter.</item>
/// </list>
/// The methods that can fail return the problem as text (null when fine), so each caller raises its own error type
/// with its own place (file and line, request row). Thread-safe after construction: lookups are only read.
/// </summary>
internal sealed class FeatureCodec
{
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> strings;
    private readonly Dictionary<long, int> numbers;
    private readonly string naToken;
    /// <summary><c>hash_buckets</c> N: codes are 1 + FNV-1a 64 mod N instead of a vocabulary lookup; 0 for a vocabulary.</summary>
    private readonly ulong buckets;
    private readonly bool explicitNumberFill;

    public FeatureCodec(FeatureInfo info)
    {
        Info = info;
        Type = info.Type;
        Bucket = info.Type == FeatureType.Categorical && info.Preprocess == EncodingNames.ConvertToBucket;
        NumberKeyed = info.Type == FeatureType.Categorical && (info.IsNumberToken || Bucket);
        Padding = info.Padding;
        MaxLen = info.MaxLen;
        Splitter = info.Splitter;
        NaToken = naToken = info.FillNa ?? "";
        OovIdx = info.OovIdx;
        buckets = (ulong)(info.Type is FeatureType.Categorical or FeatureType.Sequence ? info.HashBuckets ?? 0 : 0);
        explicitNumberFill = NumberKeyed && info.FillNa is not null;
        Scaler = info.Type == FeatureType.Numeric ? info.Normalizer : Scaler.None;
        (Shift, Scale) = Scaler switch
        {
            Scaler.StandardScaler => (info.NormA, info.NormB == 0 ? 1 : info.NormB),
            Scaler.MinMaxScaler => (info.NormA, info.NormB - info.NormA == 0 ? 1 : info.NormB - info.NormA),
            _ => (0.0, 1.0),
        };
        var vocab = info.Type is FeatureType.Categorical or FeatureType.Sequence ? info.Vocab : [];
        var byText = new Dictionary<string, int>(vocab.Count, StringComparer.Ordinal);
        numbers = new Dictionary<long, int>(NumberKeyed ? vocab.Count : 0);
        for (var i = 0; i < vocab.Count; i++)
        {
            byText[vocab[i]] = i + 1;
            if (NumberKeyed)
            {
                numbers[NumberKey(double.Parse(vocab[i], NumberStyles.Float, CultureInfo.InvariantCulture))] = i + 1;
            }
        }
        strings = byText.GetAlternateLookup<ReadOnlySpan<char>>();

        if (NumberKeyed || Type == FeatureType.Numeric)
        {
            var fill = info.FillNa ?? "0";
            if (!TryParseDouble(fill, out var v))
            {
                FillProblem = $"fill_na '{Clip(fill)}' is not a number but the column is numeric";
            }
            else if (!double.IsFinite(v))
            {
                FillProblem = $"fill_na '{Clip(fill)}' is not finite (NaN/Inf not allowed)";
            }
            else
            {
                FillNumber = v;
            }
        }
        switch (Type)
        {
            case FeatureType.Categorical:
                MissingCode = NumberKeyed ? (FillProblem is null ? NumberCode(FillNumber) : OovIdx) : Code(NaToken);
                break;
            case FeatureType.Numeric:
                MissingNumber = FillProblem is null ? Normalize((float)FillNumber) : 0;
                MissingProblem = FillProblem is null ? null : "missing, and its " + FillProblem;
                break;
            case FeatureType.Embedding:
                MissingProblem = $"missing: embedding vector has 0 values, pretrain_dim is {info.EmbeddingWidth}";
                break;
        }
    }

    public FeatureInfo Info { get; }

    public FeatureType Type { get; }

    /// <summary>A categorical feature whose tokens are numbers (numeric dtype or <c>convert_to_bucket</c>).</summary>
    public bool NumberKeyed { get; }

    /// <summary>FuxiCTR's <c>convert_to_bucket</c> on a categorical number.</summary>
    public bool Bucket { get; }

    public SequencePadding Padding { get; }

    public int MaxLen { get; }

    public string Splitter { get; }

    /// <summary>The fill_na text ("" when none): a missing categorical's token, and a sequence token that is padding.</summary>
    public string NaToken { get; }

    public int OovIdx { get; }


    public Scaler Scaler { get; }

    /// <summary>value' = (value - Shift) / Scale (0 and 1 without a normaliser; Scale is 1 where the fitted spread is 0).</summary>
    public double Shift { get; }

    public double Scale { get; }

    /// <summary>The value of a missing number (numeric and number-keyed features): fill_na, else 0.</summary>
    public double FillNumber { get; }

    /// <summary>Why fill_na cannot stand for a missing number; null when it can.</summary>
    public string? FillProblem { get; }

    /// <summary>The code of a missing categorical value.</summary>
    public int MissingCode { get; }

    /// <summary>The normalised value of a missing numeric value.</summary>
    public float MissingNumber { get; }

    /// <summary>Why a missing value cannot be encoded (an embedding vector, a numeric fill_na that is not a number); else null.</summary>
    public string? MissingProblem { get; }

    // ---- raw text to token (needs no vocabulary: the cache's first pass uses these before fitting) ----

    /// <summary>A categorical number as a token: convert_to_bucket applied.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public double NumberToken(double v) => Bucket ? ConvertToBucket(v) : v;

    /// <summary>A number cell (numeric or number-keyed categorical): empty = fill_na; else it must parse and be finite.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryParseNumber(ReadOnlySpan<char> text, out double v)
    {
        if (text.IsEmpty)
        {
            v = FillNumber;
            return FillProblem is null;
        }
        return TryParseDouble(text, out v) && double.IsFinite(v);
    }

    /// <summary>Why <see cref="TryParseNumber"/> refused <paramref name="text"/>.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public string NumberProblem(ReadOnlySpan<char> text) =>
        text.IsEmpty ? FillProblem ?? "missing"
        : !TryParseDouble(text, out _) ? $"non-numeric value in a numeric column: '{Clip(text)}'"
        : $"NaN/Inf not allowed: '{Clip(text)}'";

    /// <summary><see cref="TryParseNumber"/> with the problem as text (null when fine).</summary>
    public string? ParseNumber(ReadOnlySpan<char> text, out double v) => TryParseNumber(text, out v) ? null : NumberProblem(text);

    /// <summary>A string-keyed categorical cell as its token: empty = the fill_na token.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ReadOnlySpan<char> TextToken(ReadOnlySpan<char> text) => text.IsEmpty ? naToken : text;

    /// <summary>Whether a sequence token is padding (the fill_na token; "" when none).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool IsPadding(ReadOnlySpan<char> token) => token.SequenceEqual(NaToken);

    /// <summary>
    /// Which tokens of a sequence of <paramref name="count"/> are kept and where they go: post keeps the first
    /// max_len and pads at the end, pre keeps the last max_len and pads at the front.
    /// </summary>
    public (int Skip, int Offset, int Keep) Window(int count)
    {
        var keep = Math.Min(count, MaxLen);
        return Padding == SequencePadding.Pre ? (count - keep, MaxLen - keep, keep) : (0, 0, keep);
    }

    /// <summary>
    /// A vector of exactly pretrain_dim finite numbers joined by the splitter (each trimmed) into <paramref name="dst"/>;
    /// the problem when it is not one.
    /// </summary>
    public string? ParseVector(ReadOnlySpan<char> s, Span<float> dst)
    {
        var split = Splitter.AsSpan();
        var count = 0;
        while (!s.IsEmpty)
        {
            var i = split.IsEmpty ? -1 : s.IndexOf(split);
            if (count < dst.Length && ParseVectorValue(count, i < 0 ? s : s[..i], out dst[count]) is { } problem)
            {
                return problem;
            }
            count++;
            if (i < 0)
            {
                break;
            }
            s = s[(i + split.Length)..];
        }
        return count == dst.Length ? null : VectorLengthProblem(count);
    }

    /// <summary>Value <paramref name="i"/> of an embedding vector (trimmed): a finite number, else the problem.</summary>
    public static string? ParseVectorValue(int i, ReadOnlySpan<char> text, out float value)
    {
        var tok = text.Trim();
        if (!TryParseDouble(tok, out var v) || !double.IsFinite(v))
        {
            value = 0;
            return $"embedding value {i} is not a finite number: '{Clip(tok)}'";
        }
        value = (float)v;
        return null;
    }

    public string VectorLengthProblem(int count) => $"embedding vector has {count} values, pretrain_dim is {Info.EmbeddingWidth}";

    // ---- token to code (the fitted vocabulary) ----

    /// <summary>The code of a string token: 1..n when known, else OOV (hashed: its bucket; the fill_na token is OOV).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Code(ReadOnlySpan<char> token) =>
        buckets != 0 ? HashedCode(token) : strings.TryGetValue(token, out var i) ? i : OovIdx;

    /// <summary>The code of a number token (after <see cref="NumberToken"/>): 1..n when known, else OOV (hashed: its bucket).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Code(double token) =>
        buckets != 0 ? HashedCode(token) : numbers.TryGetValue(NumberKey(token), out var i) ? i : OovIdx;

    private int HashedCode(ReadOnlySpan<char> token) =>
        token.SequenceEqual(naToken) ? OovIdx : 1 + (int)(HashUtf8(token) % buckets);

    private int HashedCode(double token) =>
        explicitNumberFill && token == FillNumber ? OovIdx : 1 + (int)(HashNumber(token) % buckets);

    private const ulong FnvOffset = 14695981039346656037UL, FnvPrime = 1099511628211UL;

    /// <summary>FNV-1a 64 of a token's UTF-8 bytes (hash_buckets of string tokens).</summary>
    public static ulong HashUtf8(ReadOnlySpan<char> token)
    {
        var h = FnvOffset;
        Span<byte> utf8 = stackalloc byte[4];
        for (var i = 0; i < token.Length; i++)
        {
            var c = token[i];
            if (c < 0x80)
            {
                h = (h ^ c) * FnvPrime;
                continue;
            }
            // A surrogate pair is one code point (4 bytes); a lone surrogate is U+FFFD, as UTF-8 encoders write it.
            var rune = char.IsHighSurrogate(c) && i + 1 < token.Length && char.IsLowSurrogate(token[i + 1])
                ? new System.Text.Rune(c, token[++i])
                : System.Text.Rune.TryCreate(c, out var r) ? r : System.Text.Rune.ReplacementChar;
            var n = rune.EncodeToUtf8(utf8);
            for (var k = 0; k < n; k++)
            {
                h = (h ^ utf8[k]) * FnvPrime;
            }
        }
        return h;
    }

    /// <summary>FNV-1a 64 of a number token's IEEE-754 double, 8 bytes little-endian, -0 as 0 (hash_buckets of number tokens).</summary>
    public static ulong HashNumber(double v)
    {
        var bits = (ulong)NumberKey(v);
        var h = FnvOffset;
        for (var k = 0; k < 8; k++)
        {
            h = (h ^ ((bits >> (8 * k)) & 0xFF)) * FnvPrime;
        }
        return h;
    }

    /// <summary>A categorical number as served: bucketed and looked up; a non-finite number is OOV.</summary>
    public int NumberCode(double v) => double.IsFinite(v) ? Code(NumberToken(v)) : OovIdx;

    /// <summary>
    /// A categorical cell as served: empty = <see cref="MissingCode"/>; a number-keyed token that is not a finite
    /// number is OOV (the cache refuses such a line instead).
    /// </summary>
    public int CategoricalCode(ReadOnlySpan<char> text)
    {
        if (text.IsEmpty)
        {
            return MissingCode;
        }
        if (NumberKeyed)
        {
            return TryParseDouble(text, out var v) ? NumberCode(v) : OovIdx;
        }
        return Code(text);
    }

    /// <summary>A numeric value scaled by the fitted normaliser (computed in double, stored as float).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Normalize(float v) => Scaler == Scaler.None ? v : (float)((v - Shift) / Scale);

    /// <summary>
    /// Encodes a sequence's tokens into <paramref name="dst"/> (max_len codes, cleared first); returns whether a token
    /// was OOV.
    /// </summary>
    public bool EncodeSequence<TTokens>(TTokens tokens, Span<int> dst)
        where TTokens : ITokens, allows ref struct
    {
        dst.Clear();
        var (skip, off, keep) = Window(tokens.Count);
        var oov = false;
        for (var i = 0; i < skip + keep; i++)
        {
            var tok = tokens.Next();
            if (i < skip)
            {
                continue;
            }
            var code = IsPadding(tok) ? 0 : Code(tok);
            oov |= code == OovIdx;
            dst[off + i - skip] = code;
        }
        return oov;
    }

    // ---- shared number rules ----

    /// <summary>FuxiCTR's convert_to_bucket: v &gt; 2 -> floor(ln(v)^2), else int(v).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double ConvertToBucket(double v) => v > 2 ? Math.Floor(Math.Log(v) * Math.Log(v)) : Math.Truncate(v);

    /// <summary>The dictionary key of a number token: its bits, with -0 as 0.</summary>
    public static long NumberKey(double d) => BitConverter.DoubleToInt64Bits(d == 0 ? 0.0 : d);

    /// <summary>How a number token is written in the vocabulary (round-trip invariant format).</summary>
    public static string NumberText(double d) => d.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>A meta value as a group id: the integer itself, else a 63-bit FNV-1a hash of the text.</summary>
    public static long GroupId(ReadOnlySpan<char> s)
    {
        if (long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v))
        {
            return v;
        }
        var h = 14695981039346656037UL;
        foreach (var c in s)
        {
            h = (h ^ c) * 1099511628211UL;
        }
        return (long)(h >> 1);
    }

    /// <summary>
    /// A number as the data may write it ("1", "1.0", "1e0", "-3"); Python's nan/inf spellings parse as NaN so they
    /// are reported as non-finite rather than as text; surrounding whitespace or a NUL is not a number.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool TryParseDouble(ReadOnlySpan<char> s, out double v)
    {
        // Fast path for plain (optionally negative) integers, the common case in CTR data.
        if (s.Length is > 0 and < 16)
        {
            var neg = s[0] == '-';
            var i = neg ? 1 : 0;
            if (i < s.Length)
            {
                long acc = 0;
                for (; i < s.Length; i++)
                {
                    var d = (uint)(s[i] - '0');
                    if (d > 9)
                    {
                        goto Slow;
                    }
                    acc = acc * 10 + d;
                }
                v = neg ? -acc : acc;
                return true;
            }
        }
    Slow:
        // .NET's parser ignores trailing NUL characters ("1\0" reads as 1); a NUL is never part of a number here.
        if (s.Length > 0 && (char.IsWhiteSpace(s[0]) || char.IsWhiteSpace(s[^1]) || s.Contains('\0')))
        {
            v = 0;
            return false;
        }
        if (double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out v))
        {
            return true;
        }
        var t = s.TrimStart("+-");
        if (t.Equals("nan", StringComparison.OrdinalIgnoreCase) || t.Equals("inf", StringComparison.OrdinalIgnoreCase) ||
            t.Equals("infinity", StringComparison.OrdinalIgnoreCase))
        {
            v = double.NaN;
            return true;
        }
        return false;
    }

    /// <summary>A value cut to 40 characters for an error message.</summary>
    public static string Clip(ReadOnlySpan<char> s) => s.Length <= 40 ? s.ToString() : string.Concat(s[..40], "...");
}

/// <summary>The tokens of one sequence value, in order.</summary>
internal interface ITokens
{
    int Count { get; }

    ReadOnlySpan<char> Next();
}

/// <summary>The tokens of a splitter-joined text, as Python's <c>str.split</c> gives them (a trailing splitter gives an empty last token).</summary>
internal ref struct TextTokens : ITokens
{
    private readonly ReadOnlySpan<char> splitter;
    private ReadOnlySpan<char> rest;

    public TextTokens(ReadOnlySpan<char> text, string splitter)
    {
        this.splitter = splitter;
        rest = text;
        Count = splitter.Length == 0 ? 1 : text.Count(splitter.AsSpan()) + 1;
    }

    public int Count { get; }

    public ReadOnlySpan<char> Next()
    {
        var cut = splitter.IsEmpty ? -1 : rest.IndexOf(splitter);
        var tok = cut < 0 ? rest : rest[..cut];
        rest = cut < 0 ? [] : rest[(cut + splitter.Length)..];
        return tok;
    }
}

/// <summary>The tokens of a sequence given as a list.</summary>
internal ref struct ListTokens(ReadOnlySpan<string> tokens) : ITokens
{
    private readonly ReadOnlySpan<string> tokens = tokens;
    private int next;

    public readonly int Count => tokens.Length;

    public ReadOnlySpan<char> Next() => tokens[next++].AsSpan();
}
