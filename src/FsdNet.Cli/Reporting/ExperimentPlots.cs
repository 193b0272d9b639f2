using System.Globalization;
using FsdNet.Metrics;
using FsdNet.Training;
using ScottPlot;

namespace FsdNet.Cli.Reporting;

/// <summary>
/// The figures of a grid, as the paper draws them: a bar chart of every row (test AUC and logloss, mean with a
/// sample-standard-deviation error bar over seeds; the ablation figure when the rows are choice 0 / 1 / 2 and no
/// self-distillation), and, when the grid sweeps one numeric key, test AUC and logloss against the swept value per
/// experiment (Figures 4 and 5: mu = loss_coefficient, tau = Temp), mean and standard deviation over seeds.
/// </summary>
internal static class ExperimentPlots
{
    public const string BarsFile = "results_bars.png";

    /// <summary>Writes the figures the grid's results support; returns their paths.</summary>
    public static IReadOnlyList<string> Write(ExperimentGrid grid, IReadOnlyList<CellResult> cells)
    {
        var written = new List<string>();
        if (cells.Count == 0)
        {
            return written;
        }
        Directory.CreateDirectory(grid.Output);
        var (rows, _) = ExperimentTable.Summarize(grid, cells);
        var bars = Path.Combine(grid.Output, BarsFile);
        Bars(bars, grid.Name, rows);
        written.Add(bars);
        if (grid.Sweep.Count == 1 && grid.Sweep[0].Value.All(v => double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out _)))
        {
            var key = grid.Sweep[0].Key;
            var sweep = Path.Combine(grid.Output, $"results_sweep_{ExperimentGridNames.Safe(key)}.png");
            Sweep(sweep, grid.Name, key, cells);
            written.Add(sweep);
        }
        return written;
    }

    /// <summary>Above this many rows the bars lie horizontally, one labelled line per row, and the figure grows in height.</summary>
    public const int HorizontalAbove = 8;

    /// <summary>The figure's height: <paramref name="height"/>, or for a horizontal chart enough for every row's label.</summary>
    public static int BarsHeight(int rows, int height = 480) => rows > HorizontalAbove ? Math.Max(height, 120 + (26 * rows)) : height;

    /// <summary>
    /// Two panels side by side: test AUC and test logloss of every row, with error bars. Up to
    /// <see cref="HorizontalAbove"/> rows stand as columns with the row names under them; more rows lie as horizontal
    /// bars, first row on top, so that a 25-row zoo grid keeps readable labels.
    /// </summary>
    public static void Bars(string path, string title, IReadOnlyList<ResultRow> rows, int width = 1000, int height = 480)
    {
        var multiplot = new Multiplot();
        multiplot.AddPlots(2);
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Columns();
        var panels = new[] { multiplot.GetPlot(0), multiplot.GetPlot(1) };
        var horizontal = rows.Count > HorizontalAbove;
        try
        {
            // Horizontal: position 0 is the bottom line, so the first row goes to the top.
            double Position(int i) => horizontal ? rows.Count - 1 - i : i;
            var ticks = rows.Select((r, i) => new Tick(Position(i), horizontal ? r.Row : Wrap(r.Row))).ToArray();
            var labelPixels = horizontal ? 20 + (7 * rows.Max(r => r.Row.Length)) : 80;
            for (var p = 0; p < 2; p++)
            {
                var plot = panels[p];
                var list = rows.Select((r, i) => new Bar
                {
                    Position = Position(i),
                    Value = p == 0 ? r.AucMean : r.LoglossMean,
                    Error = Finite(p == 0 ? r.AucStd : r.LoglossStd),
                    FillColor = r.IsReference ? Colors.C1 : Colors.C0,
                }).ToList();
                var bars = plot.Add.Bars(list);
                bars.Horizontal = horizontal;
                var metric = p == 0 ? "test AUC" : "test logloss";
                plot.Title(p == 0 ? $"{title}: test AUC" : "test logloss");
                // Bars of CTR metrics differ in the third decimal: zoom to the range of mean +- 3 std.
                var lo = list.Min(b => b.Value - (3 * b.Error));
                var hi = list.Max(b => b.Value + (3 * b.Error));
                var pad = Math.Max((hi - lo) * 0.15, 1e-4);
                if (horizontal)
                {
                    plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual(ticks);
                    plot.Layout.Fixed(new PixelPadding(left: labelPixels, right: 20, bottom: 50, top: 40));
                    plot.XLabel(metric);
                    plot.Axes.SetLimitsX(lo - pad, hi + pad);
                    plot.Axes.SetLimitsY(-0.7, rows.Count - 0.3);
                }
                else
                {
                    plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(ticks);
                    plot.Axes.Bottom.TickLabelStyle.Rotation = rows.Count > 4 ? -30 : 0;
                    plot.Axes.Bottom.TickLabelStyle.Alignment = rows.Count > 4 ? Alignment.MiddleRight : Alignment.UpperCenter;
                    plot.Layout.Fixed(new PixelPadding(left: labelPixels, right: 20, bottom: rows.Count > 4 ? 140 : 60, top: 40));
                    plot.YLabel(metric);
                    plot.Axes.SetLimitsY(lo - pad, hi + pad);
                }
            }
            multiplot.SavePng(path, width, BarsHeight(rows.Count, height));
        }
        finally
        {
            foreach (var p in panels)
            {
                p.Dispose();
            }
        }
    }

    /// <summary>Two panels: test AUC and logloss against the swept value, one line per experiment, error bars of one std.</summary>
    public static void Sweep(string path, string title, string key, IReadOnlyList<CellResult> cells, int width = 1000, int height = 420)
    {
        var multiplot = new Multiplot();
        multiplot.AddPlots(2);
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Columns();
        var panels = new[] { multiplot.GetPlot(0), multiplot.GetPlot(1) };
        try
        {
            Color[] palette = [Colors.C0, Colors.C1, Colors.C2, Colors.C3, Colors.C4, Colors.C5];
            var experiments = cells.Select(c => c.ExpId).Distinct().ToList();
            for (var p = 0; p < 2; p++)
            {
                var plot = panels[p];
                var metric = p == 0 ? "AUC" : "logloss";
                for (var e = 0; e < experiments.Count; e++)
                {
                    var points = cells.Where(c => c.ExpId == experiments[e] && c.Setting.ContainsKey(key))
                        .GroupBy(c => double.Parse(c.Setting[key], CultureInfo.InvariantCulture))
                        .OrderBy(grp => grp.Key)
                        .Select(grp =>
                        {
                            var v = grp.Select(c => c.Test.GetValueOrDefault(metric, double.NaN)).ToList();
                            return (X: grp.Key, Mean: Statistics.Mean(v), Std: Finite(Statistics.SampleStd(v)));
                        }).ToArray();
                    var xs = points.Select(q => q.X).ToArray();
                    var ys = points.Select(q => q.Mean).ToArray();
                    var color = palette[e % palette.Length];
                    var line = plot.Add.Scatter(xs, ys, color);
                    line.LegendText = experiments[e];
                    line.LineWidth = 2;
                    line.MarkerSize = 7;
                    var err = plot.Add.ErrorBar(xs, ys, points.Select(q => q.Std).ToArray());
                    err.Color = color;
                }
                plot.Title(p == 0 ? $"{title}: test AUC" : "test logloss");
                plot.XLabel(key);
                plot.YLabel("test " + metric);
                plot.Layout.Fixed(new PixelPadding(left: 80, right: 20, bottom: 50, top: 40));
                if (experiments.Count > 1)
                {
                    plot.ShowLegend(Alignment.LowerRight);
                }
            }
            multiplot.SavePng(path, width, height);
        }
        finally
        {
            foreach (var p in panels)
            {
                p.Dispose();
            }
        }
    }

    private static double Finite(double v) => double.IsFinite(v) ? v : 0;

    /// <summary>Row names as tick labels: the setting goes on its own line.</summary>
    private static string Wrap(string row) => row.Replace(" (", "\n(", StringComparison.Ordinal);
}

/// <summary>File-name helpers shared with the grid.</summary>
internal static class ExperimentGridNames
{
    public static string Safe(string s) => new([.. s.Select(ch => char.IsAsciiLetterOrDigit(ch) || ch is '.' or '_' or '-' ? ch : '-')]);
}
