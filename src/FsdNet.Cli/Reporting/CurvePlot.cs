using FsdNet.Training;
using ScottPlot;

namespace FsdNet.Cli.Reporting;

/// <summary>
/// curves.png: two panels stacked with a shared epoch axis. The top one has the training loss; the bottom one has
/// the validation AUC-type metrics (AUC, gAUC) on the left axis and the validation logloss on the right one. A dashed
/// line marks the best epoch. Rendered with ScottPlot on SkiaSharp's dependency-free native build, so it needs no
/// system graphics or font packages.
/// </summary>
internal static class CurvePlot
{
    public const string FileName = "curves.png";
    public const int Width = 900;
    public const int Height = 600;

    /// <summary>
    /// Renders the curves. The x of a record is its step in epochs when <paramref name="stepsPerEpoch"/> is known
    /// (so validations every few steps fall between epochs, and per-epoch ones on whole numbers), else its epoch.
    /// </summary>
    public static void Render(string path, string title, IReadOnlyList<EpochRecord> records, long stepsPerEpoch, int bestEpoch, int width = Width, int height = Height)
    {
        var x = records.Select(r => stepsPerEpoch > 0 ? (double)r.Step / stepsPerEpoch : r.Epoch).ToArray();
        var names = MetricsFiles.MetricNames(records);
        // The best validation is the last one that improved (with eval_steps it can fall inside an epoch).
        var lastImproved = records.Select((r, i) => (r, i)).LastOrDefault(p => p.r.Improved, (null!, -1)).Item2;
        var bestX = lastImproved >= 0 ? x[lastImproved] : bestEpoch;

        var multiplot = new Multiplot();
        multiplot.AddPlots(2);
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Rows();
        var top = multiplot.GetPlot(0);
        var bottom = multiplot.GetPlot(1);
        try
        {
            var padding = new PixelPadding(left: 80, right: 80, bottom: 50, top: 40);
            foreach (var plot in new[] { top, bottom })
            {
                plot.Layout.Fixed(padding);
                plot.XLabel("epoch");
                plot.Legend.BackgroundColor = Colors.White.WithAlpha(0.8);
                if (bestX > 0 && records.Count > 1)
                {
                    var line = plot.Add.VerticalLine(bestX);
                    line.LinePattern = LinePattern.Dashed;
                    line.Color = Colors.Gray;
                    line.LineWidth = 1;
                    if (plot == top)
                    {
                        line.LegendText = "best";
                    }
                }
            }

            top.Title(title);
            top.YLabel("train loss");
            AddSeries(top, x, records.Select(r => r.TrainLoss), "train loss", Colors.C0, right: false);
            top.ShowLegend(Alignment.UpperRight);

            bottom.Title("Validation");
            var aucNames = names.Where(n => n.Contains("auc", StringComparison.OrdinalIgnoreCase)).ToList();
            var loglossNames = names.Where(n => n.Contains("logloss", StringComparison.OrdinalIgnoreCase)).ToList();
            bottom.Axes.Left.Label.Text = aucNames.Count == 1 ? aucNames[0] : "AUC";
            bottom.Axes.Right.Label.Text = "logloss";
            Color[] palette = [Colors.C0, Colors.C2, Colors.C4, Colors.C5];
            for (var i = 0; i < aucNames.Count; i++)
            {
                var name = aucNames[i];
                AddSeries(bottom, x, records.Select(r => r.Valid.GetValueOrDefault(name, double.NaN)), "valid " + name, palette[i % palette.Length], right: false);
            }
            foreach (var name in loglossNames)
            {
                AddSeries(bottom, x, records.Select(r => r.Valid.GetValueOrDefault(name, double.NaN)), "valid " + name + " (right axis)", Colors.C1, right: true);
            }
            // Typical curves leave the middle right free: AUC ends high, logloss (right axis) ends low.
            bottom.ShowLegend(Alignment.MiddleRight);

            multiplot.SharedAxes.ShareX([top, bottom]);
            multiplot.SavePng(path, width, height);
        }
        finally
        {
            top.Dispose();
            bottom.Dispose();
        }
    }

    /// <summary>One line with markers; non-finite points (an undefined metric) are left out.</summary>
    private static void AddSeries(Plot plot, double[] x, IEnumerable<double> y, string label, Color color, bool right)
    {
        var ys = y.ToArray();
        var keep = Enumerable.Range(0, ys.Length).Where(i => double.IsFinite(ys[i]) && double.IsFinite(x[i])).ToArray();
        if (keep.Length == 0)
        {
            return;
        }
        var scatter = plot.Add.Scatter(keep.Select(i => x[i]).ToArray(), keep.Select(i => ys[i]).ToArray(), color);
        scatter.LegendText = label;
        scatter.LineWidth = 2;
        scatter.MarkerSize = 6;
        if (right)
        {
            scatter.Axes.YAxis = plot.Axes.Right;
            plot.Axes.Right.Label.ForeColor = color;
        }
    }
}
