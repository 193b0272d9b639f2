using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using FsdNet.Data;
using FsdNet.Serving;

namespace FsdNet.Server;

/// <summary>A request the server answers with a 4xx: the status, a message, and where (row, field, JSON position).</summary>
internal sealed class RequestException(int status, string message, int? row = null, string? field = null, long? line = null, long? position = null)
    : Exception(message)
{
    public int Status { get; } = status;

    public int? Row { get; } = row;

    public string? Field { get; } = field;

    public long? Line { get; } = line;

    public long? Position { get; } = position;
}

/// <summary>The reusable per-request state of one <c>POST /v1/predict</c>: a row batch, its outputs and parse buffers.</summary>
internal sealed class PredictContext
{
    public PredictContext(Scorer scorer, int capacity, int tier)
    {
        Batch = scorer.CreateBatch(capacity);
        Probabilities = new float[capacity];
        Seen = new int[scorer.Inputs.Count];
        Tier = tier;
    }

    public RowBatch Batch { get; }

    public float[] Probabilities { get; }

    public int Tier { get; }

    /// <summary>Per input, the <see cref="Stamp"/> of the last row that gave it (duplicate keys).</summary>
    public int[] Seen { get; }

    public int Stamp { get; set; }

    public string[] Tokens { get; set; } = new string[16];

    public char[] Name { get; set; } = new char[64];

    public char[] Text { get; set; } = new char[256];

    public double[] Vector { get; set; } = new double[16];

    public Utf8JsonWriter? Writer { get; set; }

    public int? Head { get; set; }

    public void Reset()
    {
        Batch.Clear();
        Array.Clear(Tokens);
        Head = null;
    }
}

/// <summary>
/// Pools of <see cref="PredictContext"/> by capacity tier, so steady-state requests reuse their row batches instead
/// of allocating one per request. A request takes the smallest tier that holds its rows.
/// </summary>
internal sealed class ContextPool
{
    private readonly Scorer scorer;
    private readonly int[] capacities;
    private readonly int[] retainLimit;
    private readonly int[] retained;
    private readonly ConcurrentBag<PredictContext>[] bags;
    private int created;

    public ContextPool(Scorer scorer, int maxRows)
    {
        this.scorer = scorer;
        capacities = [.. new[] { 16, 256, maxRows }.Where(c => c <= maxRows).Distinct().Order()];
        // Small batches are cheap to keep (one per concurrent request); the largest (maxRows) only a few.
        retainLimit = [.. capacities.Select(c => c <= 256 ? 256 : Math.Max(2, Environment.ProcessorCount))];
        retained = new int[capacities.Length];
        bags = [.. capacities.Select(_ => new ConcurrentBag<PredictContext>())];
    }

    public PredictContext Rent(int rows)
    {
        var t = 0;
        while (capacities[t] < rows)
        {
            t++;
        }
        if (bags[t].TryTake(out var ctx))
        {
            Interlocked.Decrement(ref retained[t]);
            return ctx;
        }
        Interlocked.Increment(ref created);
        return new PredictContext(scorer, capacities[t], t);
    }

    /// <summary>Contexts (row batches) made so far; flat in steady state.</summary>
    public int Created => Volatile.Read(ref created);

    public void Return(PredictContext ctx)
    {
        ctx.Reset();
        if (Interlocked.Increment(ref retained[ctx.Tier]) <= retainLimit[ctx.Tier])
        {
            bags[ctx.Tier].Add(ctx);
        }
        else
        {
            Interlocked.Decrement(ref retained[ctx.Tier]);
        }
    }
}

