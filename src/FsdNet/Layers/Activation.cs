using FsdNet.Autodiff;
using FsdNet.Tensors;

namespace FsdNet.Layers;

/// <summary>Hidden-layer activations (FuxiCTR's dnn_activations names).</summary>
internal enum Activation
{
    None,
    Relu,
    Sigmoid,
    Tanh,

    /// <summary>torch's LeakyReLU (slope 0.01).</summary>
    LeakyRelu,

    /// <summary>torch's PReLU: one learned slope, initialised 0.25 (a parameter of the layer that uses it).</summary>
    PRelu,

    /// <summary>DIN's Dice (FuxiCTR's layers.Dice): x * (p + alpha (1 - p)), p = sigmoid(BatchNorm(x)) (learned alpha).</summary>
    Dice,
}

internal static class Activations
{
    /// <summary>Parses a FuxiCTR activation name (FuxiCTR's get_activation: relu, sigmoid, tanh, leakyrelu, prelu, dice, linear/none).</summary>
    public static Activation Parse(string name) => name.Trim().ToLowerInvariant() switch
    {
        "relu" => Activation.Relu,
        "sigmoid" => Activation.Sigmoid,
        "tanh" => Activation.Tanh,
        "leakyrelu" or "leaky_relu" => Activation.LeakyRelu,
        "prelu" => Activation.PRelu,
        "dice" => Activation.Dice,
        "linear" or "none" or "identity" => Activation.None,
        _ => throw new ArgumentException($"Unknown activation '{name}' (known: relu, sigmoid, tanh, leakyrelu, prelu, dice, linear)."),
    };

    /// <summary>Whether the activation has parameters (then it is a <see cref="ParametricActivation"/> module).</summary>
    public static bool HasParameters(this Activation a) => a is Activation.PRelu or Activation.Dice;

    /// <summary>A parameter-free activation; parametric ones go through their <see cref="ParametricActivation"/> module.</summary>
    public static Tensor Apply(this Graph g, Activation activation, Tensor x) => activation switch
    {
        Activation.Relu => g.Relu(x),
        Activation.Sigmoid => g.Sigmoid(x),
        Activation.Tanh => g.Tanh(x),
        Activation.LeakyRelu => g.LeakyRelu(x),
        Activation.None => x,
        _ => throw new InvalidOperationException($"{activation} has parameters: use its ParametricActivation module."),
    };
}

/// <summary>
/// An activation with parameters, as torch's nn.PReLU() (one slope "weight", 0.25) or FuxiCTR's Dice
/// (BatchNorm1d without affine, eps 1e-9, momentum 0.01, and "alpha" [dim] zeros).
/// </summary>
internal sealed class ParametricActivation : Module
{
    private readonly Parameter? slope;
    private readonly Parameter? alpha;
    private readonly Tensor? runningMean;
    private readonly Tensor? runningVar;
    private readonly Tensor? ones;
    private readonly Tensor? zeros;

    public ParametricActivation(Activation kind, int features)
    {
        Kind = kind;
        if (kind == Activation.PRelu)
        {
            slope = AddParameter("weight", new Shape(1));
            slope.Span.Fill(0.25f);
        }
        else if (kind == Activation.Dice)
        {
            alpha = AddParameter("alpha", new Shape(features));
            runningMean = AddBuffer("bn.running_mean", new Shape(features));
            runningVar = AddBuffer("bn.running_var", new Shape(features));
            runningVar.Span.Fill(1f);
            ones = new Tensor(features);
            ones.Span.Fill(1f);
            zeros = new Tensor(features);
        }
        else
        {
            throw new ArgumentException($"{kind} has no parameters.");
        }
    }

    public Activation Kind { get; }

    public Tensor Forward(Graph g, Tensor x)
    {
        if (slope is not null)
        {
            // max(0, x) + a * min(0, x) = relu(x) - a * relu(-x)
            return g.Sub(g.Relu(x), g.Mul(g.Relu(g.Affine(x, -1f)), slope));
        }
        var p = g.Sigmoid(g.BatchNorm(x, ones!, zeros!, runningMean!, runningVar!, 0.01f, 1e-9f));
        return g.Mul(x, g.Add(p, g.MulRow(g.Affine(p, -1f, 1f), alpha!)));
    }
}
