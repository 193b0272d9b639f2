using System.Globalization;
using System.Text;
using System.Text.Json;
using FsdNet.Training;

namespace FsdNet.Cli.Reporting;

/// <summary>
/// metrics.csv and metrics.json: one row/object per validation, written atomically (a temporary file renamed over
/// the old one) so that a run killed at any moment leaves complete files. Metric columns are the union of the metric
/// names seen, in order of first appearance; NaN is "NaN" in the CSV and null in the JSON; a metric that a row
/// lacks is an empty cell / null.
/// </summary>
internal static class MetricsFiles
{
    public const string CsvName = "metrics.csv";
    public const string JsonName = "metrics.json";

    private static readonly string[] Leading = ["epoch", "step", "train_loss"];
    private static readonly string[] Trailing = ["monitor", "improved", "lr", "train_seconds", "valid_seconds", "samples_per_second"];

    /// <summary>The metric names of the records, in order of first appearance.</summary>
    public static List<string> MetricNames(IReadOnlyList<EpochRecord> records)
    {
        var names = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var r in records)
        {
            foreach (var name in r.Valid.Keys)
            {
                if (seen.Add(name))
                {
                    names.Add(name);
                }
            }
        }
        return names;
    }

    public static void Write(string directory, IReadOnlyList<EpochRecord> records)
    {
        var names = MetricNames(records);
        WriteAtomically(Path.Combine(directory, CsvName), Encoding.UTF8.GetBytes(Csv(records, names)));
        WriteAtomically(Path.Combine(directory, JsonName), Json(records, names));
    }

    public static string Csv(IReadOnlyList<EpochRecord> records, IReadOnlyList<string> names)
    {
        var sb = new StringBuilder();
        var header = Leading.Concat(names).Concat(Trailing).Select(Escape);
        sb.AppendJoin(',', header).Append('\n');
        foreach (var r in records)
        {
            sb.Append(r.Epoch.ToString(CultureInfo.InvariantCulture)).Append(',');
            sb.Append(r.Step.ToString(CultureInfo.InvariantCulture)).Append(',');
            sb.Append(Number(r.TrainLoss)).Append(',');
            foreach (var name in names)
            {
                if (r.Valid.TryGetValue(name, out var v))
                {
                    sb.Append(Number(v));
                }
                sb.Append(',');
            }
            sb.Append(Number(r.Monitor)).Append(',');
            sb.Append(r.Improved ? "true" : "false").Append(',');
            sb.Append(Number(r.LearningRate)).Append(',');
            sb.Append(Number(r.TrainSeconds)).Append(',');
            sb.Append(Number(r.ValidSeconds)).Append(',');
            sb.Append(Number(r.SamplesPerSecond)).Append('\n');
        }
        return sb.ToString();
    }

    public static byte[] Json(IReadOnlyList<EpochRecord> records, IReadOnlyList<string> names)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartArray();
            foreach (var r in records)
            {
                w.WriteStartObject();
                w.WriteNumber("epoch", r.Epoch);
                w.WriteNumber("step", r.Step);
                WriteNumber(w, "train_loss", r.TrainLoss);
                foreach (var name in names)
                {
                    WriteNumber(w, name, r.Valid.TryGetValue(name, out var v) ? v : double.NaN);
                }
                WriteNumber(w, "monitor", r.Monitor);
                w.WriteBoolean("improved", r.Improved);
                WriteNumber(w, "lr", r.LearningRate);
                WriteNumber(w, "train_seconds", r.TrainSeconds);
                WriteNumber(w, "valid_seconds", r.ValidSeconds);
                WriteNumber(w, "samples_per_second", r.SamplesPerSecond);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        stream.WriteByte((byte)'\n');
        return stream.ToArray();
    }

    /// <summary>Round-trip invariant text; NaN and infinities as .NET spells them ("NaN", "Infinity", "-Infinity").</summary>
    public static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>Writes next to the target and renames over it, so readers see the old file or the new one.</summary>
    public static void WriteAtomically(string path, byte[] content)
    {
        var temp = path + ".tmp";
        using (var f = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            f.Write(content);
            f.Flush(flushToDisk: true);
        }
        File.Move(temp, path, overwrite: true);
    }

    private static void WriteNumber(Utf8JsonWriter w, string name, double value)
    {
        if (double.IsFinite(value))
        {
            w.WriteNumber(name, value);
        }
        else
        {
            w.WriteNull(name);
        }
    }

    private static string Escape(string field) =>
        field.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? "\"" + field.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : field;
}
