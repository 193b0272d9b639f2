using System.Text.Json;
using FsdNet.Metrics;
using Xunit;

namespace FsdNet.Tests.Metrics;

/// <summary>AUC, logloss and gAUC against sklearn golden values (tools/golden/metrics_golden.py).</summary>
public class BinaryMetricsTests
{
    public static TheoryData<string> Cases() => ["random", "ties", "rounded", "all_positive", "small"];

    [Theory]
    [MemberData(nameof(Cases))]
    public void Match_sklearn(string name)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Golden", "metrics", "metrics.json")));
        var c = doc.RootElement.GetProperty("cases").EnumerateArray().Single(e => e.GetProperty("name").GetString() == name);
        var labels = c.GetProperty("labels").EnumerateArray().Select(e => (float)e.GetDouble()).ToArray();
        var scores = c.GetProperty("scores").EnumerateArray().Select(e => (float)e.GetDouble()).ToArray();
        var groups = c.GetProperty("groups").EnumerateArray().Select(e => e.GetInt64()).ToArray();

        Assert.Equal(c.GetProperty("logloss").GetDouble(), BinaryMetrics.LogLoss(labels, scores), 1e-9);
        if (c.GetProperty("auc_defined").GetBoolean())
        {
            Assert.Equal(c.GetProperty("auc").GetDouble(), BinaryMetrics.Auc(labels, scores), 1e-12);
        }
        else
        {
            Assert.True(double.IsNaN(BinaryMetrics.Auc(labels, scores)));
        }
        if (c.GetProperty("gauc_defined").GetBoolean())
        {
            Assert.Equal(c.GetProperty("gauc").GetDouble(), BinaryMetrics.GroupAuc(labels, scores, groups), 1e-12);
        }
        else
        {
            Assert.True(double.IsNaN(BinaryMetrics.GroupAuc(labels, scores, groups)));
        }
    }

    [Fact]
    public void Bad_input_is_rejected_clearly()
    {
        Assert.Contains("2 labels but 3 scores", Assert.Throws<ArgumentException>(() => BinaryMetrics.Auc([0, 1], [0.1f, 0.2f, 0.3f])).Message);
        Assert.Contains("NaN", Assert.Throws<ArgumentException>(() => BinaryMetrics.LogLoss([0, 1], [0.1f, float.NaN])).Message);
        Assert.Contains("0 or 1", Assert.Throws<ArgumentException>(() => BinaryMetrics.Auc([0, 2], [0.1f, 0.2f])).Message);
    }
}
