namespace FsdNet.Metrics;

/// <summary>The result of Welch's two-sample t-test: the statistic, the Welch-Satterthwaite degrees of freedom and the two-sided p-value.</summary>
internal readonly record struct WelchResult(double T, double DegreesOfFreedom, double P);

/// <summary>
/// The statistics of experiment tables: means, sample standard deviations and Welch's unequal-variance t-test (as
/// <c>scipy.stats.ttest_ind(a, b, equal_var=False)</c>), with Student's t distribution through the regularised
/// incomplete beta function. Checked against scipy in the tests (tools/golden/stats_golden.py).
/// </summary>
internal static class Statistics
{
    public static double Mean(IReadOnlyList<double> x)
    {
        if (x.Count == 0)
        {
            return double.NaN;
        }
        var s = 0.0;
        foreach (var v in x)
        {
            s += v;
        }
        return s / x.Count;
    }

    /// <summary>The sample standard deviation (n - 1 in the denominator); NaN for fewer than 2 values.</summary>
    public static double SampleStd(IReadOnlyList<double> x) => Math.Sqrt(SampleVariance(x));

    public static double SampleVariance(IReadOnlyList<double> x)
    {
        if (x.Count < 2)
        {
            return double.NaN;
        }
        var m = Mean(x);
        var s = 0.0;
        foreach (var v in x)
        {
            s += (v - m) * (v - m);
        }
        return s / (x.Count - 1);
    }

    /// <summary>
    /// Welch's t-test of mean(a) = mean(b): t = (mean a - mean b) / sqrt(va / na + vb / nb), degrees of freedom by
    /// Welch-Satterthwaite, p two-sided. Both samples need at least 2 values (else all NaN); with zero variance in
    /// both, equal means give NaN and different means t = +-infinity, p = 0 (as scipy).
    /// </summary>
    public static WelchResult Welch(IReadOnlyList<double> a, IReadOnlyList<double> b)
    {
        if (a.Count < 2 || b.Count < 2)
        {
            return new(double.NaN, double.NaN, double.NaN);
        }
        var va = SampleVariance(a) / a.Count;
        var vb = SampleVariance(b) / b.Count;
        var diff = Mean(a) - Mean(b);
        var se2 = va + vb;
        if (se2 == 0)
        {
            return diff == 0 ? new(double.NaN, double.NaN, double.NaN) : new(diff > 0 ? double.PositiveInfinity : double.NegativeInfinity, double.NaN, 0);
        }
        var t = diff / Math.Sqrt(se2);
        var df = se2 * se2 / ((va * va / (a.Count - 1)) + (vb * vb / (b.Count - 1)));
        return new(t, df, Math.Min(1, 2 * StudentTUpperTail(Math.Abs(t), df)));
    }

    /// <summary>P(T > t) for Student's t with <paramref name="df"/> (real, > 0) degrees of freedom.</summary>
    public static double StudentTUpperTail(double t, double df)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(df);
        if (double.IsPositiveInfinity(t))
        {
            return 0;
        }
        if (double.IsNegativeInfinity(t))
        {
            return 1;
        }
        // P(|T| > |t|) = I_{df / (df + t^2)}(df / 2, 1 / 2)
        var tail = 0.5 * RegularizedIncompleteBeta(df / 2, 0.5, df / (df + (t * t)));
        return t >= 0 ? tail : 1 - tail;
    }

    /// <summary>I_x(a, b), the regularised incomplete beta function, by its continued fraction (modified Lentz).</summary>
    public static double RegularizedIncompleteBeta(double a, double b, double x)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(a);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(b);
        if (x is < 0 or > 1 || double.IsNaN(x))
        {
            throw new ArgumentOutOfRangeException(nameof(x), x, "x must lie in [0, 1].");
        }
        if (x == 0 || x == 1)
        {
            return x;
        }
        // The fraction converges fast for x < (a + 1) / (a + b + 2); use I_x(a, b) = 1 - I_{1-x}(b, a) beyond it.
        if (x > (a + 1) / (a + b + 2))
        {
            return 1 - RegularizedIncompleteBeta(b, a, 1 - x);
        }
        var logFront = (a * Math.Log(x)) + (b * Math.Log(1 - x)) - LogBeta(a, b);
        return Math.Exp(logFront) * BetaFraction(a, b, x) / a;
    }

    private static double BetaFraction(double a, double b, double x)
    {
        const double tiny = 1e-300, eps = 1e-16;
        double c = 1, d = 1 - ((a + b) * x / (a + 1));
        d = 1 / (Math.Abs(d) < tiny ? tiny : d);
        var h = d;
        for (var m = 1; m <= 10_000; m++)
        {
            // even step: d_{2m} = m (b - m) x / ((a + 2m - 1)(a + 2m))
            var num = m * (b - m) * x / ((a + (2 * m) - 1) * (a + (2 * m)));
            d = 1 + (num * d);
            c = 1 + (num / c);
            d = 1 / (Math.Abs(d) < tiny ? tiny : d);
            c = Math.Abs(c) < tiny ? tiny : c;
            h *= d * c;
            // odd step: d_{2m+1} = -(a + m)(a + b + m) x / ((a + 2m)(a + 2m + 1))
            num = -(a + m) * (a + b + m) * x / ((a + (2 * m)) * (a + (2 * m) + 1));
            d = 1 + (num * d);
            c = 1 + (num / c);
            d = 1 / (Math.Abs(d) < tiny ? tiny : d);
            c = Math.Abs(c) < tiny ? tiny : c;
            var step = d * c;
            h *= step;
            if (Math.Abs(step - 1) < eps)
            {
                return h;
            }
        }
        return h;
    }

    private static double LogBeta(double a, double b) => LogGamma(a) + LogGamma(b) - LogGamma(a + b);

    /// <summary>ln Gamma(x) for x > 0 (Lanczos, g = 7, 9 terms; relative error about 1e-15).</summary>
    internal static double LogGamma(double x)
    {
        if (x < 0.5)
        {
            // reflection: Gamma(x) Gamma(1 - x) = pi / sin(pi x)
            return Math.Log(Math.PI / Math.Abs(Math.Sin(Math.PI * x))) - LogGamma(1 - x);
        }
        ReadOnlySpan<double> c =
        [
            0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
            12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
        ];
        x -= 1;
        var sum = c[0];
        for (var i = 1; i < c.Length; i++)
        {
            sum += c[i] / (x + i);
        }
        var t = x + 7.5;
        return (0.5 * Math.Log(2 * Math.PI)) + ((x + 0.5) * Math.Log(t)) - t + Math.Log(sum);
    }
}
