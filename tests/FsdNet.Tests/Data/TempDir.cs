namespace FsdNet.Tests.Data;

/// <summary>A temp folder deleted on dispose.</summary>
public sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "fsdnet-data-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name, string content)
    {
        var p = System.IO.Path.Combine(Path, name);
        System.IO.File.WriteAllText(p, content);
        return p;
    }

    public string Gzip(string name, string content)
    {
        var p = System.IO.Path.Combine(Path, name);
        using var fs = System.IO.File.Create(p);
        using var gz = new System.IO.Compression.GZipStream(fs, System.IO.Compression.CompressionLevel.Fastest);
        var bytes = System.Text.Encoding.UTF8.GetBytes(content);
        gz.Write(bytes);
        return p;
    }

    public string Sub(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>train.csv, valid.csv and test.csv in this folder: see <see cref="WriteCsvSplits"/>.</summary>
    public void CsvSplits(string header, Func<string, int, string> row, int train, int valid, int test) =>
        WriteCsvSplits(Path, header, row, train, valid, test);

    /// <summary>
    /// Writes dataset_config.yaml: dataset <paramref name="id"/> over the three CSV splits of <see cref="CsvSplits"/>
    /// in this folder (data_root "."), label column "label", min_categr_count when given, and one feature_cols entry
    /// per <paramref name="featureCols"/> item (FuxiCTR's flow mappings, e.g. "{name: [a, b], active: True, dtype: str,
    /// type: categorical}").
    /// </summary>
    public string CsvDatasetConfig(string id, int? minCategrCount, params string[] featureCols)
    {
        var sb = new System.Text.StringBuilder();
        sb.Append(id).Append(":\n  data_root: .\n  data_format: csv\n  train_data: train.csv\n  valid_data: valid.csv\n  test_data: test.csv\n");
        if (minCategrCount is { } m)
        {
            sb.Append("  min_categr_count: ").Append(m).Append('\n');
        }
        sb.Append("  feature_cols:\n");
        foreach (var f in featureCols)
        {
            sb.Append("    - ").Append(f).Append('\n');
        }
        sb.Append("  label_col: {name: label, dtype: float}\n");
        return File("dataset_config.yaml", sb.ToString());
    }

    /// <summary>
    /// Writes train.csv, valid.csv and test.csv in <paramref name="dir"/>: the header line, then row(split, i) for
    /// i = 0 .. rows - 1, the splits made in that order (so a seeded generator draws the same rows every time).
    /// </summary>
    public static void WriteCsvSplits(string dir, string header, Func<string, int, string> row, int train, int valid, int test)
    {
        foreach (var (split, rows) in new[] { ("train", train), ("valid", valid), ("test", test) })
        {
            var sb = new System.Text.StringBuilder(header).Append('\n');
            for (var i = 0; i < rows; i++)
            {
                sb.Append(row(split, i)).Append('\n');
            }
            System.IO.File.WriteAllText(System.IO.Path.Combine(dir, split + ".csv"), sb.ToString());
        }
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
