using System.Numerics;
using FsdNet.Autodiff;

namespace FsdNet.Training;

/// <summary>
/// RMSprop exactly as torch.optim.RMSprop: d = g + weight_decay · p, sq = alpha · sq + (1 - alpha) · d²;
/// centered: ga = alpha · ga + (1 - alpha) · d and avg = sqrt(sq - ga²) + eps, else avg = sqrt(sq) + eps;
/// with momentum buf = momentum · buf + d / avg and p -= lr · buf, else p -= lr · d / avg.
/// Defaults are torch's: alpha 0.99, eps 1e-8, weight_decay 0, momentum 0, centered off.
/// </summary>
internal sealed class RmsProp : Optimizer
{
    public RmsProp(IEnumerable<Parameter> parameters, double learningRate = 1e-2, double alpha = 0.99, double eps = 1e-8, double weightDecay = 0, double momentum = 0, bool centered = false)
        : base(parameters, learningRate, [.. Names(momentum, centered)])
    {
        Require(alpha >= 0, nameof(alpha), alpha, ">= 0");
        Require(eps >= 0, nameof(eps), eps, ">= 0");
        Require(weightDecay >= 0, "weight_decay", weightDecay, ">= 0");
        Require(momentum >= 0, nameof(momentum), momentum, ">= 0");
        Alpha = alpha;
        Eps = eps;
        WeightDecay = weightDecay;
        Momentum = momentum;
        Centered = centered;
    }

    public override string Name => "RMSprop";

    public double Alpha { get; }

    public double Eps { get; }

    public double WeightDecay { get; }

    public double Momentum { get; }

    public bool Centered { get; }

    protected override void Update(int index, Span<float> param, ReadOnlySpan<float> grad)
    {
        var sq = Buffer(0, index);
        var buf = Momentum > 0 ? Buffer(1, index) : [];
        var ga = Centered ? Buffer(Momentum > 0 ? 2 : 1, index) : [];
        float lr = (float)LearningRate, wd = (float)WeightDecay, a = (float)Alpha, c = (float)(1 - Alpha), eps = (float)Eps, mom = (float)Momentum;
        bool hasMomentum = Momentum > 0, centered = Centered;
        var i = 0;
        var w = Vector<float>.Count;
        if (Vector.IsHardwareAccelerated)
        {
            for (; i <= param.Length - w; i += w)
            {
                var p = new Vector<float>(param[i..]);
                var d = new Vector<float>(grad[i..]);
                if (wd != 0)
                {
                    d += p * wd;
                }
                var s = (new Vector<float>(sq[i..]) * a) + (d * d * c);
                s.CopyTo(sq[i..]);
                Vector<float> avg;
                if (centered)
                {
                    var gv = (new Vector<float>(ga[i..]) * a) + (d * c);
                    gv.CopyTo(ga[i..]);
                    avg = Vector.SquareRoot(s - (gv * gv)) + new Vector<float>(eps);
                }
                else
                {
                    avg = Vector.SquareRoot(s) + new Vector<float>(eps);
                }
                if (hasMomentum)
                {
                    var b = (new Vector<float>(buf[i..]) * mom) + (d / avg);
                    b.CopyTo(buf[i..]);
                    (p - (b * lr)).CopyTo(param[i..]);
                }
                else
                {
                    (p - (d / avg * lr)).CopyTo(param[i..]);
                }
            }
        }
        for (; i < param.Length; i++)
        {
            var d = grad[i];
            if (wd != 0)
            {
                d += param[i] * wd;
            }
            sq[i] = (sq[i] * a) + (d * d * c);
            float avg;
            if (centered)
            {
                ga[i] = (ga[i] * a) + (d * c);
                avg = MathF.Sqrt(sq[i] - (ga[i] * ga[i])) + eps;
            }
            else
            {
                avg = MathF.Sqrt(sq[i]) + eps;
            }
            if (hasMomentum)
            {
                buf[i] = (buf[i] * mom) + (d / avg);
                param[i] -= buf[i] * lr;
            }
            else
            {
                param[i] -= d / avg * lr;
            }
        }
    }

    private static IEnumerable<string> Names(double momentum, bool centered)
    {
        yield return "square_avg";
        if (momentum > 0)
        {
            yield return "momentum_buffer";
        }
        if (centered)
        {
            yield return "grad_avg";
        }
    }
}
