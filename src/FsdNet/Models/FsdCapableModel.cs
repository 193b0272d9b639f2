using FsdNet.Autodiff;
using FsdNet.Layers;
using FsdNet.Tensors;

namespace FsdNet.Models;

/// <summary>
/// A model with two parallel layer-wise towers that takes the FSD plug-in (<c>fsd: true</c>): without it the model
/// scores with its own <see cref="Logit"/>; with it the towers' layers are fused by the
/// <see cref="FusionSelfDistillation"/> module (made by <see cref="UseFsd"/>), which predicts from the heads and
/// trains them with the self-distillation loss. Subclasses say only how their layers are fused (<see cref="FuseLayers"/>).
/// </summary>
internal abstract class FsdCapableModel : CtrModel
{
    private FusionSelfDistillation? fsd;

    protected FsdCapableModel(InputSchema schema)
        : base(schema)
    {
    }

    /// <summary>The FSD module, or null when the model runs without it.</summary>
    protected FusionSelfDistillation? Fsd => fsd;

    public override Tensor Predict(Graph g, in ModelInput x) =>
        fsd is { } f ? f.Predict(g, FuseLayers(g, x, f.LayerCount).Logits) : g.Sigmoid(Logit(g, x));

    public override Tensor Loss(Graph g, in ModelInput x)
    {
        if (fsd is { } f)
        {
            var (logits, fused) = FuseLayers(g, x, f.LayerCount);
            return f.Loss(g, logits, fused, Labels(g, x));
        }
        return g.BceWithLogits(Logit(g, x), Labels(g, x));
    }

    /// <summary>Heads of the FSD module, or null when the model runs without it.</summary>
    public int? HeadCount => fsd?.LayerCount;

    /// <summary>The head the model scores with (its <c>score_head</c>), or null for the mean of all heads or no FSD module.</summary>
    internal int? ScoreHead => fsd?.Options.ScoreHead;

    /// <summary>
    /// The click probability of head <paramref name="head"/> alone (serving's <c>head</c>), by early exit: only layers
    /// 0..head of both towers run, so a shallow head costs less than the full model; the value is the one the full
    /// forward pass gives for that head.
    /// </summary>
    public Tensor PredictHead(Graph g, in ModelInput x, int head)
    {
        var f = fsd ?? throw new InvalidOperationException($"{ModelName} has no FSD module (fsd: true).");
        if (head < 0 || head >= f.LayerCount)
        {
            throw new ArgumentOutOfRangeException(nameof(head), head, $"head must be in [0, {f.LayerCount - 1}].");
        }
        return g.Sigmoid(FuseLayers(g, x, head + 1).Logits[head]);
    }

    /// <summary>With the FSD module: every head's logit z_i and every layer's fused features f_i (pooled for this step).</summary>
    public (Tensor[] Logits, Tensor[] Fused) Heads(Graph g, in ModelInput x) =>
        fsd is { } f ? FuseLayers(g, x, f.LayerCount) : throw new InvalidOperationException($"{ModelName} has no FSD module (fsd: true).");

    /// <summary>Adds the FSD module ("heads.{i}", unprefixed names) for layers of the given fused widths; constructors call it once.</summary>
    protected FusionSelfDistillation UseFsd(IReadOnlyList<int> fusedWidths, FsdOptions options, Rng rng) =>
        fsd = AddChild("", new FusionSelfDistillation(fusedWidths, options, rng));

    /// <summary>
    /// Both towers layer by layer, each layer fused into its head by <see cref="Fsd"/> (which is set), for the first
    /// <paramref name="layers"/> layers only (early exit; <see cref="FusionSelfDistillation.LayerCount"/> for the full
    /// model): the arrays are full length, entries from <paramref name="layers"/> on are not computed. Running all
    /// layers must record the same ops in the same order whatever the count, so training stays bit-identical.
    /// </summary>
    protected abstract (Tensor[] Logits, Tensor[] Fused) FuseLayers(Graph g, in ModelInput x, int layers);
}