/// <summary>
/// Reads a <c>POST /v1/predict</c> body, <c>{"rows": [{"column": value, ...}, ...], "head": k}</c>, straight into a
/// <see cref="RowBatch"/> with <see cref="Utf8JsonReader"/> (no object model). Values: strings and numbers as in the
/// training data, arrays (of strings or numbers) for sequence and embedding features, null for missing.
/// </summary>
internal sealed class PredictParser
{
    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = 64, CommentHandling = JsonCommentHandling.Disallow };

    private readonly Scorer scorer;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> columns;

    public PredictParser(Scorer scorer)
    {
        this.scorer = scorer;
        var index = scorer.Inputs.Select((c, i) => (c.Name, i)).ToDictionary(t => t.Name, t => t.i, StringComparer.Ordinal);
        columns = index.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>
    /// First pass: checks the whole body is well-formed JSON and counts the rows of its top-level <c>rows</c> array
    /// (a 413 as soon as they pass <paramref name="maxRows"/>).
    /// </summary>
    public static int CountRows(ReadOnlySpan<byte> body, int maxRows)
    {
        var reader = new Utf8JsonReader(body, ReaderOptions);
        var rows = 0;
        var current = 0;
        var inRows = false;
        var lastWasRows = false;
        try
        {
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.PropertyName:
                        if (reader.CurrentDepth == 1)
                        {
                            lastWasRows = reader.ValueTextEquals("rows"u8);
                        }
                        break;
                    case JsonTokenType.StartArray when reader.CurrentDepth == 1 && lastWasRows:
                        inRows = true;
                        current = 0;
                        break;
                    case JsonTokenType.EndArray when reader.CurrentDepth == 1 && inRows:
                        inRows = false;
                        break;
                    case JsonTokenType.EndArray or JsonTokenType.EndObject:
                        break;
                    default:
                        if (inRows && reader.CurrentDepth == 2 && ++current > maxRows)
                        {
                            throw new RequestException(413, $"too many rows: at most {maxRows} per request (split the request, or start the server with a higher --max-rows).", field: "rows");
                        }
                        rows = Math.Max(rows, current);
                        break;
                }
            }
        }
        catch (JsonException e)
        {
            throw Malformed(e);
        }
        return rows;
    }

    private static RequestException Malformed(JsonException e)
    {
        var reason = e.Message;
        foreach (var tail in (ReadOnlySpan<string>)[" LineNumber:", " Change the reader options", " Path:"])
        {
            var cut = reason.IndexOf(tail, StringComparison.Ordinal);
            if (cut > 0)
            {
                reason = reason[..cut];
            }
        }
        var line = (e.LineNumber ?? 0) + 1;
        var position = (e.BytePositionInLine ?? 0) + 1;
        return new RequestException(400, $"malformed JSON at line {line}, byte {position}: {reason.TrimEnd()}", line: line, position: position);
    }

    /// <summary>Second pass (on a body <see cref="CountRows"/> accepted): fills the batch; returns the requested head.</summary>
    public int? Fill(ReadOnlySpan<byte> body, PredictContext ctx)
    {
        var reader = new Utf8JsonReader(body, ReaderOptions);
        try
        {
            reader.Read();
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                throw new RequestException(400, "the request must be a JSON object: {\"rows\": [{\"column\": value, ...}, ...], \"head\": k (optional)}.");
            }
            var seenRows = false;
            var seenHead = false;
            int? head = null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("rows"u8))
                {
                    if (seenRows)
                    {
                        throw new RequestException(400, "\"rows\" is given twice.", field: "rows");
                    }
                    seenRows = true;
                    reader.Read();
                    ReadRows(ref reader, ctx);
                }
                else if (reader.ValueTextEquals("head"u8))
                {
                    if (seenHead)
                    {
                        throw new RequestException(400, "\"head\" is given twice.", field: "head");
                    }
                    seenHead = true;
                    reader.Read();
                    head = reader.TokenType switch
                    {
                        JsonTokenType.Null => null,
                        JsonTokenType.Number when reader.TryGetInt32(out var h) => h,
                        _ => throw new RequestException(400, "\"head\" must be an integer (a 0-based FSD head) or null (the model's prediction).", field: "head"),
                    };
                }
                else
                {
                    var name = reader.GetString();
                    throw new RequestException(400, $"unknown field '{name}' (a request has \"rows\" and optionally \"head\").", field: name);
                }
            }
            if (!seenRows)
            {
                throw new RequestException(400, "\"rows\" is missing: {\"rows\": [{\"column\": value, ...}, ...]}.", field: "rows");
            }
            return head;
        }
        catch (JsonException e)
        {
            // Not expected after CountRows accepted the body; still a client error.
            throw Malformed(e);
        }
        catch (InvalidOperationException e)
        {
            // Utf8JsonReader checks UTF-8 only when a string is decoded (GetString, CopyString): say where that string starts.
            var at = (int)Math.Min(reader.TokenStartIndex, body.Length);
            var before = body[..at];
            var line = before.Count((byte)'\n') + 1L;
            var position = at - (before.LastIndexOf((byte)'\n') + 1) + 1L;
            throw new RequestException(400, $"malformed JSON at line {line}, byte {position}: {e.Message.TrimEnd('.')} (a string that is not valid UTF-8?).", line: line, position: position);
        }
    }

    private void ReadRows(ref Utf8JsonReader reader, PredictContext ctx)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw new RequestException(400, $"\"rows\" must be an array of row objects, got {Describe(reader.TokenType)}.", field: "rows");
        }
        var batch = ctx.Batch;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            var row = batch.Count;
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                throw new RequestException(400, $"row {row}: a row must be an object of column: value, got {Describe(reader.TokenType)}.", row);
            }
            batch.AddRow();
            if (ctx.Stamp == int.MaxValue)
            {
                Array.Clear(ctx.Seen);
                ctx.Stamp = 0;
            }
            var stamp = ++ctx.Stamp;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var input = Column(ref reader, ctx, row);
                reader.Read();
                if (input < 0)
                {
                    reader.Skip(); // the label or a meta column: accepted and not scored
                    continue;
                }
                if (ctx.Seen[input] == stamp)
                {
                    throw new RequestException(400, $"row {row}, field '{scorer.Inputs[input].Name}': given twice.", row, scorer.Inputs[input].Name);
                }
                ctx.Seen[input] = stamp;
                ReadValue(ref reader, ctx, row, scorer.Inputs[input]);
            }
        }
    }

    /// <summary>The input index of the property under the reader, -1 for a column that is read and ignored (label, meta).</summary>
    private int Column(ref Utf8JsonReader reader, PredictContext ctx, int row)
    {
        var need = reader.ValueSpan.Length;
        if (ctx.Name.Length < need)
        {
            ctx.Name = new char[Math.Max(need, ctx.Name.Length * 2)];
        }
        var n = reader.CopyString(ctx.Name);
        if (columns.TryGetValue(ctx.Name.AsSpan(0, n), out var i))
        {
            return i;
        }
        var name = new string(ctx.Name, 0, n);
        try
        {
            ctx.Batch.Set(row, name, (string?)null); // throws for a column the model does not know
        }
        catch (ScoringException e)
        {
            throw new RequestException(400, e.Message, row, name);
        }
        return -1;
    }

    private static void ReadValue(ref Utf8JsonReader reader, PredictContext ctx, int row, ScorerInput input)
    {
        var batch = ctx.Batch;
        var listType = input.Type is FeatureType.Sequence or FeatureType.Embedding;
        switch (reader.TokenType)
        {
            case JsonTokenType.Null:
                batch.Set(row, input.Name, ReadOnlySpan<char>.Empty);
                break;
            case JsonTokenType.String:
                batch.Set(row, input.Name, Text(ref reader, ctx));
                break;
            case JsonTokenType.Number when !listType:
                batch.Set(row, input.Name, Number(ref reader, row, input.Name));
                break;
            case JsonTokenType.True or JsonTokenType.False when !listType:
                batch.Set(row, input.Name, reader.TokenType == JsonTokenType.True ? 1.0 : 0.0); // as the Scorer API reads a bool
                break;
            case JsonTokenType.StartArray when input.Type == FeatureType.Embedding:
            {
                var n = 0;
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    if (reader.TokenType != JsonTokenType.Number)
                    {
                        throw ElementError(reader.TokenType, n, row, input);
                    }
                    if (n == ctx.Vector.Length)
                    {
                        var bigger = new double[n * 2];
                        ctx.Vector.CopyTo(bigger, 0);
                        ctx.Vector = bigger;
                    }
                    ctx.Vector[n++] = Number(ref reader, row, input.Name);
                }
                batch.Set(row, input.Name, new ReadOnlySpan<double>(ctx.Vector, 0, n));
                break;
            }
            case JsonTokenType.StartArray:
            {
                var n = 0;
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    if (n == ctx.Tokens.Length)
                    {
                        var bigger = new string[n * 2];
                        ctx.Tokens.CopyTo(bigger, 0);
                        ctx.Tokens = bigger;
                    }
                    ctx.Tokens[n] = reader.TokenType switch
                    {
                        JsonTokenType.String => reader.GetString()!,
                        JsonTokenType.Number => Number(ref reader, row, input.Name).ToString("R", CultureInfo.InvariantCulture),
                        _ => throw ElementError(reader.TokenType, n, row, input),
                    };
                    n++;
                }
                if (!listType && n != 1)
                {
                    throw new RequestException(400,
                        $"row {row}, field '{input.Name}': an array of {n} values is not a value of a {Kind(input)} feature (expected {Expected(input)}, or null for missing).",
                        row, input.Name);
                }
                batch.Set(row, input.Name, new ReadOnlySpan<string>(ctx.Tokens, 0, n));
                break;
            }
            default:
                throw new RequestException(400,
                    $"row {row}, field '{input.Name}': {Describe(reader.TokenType)} is not a value of a {Kind(input)} feature (expected {Expected(input)}, or null for missing).",
                    row, input.Name);
        }
    }

    private static RequestException ElementError(JsonTokenType token, int n, int row, ScorerInput input) =>
        new(400, $"row {row}, field '{input.Name}': element {n} is {Describe(token)}; a {Kind(input)} value is a list of {(input.Type == FeatureType.Embedding ? "numbers" : "strings")}.",
            row, input.Name);

    /// <summary>The string under the reader, unescaped into the context's reusable buffer (no string allocated).</summary>
    private static ReadOnlySpan<char> Text(ref Utf8JsonReader reader, PredictContext ctx)
    {
        var need = reader.ValueSpan.Length;
        if (ctx.Text.Length < need)
        {
            ctx.Text = new char[Math.Max(need, ctx.Text.Length * 2)];
        }
        return ctx.Text.AsSpan(0, reader.CopyString(ctx.Text));
    }

    private static double Number(ref Utf8JsonReader reader, int row, string field) =>
        reader.TryGetDouble(out var d) && double.IsFinite(d)
            ? d
            : throw new RequestException(400, $"row {row}, field '{field}': the number is out of range.", row, field);

    private static string Kind(ScorerInput input) => input.Type switch
    {
        FeatureType.Categorical => "categorical",
        FeatureType.Numeric => "numeric",
        FeatureType.Sequence => "sequence",
        FeatureType.Embedding => "embedding",
        _ => input.Type.ToString().ToLowerInvariant(),
    };

    private static string Expected(ScorerInput input) => input.Type switch
    {
        FeatureType.Numeric => "a number or a numeric string",
        FeatureType.Sequence => "an array of strings, or one string joined with the feature's splitter",
        FeatureType.Embedding => "an array of numbers",
        _ => "a string or a number",
    };

    private static string Describe(JsonTokenType t) => t switch
    {
        JsonTokenType.StartObject => "an object",
        JsonTokenType.StartArray => "an array",
        JsonTokenType.String => "a string",
        JsonTokenType.Number => "a number",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        JsonTokenType.Null => "null",
        _ => t.ToString(),
    };
}
