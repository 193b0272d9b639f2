using System.Runtime.Intrinsics;
using FsdNet.Autodiff;

namespace FsdNet.Training;

/// <summary>
/// Adam exactly as torch.optim.Adam (no weight decay, no amsgrad): m = b1 m + (1 - b1) g, v = b2 v + (1 - b2) g^2,
/// p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps). A parameter with no gradient this step is updated
/// with a zero gradient, as PyTorch 1.x does after optimizer.zero_grad().
/// </summary>
internal sealed class Adam : Optimizer
{
    private float stepSize;
    private float invSqrtBc2;

    public Adam(IEnumerable<Parameter> parameters, double learningRate = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8)
        : base(parameters, learningRate, "m", "v")
    {
        Require(beta1 is >= 0 and < 1, nameof(beta1), beta1, "in [0, 1)");
        Require(beta2 is >= 0 and < 1, nameof(beta2), beta2, "in [0, 1)");
        Require(eps >= 0, nameof(eps), eps, ">= 0");
        Beta1 = beta1;
        Beta2 = beta2;
        Eps = eps;
    }

    public override string Name => "Adam";

    public double Beta1 { get; }

    public double Beta2 { get; }

    public double Eps { get; }

    protected override void BeginStep()
    {
        var bc1 = 1 - Math.Pow(Beta1, StepCount);
        var bc2 = 1 - Math.Pow(Beta2, StepCount);
        stepSize = (float)(LearningRate / bc1);
        invSqrtBc2 = (float)(1 / Math.Sqrt(bc2));
    }

    protected override bool AcceptsMissingGrad => true;

    protected override void Update(int index, Span<float> param, ReadOnlySpan<float> grad) =>
        Update(param, grad, Buffer(0, index), Buffer(1, index), (float)Beta1, (float)Beta2, stepSize, invSqrtBc2, (float)Eps);

    private static void Update(
        Span<float> p, ReadOnlySpan<float> g, Span<float> m, Span<float> v, float b1, float b2, float stepSize,
        float invSqrtBc2, float eps)
    {
        var hasGrad = !g.IsEmpty;
        float c1 = 1 - b1, c2 = 1 - b2;
        var i = 0;
        if (Vector256.IsHardwareAccelerated && hasGrad)
        {
            var vb1 = Vector256.Create(b1);
            var vb2 = Vector256.Create(b2);
            var vc1 = Vector256.Create(c1);
            var vc2 = Vector256.Create(c2);
            var vstep = Vector256.Create(stepSize);
            var vinv = Vector256.Create(invSqrtBc2);
            var veps = Vector256.Create(eps);
            for (; i <= p.Length - 8; i += 8)
            {
                var gv = Vector256.Create(g.Slice(i, 8));
                var mv = (vb1 * Vector256.Create(m.Slice(i, 8))) + (vc1 * gv);
                var vv = (vb2 * Vector256.Create(v.Slice(i, 8))) + (vc2 * gv * gv);
                mv.CopyTo(m.Slice(i, 8));
                vv.CopyTo(v.Slice(i, 8));
                var denom = (Vector256.Sqrt(vv) * vinv) + veps;
                (Vector256.Create(p.Slice(i, 8)) - (vstep * mv / denom)).CopyTo(p.Slice(i, 8));
            }
        }
        for (; i < p.Length; i++)
        {
            var gi = hasGrad ? g[i] : 0f;
            m[i] = (b1 * m[i]) + (c1 * gi);
            v[i] = (b2 * v[i]) + (c2 * gi * gi);
            var denom = (MathF.Sqrt(v[i]) * invSqrtBc2) + eps;
            p[i] -= stepSize * m[i] / denom;
        }
    }
}
