using FsdNet.Layers;
using FsdNet.Models;
using FsdNet.Tensors;
using FsdNet.Training;
using Xunit;

namespace FsdNet.Tests.Training;

/// <summary>
/// bench/paper (issue 9's Frappe tables, run by bench/frappe_table.sh): the grids load, their experiments build on the
/// Frappe schema and read every key, and each ablation experiment differs from the published FSDNet configuration in
/// exactly the keys its name says (so the table compares what it claims to).
/// </summary>
public sealed class PaperGridTests
{
    private static readonly (string, int)[] Frappe =
        [("user", 942), ("item", 4084), ("daytime", 9), ("weekday", 9), ("isweekend", 4), ("homework", 5), ("cost", 4), ("weather", 11), ("country", 82), ("city", 233)];

    private static string Bench()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "FsdNet.sln")))
            {
                return Path.Combine(d.FullName, "bench");
            }
        }
        throw new DirectoryNotFoundException($"no FsdNet.sln above {AppContext.BaseDirectory}");
    }

    private static Dictionary<string, string> Settings(string dir, string expid)
    {
        var cfg = ModelConfig.Load(dir, expid);
        return cfg.Keys.ToDictionary(k => k, k => cfg.GetNode(k)?.ToString() ?? "", StringComparer.Ordinal);
    }

    [Theory]
    [InlineData("ablation.yaml", 5, 25)]
    [InlineData("mu_sweep.yaml", 3, 15)]
    [InlineData("tau_sweep.yaml", 3, 15)]
    [InlineData("zoo_5seeds.yaml", 5, 125)]
    public void Paper_grids_load_with_their_seeds_and_cells(string file, int seeds, int cells)
    {
        var grid = ExperimentGrid.Load(Path.Combine(Bench(), "paper", file));
        Assert.Equal(seeds, grid.Seeds.Count);
        Assert.Equal(cells, grid.Cells().Count);
        Assert.StartsWith("FSDNet_frappe", grid.ReferenceRow(), StringComparison.Ordinal);
        foreach (var exp in grid.Experiments)
        {
            var cfg = ModelConfig.Load(grid.ConfigDir!, exp);
            Assert.Equal("frappe", cfg.DatasetId);
            TrainerOptions.From(cfg);
            ModelRegistry.Create(InputSchema.Categorical(Frappe), cfg, new Rng(1));
            Assert.Empty(cfg.UnreadKeys());
        }
    }

    [Theory]
    [InlineData("tune_fsdnet.yaml")]
    [InlineData("tune_fsdnet_distill.yaml")]
    public void The_beyond_the_paper_tuner_spaces_expand_to_runnable_trials_one_of_them_the_published_config(string file)
    {
        var grid = Tuner.Load(Path.Combine(Bench(), "paper", file), null, null, Path.Combine(Path.GetTempPath(), "fsdnet-tune-unused"));
        Assert.Equal(["FSDNet_frappe"], grid.Experiments);
        Assert.Equal([2023], grid.Seeds);
        Assert.Equal(8, grid.Cells().Count);
        var published = Settings(Path.Combine(Bench(), "paper"), "FSDNet_frappe");
        Assert.Contains(grid.Settings(), s => s.All(kv => published[kv.Key] == kv.Value));
        foreach (var setting in grid.Settings())
        {
            var cfg = ModelConfig.Load(grid.ConfigDir!, "FSDNet_frappe").With(setting.ToDictionary(kv => kv.Key, kv => kv.Value), file);
            Assert.Equal(setting.Select(kv => kv.Value), setting.Select(kv => cfg.GetNode(kv.Key)?.ToString()));
            TrainerOptions.From(cfg);
            ModelRegistry.Create(InputSchema.Categorical(Frappe), cfg, new Rng(1));
        }
    }

    [Fact]
    public void Ablation_experiments_differ_from_the_published_config_only_where_named()
    {
        var paper = Path.Combine(Bench(), "paper");
        var published = Settings(paper, "FSDNet_frappe");
        // The published experiment is the zoo's FSDNet_frappe, key for key.
        Assert.Equal(Settings(Path.Combine(Bench(), "zoo"), "FSDNet_frappe").OrderBy(kv => kv.Key), published.OrderBy(kv => kv.Key));
        void Differs(string expid, params (string Key, string? Value)[] changes)
        {
            var s = Settings(paper, expid);
            var expected = new Dictionary<string, string>(published, StringComparer.Ordinal);
            foreach (var (k, v) in changes)
            {
                if (v is null)
                {
                    expected.Remove(k);
                }
                else
                {
                    expected[k] = v;
                }
            }
            Assert.Equal(expected.OrderBy(kv => kv.Key), s.OrderBy(kv => kv.Key));
        }
        Differs("FSDNet_choice0_frappe", ("choice", "0"));
        Differs("FSDNet_choice1_frappe", ("choice", "1"));
        Differs("FSDNet_noSD_frappe", ("choice", "0"), ("loss_coefficient", "1"));
        Differs("DCNv2_onehead_frappe", ("model", "DCNv2"), ("choice", null), ("loss_coefficient", null), ("Temp", null), ("fea_coefficient", null), ("soft_loss", null));
    }
}
