using FsdNet.Autodiff;
using FsdNet.Tensors;
using FsdNet.Training;

namespace FsdNet.Layers;

/// <summary>
/// Fusion self-distillation (Sang et al., arXiv 2411.07508), a plug-in for models with two parallel layer-wise
/// towers: layer i's explicit output c_i and implicit output d_i are fused, f_i = [c_i ; d_i]; head i gives the logit
/// z_i = w_i f_i + b_i; the prediction is the mean of sigmoid(z_i) (or one head's); the deepest head teaches the
/// others through <see cref="SelfDistillation"/> (label BCE on every head, soft-label KL at temperature tau, hint MSE
/// between fused features). Heads are named "heads.{i}", hint projections "hint_projections.{i}".
/// </summary>
internal sealed class FusionSelfDistillation : Module
{
    private readonly Linear[] heads;
    private readonly Linear?[] projections;

    /// <param name="fusedWidths">Width of f_i for every layer (c_i's plus d_i's).</param>
    public FusionSelfDistillation(IReadOnlyList<int> fusedWidths, FsdOptions options, Rng rng)
    {
        var n = fusedWidths.Count;
        if (n < 2)
        {
            throw new ArgumentException($"the FSD module needs at least 2 layers (a teacher and a student), got {n}.");
        }
        if (options.ScoreHead is { } h && (h < 0 || h >= n))
        {
            throw new ArgumentException($"score_head {h} is not a head index in [0, {n - 1}].");
        }
        var teacher = fusedWidths[^1];
        if (!options.HintProjection && fusedWidths.Any(w => w != teacher) && options.Distillation.Choice != 0)
        {
            throw new ArgumentException(
                $"the hint loss compares every layer's fused features with the last one's, but their widths differ ([{string.Join(", ", fusedWidths)}]); " +
                "make the layers equally wide, use choice 0 (no hint), or set hint_projection: true.");
        }
        options.Distillation.Validate();
        Options = options;
        heads = new Linear[n];
        for (var i = 0; i < n; i++)
        {
            heads[i] = AddChild($"heads.{i}", new Linear(fusedWidths[i], 1, rng));
        }
        projections = new Linear?[n];
        for (var i = 0; i < n - 1; i++)
        {
            if (options.HintProjection && fusedWidths[i] != teacher)
            {
                projections[i] = AddChild($"hint_projections.{i}", new Linear(fusedWidths[i], teacher, rng, bias: false));
            }
        }
    }

    public FsdOptions Options { get; }

    public int LayerCount => heads.Length;

    /// <summary>Arrays for every layer's logit and fused features (pooled by the graph for this step), filled by <see cref="FuseLayer"/>.</summary>
    public (Tensor[] Logits, Tensor[] Fused) Outputs(Graph g) => (g.TensorList(heads.Length), g.TensorList(heads.Length));

    /// <summary>
    /// Layer i: f_i = [c_i ; d_i] and z_i, into the arrays of <see cref="Outputs"/>. Models call it right after both
    /// towers' layer i, so the tape (and so every floating-point sum of the backward pass) has one fixed order.
    /// </summary>
    public void FuseLayer(Graph g, int i, Tensor explicitOutput, Tensor implicitOutput, Tensor[] logits, Tensor[] fused)
    {
        if (splitHeads is { } split && explicitOutput.Shape.Rows >= SplitHeadsMinRows)
        {
            // Serving: z_i = w_c . c_i + w_d . d_i + b, without materialising f_i (nothing reads it when scoring).
            if (g.Training)
            {
                throw new InvalidOperationException("an FSD module prepared for serving (split heads) cannot train.");
            }
            var head = split[i] ?? SplitHead(i, explicitOutput.Shape.Last);
            logits[i] = g.Add(g.Linear(explicitOutput, head.Explicit, heads[i].Bias), g.Linear(implicitOutput, head.Implicit, null));
            fused[i] = null!;
            return;
        }
        fused[i] = g.Concat(explicitOutput, implicitOutput);
        logits[i] = heads[i].Forward(g, fused[i]);
    }

    private sealed record SplitWeights(Tensor Explicit, Tensor Implicit);

    private SplitWeights?[]? splitHeads;

    /// <summary>Batches below this many rows keep the concatenation: copying a few rows is cheaper than two more ops.</summary>
    internal const int SplitHeadsMinRows = 32;

    /// <summary>
    /// Serving only (a model copy that scores and never trains): each head's weight is split at the explicit
    /// tower's width (on first use), so <see cref="FuseLayer"/> scores z_i of batches of at least
    /// <see cref="SplitHeadsMinRows"/> rows from c_i and d_i directly and skips the
    /// concatenation f_i and its copy of every row. The logit changes in the last bits only (two dot products summed
    /// instead of one).
    /// </summary>
    internal void SplitHeadsForServing() => splitHeads = new SplitWeights?[heads.Length];

