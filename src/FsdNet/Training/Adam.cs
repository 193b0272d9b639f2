using System.Runtime.Intrinsics;
using FsdNet.Autodiff;
using FsdNet.Tensors;

namespace FsdNet.Training;

/// <summary>
/// Adam exactly as torch.optim.Adam (no weight decay, no amsgrad): m = b1 m + (1 - b1) g, v = b2 v + (1 - b2) g^2,
/// p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps). A parameter with no gradient this step is updated
/// with a zero gradient, as PyTorch 1.x does after optimizer.zero_grad().
/// </summary>
public sealed class Adam
{
    private readonly Parameter[] parameters;
    private readonly float[][] m;
    private readonly float[][] v;

    public Adam(IEnumerable<Parameter> parameters, double learningRate = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8)
    {
        this.parameters = [.. parameters];
        m = [.. this.parameters.Select(p => new float[p.Length])];
        v = [.. this.parameters.Select(p => new float[p.Length])];
        LearningRate = learningRate;
        Beta1 = beta1;
        Beta2 = beta2;
        Eps = eps;
    }

    /// <summary>The learning rate for the next step (settable per step, e.g. for decay on plateau).</summary>
    public double LearningRate { get; set; }

    public double Beta1 { get; }

    public double Beta2 { get; }

    public double Eps { get; }

    /// <summary>Steps taken so far.</summary>
    public long StepCount { get; private set; }

    public IReadOnlyList<Parameter> Parameters => parameters;

    /// <summary>Marks every gradient as zero (no memory traffic).</summary>
    public void ZeroGrad()
    {
        foreach (var p in parameters)
        {
            p.ZeroGrad();
        }
    }

    public void Step()
    {
        StepCount++;
        var bc1 = 1 - Math.Pow(Beta1, StepCount);
        var bc2 = 1 - Math.Pow(Beta2, StepCount);
        var stepSize = (float)(LearningRate / bc1);
        var invSqrtBc2 = (float)(1 / Math.Sqrt(bc2));
        var b1 = (float)Beta1;
        var b2 = (float)Beta2;
        var eps = (float)Eps;
        for (var i = 0; i < parameters.Length; i++)
        {
            var p = parameters[i];
            Update(p.Span, p.HasGrad ? p.GradSpan : default, m[i], v[i], b1, b2, stepSize, invSqrtBc2, eps);
        }
    }

    /// <summary>The optimizer state (m, v, step) for checkpoints.</summary>
    public (float[][] M, float[][] V, long Step) State => (m, v, StepCount);

    /// <summary>Restores state saved from <see cref="State"/>.</summary>
    public void Restore(float[][] ms, float[][] vs, long step)
    {
        if (ms.Length != m.Length || vs.Length != v.Length)
        {
            throw new ArgumentException($"Optimizer state has {ms.Length} tensors, the model has {m.Length} parameters.");
        }
        for (var i = 0; i < m.Length; i++)
        {
            if (ms[i].Length != m[i].Length || vs[i].Length != v[i].Length)
            {
                throw new ArgumentException($"Optimizer state for parameter {parameters[i].Name} has the wrong size.");
            }
            ms[i].CopyTo(m[i], 0);
            vs[i].CopyTo(v[i], 0);
        }
        StepCount = step;
    }

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
