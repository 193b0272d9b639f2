using FsdNet.Autodiff;
using FsdNet.Layers;
using FsdNet.Tensors;

namespace FsdNet.Models;

/// <summary>
/// A CTR model: a network from a <see cref="ModelInput"/> to click probabilities, and its training objective.
/// Regularisers (embedding_regularizer, net_regularizer) are the trainer's, not part of <see cref="Loss"/>.
/// A model keeps no per-call state: after training, any number of threads may score with it at once, each on its
/// own <see cref="Graph"/>.
/// </summary>
internal abstract class CtrModel : Module
{
    /// <summary>The model's name as in FuxiCTR configs (e.g. "FSDNet").</summary>
    public abstract string ModelName { get; }

    /// <summary>The input fields the model was built for.</summary>
    public abstract InputSchema Schema { get; }

    /// <summary>The predicted click probability of each row, [rows, 1].</summary>
    public abstract Tensor Predict(Graph g, in ModelInput x);

    /// <summary>The training loss of a batch (a [1] tensor), built on the same forward pass as <see cref="Predict"/>.</summary>
    public abstract Tensor Loss(Graph g, in ModelInput x);

    /// <summary>The labels of a batch as a [rows, 1] tensor.</summary>
    protected static Tensor Labels(Graph g, in ModelInput x) =>
        x.Labels.Length >= x.Rows
            ? g.Constant(new Shape(x.Rows, 1), x.Labels.AsSpan(0, x.Rows))
            : throw new ArgumentException($"the loss needs labels for {x.Rows} rows, the input has {x.Labels.Length}.");
}