    private SplitWeights SplitHead(int i, int explicitWidth)
    {
        lock (heads)
        {
            if (splitHeads![i] is { } done)
            {
                return done;
            }
            var w = heads[i].Weight.Span;
            var wc = new Tensor(1, explicitWidth);
            var wd = new Tensor(1, w.Length - explicitWidth);
            w[..explicitWidth].CopyTo(wc.Span);
            w[explicitWidth..].CopyTo(wd.Span);
            return splitHeads[i] = new SplitWeights(wc, wd);
        }
    }

    /// <summary>
    /// Runs two layer-wise towers side by side on x0 and fuses them layer by layer: layer i of the explicit tower,
    /// layer i of the implicit tower, then f_i and z_i (this order fixes the tape, so results are reproducible).
    /// </summary>
    public (Tensor[] Logits, Tensor[] Fused) Run(Graph g, Tensor x0, ILayerwiseTower explicitTower, ILayerwiseTower implicitTower) =>
        Run(g, x0, explicitTower, implicitTower, heads.Length);

    /// <summary><see cref="Run(Graph, Tensor, ILayerwiseTower, ILayerwiseTower)"/> for the first <paramref name="layers"/> layers only (early exit).</summary>
    public (Tensor[] Logits, Tensor[] Fused) Run(Graph g, Tensor x0, ILayerwiseTower explicitTower, ILayerwiseTower implicitTower, int layers)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(layers, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(layers, heads.Length);
        var (logits, fused) = Outputs(g);
        Tensor c = x0, d = x0;
        for (var i = 0; i < layers; i++)
        {
            c = explicitTower.Step(g, i, x0, c);
            d = implicitTower.Step(g, i, x0, d);
            FuseLayer(g, i, c, d, logits, fused);
        }
        return (logits, fused);
    }

    /// <summary>The prediction of two towers fused by this module (<see cref="Run"/> then <see cref="Predict(Graph, Tensor[])"/>).</summary>
    public Tensor Predict(Graph g, Tensor x0, ILayerwiseTower explicitTower, ILayerwiseTower implicitTower) =>
        Predict(g, Run(g, x0, explicitTower, implicitTower).Logits);

    /// <summary>The training loss of two towers fused by this module.</summary>
    public Tensor Loss(Graph g, Tensor x0, ILayerwiseTower explicitTower, ILayerwiseTower implicitTower, Tensor labels)
    {
        var (logits, fused) = Run(g, x0, explicitTower, implicitTower);
        return Loss(g, logits, fused, labels);
    }

    /// <summary>The fused widths of two towers (x0 width for towers that keep it), checking they have one layer each per head.</summary>
    public static int[] FusedWidths(ILayerwiseTower explicitTower, ILayerwiseTower implicitTower, string explicitName, string implicitName)
    {
        if (explicitTower.LayerCount != implicitTower.LayerCount)
        {
            throw new ArgumentException(
                $"the FSD module fuses layer i of both towers, so {explicitName} ({explicitTower.LayerCount}) must equal the number of " +
                $"{implicitName} ({implicitTower.LayerCount}).");
        }
        return [.. Enumerable.Range(0, explicitTower.LayerCount).Select(i => explicitTower.LayerWidth(i) + implicitTower.LayerWidth(i))];
    }

    /// <summary>The click probability: the chosen head's, or the mean of every head's.</summary>
    public Tensor Predict(Graph g, Tensor[] logits)
    {
        if (Options.ScoreHead is { } h)
        {
            return g.Sigmoid(logits[h]);
        }
        var sum = g.Sigmoid(logits[0]);
        for (var i = 1; i < logits.Length; i++)
        {
            sum = g.Add(sum, g.Sigmoid(logits[i]));
        }
        return g.Affine(sum, 1f / logits.Length);
    }

    /// <summary>The self-distillation loss; students' fused features are projected to the teacher's width where set.</summary>
    public Tensor Loss(Graph g, Tensor[] logits, Tensor[] fused, Tensor labels)
    {
        var features = fused;
        if (Options.HintProjection)
        {
            features = g.TensorList(fused.Length);
            for (var i = 0; i < fused.Length; i++)
            {
                features[i] = projections[i] is { } p ? p.Forward(g, fused[i]) : fused[i];
            }
        }
        return SelfDistillation.Loss(g, logits, features, labels, Options.Distillation);
    }
}
