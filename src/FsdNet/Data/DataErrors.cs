using System.Globalization;

namespace FsdNet.Data;

/// <summary>
/// Bad input data: names the file, the 1-based line (0 when not line-specific) and the field, so a person can fix it.
/// </summary>
public sealed class DataFormatException : Exception
{
    public DataFormatException(string file, long line, string? field, string problem)
        : base(Format(file, line, field, problem))
    {
        FilePath = file;
        Line = line;
        Field = field;
        Problem = problem;
    }

    public DataFormatException() : this("?", 0, null, "bad data") { }

    public DataFormatException(string message) : this("?", 0, null, message) { }

    public DataFormatException(string message, Exception inner) : base(message, inner)
    {
        FilePath = "?";
        Problem = message;
    }

    /// <summary>The file that holds the bad input.</summary>
    public string FilePath { get; }

    /// <summary>1-based line number, or 0 when the error is about the whole file.</summary>
    public long Line { get; }

    /// <summary>The field (column/feature) name, when known.</summary>
    public string? Field { get; }

    /// <summary>The problem without the location.</summary>
    public string Problem { get; }

    /// <summary>A short reason used to group skipped lines (the problem up to the first ':').</summary>
    public string Reason => Problem.Split(':')[0];

    private static string Format(string file, long line, string? field, string problem)
    {
        var loc = line > 0 ? $"{file}:{line.ToString(CultureInfo.InvariantCulture)}" : file;
        return field is null ? $"{loc}: {problem}" : $"{loc}: field '{field}': {problem}";
    }
}

/// <summary>A problem with a dataset configuration (missing key, bad value, unknown dataset id).</summary>
public sealed class DataConfigException : Exception
{
    public DataConfigException() { }

    public DataConfigException(string message) : base(message) { }

    public DataConfigException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>What to do with a line that cannot be parsed.</summary>
public enum OnBadLine
{
    /// <summary>Stop with a <see cref="DataFormatException"/> (default).</summary>
    Error,

    /// <summary>Drop the line, count it by reason, and report the counts.</summary>
    Skip,
}

/// <summary>Lines dropped under <see cref="OnBadLine.Skip"/>, per reason, with the first example of each.</summary>
internal sealed class BadLineReport
{
    private readonly Dictionary<string, (long Count, string Example)> reasons = new(StringComparer.Ordinal);

    /// <summary>Total dropped lines.</summary>
    public long Dropped { get; private set; }

    /// <summary>Lines holding only whitespace: skipped in every mode (as pandas' skip_blank_lines), counted here.</summary>
    public long BlankLines { get; internal set; }

    /// <summary>Dropped counts keyed by reason, with the first full error message as an example.</summary>
    public IReadOnlyDictionary<string, (long Count, string Example)> Reasons => reasons;

    internal void Add(DataFormatException e)
    {
        lock (reasons)
        {
            Dropped++;
            reasons[e.Reason] = reasons.TryGetValue(e.Reason, out var c) ? (c.Count + 1, c.Example) : (1, e.Message);
        }
    }

    internal void Merge(BadLineReport other)
    {
        BlankLines += other.BlankLines;
        foreach (var (k, v) in other.reasons)
        {
            Dropped += v.Count;
            reasons[k] = reasons.TryGetValue(k, out var c) ? (c.Count + v.Count, c.Example) : v;
        }
    }

    /// <summary>One line per reason, e.g. <c>dropped 3 lines: 2 wrong number of fields (first: ...)</c>.</summary>
    public override string ToString()
    {
        if (Dropped == 0)
        {
            return "dropped 0 lines";
        }
        var parts = reasons.OrderByDescending(kv => kv.Value.Count)
            .Select(kv => $"{kv.Value.Count} {kv.Key} (first: {kv.Value.Example})");
        return $"dropped {Dropped} lines: " + string.Join("; ", parts);
    }
}
