namespace FsdNet.Data;

/// <summary>How a raw split file is read; the map gives the format, the columns and the codec of each feature.</summary>
internal sealed record RowReadOptions
{
    public OnBadLine OnBadLine { get; init; } = OnBadLine.Error;

    /// <summary>Where segments spill their column blocks.</summary>
    public required string TempDir { get; init; }

    public int Threads { get; init; } = 1;

    /// <summary>Scoring input: the label may be absent or empty (stored as NaN).</summary>
    public bool LabelOptional { get; init; }
}

/// <summary>
/// A raw data format: reads a split file's rows into <see cref="Segment"/>s, whose first pass turns each cell into a
/// token with the feature's <see cref="FeatureCodec"/>. One class a format, one file a class (CSV/TSV, libFM, Criteo
/// TSV, Parquet); FuxiCTR's encoded formats, which hold codes rather than raw values, are <see cref="IArrayReader"/>s.
/// A new format is a new file implementing this, and a line in <see cref="FormatReaders"/>.
/// </summary>
internal interface IRowReader
{
    /// <summary>The file's rows as segments (several when the format can be split across threads); a bad row is an error
    /// naming the file and line (or dropped and counted, by <see cref="RowReadOptions.OnBadLine"/>).</summary>
    List<Segment> Read(FeatureMap map, string path, RowReadOptions options);
}

/// <summary>
/// A FuxiCTR-encoded format (h5, npz, encoded parquet): each file holds one array a feature (and the label) by name,
/// already encoded by FuxiCTR, described by its feature_map.json.
/// </summary>
internal interface IArrayReader
{
    /// <summary>The extension FuxiCTR's loaders append to a split path without one (".h5").</summary>
    string Extension { get; }

    /// <summary>The arrays of one file (read lazily by name).</summary>
    ArrayFile Open(string path);
}

/// <summary>One file's arrays by name, loaded one at a time.</summary>
internal sealed class ArrayFile
{
    public required string Path { get; init; }

    public required Func<string, NdArray> Read { get; init; }

    public required IReadOnlyList<string> Names { get; init; }
}

/// <summary>Which reader reads which <see cref="DataFormat"/>: the one place formats are dispatched.</summary>
internal static class FormatReaders
{
    public static IRowReader Rows(DataFormat format) => format switch
    {
        DataFormat.Csv => CsvReader.Instance,
        DataFormat.LibFm => LibFmReader.Instance,
        DataFormat.CriteoTsv => CriteoTsvReader.Instance,
        DataFormat.Parquet => ParquetRowReader.Instance,
        _ => throw new DataConfigException($"data_format {format.ToString().ToLowerInvariant()} holds FuxiCTR-encoded codes, not raw rows"),
    };

    public static IArrayReader Arrays(DataFormat format) => format switch
    {
        DataFormat.H5 => H5Reader.Instance,
        DataFormat.Npz => NpzReader.Instance,
        DataFormat.Parquet => EncodedParquetReader.Instance,
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, "not a FuxiCTR encoded format"),
    };

    /// <summary>
    /// Reads <paramref name="path"/> with the map's format; damaged compressed data and errors raised on worker threads
    /// become one <see cref="DataFormatException"/> naming the file.
    /// </summary>
    public static List<Segment> ReadRows(FeatureMap map, string path, RowReadOptions options)
    {
        try
        {
            RawFiles.CheckExists(path);
            Directory.CreateDirectory(options.TempDir);
            return Rows(map.Format).Read(map, path, options);
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
}
