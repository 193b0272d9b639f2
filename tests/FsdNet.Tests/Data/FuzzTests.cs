using System.Globalization;
using System.Text;
using CsCheck;
using FsdNet.Data;
using Xunit;

namespace FsdNet.Tests.Data;

/// <summary>
/// Randomly mutated lines and configs: every outcome must be a parsed row, a dropped line with a reason, or a
/// DataFormatException/DataConfigException; nothing else may escape, and kept rows must be exactly the valid ones.
/// </summary>
public sealed class FuzzTests
{
    private const string Alphabet = "0123456789:,. -+eE\tNaNinfx\"é'\\^|;";
    private static readonly string[] Inserts = ["NaN", "inf", "-1", "2", "1e400", "", "::", "0.5", "\u0000"];

    private static string Mutate(string line, Random rng)
    {
        var sb = new StringBuilder(line);
        var edits = rng.Next(4);
        for (var k = 0; k < edits; k++)
        {
            var pos = sb.Length == 0 ? 0 : rng.Next(sb.Length);
            switch (rng.Next(7))
            {
                case 0 when sb.Length > 0: sb.Remove(pos, 1); break;
                case 1: sb.Insert(pos, Alphabet[rng.Next(Alphabet.Length)]); break;
                case 2 when sb.Length > 0: sb[pos] = Alphabet[rng.Next(Alphabet.Length)]; break;
                case 3: sb.Insert(pos, Inserts[rng.Next(Inserts.Length)]); break;
                case 4 when sb.Length > 0: sb.Length = pos; break;
                case 5: sb.Append(' '); break;
                default: break;
            }
        }
        return sb.ToString();
    }

