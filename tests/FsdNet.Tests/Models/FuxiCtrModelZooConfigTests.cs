using System.Globalization;
using System.Text.Json;
using FsdNet.Models;
using FsdNet.Tensors;
using FsdNet.Tests.Data;
using FsdNet.Tests.Support;
using Xunit;
using Xunit.Abstractions;
using YamlDotNet.RepresentationModel;

namespace FsdNet.Tests.Models;

/// <summary>
/// FuxiCTR's own model_zoo configs run with FsdNet: every experiment of every model_zoo/**/config/model_config.yaml
/// whose <c>model:</c> is registered in <see cref="ModelRegistry"/> (models registered later are picked up by name)
/// trains through <c>fsdnet train --config</c> on a small CSV data set this test writes (the 14 categorical columns
/// of FuxiCTR's tiny data, which the configs name, e.g. FinalMLP's fs1_context), with only dataset_id changed
/// (<c>--set dataset_id=zoo_tiny</c>) and one epoch, and ends with finite test metrics. Keys FsdNet does not read
/// give warnings, not failures.
/// </summary>
[Collection(ThreadingCollection.Name)]
public sealed class FuxiCtrModelZooConfigTests(ITestOutputHelper output) : IDisposable
{
    private static readonly string[] Columns =
    [
        "userid", "adgroup_id", "pid", "cate_id", "campaign_id", "customer", "brand", "cms_segid", "cms_group_id",
        "final_gender_code", "age_level", "pvalue_level", "shopping_level", "occupation",
    ];

    private readonly TempDir tmp = new();

    public void Dispose() => tmp.Dispose();

    /// <summary>(config file, experiment id, model) for every experiment under model_zoo whose model is registered.</summary>
    internal static List<(string File, string ExpId, string Model)> ZooExperiments(string root)
    {
        var found = new List<(string, string, string)>();
        var zoo = Path.Combine(root, "model_zoo");
        foreach (var file in Directory.GetFiles(zoo, "model_config.yaml", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            if (!file.Split(Path.DirectorySeparatorChar).Contains("config"))
            {
                continue;
            }
            var stream = new YamlStream();
            stream.Load(new StringReader(File.ReadAllText(file)));
            if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode blocks)
            {
                continue;
            }
            string? baseModel = null;
            if (blocks.Children.TryGetValue(new YamlScalarNode("Base"), out var b) && b is YamlMappingNode bm &&
                bm.Children.TryGetValue(new YamlScalarNode("model"), out var bmodel))
            {
                baseModel = (bmodel as YamlScalarNode)?.Value;
            }
            foreach (var (k, v) in blocks.Children)
            {
                var id = (k as YamlScalarNode)?.Value;
                if (id is null or "Base" || v is not YamlMappingNode exp)
                {
                    continue;
                }
                var model = exp.Children.TryGetValue(new YamlScalarNode("model"), out var m) ? (m as YamlScalarNode)?.Value : baseModel;
                if (model is not null && ModelRegistry.Names.Contains(model, StringComparer.OrdinalIgnoreCase))
                {
                    found.Add((file, id, model));
                }
            }
        }
        return found;
    }

    private void WriteData(string dir)
    {
        var rng = new Rng(17);
        TempDir.WriteCsvSplits(dir, "clk," + string.Join(",", Columns), (_, i) =>
        {
            var v = new int[Columns.Length];
            for (var c = 0; c < v.Length; c++)
            {
                v[c] = rng.NextInt(c < 2 ? 12 : 4);
            }
            var p = (v[0] + v[1]) % 3 == 0 ? 0.8 : 0.15;
            // the first rows of every split hold both classes, so AUC is defined
            var label = i < 2 ? i : rng.NextDouble() < p ? 1 : 0;
            return label.ToString(CultureInfo.InvariantCulture) + string.Concat(v.Select((x, c) => $",{Columns[c]}_{x}"));
        }, 400, 120, 120);
    }

    [FuxiCtrFact]
    public void Every_model_zoo_experiment_of_a_registered_model_trains_to_finite_metrics()
    {
        var experiments = ZooExperiments(FuxiCtrCheckout.Root!);
        Assert.NotEmpty(experiments);
        var data = tmp.Sub("data");
        Directory.CreateDirectory(data);
        WriteData(data);
        var datasetYaml = $"""
            zoo_tiny:
                data_root: {data}
                data_format: csv
                train_data: {Path.Combine(data, "train.csv")}
                valid_data: {Path.Combine(data, "valid.csv")}
                test_data: {Path.Combine(data, "test.csv")}
                min_categr_count: 1
                feature_cols:
                    - {"{"}name: [{string.Join(", ", Columns)}], active: True, dtype: str, type: categorical{"}"}
                label_col: {"{"}name: clk, dtype: float{"}"}
            """;
        var failures = new List<string>();
        var n = 0;
        foreach (var (file, expid, model) in experiments)
        {
            var dir = tmp.Sub($"exp{n++}");
            Directory.CreateDirectory(dir);
            File.Copy(file, Path.Combine(dir, "model_config.yaml"));
            File.WriteAllText(Path.Combine(dir, "dataset_config.yaml"), datasetYaml);
            var run = Path.Combine(dir, "run");
            var (code, stdout, stderr) = CliRunner.Run(
                "train", "--config", dir, "--expid", expid, "--set", "dataset_id=zoo_tiny", "--epochs", "1", "--threads", "2",
                "--run-dir", run, "--cache-dir", tmp.Sub("cache"), "--progress", "plain");
            var where = $"{Path.GetRelativePath(FuxiCtrCheckout.Root!, file)} [{expid}] (model {model})";
            var warnings = (stdout + stderr).Split('\n').Count(l => l.Contains("warning:", StringComparison.Ordinal));
            var metricsFile = Path.Combine(run, "test_metrics.json");
            if (code != 0 || !File.Exists(metricsFile))
            {
                failures.Add($"{where}: exit {code}: {stderr.Trim()}");
                output.WriteLine($"FAILED {where}");
                continue;
            }
            var metrics = JsonSerializer.Deserialize<Dictionary<string, double>>(File.ReadAllText(metricsFile))!;
            var auc = metrics.GetValueOrDefault("AUC", double.NaN);
            var logloss = metrics.GetValueOrDefault("logloss", double.NaN);
            if (!double.IsFinite(auc) || !double.IsFinite(logloss))
            {
                failures.Add($"{where}: test AUC {auc}, logloss {logloss}");
            }
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ran {where}: test AUC {auc:F4} logloss {logloss:F4}, {warnings} warning(s)"));
        }
        output.WriteLine($"{experiments.Count} model_zoo experiments of registered models ({string.Join(", ", experiments.Select(e => e.Model).Distinct())})");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }
}
