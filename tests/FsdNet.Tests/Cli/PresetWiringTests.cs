using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using FsdNet.Data;
using FsdNet.Tensors;
using FsdNet.Tests.Data;
using FsdNet.Tests.Support;
using Xunit;

namespace FsdNet.Tests.Cli;

/// <summary>
/// The built-in presets for the data sets that are not on this machine (ML-1M, MovieLens-tag, Criteo): their files,
/// columns and official hyper-parameters wired end to end on small files in the layout each preset expects.
/// </summary>
[Collection(ThreadingCollection.Name)]
public sealed partial class PresetWiringTests : IDisposable
{
    private readonly TempDir tmp = new();

    public void Dispose() => tmp.Dispose();

    [GeneratedRegex(@"test AUC (\d\.\d+|NaN) logloss (\d\.\d+)\s*$")]
    private static partial Regex LastLine();

    private (int Code, string Out, string Err) Train(string dataset, params string[] extra) =>
        CliRunner.Run(["train", "--dataset", dataset, "--data-root", tmp.Path, "--run-dir", tmp.Sub("run-" + dataset),
            "--cache-dir", tmp.Sub("cache"), "--epochs", "1", .. extra]);

    private string RunConfig(string dataset) => File.ReadAllText(Path.Combine(tmp.Sub("run-" + dataset), "config.yaml"));

    [Fact]
    public void Ml1m_from_raw_grouplens_files()
    {
        var rng = new Rng(1);
        var dir = Directory.CreateDirectory(tmp.Sub("ml-1m")).FullName;
        var users = new StringBuilder();
        for (var u = 1; u <= 40; u++)
        {
            users.Append(CultureInfo.InvariantCulture, $"{u}::{(u % 2 == 0 ? "M" : "F")}::{(u % 7) * 10}::{u % 21}::0{u}000\n");
        }
        File.WriteAllText(Path.Combine(dir, "users.dat"), users.ToString());
        var ratings = new StringBuilder();
        var threes = 0;
        for (var i = 0; i < 1500; i++)
        {
            var r = 1 + rng.NextInt(5);
            threes += r == 3 ? 1 : 0;
            ratings.Append(CultureInfo.InvariantCulture, $"{1 + rng.NextInt(40)}::{1 + rng.NextInt(60)}::{r}::97830{i}\n");
        }
        File.WriteAllText(Path.Combine(dir, "ratings.dat"), ratings.ToString());

        var (code, output, err) = Train("ml-1m");
        Assert.True(code == 0, err + output);
        Assert.Matches(LastLine(), output);
        var train = File.ReadAllLines(Path.Combine(dir, "train.csv"));
        Assert.Equal("UserID,Gender,Age,Occupation,MovieID,Label", train[0]);
        var total = train.Length + File.ReadAllLines(Path.Combine(dir, "valid.csv")).Length + File.ReadAllLines(Path.Combine(dir, "test.csv")).Length - 3;
        Assert.Equal(1500 - threes, total);                  // ratings of 3 dropped, nothing else lost
        Assert.Equal((int)((1500 - threes) * 0.8), train.Length - 1);
        var config = RunConfig("ml-1m");
        Assert.Contains("net_dropout: 0.1", config, StringComparison.Ordinal);
        Assert.Contains("loss_coefficient: 0.4", config, StringComparison.Ordinal);
        Assert.Contains("Temp: 1.8", config, StringComparison.Ordinal);
        var map = FeatureMap.Load(Path.Combine(tmp.Sub("run-ml-1m"), "feature_map.json"));
        Assert.Equal(["UserID", "Gender", "Age", "Occupation", "MovieID"], map.Categorical.Select(f => f.Name));
        Assert.True(map.HasGroupId);
    }

    [Fact]
    public void Ml_tag_csv_splits()
    {
        var rng = new Rng(2);
        var dir = Directory.CreateDirectory(tmp.Sub("ml-tag")).FullName;
        foreach (var (name, rows) in new[] { ("train.csv", 800), ("valid.csv", 200), ("test.csv", 200) })
        {
            var sb = new StringBuilder("user_id,item_id,tag_id,label\n");
            for (var i = 0; i < rows; i++)
            {
                int u = rng.NextInt(30), it = rng.NextInt(50), t = rng.NextInt(20);
                sb.Append(CultureInfo.InvariantCulture, $"{u},{it},{t},{((u + t) % 3 == 0 ? 1 : 0)}\n");
            }
            File.WriteAllText(Path.Combine(dir, name), sb.ToString());
        }
        var (code, output, err) = Train("ml-tag");
        Assert.True(code == 0, err + output);
        Assert.Matches(LastLine(), output);
        var config = RunConfig("ml-tag");
        Assert.Contains("embedding_regularizer: 1.e-2", config, StringComparison.Ordinal);
        Assert.Contains("net_dropout: 0.3", config, StringComparison.Ordinal);
        Assert.Contains("loss_coefficient: 0.3", config, StringComparison.Ordinal);
    }

    [Fact]
    public void Criteo_raw_tsv_with_bucketized_integers()
    {
        var rng = new Rng(3);
        var dir = Directory.CreateDirectory(tmp.Sub("criteo")).FullName;
        foreach (var (name, rows) in new[] { ("train.txt", 600), ("valid.txt", 150), ("test.txt", 150) })
        {
            var sb = new StringBuilder();
            for (var i = 0; i < rows; i++)
            {
                sb.Append(rng.NextInt(4) == 0 ? '1' : '0');
                for (var c = 0; c < 13; c++)
                {
                    sb.Append('\t');
                    if (rng.NextInt(5) > 0)
                    {
                        sb.Append(CultureInfo.InvariantCulture, $"{rng.NextInt(500)}");
                    }
                }
                for (var c = 0; c < 26; c++)
                {
                    sb.Append('\t');
                    if (rng.NextInt(6) > 0)
                    {
                        sb.Append(CultureInfo.InvariantCulture, $"{rng.NextInt(12) * 7919 + c:x8}");
                    }
                }
                sb.Append('\n');
            }
            File.WriteAllText(Path.Combine(dir, name), sb.ToString());
        }
        var (code, output, err) = Train("criteo");
        Assert.True(code == 0, err + output);
        Assert.Matches(LastLine(), output);
        var config = RunConfig("criteo");
        Assert.Contains("batch_size: 4096", config, StringComparison.Ordinal);
        Assert.Contains("embedding_regularizer: 1.0e-5", config, StringComparison.Ordinal);
        Assert.Contains("min_categr_count: 10", config, StringComparison.Ordinal);
        var map = FeatureMap.Load(Path.Combine(tmp.Sub("run-criteo"), "feature_map.json"));
        Assert.Equal(39, map.CategoricalCount);
        Assert.Equal("convert_to_bucket", map["I1"].Preprocess);
    }

    [Fact]
    public void Ml1m_without_any_files_says_what_to_put_where()
    {
        Directory.CreateDirectory(tmp.Sub("ml-1m"));
        var (code, _, err) = Train("ml-1m");
        Assert.Equal(2, code);
        Assert.Contains("ratings.dat", err, StringComparison.Ordinal);
        Assert.Contains("fsdnet data download movielens1m", err, StringComparison.Ordinal);
    }
}
