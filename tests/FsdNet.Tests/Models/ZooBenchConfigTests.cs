using FsdNet.Layers;
using FsdNet.Models;
using FsdNet.Tensors;
using FsdNet.Training;
using Xunit;
using Xunit.Abstractions;
using YamlDotNet.RepresentationModel;

namespace FsdNet.Tests.Models;

/// <summary>
/// bench/zoo/model_config.yaml (the zoo's Frappe experiments): every experiment of a registered model builds on the
/// Frappe schema with trainer options, and every key it sets is read by FsdNet (nothing in the benchmark config is
/// silently ignored). Experiments of models not registered yet are listed, not checked.
/// </summary>
public sealed class ZooBenchConfigTests(ITestOutputHelper output)
{
    private static readonly (string, int)[] Frappe =
        [("user", 942), ("item", 4084), ("daytime", 9), ("weekday", 9), ("isweekend", 4), ("homework", 5), ("cost", 4), ("weather", 11), ("country", 82), ("city", 233)];

    private static string ZooDir()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "FsdNet.sln")))
            {
                return Path.Combine(d.FullName, "bench", "zoo");
            }
        }
        throw new DirectoryNotFoundException($"no FsdNet.sln above {AppContext.BaseDirectory}");
    }

    [Fact]
    public void Every_experiment_of_a_registered_model_builds_and_reads_every_key()
    {
        var dir = ZooDir();
        var stream = new YamlStream();
        stream.Load(new StringReader(File.ReadAllText(Path.Combine(dir, "model_config.yaml"))));
        var ids = ((YamlMappingNode)stream.Documents[0].RootNode).Children.Keys.Select(k => ((YamlScalarNode)k).Value!).Where(k => k != "Base").ToList();
        Assert.Contains("FSDNet_frappe", ids);
        var checkedIds = new List<string>();
        foreach (var id in ids)
        {
            var cfg = ModelConfig.Load(dir, id);
            Assert.Equal("frappe", cfg.DatasetId);
            Assert.True(id.StartsWith(cfg.Model + "_", StringComparison.Ordinal), $"{id}: experiment ids are <Model>_frappe / <Model>_fsd_frappe, model is {cfg.Model}");
            if (!ModelRegistry.Names.Contains(cfg.Model, StringComparer.OrdinalIgnoreCase))
            {
                output.WriteLine($"{id}: {cfg.Model} not registered yet, not checked");
                continue;
            }
            var options = TrainerOptions.From(cfg);
            var model = ModelRegistry.Create(InputSchema.Categorical(Frappe), cfg, new Rng(1));
            Assert.Empty(cfg.UnreadKeys());
            Assert.Equal(id.Contains("_fsd_", StringComparison.Ordinal) || cfg.Model == "FSDNet", cfg.GetBool("fsd", cfg.Model == "FSDNet"));
            output.WriteLine($"{id}: {model.ModelName}, {model.ParameterCount():N0} parameters, batch {options.BatchSize}, emb reg {options.EmbeddingRegularizer}, net reg {options.NetRegularizer}");
            checkedIds.Add(id);
        }
        Assert.NotEmpty(checkedIds);
    }

    [Fact]
    public void Lr_and_fm_read_fuxictr_regularizer_as_both_regularizers()
    {
        var lr = ModelConfig.Parse("exp:\n    model: LR\n    regularizer: 1.e-5\n", "m.yaml", "exp");
        var o = TrainerOptions.From(lr);
        Assert.Equal(1e-5, o.EmbeddingRegularizer);
        Assert.Equal(1e-5, o.NetRegularizer);
        Assert.Empty(lr.UnreadKeys());
        var fm = TrainerOptions.From(ModelConfig.Parse("exp:\n    model: FM\n    regularizer: l1(0.5)\n", "m.yaml", "exp"));
        Assert.Equal(0.5, fm.EmbeddingRegularizerL1);
        Assert.Equal(0.5, fm.NetRegularizerL1);
        var both = ModelConfig.Parse("exp:\n    model: LR\n    net_regularizer: 0\n    regularizer: 1.e-5\n", "m.yaml", "exp");
        var e = Assert.Throws<ConfigException>(() => TrainerOptions.From(both));
        Assert.Contains("m.yaml", e.Message, StringComparison.Ordinal);
        Assert.Contains("LR takes 'regularizer'", e.Message, StringComparison.Ordinal);
        // other models have no such key: it stays unread (a warning in fsdnet train)
        var dnn = ModelConfig.Parse("exp:\n    model: DNN\n    regularizer: 1.e-5\n", "m.yaml", "exp");
        Assert.Equal(0, TrainerOptions.From(dnn).EmbeddingRegularizer);
        Assert.Contains("regularizer", dnn.UnreadKeys());
    }
}