    /// <summary>Independent oracle for a libFM line with 3 fields.</summary>
    private static bool ValidLibFm(string line)
    {
        var parts = line.Split(' ');
        var n = parts.Length;
        if (n > 1 && parts[^1].Length == 0)
        {
            n--;
        }
        if (n != 4 || !ValidLabel(parts[0]))
        {
            return false;
        }
        for (var i = 1; i < 4; i++)
        {
            var c = parts[i].IndexOf(':', StringComparison.Ordinal);
            if (c <= 0 || !double.TryParse(parts[i].AsSpan(c + 1), NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ||
                !double.IsFinite(v) || parts[i].AsSpan(c + 1).ContainsAny(" \t"))
            {
                return false;
            }
        }
        return true;
    }

    private static bool ValidLabel(string s) =>
        double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && !s.AsSpan().ContainsAny(" \t") && (v == 0 || v == 1 || v == -1);

    [Fact]
    public void Fuzz_mutated_libfm_lines()
    {
        var mutated = 0;
        var yaml = "train_data: train.libfm\ndata_format: libfm\nfeature_cols: [{name: [a, b, c]}]\nlabel_col: {name: label}\n";
        Gen.Int.Sample(seed =>
        {
            var rng = new Random(seed);
            var lines = new List<string>();
            for (var i = 0; i < 60; i++)
            {
                var line = $"{(rng.Next(2) == 0 ? "1" : "-1")} {rng.Next(20)}:1 {rng.Next(5)}:1 {rng.Next(3)}:{rng.NextDouble().ToString("R", CultureInfo.InvariantCulture)}";
                var mutate = rng.Next(2) == 0;
                mutated += mutate ? 1 : 0;
                lines.Add(mutate ? Mutate(line, rng) : line);
            }
            var expected = lines.Count(ValidLibFm);
            var blank = lines.Count(l => string.IsNullOrWhiteSpace(l));
            using var tmp = new TempDir();
            tmp.File("train.libfm", string.Concat(lines.Select((l, i) => l + (i % 2 == 0 ? "\r\n" : "\n"))));
            foreach (var mode in new[] { OnBadLine.Skip, OnBadLine.Error })
            {
                try
                {
                    using var d = Helpers.PrepareYaml(tmp, yaml, new DataOptions { OnBadLine = mode, Threads = 1 });
                    Assert.Equal(expected, d.Train.RowCount);
                    Assert.Equal(lines.Count, d.Train.RowCount + d.BadLines["train"].Dropped + d.BadLines["train"].BlankLines);
                    Assert.Equal(blank, d.BadLines["train"].BlankLines);
                    Assert.All(d.Train.Labels.ToArray(), l => Assert.True(l is 0f or 1f));
                    if (mode == OnBadLine.Error)
                    {
                        Assert.Equal(lines.Count - blank, expected);
                    }
                }
                catch (DataFormatException e)
                {
                    Assert.True(mode == OnBadLine.Error ? expected < lines.Count - blank : expected == 0, e.Message);
                    Assert.Contains("train.libfm", e.Message, StringComparison.Ordinal);
                }
            }
        }, iter: 200, threads: 1);
        Assert.True(mutated >= 5000, $"{mutated} mutated lines");
    }

    [Fact]
    public void Fuzz_mutated_csv_lines()
    {
        var mutated = 0;
        var yaml = """
            train_data: train.csv
            feature_cols:
              - {name: c, type: categorical}
              - {name: n, type: numeric, fill_na: 0}
              - {name: s, type: sequence, max_len: 3}
              - {name: f, type: categorical, dtype: float, fill_na: 0, preprocess: convert_to_bucket}
              - {name: g, type: meta}
            label_col: {name: label}
            """;
        Gen.Int.Sample(seed =>
        {
            var rng = new Random(seed);
            var lines = new List<string>();
            for (var i = 0; i < 60; i++)
            {
                var line = string.Create(CultureInfo.InvariantCulture, $"{rng.Next(2)},c{rng.Next(9)},{rng.NextDouble() * 100},a^b{rng.Next(4)},{rng.Next(-5, 500)},u{rng.Next(5)}");
                var mutate = rng.Next(2) == 0;
                mutated += mutate ? 1 : 0;
                lines.Add(mutate ? Mutate(line, rng) : line);
            }
            using var tmp = new TempDir();
            tmp.File("train.csv", "label,c,n,s,f,g\n" + string.Concat(lines.Select(l => l + "\n")));
            var quotes = lines.Any(l => l.Contains('"', StringComparison.Ordinal));
            try
            {
                using var d = Helpers.PrepareYaml(tmp, yaml, new DataOptions { OnBadLine = OnBadLine.Skip, Threads = 1 });
                if (!quotes)
                {
                    Assert.Equal(lines.Count, d.Train.RowCount + d.BadLines["train"].Dropped + d.BadLines["train"].BlankLines);
                }
                foreach (var v in d.Train.Numeric(0))
                {
                    Assert.True(float.IsFinite(v) || v is float.PositiveInfinity or float.NegativeInfinity, "numeric must be finite in double");
                }
                var map = d.FeatureMap;
                foreach (var code in d.Train.Categorical(0))
                {
                    Assert.InRange(code, 1, map["c"].OovIdx);
                }
                foreach (var code in d.Train.Sequence(0))
                {
                    Assert.InRange(code, 0, map["s"].OovIdx);
                }
            }
            catch (DataFormatException e)
            {
                Assert.Contains("train.csv", e.Message, StringComparison.Ordinal);
            }
        }, iter: 200, threads: 1);
        Assert.True(mutated >= 5000, $"{mutated} mutated lines");
    }

    [Fact]
    public void Fuzz_mutated_configs()
    {
        const string yaml = """
            ds:
              data_format: csv
              train_data: train.csv
              min_categr_count: 2
              feature_cols:
                - {name: [a, b], active: True, dtype: float, type: categorical, fill_na: 0, preprocess: convert_to_bucket}
                - {name: s, type: sequence, splitter: ^, max_len: 5, padding: pre}
                - {name: n, type: numeric, normalizer: StandardScaler, na_value: 0}
              label_col: {name: label, dtype: float}
            """;
        var parsed = 0;
        Gen.Int.Sample(seed =>
        {
            var rng = new Random(seed);
            var text = yaml;
            var edits = 1 + rng.Next(4);
            for (var k = 0; k < edits; k++)
            {
                var sb = new StringBuilder(text);
                if (sb.Length == 0)
                {
                    break;
                }
                var pos = rng.Next(sb.Length);
                const string ins = "{}[]:,-#'\"\n 0aeE.!&*?|>%@`";
                const string rep = "{}[]:, -a1e.x";
                switch (rng.Next(4))
                {
                    case 0: sb.Remove(pos, 1); break;
                    case 1: sb.Insert(pos, ins[rng.Next(ins.Length)]); break;
                    case 2: sb[pos] = rep[rng.Next(rep.Length)]; break;
                    default: sb.Length = pos; break;
                }
                text = sb.ToString();
            }
            try
            {
                var cfg = DatasetConfigLoader.Parse(text, "fuzz.yaml", rng.Next(2) == 0 ? "ds" : null);
                Assert.NotEmpty(cfg.ActiveColumns);
                Interlocked.Increment(ref parsed);
            }
            catch (DataConfigException e)
            {
                Assert.Contains("fuzz.yaml", e.Message, StringComparison.Ordinal);
            }
        }, iter: 10_000, threads: 1);
        Assert.True(parsed > 100, $"only {parsed} mutated configs parsed");
    }
}
