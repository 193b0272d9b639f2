using System.Numerics;
using FsdNet.Autodiff;

namespace FsdNet.Training;

/// <summary>
/// SGD exactly as torch.optim.SGD: d = g + weight_decay · p; with momentum, buf = d on the first step, then
/// buf = momentum · buf + (1 - dampening) · d, and d = d + momentum · buf (nesterov) or d = buf; p -= lr · d.
/// Defaults are torch's (momentum 0, dampening 0, nesterov off, no weight decay).
/// </summary>
internal sealed class Sgd : Optimizer
{
    public Sgd(IEnumerable<Parameter> parameters, double learningRate, double momentum = 0, double dampening = 0, bool nesterov = false, double weightDecay = 0)
        : base(parameters, learningRate, momentum != 0 ? ["momentum_buffer"] : [])
    {
        Require(momentum >= 0, nameof(momentum), momentum, ">= 0");
        Require(weightDecay >= 0, "weight_decay", weightDecay, ">= 0");
        Require(!nesterov || (momentum > 0 && dampening == 0), nameof(nesterov), momentum, "used with momentum > 0 and dampening 0 (as torch requires)");
        Momentum = momentum;
        Dampening = dampening;
        Nesterov = nesterov;
        WeightDecay = weightDecay;
    }

    public override string Name => "SGD";

    public double Momentum { get; }

    public double Dampening { get; }

    public bool Nesterov { get; }

    public double WeightDecay { get; }

    protected override void Update(int index, Span<float> param, ReadOnlySpan<float> grad)
    {
        float lr = (float)LearningRate, wd = (float)WeightDecay, mom = (float)Momentum, keep = (float)(1 - Dampening);
        var hasBuf = Momentum != 0;
        var buf = hasBuf ? Buffer(0, index) : default;
        var first = StepCount == 1;
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
                if (hasBuf)
                {
                    var b = first ? d : (new Vector<float>(buf[i..]) * mom) + (d * keep);
                    b.CopyTo(buf[i..]);
                    d = Nesterov ? d + (b * mom) : b;
                }
                (p - (d * lr)).CopyTo(param[i..]);
            }
        }
        for (; i < param.Length; i++)
        {
            var d = grad[i];
            if (wd != 0)
            {
                d += param[i] * wd;
            }
            if (hasBuf)
            {
                var b = first ? d : (buf[i] * mom) + (d * keep);
                buf[i] = b;
                d = Nesterov ? d + (b * mom) : b;
            }
            param[i] -= d * lr;
        }
    }
}
