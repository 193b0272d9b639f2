using FsdNet.Data;
using FsdNet.Tests.Support;
using Xunit;

namespace FsdNet.Tests.Data;

public sealed class FixtureTests
{
    /// <summary>Prepares a fixture file with a config whose train_data placeholder is replaced by the fixture path.</summary>
    internal static PreparedData PrepareFixture(string fixture, string yaml, DataOptions? options = null)
    {
        var path = Path.Combine(SharedData.Dir("fixtures_deepctr"), fixture);
        var tmp = new TempDir();
        try
        {
            var text = yaml.Replace("MOVIELENS", path, StringComparison.Ordinal).Replace("FIXTURE", path, StringComparison.Ordinal);
            return Helpers.PrepareYaml(tmp, text, options);
        }
        finally
        {
            tmp.Dispose();
        }
    }

    [DataFact("fixtures_deepctr")]
    public void Criteo_sample_csv_with_buckets()
    {
        using var data = PrepareFixture("criteo_sample.txt.gz", """
            criteo_sample:
              data_format: csv
              train_data: FIXTURE
              min_categr_count: 1
              feature_cols:
                - {name: [I1,I2,I3,I4,I5,I6,I7,I8,I9,I10,I11,I12,I13], dtype: float, fill_na: 0, na_value: 0, preprocess: convert_to_bucket, type: categorical}
                - {name: [C1,C2,C3,C4,C5,C6,C7,C8,C9,C10,C11,C12,C13,C14,C15,C16,C17,C18,C19,C20,C21,C22,C23,C24,C25,C26], dtype: str, fill_na: '', type: categorical}
              label_col: {name: label, dtype: float}
            """);
        Assert.Equal(200, data.Train.RowCount);
        Assert.Equal(49, (int)data.Train.Labels.ToArray().Sum());
        Assert.Equal(39, data.FeatureMap.NumFields);
        // row 1: I3 = 260.0 -> floor(ln(260)^2) = 30; I12 = 0.0 -> 0 == fill_na -> OOV
        var i3 = data.FeatureMap["I3"];
        Assert.Equal(data.Train.Categorical(2)[0], i3.IndexOf("30"));
        Assert.Equal(data.FeatureMap["I12"].OovIdx, data.Train.Categorical(11)[0]);
        // row 2: I2 = -1 -> int(-1) = -1, a token of its own
        Assert.Equal(data.FeatureMap["I2"].IndexOf("-1"), data.Train.Categorical(1)[1]);
        Assert.Contains("-1", data.FeatureMap["I2"].Vocab);
        // C20 empty in row 1 -> OOV
        Assert.Equal(data.FeatureMap["C20"].OovIdx, data.Train.Categorical(13 + 19)[0]);
        // numeric token order: ascending values
        var vals = i3.Vocab.Select(v => double.Parse(v, System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(vals.Order(), vals);
    }

    [DataFact("fixtures_deepctr")]
    public void Avazu_sample_with_meta_id_and_min_count()
    {
        using var data = PrepareFixture("avazu_sample.txt.gz", """
            avazu_sample:
              train_data: FIXTURE
              min_categr_count: 2
              feature_cols:
                - {name: id, type: meta, dtype: str}
                - {name: [hour,C1,banner_pos,site_id,site_domain,site_category,app_id,app_domain,app_category,device_id,device_ip,device_model,device_type,device_conn_type,C14,C15,C16,C17,C18,C19,C20,C21], type: categorical, dtype: str}
              label_col: {name: click, dtype: float}
            """);
        Assert.Equal(100, data.Train.RowCount);
        Assert.Equal(20, (int)data.Train.Labels.ToArray().Sum());
        Assert.Equal(22, data.FeatureMap.NumFields);
        Assert.True(data.Train.HasGroupIds);
        Assert.Equal(100, data.Train.GroupIds.ToArray().Distinct().Count()); // ids are unique (20-digit, hashed)
        // device_ip is mostly unique: with min count 2, most rows map to OOV
        var ip = data.FeatureMap["device_ip"];
        var col = data.Train.Categorical(10).ToArray();
        Assert.True(col.Count(c => c == ip.OovIdx) > 50);
    }

    [DataFact("fixtures_deepctr")]
    public void Movielens_sample_genres_as_sequence()
    {
        // rating is not binary, so use a derived binary label file written by the test
        using var tmp = new TempDir();
        var lines = new List<string>();
        using (var sr = new StreamReader(new System.IO.Compression.GZipStream(File.OpenRead(Path.Combine(SharedData.Dir("fixtures_deepctr"), "movielens_sample.txt.gz")), System.IO.Compression.CompressionMode.Decompress)))
        {
            var header = sr.ReadLine()!;
            lines.Add(header.Replace("rating", "label", StringComparison.Ordinal));
            while (sr.ReadLine() is { } l)
            {
                var parts = Nietras(l);
                var rating = int.Parse(parts[2], System.Globalization.CultureInfo.InvariantCulture);
                lines.Add(string.Join(',', parts.Select((p, i) => i == 2 ? (rating > 3 ? "1" : "0") : p.Contains(',', StringComparison.Ordinal) ? $"\"{p}\"" : p)));
            }
        }
        tmp.File("ml.csv", string.Join('\n', lines) + "\n");
        using var data = Helpers.PrepareYaml(tmp, """
            ml:
              train_data: ml.csv
              feature_cols:
                - {name: user_id, type: meta, dtype: int}
                - {name: [movie_id, gender, age, occupation, zip], type: categorical, dtype: str}
                - {name: genres, type: sequence, splitter: '|', max_len: 3}
              label_col: {name: label}
            """);
        Assert.Equal(200, data.Train.RowCount);
        Assert.Equal(113, (int)data.Train.Labels.ToArray().Sum()); // ratings 4 and 5
        Assert.Equal(3, data.FeatureMap.SequenceWidth);
        Assert.Equal(3299, data.Train.GroupIds[0]);
        var g = data.FeatureMap["genres"];
        var seq = data.Train.Sequence(0);
        Assert.Equal([g.IndexOf("Comedy"), g.IndexOf("Drama"), 0], seq[..3].ToArray());
    }

    private static List<string> Nietras(string line)
    {
        var result = new List<string>();
        var sb = new System.Text.StringBuilder();
        var quoted = false;
        foreach (var ch in line)
        {
            if (ch == '"')
            {
                quoted = !quoted;
            }
            else if (ch == ',' && !quoted)
            {
                result.Add(sb.ToString());
                sb.Clear();
            }
            else
            {
                sb.Append(ch);
            }
        }
        result.Add(sb.ToString());
        return result;
    }
}
