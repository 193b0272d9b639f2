using FsdNet.Autodiff;
using FsdNet.Tensors;

namespace FsdNet.Layers;

/// <summary>
/// FuxiCTR's SqueezeExcitation (FiBiNET's SENET layer) over field embeddings [rows, F, D]: z = mean over D of each
/// field, a = act(W2 relu(W1 z)) with W1 [max(1, int(F / reduction_ratio)), F] and W2 [F, that] (no biases; act ReLU
/// or Sigmoid), then every field's vector times its a_f. Children "excitation.0" and "excitation.2", as FuxiCTR's
/// nn.Sequential indices.
/// </summary>
internal sealed class SqueezeExcitation : Module
{
    private readonly Linear squeeze;
    private readonly Linear excite;
    private readonly Activation activation;

    public SqueezeExcitation(int numFields, double reductionRatio, Activation excitationActivation, Rng rng)
    {
        if (excitationActivation is not (Activation.Relu or Activation.Sigmoid))
        {
            throw new ArgumentException($"excitation_activation must be ReLU or Sigmoid (as FuxiCTR's SqueezeExcitation), got {excitationActivation}.");
        }
        if (!(reductionRatio > 0))
        {
            throw new ArgumentException($"reduction_ratio must be > 0, got {reductionRatio}.");
        }
        ReducedSize = Math.Max(1, (int)(numFields / reductionRatio));
        squeeze = AddChild("excitation.0", new Linear(numFields, ReducedSize, rng, bias: false));
        excite = AddChild("excitation.2", new Linear(ReducedSize, numFields, rng, bias: false));
        activation = excitationActivation;
    }

    /// <summary>Width of the bottleneck.</summary>
    public int ReducedSize { get; }

    /// <param name="fields">Field embeddings [rows, F, D]; returns the re-weighted embeddings, same shape.</param>
    public Tensor Forward(Graph g, Tensor fields)
    {
        var z = g.Mean(fields, 2);
        var a = g.Apply(activation, excite.Forward(g, g.Relu(squeeze.Forward(g, z))));
        return g.ScaleFields(fields, a);
    }
}
