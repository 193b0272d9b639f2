using FsdNet.Data;
using FsdNet.Tests.Support;
using Xunit;
using static FsdNet.Tests.Data.BadInputConfigs;

namespace FsdNet.Tests.Data;

public sealed class ErrorTests
{
    private static DataFormatException Fails(string yaml, string file, string content, string expected, long line = -1, string? field = null)
    {
        using var tmp = new TempDir();
        var path = tmp.File(file, content);
        var e = Assert.Throws<DataFormatException>(() => Helpers.PrepareYaml(tmp, yaml).Dispose());
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.Equal(path, e.FilePath);
        Assert.StartsWith(path, e.Message, StringComparison.Ordinal);
        if (line >= 0)
        {
            Assert.Equal(line, e.Line);
        }
        if (field is not null)
        {
            Assert.Equal(field, e.Field);
            Assert.Contains($"field '{field}'", e.Message, StringComparison.Ordinal);
        }
        return e;
    }

    [Fact]
    public void Wrong_number_of_fields_csv() =>
        Fails(CsvYaml, "train.csv", "label,c,n\n1,a,1\n0,b\n", "wrong number of fields: expected 3, got 2", line: 3);

    [Fact]
    public void Wrong_number_of_fields_libfm() =>
        Fails(LibFmYaml, "train.libfm", "1 1:1 2:1\r\n0 1:1\r\n", "wrong number of fields", line: 2);

    [Fact]
    public void Token_not_idx_val() =>
        Fails(LibFmYaml, "train.libfm", "1 1:1 2:1\n0 1:1 oops\n", "token is not idx:val: 'oops'", line: 2, field: "b");

    [Fact]
    public void Token_value_not_a_number() =>
        Fails(LibFmYaml, "train.libfm", "1 1:x 2:1\n", "is not a number", line: 1, field: "a");

    [Fact]
    public void Non_numeric_value_in_numeric_column() =>
        Fails(CsvYaml, "train.csv", "label,c,n\n1,a,1\n0,b,abc\n", "non-numeric value in a numeric column: 'abc'", line: 3, field: "n");

    [Theory]
    [InlineData("NaN")]
    [InlineData("inf")]
    [InlineData("-Infinity")]
    public void Nan_inf_not_allowed(string v) =>
        Fails(CsvYaml, "train.csv", $"label,c,n\n1,a,{v}\n", "NaN/Inf not allowed", line: 2, field: "n");

    [Theory]
    [InlineData("2")]
    [InlineData("0.5")]
    [InlineData("yes")]
    [InlineData("")]
    public void Label_outside_0_1_minus1(string label) =>
        Fails(CsvYaml, "train.csv", $"label,c,n\n{label},a,1\n", "label", line: 2, field: "label");

    [Fact]
    public void Labels_1_0_minus1_and_float_forms_accepted()
    {
        using var tmp = new TempDir();
        tmp.File("train.csv", "label,c,n\n1,a,1\n0,a,1\n-1,a,1\n1.0,a,1\n0.0,a,1\n");
        using var d = Helpers.PrepareYaml(tmp, CsvYaml);
        Assert.Equal([1f, 0f, 0f, 1f, 0f], d.Train.Labels.ToArray());
    }

    [Fact]
    public void Empty_file_zero_bytes() => Fails(CsvYaml, "train.csv", "", "empty file", line: 0);

    [Fact]
    public void Empty_file_header_only() => Fails(CsvYaml, "train.csv", "label,c,n\n", "empty file (no data rows)");

    [Fact]
    public void Empty_libfm_lines_only() => Fails(LibFmYaml, "train.libfm", "\n\n", "empty file (no data rows, 2 blank lines)");

    [Fact]
    public void Column_absent_from_header() =>
        Fails(CsvYaml, "train.csv", "label,c,x\n1,a,1\n", "column named in the config is absent from the header", field: "n");

    [Fact]
    public void Label_absent_from_header() =>
        Fails(CsvYaml, "train.csv", "y,c,n\n1,a,1\n", "absent from the header", field: "label");

    [Fact]
    public void Missing_file_named()
    {
        using var tmp = new TempDir();
        var e = Assert.Throws<DataFormatException>(() => Helpers.PrepareYaml(tmp, CsvYaml).Dispose());
        Assert.Contains("train.csv: file not found", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Skip_mode_drops_bad_lines_and_reports_why()
    {
        using var tmp = new TempDir();
        tmp.File("train.csv", "label,c,n\n1,a,1\n0,b\n2,a,1\n1,a,xyz\n0,b,2\n1,a,NaN\n");
        var logs = new List<string>();
        using var d = Helpers.PrepareYaml(tmp, CsvYaml, new DataOptions { OnBadLine = OnBadLine.Skip, Log = logs.Add });
        Assert.Equal(2, d.Train.RowCount);
        var report = d.BadLines["train"];
        Assert.Equal(4, report.Dropped);
        Assert.Equal(1, report.Reasons["wrong number of fields"].Count);
        Assert.Equal(1, report.Reasons["label outside {0,1,-1}"].Count);
        Assert.Equal(1, report.Reasons["non-numeric value in a numeric column"].Count);
        Assert.Equal(1, report.Reasons["NaN/Inf not allowed"].Count);
        Assert.Contains(logs, l => l.Contains("dropped 4 lines", StringComparison.Ordinal));
        // the vocabulary only counts kept rows: 'b' appears in a dropped row and in a kept row
        Assert.Equal(["a", "b"], d.FeatureMap["c"].Vocab);
    }

    [Fact]
    public void Skip_mode_bad_row_does_not_leak_tokens_into_counts()
    {
        using var tmp = new TempDir();
        tmp.File("train.csv", "label,c,n\n1,a,1\n1,onlybad,zzz\n");
        using var d = Helpers.PrepareYaml(tmp, CsvYaml, new DataOptions { OnBadLine = OnBadLine.Skip });
        Assert.Equal(["a"], d.FeatureMap["c"].Vocab);
    }

    [Fact]
    public void Skip_mode_all_lines_bad_is_still_an_error() =>
        Assert.Contains("no usable rows", Assert.Throws<DataFormatException>(() =>
        {
            using var tmp = new TempDir();
            tmp.File("train.csv", "label,c,n\n5,a,1\n");
            Helpers.PrepareYaml(tmp, CsvYaml, new DataOptions { OnBadLine = OnBadLine.Skip }).Dispose();
        }).Message, StringComparison.Ordinal);

    [Fact]
    public void Corrupt_gzip_is_a_clear_error()
    {
        using var tmp = new TempDir();
        File.WriteAllBytes(tmp.Sub("train.csv"), [0x1f, 0x8b, 8, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        var e = Assert.Throws<DataFormatException>(() => Helpers.PrepareYaml(tmp, CsvYaml).Dispose());
        Assert.Contains("train.csv", e.Message, StringComparison.Ordinal);
    }

    [DataFact("fixtures_deepctr")]
    public void Fixture_movielens_rating_is_not_a_binary_label()
    {
        var e = Assert.Throws<DataFormatException>(() => FixtureTests.PrepareFixture("movielens_sample.txt.gz", """
            ml:
              train_data: MOVIELENS
              feature_cols: [{name: [user_id, movie_id], type: categorical}]
              label_col: {name: rating}
            """).Dispose());
        Assert.Contains("label outside {0,1,-1}: '4'", e.Message, StringComparison.Ordinal);
        Assert.Equal(2, e.Line);
    }
}
