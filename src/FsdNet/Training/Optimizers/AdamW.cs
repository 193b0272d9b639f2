using System.Numerics;
using FsdNet.Autodiff;

namespace FsdNet.Training;

/// <summary>
/// AdamW exactly as torch.optim.AdamW (no amsgrad): p *= 1 - lr · weight_decay, then Adam's update
/// m = b1 m + (1 - b1) g, v = b2 v + (1 - b2) g², p -= lr / (1 - b1^t) · m / (sqrt(v) / sqrt(1 - b2^t) + eps).
/// Defaults are torch's: betas (0.9, 0.999), eps 1e-8, weight_decay 0.01.
/// </summary>
internal sealed class AdamW : Optimizer
{
    private float stepSize;
    private float sqrtBc2;

    public AdamW(IEnumerable<Parameter> parameters, double learningRate = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8, double weightDecay = 0.01)
        : base(parameters, learningRate, "exp_avg", "exp_avg_sq")
    {
        Require(beta1 is >= 0 and < 1, nameof(beta1), beta1, "in [0, 1)");
        Require(beta2 is >= 0 and < 1, nameof(beta2), beta2, "in [0, 1)");
        Require(eps >= 0, nameof(eps), eps, ">= 0");
        Require(weightDecay >= 0, "weight_decay", weightDecay, ">= 0");
        Beta1 = beta1;
        Beta2 = beta2;
        Eps = eps;
        WeightDecay = weightDecay;
    }

    public override string Name => "AdamW";

    public double Beta1 { get; }

    public double Beta2 { get; }

    public double Eps { get; }

    public double WeightDecay { get; }

    protected override void BeginStep()
    {
        stepSize = (float)(LearningRate / (1 - Math.Pow(Beta1, StepCount)));
        sqrtBc2 = (float)Math.Sqrt(1 - Math.Pow(Beta2, StepCount));
    }

    protected override void Update(int index, Span<float> param, ReadOnlySpan<float> grad)
    {
        var m = Buffer(0, index);
        var v = Buffer(1, index);
        float decay = (float)(1 - (LearningRate * WeightDecay)), b1 = (float)Beta1, b2 = (float)Beta2, c1 = (float)(1 - Beta1), c2 = (float)(1 - Beta2), eps = (float)Eps;
        var i = 0;
        var w = Vector<float>.Count;
        if (Vector.IsHardwareAccelerated)
        {
            for (; i <= param.Length - w; i += w)
            {
                var g = new Vector<float>(grad[i..]);
                var p = new Vector<float>(param[i..]) * decay;
                var mv = (new Vector<float>(m[i..]) * b1) + (g * c1);
                var vv = (new Vector<float>(v[i..]) * b2) + (g * g * c2);
                mv.CopyTo(m[i..]);
                vv.CopyTo(v[i..]);
                var denom = (Vector.SquareRoot(vv) / sqrtBc2) + new Vector<float>(eps);
                (p - (mv / denom * stepSize)).CopyTo(param[i..]);
            }
        }
        for (; i < param.Length; i++)
        {
            var g = grad[i];
            var p = param[i] * decay;
            m[i] = (m[i] * b1) + (g * c1);
            v[i] = (v[i] * b2) + (g * g * c2);
            var denom = (MathF.Sqrt(v[i]) / sqrtBc2) + eps;
            param[i] = p - (m[i] / denom * stepSize);
        }
    }
}
