using System.Text.Json;
using FsdNet.Metrics;
using Xunit;

namespace FsdNet.Tests.Metrics;

/// <summary>Welch's t-test, Student's t tail and the incomplete beta function against scipy (tools/golden/stats_golden.py).</summary>
public class StatisticsTests
{
    private static readonly JsonElement Gold = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Golden", "metrics", "stats.json"))).RootElement;

    private static double[] Values(JsonElement e) => [.. e.EnumerateArray().Select(v => v.GetDouble())];

    private static void Close(double expected, double actual, double rel, string what)
    {
        Assert.True(Math.Abs(expected - actual) <= rel * Math.Max(Math.Abs(expected), 1e-300), $"{what}: expected {expected:R}, got {actual:R}");
    }

    [Fact]
    public void Welch_test_matches_scipy_ttest_ind_with_unequal_variances()
    {
        var n = 0;
        foreach (var c in Gold.GetProperty("welch").EnumerateArray())
        {
            var name = c.GetProperty("name").GetString()!;
            var a = Values(c.GetProperty("a"));
            var b = Values(c.GetProperty("b"));
            Close(c.GetProperty("mean_a").GetDouble(), Statistics.Mean(a), 1e-13, name + " mean");
            Close(c.GetProperty("std_b").GetDouble(), Statistics.SampleStd(b), 1e-11, name + " std");
            var r = Statistics.Welch(a, b);
            Close(c.GetProperty("t").GetDouble(), r.T, 1e-10, name + " t");
            Close(c.GetProperty("df").GetDouble(), r.DegreesOfFreedom, 1e-10, name + " df");
            Close(c.GetProperty("p").GetDouble(), r.P, 1e-9, name + " p");
            n++;
        }
        Assert.True(n >= 10);
    }

    [Fact]
    public void Student_t_tail_and_incomplete_beta_match_scipy()
    {
        foreach (var c in Gold.GetProperty("t_sf").EnumerateArray())
        {
            double t = c.GetProperty("t").GetDouble(), df = c.GetProperty("df").GetDouble();
            var expected = c.GetProperty("sf").GetDouble();
            var actual = Statistics.StudentTUpperTail(t, df);
            Assert.True(Math.Abs(expected - actual) <= 1e-10 * Math.Max(expected, 1e-8), $"t.sf({t}, {df}): expected {expected:R}, got {actual:R}");
        }
        foreach (var c in Gold.GetProperty("betainc").EnumerateArray())
        {
            double a = c.GetProperty("a").GetDouble(), b = c.GetProperty("b").GetDouble(), x = c.GetProperty("x").GetDouble();
            var expected = c.GetProperty("value").GetDouble();
            var actual = Statistics.RegularizedIncompleteBeta(a, b, x);
            Assert.True(Math.Abs(expected - actual) <= 1e-11 * Math.Max(expected, 1e-6), $"betainc({a}, {b}, {x}): expected {expected:R}, got {actual:R}");
        }
    }

    [Fact]
    public void Degenerate_samples_give_nan_or_certainty_as_scipy()
    {
        Assert.True(double.IsNaN(Statistics.Welch([0.98], [0.97, 0.96]).P));   // one value: no variance estimate
        Assert.True(double.IsNaN(Statistics.Welch([0.5, 0.5], [0.5, 0.5]).P));
        var r = Statistics.Welch([0.6, 0.6], [0.5, 0.5]);
        Assert.Equal(double.PositiveInfinity, r.T);
        Assert.Equal(0, r.P);
        Assert.True(double.IsNaN(Statistics.SampleStd([1.0])));
        Assert.Throws<ArgumentOutOfRangeException>(() => Statistics.RegularizedIncompleteBeta(1, 1, 1.5));
    }
}
