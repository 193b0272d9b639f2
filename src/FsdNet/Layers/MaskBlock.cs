using FsdNet.Autodiff;
using FsdNet.Tensors;

namespace FsdNet.Layers;

/// <summary>
/// MaskNet's instance-guided mask block (FuxiCTR's MaskBlock): the mask = Linear(ReLU(Linear(v_emb))) ("mask_layer.0",
/// input -> int(hidden * reduction_ratio), and "mask_layer.2", -> hidden) multiplies v_hidden elementwise; then
/// Linear without bias ("hidden_layer.0", hidden -> output), LayerNorm ("hidden_layer.1", optional), the activation
/// and dropout.
/// </summary>
internal sealed class MaskBlock : Module
{
    private readonly Linear mask0, mask2, hidden;
    private readonly LayerNorm? norm;

    public MaskBlock(int inputDim, int hiddenDim, int outputDim, Activation activation, double reductionRatio, float dropout, bool layerNorm, Rng rng)
    {
        var aggregation = (int)(hiddenDim * reductionRatio);
        if (aggregation < 1)
        {
            throw new ArgumentException($"reduction_ratio {reductionRatio} leaves int({hiddenDim} x {reductionRatio}) = {aggregation} units in a mask layer; it needs at least 1.");
        }
        if (activation.HasParameters())
        {
            throw new ArgumentException($"dnn_hidden_activations: {activation} has parameters, which FuxiCTR's MaskBlock cannot build (get_activation without hidden_units); use relu, sigmoid, tanh, leakyrelu or linear.");
        }
        if (dropout is < 0f or >= 1f)
        {
            throw new ArgumentOutOfRangeException(nameof(dropout), dropout, "net_dropout must be in [0, 1).");
        }
        mask0 = AddChild("mask_layer.0", new Linear(inputDim, aggregation, rng));
        mask2 = AddChild("mask_layer.2", new Linear(aggregation, hiddenDim, rng));
        hidden = AddChild("hidden_layer.0", new Linear(hiddenDim, outputDim, rng, bias: false));
        norm = layerNorm ? AddChild("hidden_layer.1", new LayerNorm(outputDim)) : null;
        Activation = activation;
        DropoutRate = dropout;
        OutFeatures = outputDim;
    }

    public Activation Activation { get; }

    public float DropoutRate { get; }

    public int OutFeatures { get; }

    /// <param name="emb">v_emb [B, input] (what the mask is computed from).</param>
    /// <param name="hiddenIn">v_hidden [B, hidden] (what the mask multiplies).</param>
    public Tensor Forward(Graph g, Tensor emb, Tensor hiddenIn)
    {
        var mask = mask2.Forward(g, g.Relu(mask0.Forward(g, emb)));
        var h = hidden.Forward(g, g.Mul(mask, hiddenIn));
        if (norm is not null)
        {
            h = norm.Forward(g, h);
        }
        return g.Dropout(g.Apply(Activation, h), DropoutRate);
    }
}
