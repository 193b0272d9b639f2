using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using FsdNet.Metrics;
using FsdNet.Serving;
using FsdNet.Tensors;
using FsdNet.Tests.Fuzz;
using FsdNet.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace FsdNet.Tests.Serving;

/// <summary>The single-file bundle: export, round trip, and a clear ModelFileException for every kind of bad file.</summary>
[Collection(ThreadingCollection.Name)]
public sealed class BundleTests(ScorerTests.Toy fixture, ITestOutputHelper output) : IClassFixture<ScorerTests.Toy>
{
    private readonly ServingToy toy = fixture.Value;

    [Fact]
    public void A_bundle_predicts_and_evaluates_a_raw_file_as_training_did()
    {
        var bundle = ModelBundle.Load(toy.RunDir);
        // The test split as a raw file, encoded with the bundle's feature map: the metrics training wrote for it.
        var metrics = bundle.Evaluate(toy.TestCsv);
        Assert.Equal(["AUC", "logloss"], metrics.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(toy.TestMetrics["AUC"], metrics["AUC"], 12);
        Assert.Equal(toy.TestMetrics["logloss"], metrics["logloss"], 9);
        var p = bundle.Predict(toy.TestCsv);
        var expected = toy.PipelinePredictions(bundle.Model);
        Assert.Equal(expected.Length, p.Length);
        Assert.True(expected.Zip(p).Max(t => Math.Abs(t.First - t.Second)) <= 1e-6);
        Assert.Equal(bundle.Evaluate(toy.TestCsv, ["logloss"])["logloss"], BinaryMetrics.LogLoss(ServingToy.ReadCsv(toy.TestCsv).Select(r => float.Parse(r["label"], CultureInfo.InvariantCulture)).ToArray(), p), 9);
        Assert.Contains("unknown metric 'AUROC'", Assert.Throws<ArgumentException>(() => bundle.Evaluate(toy.TestCsv, ["AUROC"])).Message, StringComparison.Ordinal);
    }

    private string Export(string name)
    {
        var path = toy.Sub(name);
        var summary = BundleFile.Export(toy.RunDir, path);
        Assert.Contains("FSDNet", summary);
        return path;
    }

    [Fact]
    public void A_bundle_scores_bitwise_as_its_run_directory_and_records_its_training()
    {
        var path = Export("roundtrip.fsdb");
        var bundle = ModelBundle.Load(path);
        Assert.True(bundle.IsBundleFile);
        Assert.Equal(Path.GetFullPath(path), bundle.SourcePath);
        Assert.Equal(BundleFile.FormatVersion, bundle.FileFormatVersion);
        Assert.Equal(ModelBundle.CurrentFsdNetVersion, bundle.FsdNetVersion);
        Assert.Equal(toy.TestMetrics["AUC"], bundle.TrainingMetrics.Test["AUC"]);
        Assert.Equal(toy.TestMetrics["logloss"], bundle.TrainingMetrics.Test["logloss"]);
        Assert.True(bundle.TrainingMetrics.Valid.ContainsKey("AUC"));
        Assert.Equal(1, bundle.TrainingMetrics.BestEpoch);
        Assert.Equal(toy.Data.FeatureMap.SchemaHash, bundle.FeatureMap.SchemaHash);
        var fromDir = ModelBundle.Load(toy.RunDir);
        Assert.False(fromDir.IsBundleFile);
        Assert.Equal(toy.TestMetrics["AUC"], fromDir.TrainingMetrics.Test["AUC"]);
        foreach (var fold in new[] { false, true })
        {
            var options = new ScorerOptions { FoldBatchNorm = fold };
            var rows = toy.TestRows();
            var a = ServingToy.ScoreAll(Scorer.Load(path, options), rows);
            var b = ServingToy.ScoreAll(Scorer.Load(toy.RunDir, options), rows);
            Assert.Equal(b, a); // bitwise
            for (var k = 0; k < 3; k++)
            {
                Assert.Equal(ServingToy.ScoreAll(Scorer.Load(toy.RunDir, options), rows, head: k), ServingToy.ScoreAll(Scorer.Load(path, options), rows, head: k));
            }
        }
        // the model.fsdm path loads too, and a bundle of a bundle is refused
        Assert.False(ModelBundle.Load(Path.Combine(toy.RunDir, ModelBundle.ModelFile)).IsBundleFile);
        Assert.Contains("already a bundle", Assert.Throws<ArgumentException>(() => BundleFile.Export(path, toy.Sub("again.fsdb"))).Message);
    }

    private static ModelFileException Refused(string path)
    {
        var e = Assert.Throws<ModelFileException>(() => ModelBundle.Load(path));
        Assert.StartsWith(path, e.Message, StringComparison.Ordinal);
        return e;
    }

    /// <summary>A bundle with edited metadata and tensors but a valid checksum (what a buggy writer could produce).</summary>
    private static void Rewrite(string source, string target, Func<JsonObject, JsonObject> meta, Func<List<(string Name, Tensor Value)>, List<(string Name, Tensor Value)>>? tensors = null)
    {
        var (m, t) = TensorFile.Read(source);
        var node = JsonNode.Parse(m)!.AsObject();
        TensorFile.Write(target, meta(node).ToJsonString(), (tensors ?? (x => x))([.. t]));
    }

    [Fact]
    public void Every_kind_of_bad_file_is_refused_naming_it_and_the_problem()
    {
        var good = Export("good.fsdb");
        var bytes = File.ReadAllBytes(good);
        var bad = toy.Sub("bad.fsdb");

        File.WriteAllBytes(bad, bytes[..(bytes.Length / 2)]);
        Assert.Contains("checksum", Refused(bad).Message);
        var tampered = (byte[])bytes.Clone();
        tampered[bytes.Length / 3] ^= 0x10;
        File.WriteAllBytes(bad, tampered);
        Assert.Contains("checksum", Refused(bad).Message);
        File.WriteAllBytes(bad, []);
        Assert.Contains("not an FsdNet", Refused(bad).Message);
        File.WriteAllText(bad, "label,u\n1,a\n");
        Assert.Contains("not an FsdNet", Refused(bad).Message);
        Assert.Contains("no such file", Refused(toy.Sub("absent.fsdb")).Message);
        Assert.Contains("training checkpoint", Refused(Path.Combine(toy.RunDir, "checkpoint.fsdc")).Message);

        Rewrite(good, bad, j => { j["bundle_version"] = 7; return j; });
        Assert.Contains("bundle format version 7", Refused(bad).Message);
        Rewrite(good, bad, j => { j["format"] = "something-else"; return j; });
        Assert.Contains("'something-else' file", Refused(bad).Message);
        Rewrite(good, bad, j => { j.Remove("config_yaml"); return j; });
        Assert.Contains("bad bundle metadata", Refused(bad).Message);
        Rewrite(good, bad, j => { j["feature_map"] = j["feature_map"]!.GetValue<string>()[..200]; return j; });
        Assert.Contains("embedded feature map is damaged", Refused(bad).Message);
        Rewrite(good, bad, j => { j["feature_map"] = j["feature_map"]!.GetValue<string>().Replace("\"u1\"", "\"uX\"", StringComparison.Ordinal); return j; });
        Assert.Contains("embedded feature map is damaged", Refused(bad).Message);
        Rewrite(good, bad, j => { j["config_yaml"] = j["config_yaml"]!.GetValue<string>().Replace("num_cross_layers: 3", "num_cross_layers: 2", StringComparison.Ordinal); return j; });
        Assert.Contains("saved model config does not build", Refused(bad).Message);
        Rewrite(good, bad, j => { j["config_yaml"] = j["config_yaml"]!.GetValue<string>().Replace("embedding_dim: 4", "embedding_dim: 5", StringComparison.Ordinal); return j; });
        Assert.Contains("has shape", Refused(bad).Message);
        Rewrite(good, bad, j => { j["model"] = "DeepFM"; return j; });
        Assert.Contains("says model 'DeepFM'", Refused(bad).Message);
        Rewrite(good, bad, j => j, t => t.Skip(1).ToList());
        Assert.Contains("no tensor", Refused(bad).Message);
        Rewrite(good, bad, j => j, t => [.. t, ("extra", new Tensor(new Shape(2)))]);
        Assert.Contains("holds", Refused(bad).Message);
        Rewrite(good, bad, j => j, t => [.. t.Select((x, i) => i == 0 ? (x.Name, new Tensor(new Shape(x.Value.Length + 1))) : x)]);
        Assert.Contains("has shape", Refused(bad).Message);
        Rewrite(good, bad, j => j, t =>
        {
            var copy = t.Select(x => (x.Name, Value: new Tensor(x.Value.Shape))).ToList();
            for (var i = 0; i < t.Count; i++)
            {
                t[i].Value.Span.CopyTo(copy[i].Value.Span);
            }
            copy[^1].Value.Span[0] = float.NaN;
            return copy;
        });
        Assert.Contains("NaN", Refused(bad).Message);
        // the intact file still loads (nothing above changed it)
        Assert.True(ModelBundle.Load(good).IsBundleFile);
    }

    [Fact]
    public void A_thousand_corrupted_bundles_are_all_refused_with_a_clear_error()
    {
        var good = Export("fuzz.fsdb");
        var bytes = File.ReadAllBytes(good);
        var (meta, tensors) = TensorFile.Read(good);
        var path = toy.Sub("mutated.fsdb");
        var raw = new FuzzCounts("corrupted bundle bytes");
        FuzzCounts.ForEachSeed(seed =>
        {
            var rng = new Random(seed);
            byte[] mutated;
            switch (seed % 3)
            {
                case 0:
                    mutated = (byte[])bytes.Clone();
                    for (var k = 1 + rng.Next(4); k > 0; k--)
                    {
                        mutated[rng.Next(mutated.Length)] ^= (byte)(1 << rng.Next(8));
                    }
                    break;
                case 1:
                    mutated = bytes[..rng.Next(bytes.Length)];
                    break;
                default:
                    mutated = Mutations.Bytes(bytes, rng);
                    break;
            }
            File.WriteAllBytes(path, mutated);
            raw.Run(() => ModelBundle.Load(path), [typeof(ModelFileException)], e => Assert.StartsWith(path, e.Message, StringComparison.Ordinal));
        }, count: 600, baseSeed: 10_000);
        raw.Report(output);
        Assert.Equal(0, raw.Accepted);

        // Valid checksums, damaged contents: the metadata JSON mutated as text, or tensors reshaped, renamed or poisoned.
        var crafted = new FuzzCounts("crafted bundles (valid checksum)");
        var sample = toy.TestRows().Take(8).ToList();
        var expected = ServingToy.ScoreAll(Scorer.Load(good), sample);
        var accepted = 0;
        FuzzCounts.ForEachSeed(seed =>
        {
            var rng = new Random(seed);
            var m = meta;
            var t = tensors.ToList();
            switch (seed % 4)
            {
                case 0 or 1:
                    m = Mutations.Text(meta, rng, maxEdits: 3);
                    break;
                case 2:
                {
                    var i = rng.Next(t.Count);
                    var (name, value) = t[i];
                    t[i] = rng.Next(3) switch
                    {
                        0 => (name + "x", value),
                        1 => (name, new Tensor(new Shape(value.Length + 1 + rng.Next(3)))),
                        _ => (name, new Tensor(new Shape(2, value.Length))),
                    };
                    break;
                }
                default:
                {
                    var i = rng.Next(t.Count);
                    var copy = new Tensor(t[i].Value.Shape);
                    t[i].Value.Span.CopyTo(copy.Span);
                    copy.Span[rng.Next(copy.Length)] = rng.Next(2) == 0 ? float.NaN : float.PositiveInfinity;
                    t[i] = (t[i].Name, copy);
                    break;
                }
            }
            TensorFile.Write(path, m, t);
            crafted.Run(() =>
            {
                var b = ModelBundle.Load(path);
                // accepted only when the change did not matter (e.g. whitespace in the JSON): it scores as the original
                Assert.Equal(expected, ServingToy.ScoreAll(Scorer.Create(b), sample));
                accepted++;
            }, [typeof(ModelFileException)], e => Assert.StartsWith(path, e.Message, StringComparison.Ordinal));
        }, count: 500, baseSeed: 20_000);
        crafted.Report(output);
        output.WriteLine($"crafted bundles accepted as the same model: {accepted}");
        Assert.True(crafted.Rejected > crafted.Cases / 2, crafted.ToString());
    }

    [Fact]
    public void The_export_command_writes_a_bundle_the_scorer_loads()
    {
        var output = toy.Sub("cli.fsdb");
        var (code, _, err) = CliRunner.Run("export", "--model", toy.RunDir, "--format", "bundle", "--output", output);
        Assert.True(code == 0, err);
        Assert.Contains("wrote", err);
        Assert.Equal(3, Scorer.Load(output).HeadCount);
        (code, _, err) = CliRunner.Run("export", "--model", toy.Sub("nothing-here"), "--format", "bundle", "--output", toy.Sub("x.fsdb"));
        Assert.NotEqual(0, code);
        Assert.Contains("nothing-here", err);
        Assert.DoesNotContain("   at ", err);
    }
}
