using FsdNet.Autodiff;
using FsdNet.Tensors;

namespace FsdNet.Layers;

/// <summary>Hidden-layer activations (FuxiCTR's dnn_activations names).</summary>
public enum Activation
{
    None,
    Relu,
    Sigmoid,
    Tanh,
}

public static class Activations
{
    /// <summary>Parses a FuxiCTR activation name ("relu", "ReLU", "sigmoid", "tanh", "linear"/"none").</summary>
    public static Activation Parse(string name) => name.Trim().ToLowerInvariant() switch
    {
        "relu" => Activation.Relu,
        "sigmoid" => Activation.Sigmoid,
        "tanh" => Activation.Tanh,
        "linear" or "none" or "identity" => Activation.None,
        _ => throw new ArgumentException($"Unknown activation '{name}' (known: relu, sigmoid, tanh, linear)."),
    };

    public static Tensor Apply(this Graph g, Activation activation, Tensor x) => activation switch
    {
        Activation.Relu => g.Relu(x),
        Activation.Sigmoid => g.Sigmoid(x),
        Activation.Tanh => g.Tanh(x),
        _ => x,
    };
}
