using FsdNet.Data;
using Xunit;

namespace FsdNet.Tests.Data;

/// <summary>Scoring input (DataOptions.LabelOptional): labels may be absent or empty and are stored as NaN; codes are unchanged.</summary>
public sealed class UnlabelledInputTests
{
    private static (float[] Labels, int[] Codes) Encode(TempDir tmp, string yaml, string trainFile, string train, string scoreFile, string score, bool optional = true)
    {
        tmp.File(trainFile, train);
        using var d = Helpers.PrepareYaml(tmp, yaml);
        var path = tmp.File(scoreFile, score);
        var (enc, _) = DataPipeline.Encode(d.FeatureMap, path, tmp.Sub(scoreFile + ".fsdcache"), new DataOptions { LabelOptional = optional });
        using (enc)
        {
            return (enc.Labels.ToArray(), [.. Enumerable.Range(0, d.FeatureMap.CategoricalCount).SelectMany(c => enc.Categorical(c).ToArray())]);
        }
    }

    [Fact]
    public void Csv_without_label_column_or_with_empty_cells()
    {
        const string yaml = "e:\n  train_data: train.csv\n  feature_cols: [{name: [a, b], type: categorical}]\n  label_col: {name: label}\n";
        const string train = "label,a,b\n1,x,p\n0,y,q\n";
        using var tmp = new TempDir();
        var full = Encode(tmp, yaml, "train.csv", train, "s1.csv", "label,a,b\n1,y,p\n0,x,z\n");
        var (labels, codes) = Encode(tmp, yaml, "train.csv", train, "s2.csv", "b,a\np,y\nz,x\n");
        Assert.All(labels, l => Assert.True(float.IsNaN(l)));
        Assert.Equal(full.Codes, codes);
        (labels, codes) = Encode(tmp, yaml, "train.csv", train, "s3.csv", "label,a,b\n,y,p\n0,x,z\n");
        Assert.True(float.IsNaN(labels[0]));
        Assert.Equal(0f, labels[1]);
        Assert.Equal(full.Codes, codes);
        // without the option an empty label stays an error
        var e = Assert.Throws<DataFormatException>(() => Encode(tmp, yaml, "train.csv", train, "s4.csv", "label,a,b\n,y,p\n", optional: false));
        Assert.Equal($"{tmp.Sub("s4.csv")}:2: field 'label': label is empty", e.Message);
    }

    [Fact]
    public void Libfm_lines_whose_first_token_is_idx_val_have_no_label()
    {
        const string yaml = "e:\n  data_format: libfm\n  train_data: train.libfm\n  feature_cols: [{name: [a, b], type: categorical}]\n  label_col: {name: label}\n";
        const string train = "1 1:1 5:1\n0 2:1 6:1\n";
        using var tmp = new TempDir();
        var (labels, codes) = Encode(tmp, yaml, "train.libfm", train, "s.libfm", "2:1 5:1\n1 1:1 9:1\n1:1 6:1 \n");
        Assert.True(float.IsNaN(labels[0]));
        Assert.Equal(1f, labels[1]);
        Assert.True(float.IsNaN(labels[2]));
        Assert.Equal([2, 1, 1, /* b */ 1, 3, 2], codes);
        var e = Assert.Throws<DataFormatException>(() => Encode(tmp, yaml, "train.libfm", train, "bad.libfm", "2:1\n"));
        Assert.Equal($"{tmp.Sub("bad.libfm")}:1: wrong number of fields: expected an optional label and 2 idx:val pairs, got 1 items", e.Message);
    }

    [Fact]
    public void Criteo_tsv_lines_one_column_short_have_no_label()
    {
        const string yaml = """
            e:
              data_format: criteo
              train_data: train.txt
              feature_cols: [{name: [I1], type: numeric}, {name: [C1], type: categorical}]
              label_col: {name: label}
            """;
        // label, I1..I13, C1..C26; the scoring file's first line has no label (39 columns)
        static string Line(string? label, string i1, string c1) =>
            (label is null ? "" : label + "\t") + i1 + new string('\t', 13) + c1 + new string('\t', 25) + "\n";
        using var tmp = new TempDir();
        var (labels, codes) = Encode(tmp, yaml, "train.txt", Line("1", "3", "ab") + Line("0", "4", "cd"), "s.txt", Line(null, "5", "cd") + Line("1", "2", "ab"));
        Assert.True(float.IsNaN(labels[0]));
        Assert.Equal(1f, labels[1]);
        Assert.Equal([2, 1], codes);
    }
}
