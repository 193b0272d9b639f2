using System.Buffers.Binary;
using FsdNet.Cli.Reporting;
using FsdNet.Tests.Data;
using FsdNet.Training;
using Xunit;

namespace FsdNet.Tests.Cli;

/// <summary>The grid figures: a bar chart of the rows and, for a one-key numeric sweep, the sweep plot (PNG files of the asked size).</summary>
public sealed class ExperimentPlotsTests : IDisposable
{
    private readonly TempDir tmp = new();

    public void Dispose() => tmp.Dispose();

    private static (int Width, int Height) PngSize(string path)
    {
        var bytes = File.ReadAllBytes(path);
        Assert.True(bytes.Length > 2000, $"{path}: only {bytes.Length} bytes");
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], bytes[..4]);
        return (BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(16)), BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(20)));
    }

    private static CellResult Cell(string exp, string mu, int seed, double auc, double logloss) =>
        new($"{exp} (loss_coefficient={mu})", exp, new Dictionary<string, string> { ["loss_coefficient"] = mu }, seed, "/x", "FSDNet",
            new Dictionary<string, double> { ["AUC"] = auc, ["logloss"] = logloss }, 10, 12, 2.0);

    [Fact]
    public void A_one_key_sweep_gets_a_bar_chart_and_a_sweep_figure()
    {
        tmp.File("model_config.yaml", "Base:\n    dataset_id: toy\nA:\n    model: FSDNet\nB:\n    model: DCNv2\n");
        var grid = ExperimentGrid.Load(tmp.File("grid.yaml", "config: .\noutput: out\nexperiments: [A, B]\nseeds: [1, 2, 3]\nsweep: {loss_coefficient: [0.1, 0.5, 0.9]}\n"));
        var cells = new List<CellResult>();
        foreach (var exp in new[] { "A", "B" })
        {
            foreach (var (mu, k) in new[] { ("0.1", 0), ("0.5", 1), ("0.9", 2) })
            {
                for (var s = 1; s <= 3; s++)
                {
                    cells.Add(Cell(exp, mu, s, 0.98 + (0.001 * k) + (0.0002 * s) + (exp == "B" ? -0.001 : 0), 0.15 - (0.002 * k) + (0.001 * s)));
                }
            }
        }
        var files = ExperimentPlots.Write(grid, cells);
        Assert.Equal([Path.Combine(grid.Output, ExperimentPlots.BarsFile), Path.Combine(grid.Output, "results_sweep_loss_coefficient.png")], files);
        Assert.Equal((1000, 480), PngSize(files[0]));
        Assert.Equal((1000, 420), PngSize(files[1]));
    }

    [Fact]
    public void A_grid_without_a_numeric_sweep_gets_the_bar_chart_only()
    {
        tmp.File("model_config.yaml", "Base:\n    dataset_id: toy\nA:\n    model: FSDNet\n");
        var grid = ExperimentGrid.Load(tmp.File("grid.yaml", "config: .\noutput: out\nexperiments: [A]\nseeds: [1, 2]\nsweep: {soft_loss: [official, paper]}\n"));
        var cells = new List<CellResult>
        {
            new("A (soft_loss=official)", "A", new Dictionary<string, string> { ["soft_loss"] = "official" }, 1, "/x", "FSDNet", new Dictionary<string, double> { ["AUC"] = 0.98, ["logloss"] = 0.15 }, 3, 5, 1),
            new("A (soft_loss=paper)", "A", new Dictionary<string, string> { ["soft_loss"] = "paper" }, 1, "/x", "FSDNet", new Dictionary<string, double> { ["AUC"] = 0.981, ["logloss"] = 0.149 }, 3, 5, 1),
        };
        var files = ExperimentPlots.Write(grid, cells);
        Assert.Equal([Path.Combine(grid.Output, ExperimentPlots.BarsFile)], files);
        Assert.Equal((1000, 480), PngSize(files[0]));
    }

    [Fact]
    public void A_grid_of_many_rows_gets_horizontal_bars_tall_enough_for_every_label()
    {
        var names = Enumerable.Range(0, 25).Select(i => $"Model{i}_frappe").ToArray();
        tmp.File("model_config.yaml", "Base:\n    dataset_id: toy\n" + string.Concat(names.Select(n => $"{n}:\n    model: DNN\n")));
        var grid = ExperimentGrid.Load(tmp.File("grid.yaml", $"config: .\noutput: out\nexperiments: [{string.Join(", ", names)}]\nseeds: [1, 2]\n"));
        var cells = names.SelectMany((n, i) => Enumerable.Range(1, 2).Select(s => new CellResult(n, n, new Dictionary<string, string>(), s, "/x", "DNN",
            new Dictionary<string, double> { ["AUC"] = 0.97 + (0.0005 * i) + (0.0001 * s), ["logloss"] = 0.2 - (0.002 * i) }, 3, 5, 1))).ToList();
        var files = ExperimentPlots.Write(grid, cells);
        Assert.Equal(120 + (26 * 25), ExperimentPlots.BarsHeight(25));
        Assert.Equal((1000, 120 + (26 * 25)), PngSize(files[0]));
        Assert.Equal(480, ExperimentPlots.BarsHeight(ExperimentPlots.HorizontalAbove));
    }
}
