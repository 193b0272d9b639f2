using System.Globalization;
using System.IO.Compression;
using System.Text;
using FsdNet.Data;
using FsdNet.Tests.Data;
using Xunit;
using Xunit.Abstractions;

namespace FsdNet.Tests.Fuzz;

/// <summary>
/// Mutated libFM, CSV and gzip input: every file is either parsed (and then what was kept is exactly what is valid) or
/// rejected with a DataFormatException/DataConfigException naming the file; nothing else escapes, nothing hangs.
/// </summary>
public sealed class TextInputFuzzTests(ITestOutputHelper output)
{
    private static readonly Type[] DataErrors = [typeof(DataFormatException), typeof(DataConfigException)];

    private static string LineMutation(string line, Random rng) => Mutations.Text(line, rng, maxEdits: 3);

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
                !double.IsFinite(v) || parts[i].AsSpan(c + 1).ContainsAny(" \t\0"))
            {
                return false;
            }
        }
        return true;
    }

    private static bool ValidLabel(string s) =>
        double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && !s.AsSpan().ContainsAny(" \t\0") && (v == 0 || v == 1 || v == -1);

    [Fact]
    public void Mutated_libfm_files()
    {
        var counts = new FuzzCounts("libFM files");
        var mutatedLines = 0;
        var yaml = "train_data: train.libfm\ndata_format: libfm\nfeature_cols: [{name: [a, b, c]}]\nlabel_col: {name: label}\n";
        FuzzCounts.ForEachSeed(seed =>
        {
            var rng = new Random(seed);
            var lines = new List<string>();
            for (var i = 0; i < 60; i++)
            {
                var line = $"{(rng.Next(2) == 0 ? "1" : "-1")} {rng.Next(20)}:1 {rng.Next(5)}:1 {rng.Next(3)}:{rng.NextDouble().ToString("R", CultureInfo.InvariantCulture)}";
                var mutate = rng.Next(2) == 0;
                mutatedLines += mutate ? 1 : 0;
                // no '\n' or '\r' inside a line: the oracle judges single lines
                lines.Add(mutate ? LineMutation(line, rng).Replace('\n', ' ').Replace('\r', ' ') : line);
            }
            var expected = lines.Count(ValidLibFm);
            var blank = lines.Count(string.IsNullOrWhiteSpace);
            using var tmp = new TempDir();
            var path = tmp.File("train.libfm", string.Concat(lines.Select((l, i) => l + (i % 2 == 0 ? "\r\n" : "\n"))));
            foreach (var mode in new[] { OnBadLine.Skip, OnBadLine.Error })
            {
                counts.Run(() =>
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
                }, DataErrors, e =>
                {
                    // a NUL on the first line marks the file as binary; otherwise only bad lines reject (error mode) or nothing left (skip)
                    Assert.True(lines[0].Contains('\0', StringComparison.Ordinal) ? e.Message.Contains("binary data", StringComparison.Ordinal)
                        : mode == OnBadLine.Error ? expected < lines.Count - blank : expected == 0, e.Message);
                    Assert.StartsWith(path, e.Message, StringComparison.Ordinal);
                });
            }
        }, count: 150, baseSeed: 11000);
        counts.Report(output);
        Assert.True(mutatedLines >= 4000, $"{mutatedLines} mutated lines");
        Assert.True(counts.Accepted > 0 && counts.Rejected > 0, counts.ToString());
    }

    [Fact]
    public void Mutated_csv_files()
    {
        var counts = new FuzzCounts("CSV files");
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
        FuzzCounts.ForEachSeed(seed =>
        {
            var rng = new Random(seed);
            var lines = new List<string>();
            for (var i = 0; i < 60; i++)
            {
                var line = string.Create(CultureInfo.InvariantCulture, $"{rng.Next(2)},c{rng.Next(9)},{rng.NextDouble() * 100},a^b{rng.Next(4)},{rng.Next(-5, 500)},u{rng.Next(5)}");
                lines.Add(rng.Next(2) == 0 ? LineMutation(line, rng) : line);
            }
            using var tmp = new TempDir();
            var path = tmp.File("train.csv", "label,c,n,s,f,g\n" + string.Concat(lines.Select(l => l + "\n")));
            var simple = !lines.Any(l => l.Contains('"', StringComparison.Ordinal) || l.Contains('\n', StringComparison.Ordinal) || l.Contains('\r', StringComparison.Ordinal));
            counts.Run(() =>
            {
                using var d = Helpers.PrepareYaml(tmp, yaml, new DataOptions { OnBadLine = OnBadLine.Skip, Threads = 1 });
                var r = d.BadLines["train"];
                if (simple)
                {
                    Assert.Equal(lines.Count, d.Train.RowCount + r.Dropped + r.BlankLines);
                }
                Assert.All(d.Train.Labels.ToArray(), l => Assert.True(l is 0f or 1f));
                foreach (var v in d.Train.Numeric(0))
                {
                    Assert.True(float.IsFinite(v) || float.IsInfinity(v), "numeric values are finite doubles (float overflow may give +-inf)");
                }
                var map = d.FeatureMap;
                Assert.All(d.Train.Categorical(0).ToArray(), code => Assert.InRange(code, 1, map["c"].OovIdx));
                Assert.All(d.Train.Sequence(0).ToArray(), code => Assert.InRange(code, 0, map["s"].OovIdx));
            }, DataErrors, e => Assert.StartsWith(path, e.Message, StringComparison.Ordinal));
        }, count: 250, baseSeed: 12000);
        counts.Report(output);
        Assert.True(counts.Accepted > 0 && counts.Rejected > 0, counts.ToString());
    }

    [Fact]
    public void Mutated_gzip_archives_are_rejected_or_decode_to_the_original()
    {
        var counts = new FuzzCounts("gzip archives");
        var text = string.Concat(Enumerable.Range(0, 3000).Select(i => string.Create(CultureInfo.InvariantCulture, $"{i % 2} {i % 31}:1 {i % 7}:1\n")));
        byte[] original;
        using (var ms = new MemoryStream())
        {
            using (var gz = new GZipStream(ms, CompressionLevel.Optimal))
            {
                gz.Write(Encoding.UTF8.GetBytes(text));
            }
            original = ms.ToArray();
        }
        const string yaml = "train_data: train.libfm.gz\ndata_format: libfm\nfeature_cols: [{name: [a, b]}]\nlabel_col: {name: label}\n";
        using var tmp = new TempDir();
        float[] wantLabels;
        int[] wantCodes;
        File.WriteAllBytes(tmp.Sub("train.libfm.gz"), original);
        using (var d = Helpers.PrepareYaml(tmp, yaml))
        {
            (wantLabels, wantCodes) = (d.Train.Labels.ToArray(), [.. d.Train.Categorical(0).ToArray(), .. d.Train.Categorical(1).ToArray()]);
        }
        var intactAccepted = 0;
        FuzzCounts.ForEachSeed(seed =>
        {
            var rng = new Random(seed);
            var bad = Mutations.Bytes(original, rng);
            var path = tmp.Sub("train.libfm.gz");
            File.WriteAllBytes(path, bad);
            var mode = rng.Next(2) == 0 ? OnBadLine.Skip : OnBadLine.Error;
            counts.Run(() =>
            {
                using var d = Helpers.PrepareYaml(tmp, yaml, new DataOptions { OnBadLine = mode, Rebuild = true });
                // accepted: only when the damage missed everything that carries data (e.g. the MTIME or OS header bytes)
                Assert.Equal(wantLabels, d.Train.Labels.ToArray());
                int[] codes = [.. d.Train.Categorical(0).ToArray(), .. d.Train.Categorical(1).ToArray()];
                Assert.Equal(wantCodes, codes);
                intactAccepted++;
            }, DataErrors, e => Assert.StartsWith(path, e.Message, StringComparison.Ordinal));
        }, count: 300, baseSeed: 13000);
        counts.Report(output);
        output.WriteLine($"gzip archives accepted (damage outside the data, decoded identical to the original): {intactAccepted}");
        Assert.True(counts.Rejected > counts.Cases * 9 / 10, counts.ToString());
    }
}
