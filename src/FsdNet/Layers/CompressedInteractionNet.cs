using FsdNet.Autodiff;
using FsdNet.Tensors;

namespace FsdNet.Layers;

/// <summary>
/// xDeepFM's compressed interaction network (FuxiCTR's CompressedInteractionNet): layer k takes the Hadamard product
/// of every base field x0_f with every feature map x^{k-1}_h over the embedding dim and compresses the F*H products to
/// H_k maps with a 1x1 convolution ("cin_layer.layer_{k}.weight" [H_k, F*H_{k-1}], Xavier-normal as FuxiCTR's
/// Conv1d reset, and ".bias" [H_k], zeros; FuxiCTR's weight has a trailing kernel axis of 1). Each layer's maps are
/// sum-pooled over the embedding dim; the pooled outputs of all layers, concatenated, go through the linear "fc"
/// (absent when the FSD heads replace it). Every layer is one fused op (<see cref="Graph.CinLayer"/>).
/// As a layer-wise tower, <see cref="Step"/> returns layer i's feature maps [B, d, H_i] (what layer i + 1 reads) and
/// <see cref="LayerWidth"/> is the width of their sum pooling (<see cref="Pool"/>), the output that is fused.
/// </summary>
internal sealed class CompressedInteractionNet : Module, ILayerwiseTower
{
    private readonly Parameter[] weights;
    private readonly Parameter[] biases;
    private readonly int[] units;

    /// <param name="numFields">Fields F of x0.</param>
    /// <param name="hiddenUnits">cin_hidden_units: maps per layer.</param>
    /// <param name="outputDim">Width of fc (null: no fc).</param>
    public CompressedInteractionNet(int numFields, IReadOnlyList<int> hiddenUnits, Rng rng, int? outputDim = 1)
    {
        if (hiddenUnits.Count == 0 || hiddenUnits.Any(u => u < 1))
        {
            throw new ArgumentException($"cin_hidden_units must list at least one layer of at least 1 map, got [{string.Join(", ", hiddenUnits)}].");
        }
        NumFields = numFields;
        units = [.. hiddenUnits];
        weights = new Parameter[units.Length];
        biases = new Parameter[units.Length];
        for (var i = 0; i < units.Length; i++)
        {
            var inChannels = numFields * (i == 0 ? numFields : units[i - 1]);
            weights[i] = AddParameter($"cin_layer.layer_{i + 1}.weight", new Shape(units[i], inChannels));
            Init.XavierNormal(weights[i], rng);
            biases[i] = AddParameter($"cin_layer.layer_{i + 1}.bias", new Shape(units[i]));
        }
        Fc = outputDim is { } o ? AddChild("fc", new Linear(units.Sum(), o, rng)) : null;
    }

    public int NumFields { get; }

    public Linear? Fc { get; }

    public int LayerCount => units.Length;

    /// <summary>Maps of layer i, the width of its pooled output.</summary>
    public int LayerWidth(int i) => units[i];

    /// <summary>Layer i on x0 [B, F*d] and the previous layer's maps [B, d, H] (ignored for layer 0): its maps [B, d, H_i].</summary>
    public Tensor Step(Graph g, int i, Tensor x0, Tensor previous) =>
        g.CinLayer(x0, NumFields, i == 0 ? null : previous, weights[i], biases[i]);

    /// <summary>A layer's maps [B, d, H] summed over the embedding dim: [B, H].</summary>
    public static Tensor Pool(Graph g, Tensor maps) => g.SumMiddle(maps);

    /// <summary>fc over the concatenated pooled outputs of all layers (needs the fc).</summary>
    public Tensor Forward(Graph g, Tensor x0)
    {
        var pooled = g.TensorList(units.Length);
        var x = x0;
        for (var i = 0; i < units.Length; i++)
        {
            x = Step(g, i, x0, x);
            pooled[i] = Pool(g, x);
        }
        var fc = Fc ?? throw new InvalidOperationException("this CIN has no fc (its outputs feed the FSD heads).");
        return fc.Forward(g, pooled.Length == 1 ? pooled[0] : g.Concat(1, pooled));
    }
}
