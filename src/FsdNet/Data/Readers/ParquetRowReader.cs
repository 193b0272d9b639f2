using System.Globalization;

namespace FsdNet.Data;

/// <summary>
/// Apache Parquet with raw columns described by <c>feature_cols</c> (Parquet.Net): each row's values are written as the
/// text a CSV would hold (numbers in round-trip form, lists joined by the feature's splitter) and go through the same
/// codec. One segment: row groups are read in order.
/// </summary>
internal sealed class ParquetRowReader : IRowReader
{
    public static readonly ParquetRowReader Instance = new();

    public List<Segment> Read(FeatureMap map, string path, RowReadOptions options)
    {
        var (onBad, tempDir, labelOptional) = (options.OnBadLine, options.TempDir, options.LabelOptional);
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
            return [seg];
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
}
