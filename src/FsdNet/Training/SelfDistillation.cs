using FsdNet.Autodiff;
using FsdNet.Tensors;

namespace FsdNet.Training;

/// <summary>Which soft-label KL to use between the teacher head and each student head.</summary>
internal enum SoftLoss
{
    /// <summary>
    /// The paper's Bernoulli KL at temperature tau: p = sigmoid(z / tau),
    /// KL = p_T log(p_T / p_S) + (1 - p_T) log((1 - p_T) / (1 - p_S)), averaged over the batch.
    /// </summary>
    Paper,

    /// <summary>
    /// What the official code computes: KLDiv_batchmean(log sigmoid(z_S / tau), sigmoid(z_T / tau)) +
    /// KLDiv_batchmean(log sigmoid(1 - z_S / tau), sigmoid((1 - z_T) / tau)). The second term is not the complement
    /// probability of the first (note the parentheses), so it differs from the paper unless tau = 1 and z = 0.
    /// </summary>
    Official,
}

/// <summary>The self-distillation objective of FSDNet; the defaults are the official constructor's (FSDNet.__init__).</summary>
/// <param name="Choice">0: BCE + soft; 1: BCE + hint; 2: all three (the official code's <c>choice</c>).</param>
/// <param name="LossCoefficient">mu, the weight of the label loss (1 - mu weighs the soft loss).</param>
/// <param name="FeaCoefficient">beta, the weight of the hint loss.</param>
/// <param name="Temperature">tau of the soft labels.</param>
internal sealed record DistillationOptions(
    int Choice = 0,
    double LossCoefficient = 0.3,
    double FeaCoefficient = 0.01,
    double Temperature = 1,
    SoftLoss Soft = SoftLoss.Official,
    bool DetachTeacher = false)
{
    public void Validate()
    {
        if (Choice is < 0 or > 2)
        {
            throw new ArgumentException($"choice must be 0 (BCE + soft), 1 (BCE + hint) or 2 (all three), got {Choice}.");
        }
        if (Temperature <= 0)
        {
            throw new ArgumentException($"Temp (the distillation temperature) must be > 0, got {Temperature}.");
        }
        if (LossCoefficient is < 0 or > 1)
        {
            throw new ArgumentException($"loss_coefficient must be in [0, 1], got {LossCoefficient}.");
        }
    }
}

/// <summary>
/// FSDNet's loss over L heads (the last is the teacher, the others students), following the official code:
/// choice 0: mu * sum_i BCE_i + (1 - mu) * soft; choice 1: sum_i BCE_i + beta * hint;
/// choice 2: mu * sum_i BCE_i + (1 - mu) * soft + beta * hint. BCE_i is the batch-mean BCE of head i (teacher
/// included); soft sums the KL of each student to the teacher; hint sums MSE(f_L, f_i) (mean over elements).
/// </summary>
internal static class SelfDistillation
{
    public static Tensor Loss(Graph g, Tensor[] logits, Tensor[] features, Tensor labels, DistillationOptions o)
    {
        var ce = BceSum(g, logits, labels);
        if (o.Choice == 1)
        {
            return g.Add(ce, g.Affine(Hint(g, features, o.DetachTeacher), (float)o.FeaCoefficient));
        }
        var soft = o.Soft == SoftLoss.Paper ? SoftPaper(g, logits, o) : SoftOfficial(g, logits, o);
        var loss = g.Add(g.Affine(ce, (float)o.LossCoefficient), g.Affine(soft, (float)(1 - o.LossCoefficient)));
        return o.Choice == 0 ? loss : g.Add(loss, g.Affine(Hint(g, features, o.DetachTeacher), (float)o.FeaCoefficient));
    }

    /// <summary>Sum over every head of the batch-mean BCE.</summary>
    public static Tensor BceSum(Graph g, Tensor[] logits, Tensor labels)
    {
        var sum = g.BceWithLogits(logits[0], labels);
        for (var i = 1; i < logits.Length; i++)
        {
            sum = g.Add(sum, g.BceWithLogits(logits[i], labels));
        }
        return sum;
    }

    /// <summary>The paper's soft loss, summed over students.</summary>
    public static Tensor SoftPaper(Graph g, Tensor[] logits, DistillationOptions o)
    {
        var invTau = (float)(1 / o.Temperature);
        var zt = g.Affine(Teacher(g, logits, o.DetachTeacher), invTau);
        var pt = g.Sigmoid(zt);
        var qt = g.Sigmoid(g.Affine(zt, -1f));
        var logPt = g.LogSigmoid(zt);
        var logQt = g.LogSigmoid(g.Affine(zt, -1f));
        Tensor? total = null;
        for (var i = 0; i < logits.Length - 1; i++)
        {
            var zs = g.Affine(logits[i], invTau);
            var kl = g.Add(
                g.Mul(pt, g.Sub(logPt, g.LogSigmoid(zs))),
                g.Mul(qt, g.Sub(logQt, g.LogSigmoid(g.Affine(zs, -1f)))));
            var term = g.Mean(kl);
            total = total is null ? term : g.Add(total, term);
        }
        return total ?? throw new ArgumentException("Self-distillation needs at least two heads.");
    }

    /// <summary>The official code's soft loss, summed over students (see <see cref="SoftLoss.Official"/>).</summary>
    public static Tensor SoftOfficial(Graph g, Tensor[] logits, DistillationOptions o)
    {
        var invTau = (float)(1 / o.Temperature);
        var teacher = Teacher(g, logits, o.DetachTeacher);
        // Targets: t1 = sigmoid(z_T / tau), t2 = sigmoid((1 - z_T) / tau); KLDiv(inp, t) = mean(t * (log t - inp)).
        var a1 = g.Affine(teacher, invTau);
        var a2 = g.Affine(teacher, -invTau, invTau);
        var t1 = g.Sigmoid(a1);
        var t2 = g.Sigmoid(a2);
        var logT1 = g.LogSigmoid(a1);
        var logT2 = g.LogSigmoid(a2);
        Tensor? total = null;
        for (var i = 0; i < logits.Length - 1; i++)
        {
            var inp1 = g.LogSigmoid(g.Affine(logits[i], invTau));
            var inp2 = g.LogSigmoid(g.Affine(logits[i], -invTau, 1f));
            var term = g.Add(g.Mean(g.Mul(t1, g.Sub(logT1, inp1))), g.Mean(g.Mul(t2, g.Sub(logT2, inp2))));
            total = total is null ? term : g.Add(total, term);
        }
        return total ?? throw new ArgumentException("Self-distillation needs at least two heads.");
    }

    /// <summary>Sum over students of MSE(f_L, f_i), each the mean over all elements.</summary>
    public static Tensor Hint(Graph g, Tensor[] features, bool detachTeacher)
    {
        var ft = features[^1];
        if (detachTeacher)
        {
            ft = g.Detach(ft);
        }
        Tensor? total = null;
        for (var i = 0; i < features.Length - 1; i++)
        {
            var term = g.MeanSquaredError(ft, features[i]);
            total = total is null ? term : g.Add(total, term);
        }
        return total ?? throw new ArgumentException("Self-distillation needs at least two heads.");
    }

    private static Tensor Teacher(Graph g, Tensor[] logits, bool detach) => detach ? g.Detach(logits[^1]) : logits[^1];
}
