using System.Diagnostics;
using System.Globalization;
using FsdNet.Autodiff;
using FsdNet.Tensors;

namespace FsdNet.Bench;

/// <summary>
/// A/B of an MLP hidden layer's tail (BatchNorm -> ReLU -> Dropout) in one process: the three ops in a row against
/// the fused <see cref="Graph.BatchNormReluDropout"/>, forward and backward at a training batch, interleaved so that
/// both see the same machine. Prints the median milliseconds per step of each and the ratio.
/// </summary>
internal static class DenseTailBenchmark
{
    public const string Usage = "Hidden-layer tail BatchNorm+ReLU+Dropout: composed ops vs the fused op (options: --rows 10000, --cols 400, --reps 30, --threads 2)";

    public static int Run(string[] args)
    {
        var rows = int.Parse(TrainBenchmark.Arg(args, "--rows") ?? "10000", CultureInfo.InvariantCulture);
        var cols = int.Parse(TrainBenchmark.Arg(args, "--cols") ?? "400", CultureInfo.InvariantCulture);
        var reps = int.Parse(TrainBenchmark.Arg(args, "--reps") ?? "30", CultureInfo.InvariantCulture);
        Workers.ThreadCount = int.Parse(TrainBenchmark.Arg(args, "--threads") ?? "2", CultureInfo.InvariantCulture);
        var x = new Parameter("x", new Shape(rows, cols), ParameterKind.Net);
        new Rng(1).FillNormal(x.Span, 0, 1);
        var gamma = new Parameter("gamma", new Shape(cols), ParameterKind.Net);
        gamma.Span.Fill(1f);
        var beta = new Parameter("beta", new Shape(cols), ParameterKind.Net);
        var rm = new Tensor(cols);
        var rv = new Tensor(cols);
        rv.Span.Fill(1f);
        var composed = new Graph { Random = new Rng(3) };
        var fused = new Graph { Random = new Rng(3) };
        double Step(Graph g, bool fuse)
        {
            var sw = Stopwatch.StartNew();
            g.Reset();
            var y = fuse
                ? g.BatchNormReluDropout(x, gamma, beta, rm, rv, 0.1f, 1e-5f, 0.2f)
                : g.Dropout(g.Relu(g.BatchNorm(x, gamma, beta, rm, rv, 0.1f, 1e-5f)), 0.2f);
            g.Backward(g.Sum(y));
            return sw.Elapsed.TotalMilliseconds;
        }
        var a = new List<double>();
        var b = new List<double>();
        for (var i = 0; i < reps + 3; i++)
        {
            var ta = Step(composed, false);
            var tb = Step(fused, true);
            if (i >= 3)
            {
                a.Add(ta);
                b.Add(tb);
            }
        }
        a.Sort();
        b.Sort();
        var (ma, mb) = (a[a.Count / 2], b[b.Count / 2]);
        Console.WriteLine($"dense tail [{rows} x {cols}], {Workers.ThreadCount} threads, median of {reps}: composed {ma:F2} ms, fused {mb:F2} ms per forward+backward; speedup {ma / mb:F2}");
        return 0;
    }
}
