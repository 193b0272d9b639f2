using FsdNet.Data;
using Xunit;
using static FsdNet.Tests.Data.BadInputConfigs;

namespace FsdNet.Tests.Data;

/// <summary>
/// Blank lines are skipped and counted (as pandas' skip_blank_lines); an unclosed quote, an overlong line, binary data and a
/// directory given as a data file are errors naming the file (and the line).
/// </summary>
public sealed class BlankAndQuoteTests
{
    [Theory]
    [InlineData(OnBadLine.Error)]
    [InlineData(OnBadLine.Skip)]
    public void Blank_csv_lines_are_skipped_counted_and_logged(OnBadLine mode)
    {
        using var tmp = new TempDir();
        var path = tmp.File("train.csv", "label,c,n\n1,a,1\n\n0,b,2\r\n  \n\t\r\n1,a,3\n\n");
        var logs = new List<string>();
        using var d = Helpers.PrepareYaml(tmp, CsvYaml, new DataOptions { OnBadLine = mode, Log = logs.Add });
        Assert.Equal(3, d.Train.RowCount);
        Assert.Equal([1f, 0f, 1f], d.Train.Labels.ToArray());
        Assert.Equal(4, d.BadLines["train"].BlankLines);
        Assert.Equal(0, d.BadLines["train"].Dropped);
        Assert.Contains($"{path}: skipped 4 blank line(s)", logs);
    }

    [Fact]
    public void Blank_libfm_lines_including_spaces_only_are_skipped()
    {
        using var tmp = new TempDir();
        tmp.File("train.libfm", "1 1:1 2:1\n\n   \n0 3:1 4:1 \n\r\n");
        using var d = Helpers.PrepareYaml(tmp, LibFmYaml);
        Assert.Equal(2, d.Train.RowCount);
        Assert.Equal(3, d.BadLines["train"].BlankLines);
    }

    [Fact]
    public void Line_numbers_after_blank_lines_stay_exact()
    {
        using var tmp = new TempDir();
        var path = tmp.File("train.csv", "label,c,n\n1,a,1\n\n\n0,b,oops\n");
        var e = Assert.Throws<DataFormatException>(() => Helpers.PrepareYaml(tmp, CsvYaml).Dispose());
        Assert.Equal($"{path}:5: field 'n': non-numeric value in a numeric column: 'oops'", e.Message);
    }

    [Fact]
    public void A_row_of_empty_cells_is_not_blank()
    {
        using var tmp = new TempDir();
        var path = tmp.File("train.csv", "label,c,n\n1,a,1\n,,\n");
        var e = Assert.Throws<DataFormatException>(() => Helpers.PrepareYaml(tmp, CsvYaml).Dispose());
        Assert.Equal($"{path}:3: field 'label': label is empty", e.Message);
    }

    [Theory]
    [InlineData(OnBadLine.Error)]
    [InlineData(OnBadLine.Skip)]
    public void Unterminated_quote_names_the_line_where_it_opens_in_both_modes(OnBadLine mode)
    {
        using var tmp = new TempDir();
        // line 3 holds a legal quoted field spanning two lines (3-4); the bad quote opens on line 6
        var path = tmp.File("train.csv", "label,c,n\n1,a,1\n0,\"b\nb\",2\n1,a,3\n1,\"a,4\n0,b,5\n1,a,6\n");
        var e = Assert.Throws<DataFormatException>(() => Helpers.PrepareYaml(tmp, CsvYaml, new DataOptions { OnBadLine = mode }).Dispose());
        Assert.Equal($"{path}:6: unterminated quote: the quoted field that opens on this line is never closed (it would run to the end of the file)", e.Message);
        Assert.Equal(6, e.Line);
    }

    [Fact]
    public void Balanced_and_doubled_quotes_are_fine()
    {
        using var tmp = new TempDir();
        tmp.File("train.csv", "label,c,n\n1,\"a,\"\"x\"\"\",1\n0,\"b\",2\n");
        using var d = Helpers.PrepareYaml(tmp, CsvYaml);
        Assert.Equal(2, d.Train.RowCount);
        Assert.Equal(["a,\"x\"", "b"], d.FeatureMap["c"].Vocab);
    }

    [Theory]
    [InlineData(OnBadLine.Error)]
    [InlineData(OnBadLine.Skip)]
    public void An_overlong_line_is_named_not_a_crash(OnBadLine mode)
    {
        using var tmp = new TempDir();
        var path = tmp.File("train.csv", "label,c,n\n1,a,1\n0," + new string('x', 17_000_000) + ",2\n1,a,3\n");
        var e = Assert.Throws<DataFormatException>(() => Helpers.PrepareYaml(tmp, CsvYaml, new DataOptions { OnBadLine = mode }).Dispose());
        Assert.Equal($"{path}:3: line too long: more than 16,777,216 characters in one row (is this a line-based text file?)", e.Message);
    }

    [Fact]
    public void Binary_data_and_directories_are_not_read_as_text()
    {
        using var tmp = new TempDir();
        var path = tmp.Sub("train.csv");
        File.WriteAllBytes(path, [(byte)'l', (byte)'a', 0, 1, 2, (byte)'\n']);
        var e = Assert.Throws<DataFormatException>(() => Helpers.PrepareYaml(tmp, CsvYaml).Dispose());
        Assert.Equal($"{path}: binary data, not a text data file (a NUL byte at byte 2); check the file and data_format", e.Message);
        File.Delete(path);
        tmp.Gzip("train.csv", "lab\0el,c,n\n1,a,1\n");
        e = Assert.Throws<DataFormatException>(() => Helpers.PrepareYaml(tmp, CsvYaml).Dispose());
        Assert.Equal($"{path}: binary data, not a text data file (a NUL byte at decompressed byte 3); check the file and data_format", e.Message);
        File.Delete(path);
        tmp.File("train.csv", "label,c,n\n1,a,1\0\n"); // a NUL past the first line is a bad value on its line
        e = Assert.Throws<DataFormatException>(() => Helpers.PrepareYaml(tmp, CsvYaml).Dispose());
        Assert.StartsWith($"{path}:2:", e.Message, StringComparison.Ordinal);
        File.Delete(path);
        Directory.CreateDirectory(path);
        e = Assert.Throws<DataFormatException>(() => Helpers.PrepareYaml(tmp, CsvYaml).Dispose());
        Assert.Equal($"{path}: is a directory, not a data file", e.Message);
    }
}
