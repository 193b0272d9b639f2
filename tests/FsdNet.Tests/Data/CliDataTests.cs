using FsdNet.Data;
using Xunit;

namespace FsdNet.Tests.Data;

public sealed class CliDataTests
{
    [Fact]
    public void Inspect_prints_rows_per_split_and_every_vocab_size()
    {
        using var tmp = new TempDir();
        tmp.File("train.csv", "label,a,b\n1,x,1\n0,y,2\n1,x,3\n");
        tmp.File("valid.csv", "label,a,b\n1,x,1\n");
        using var data = Helpers.PrepareYaml(tmp, "d:\n  train_data: train.csv\n  valid_data: valid.csv\n  feature_cols: [{name: a}, {name: b, type: numeric}]\n  label_col: {name: label}\n");
        var text = DataReport.Describe(data);
        Assert.Contains("train             3", text, StringComparison.Ordinal);
        Assert.Contains("valid             1", text, StringComparison.Ordinal);
        Assert.Matches(@"a\s+categorical\s+4", text);
        Assert.Matches(@"b\s+numeric\s+1", text);
        Assert.Contains("2 fields, 5 features", text, StringComparison.Ordinal);
    }
}
