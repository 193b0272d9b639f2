using FsdNet.Autodiff;
using FsdNet.Tensors;
using Xunit;

namespace FsdNet.Tests.Support;

/// <summary>
/// Gradient checks against central finite differences. The scalar checked is L = sum(y * r) for a fixed random r,
/// evaluated in double from the float32 output, so rounding noise stays near 1e-7 * |y| / eps.
/// </summary>
internal static class GradCheck
{
    /// <summary>
    /// Checks d(sum(f(inputs) * r))/d(input) for every input that requires a gradient, at up to
    /// <paramref name="maxPerInput"/> elements each. <paramref name="reseed"/> runs before every forward pass (e.g. to
    /// fix a dropout mask).
    /// </summary>
    public static void Check(
        Func<Graph, Tensor> f, IReadOnlyList<Tensor> inputs, double eps = 1e-2, double rtol = 1e-2, double atol = 2e-3,
        int maxPerInput = 40, Action<Graph>? reseed = null, bool training = true)
    {
        var g = new Graph { Training = training };
        reseed?.Invoke(g);
        g.Reset();
        var y = f(g);
        var r = new float[y.Length];
        new Rng(12345).FillNormal(r, 0, 1);
        var rt = g.Constant(y.Shape, r);
        var loss = g.Sum(g.Mul(y, rt));
        foreach (var t in inputs)
        {
            if (t is Parameter p)
            {
                p.ZeroGrad();
            }
        }
        g.Backward(loss);
        var analytic = inputs.Select(t => t.RequiresGrad && t.Grad is not null ? t.Grad.Span.ToArray() : null).ToArray();

        double Eval()
        {
            reseed?.Invoke(g);
            g.Reset();
            var o = f(g).Span;
            double s = 0;
            for (var i = 0; i < o.Length; i++)
            {
                s += (double)o[i] * r[i];
            }
            return s;
        }

        var pick = new Rng(7);
        for (var k = 0; k < inputs.Count; k++)
        {
            var t = inputs[k];
            if (!t.RequiresGrad)
            {
                continue;
            }
            Assert.True(analytic[k] is not null, $"input {k} ({t.Name}) got no gradient");
            var values = t.Span;
            var n = values.Length;
            var indices = n <= maxPerInput ? Enumerable.Range(0, n) : Enumerable.Range(0, maxPerInput).Select(_ => pick.NextInt(n));
            foreach (var i in indices)
            {
                var orig = values[i];
                values[i] = orig + (float)eps;
                var plus = Eval();
                values = t.Span;
                values[i] = orig - (float)eps;
                var minus = Eval();
                values = t.Span;
                values[i] = orig;
                var h = ((double)(orig + (float)eps)) - (orig - (float)eps);
                var numeric = (plus - minus) / h;
                var a = analytic[k]![i];
                Assert.True(
                    Math.Abs(a - numeric) <= atol + (rtol * Math.Abs(numeric)),
                    $"{t.Name ?? $"input {k}"}[{i}]: analytic {a:G6} vs numeric {numeric:G6}");
            }
        }
    }

    /// <summary>A parameter filled with normal(0, scale) values (or shifted away from a kink by <paramref name="avoidZero"/>).</summary>
    public static Parameter Param(string name, Shape shape, ulong seed, double scale = 1.0, double avoidZero = 0)
    {
        var p = new Parameter(name, shape);
        var rng = new Rng(seed);
        var s = p.Span;
        for (var i = 0; i < s.Length; i++)
        {
            var v = rng.NextGaussian() * scale;
            if (avoidZero > 0 && Math.Abs(v) < avoidZero)
            {
                v = v < 0 ? v - avoidZero : v + avoidZero;
            }
            s[i] = (float)v;
        }
        return p;
    }
}
