using FsdNet.Autodiff;
using FsdNet.Tensors;

namespace FsdNet.Layers;

/// <summary>EDCN's bridge_type: how the bridge module combines a cross output and a deep output.</summary>
internal enum BridgeType
{
    HadamardProduct,
    PointwiseAddition,
    Concatenation,
    AttentionPooling,
}

/// <summary>
/// EDCN's bridge module (FuxiCTR's BridgeModule) on a cross output x1 and a deep output x2 of one width d:
/// hadamard_product x1 * x2; pointwise_addition x1 + x2; concatenation ReLU(Linear(2d, d)([x1 ; x2]))
/// ("concat_pooling.0"); attention_pooling a(x1) * x1 + a(x2) * x2 with a = softmax(Linear(d, d, no bias)(ReLU(
/// Linear(d, d)(x)))) ("attention1.0", "attention1.2"). FuxiCTR applies the same attention network (attention1) to
/// both inputs and leaves its attention2 unused; FsdNet does the same and does not create attention2.
/// </summary>
internal sealed class BridgeModule : Module
{
    private readonly Linear? concat;
    private readonly Linear? attentionHidden;
    private readonly Linear? attentionOut;

    public BridgeModule(int hiddenDim, BridgeType type, Rng rng)
    {
        Type = type;
        HiddenDim = hiddenDim;
        if (type == BridgeType.Concatenation)
        {
            concat = AddChild("concat_pooling.0", new Linear(2 * hiddenDim, hiddenDim, rng));
        }
        else if (type == BridgeType.AttentionPooling)
        {
            attentionHidden = AddChild("attention1.0", new Linear(hiddenDim, hiddenDim, rng));
            attentionOut = AddChild("attention1.2", new Linear(hiddenDim, hiddenDim, rng, bias: false));
        }
    }

    public BridgeType Type { get; }

    public int HiddenDim { get; }

    /// <summary>Parses FuxiCTR's bridge_type names.</summary>
    public static BridgeType Parse(string name) => name.Trim().ToLowerInvariant() switch
    {
        "hadamard_product" => BridgeType.HadamardProduct,
        "pointwise_addition" => BridgeType.PointwiseAddition,
        "concatenation" => BridgeType.Concatenation,
        "attention_pooling" => BridgeType.AttentionPooling,
        _ => throw new ArgumentException($"bridge_type '{name}' is not one of hadamard_product, pointwise_addition, concatenation, attention_pooling."),
    };

    public Tensor Forward(Graph g, Tensor x1, Tensor x2) => Type switch
    {
        BridgeType.HadamardProduct => g.Mul(x1, x2),
        BridgeType.PointwiseAddition => g.Add(x1, x2),
        BridgeType.Concatenation => g.Relu(concat!.Forward(g, g.Concat(x1, x2))),
        _ => g.Add(g.Mul(Attention(g, x1), x1), g.Mul(Attention(g, x2), x2)),
    };

    private Tensor Attention(Graph g, Tensor x) => g.Softmax(attentionOut!.Forward(g, g.Relu(attentionHidden!.Forward(g, x))));
}
