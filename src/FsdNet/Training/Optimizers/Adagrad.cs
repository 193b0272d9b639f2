using System.Numerics;
using FsdNet.Autodiff;

namespace FsdNet.Training;

/// <summary>
/// Adagrad exactly as torch.optim.Adagrad: d = g + weight_decay · p, clr = lr / (1 + (t - 1) · lr_decay),
/// sum += d², p -= clr · d / (sqrt(sum) + eps). Defaults are torch's: lr_decay 0, weight_decay 0,
/// initial_accumulator_value 0, eps 1e-10.
/// </summary>
internal sealed class Adagrad : Optimizer
{
    private float clr;

    public Adagrad(IEnumerable<Parameter> parameters, double learningRate = 1e-2, double lrDecay = 0, double weightDecay = 0, double initialAccumulatorValue = 0, double eps = 1e-10)
        : base(parameters, learningRate, "sum")
    {
        Require(lrDecay >= 0, "lr_decay", lrDecay, ">= 0");
        Require(weightDecay >= 0, "weight_decay", weightDecay, ">= 0");
        Require(initialAccumulatorValue >= 0, "initial_accumulator_value", initialAccumulatorValue, ">= 0");
        Require(eps >= 0, nameof(eps), eps, ">= 0");
        LrDecay = lrDecay;
        WeightDecay = weightDecay;
        InitialAccumulatorValue = initialAccumulatorValue;
        Eps = eps;
        foreach (var (_, sums) in State)
        {
            foreach (var s in sums)
            {
                Array.Fill(s, (float)initialAccumulatorValue);
            }
        }
    }

    public override string Name => "Adagrad";

    public double LrDecay { get; }

    public double WeightDecay { get; }

    public double InitialAccumulatorValue { get; }

    public double Eps { get; }

    protected override void BeginStep() => clr = (float)(LearningRate / (1 + ((StepCount - 1) * LrDecay)));

    protected override void Update(int index, Span<float> param, ReadOnlySpan<float> grad)
    {
        var sum = Buffer(0, index);
        float wd = (float)WeightDecay, eps = (float)Eps, step = clr;
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
                var s = new Vector<float>(sum[i..]) + (d * d);
                s.CopyTo(sum[i..]);
                (p - (d / (Vector.SquareRoot(s) + new Vector<float>(eps)) * step)).CopyTo(param[i..]);
            }
        }
        for (; i < param.Length; i++)
        {
            var d = grad[i];
            if (wd != 0)
            {
                d += param[i] * wd;
            }
            sum[i] += d * d;
            param[i] -= d / (MathF.Sqrt(sum[i]) + eps) * step;
        }
    }
}
