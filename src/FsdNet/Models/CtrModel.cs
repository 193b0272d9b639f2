using FsdNet.Autodiff;
using FsdNet.Data;
using FsdNet.Layers;
using FsdNet.Tensors;

namespace FsdNet.Models;

/// <summary>
/// A CTR model: a network from a batch of encoded features to click probabilities, and its training objective.
/// Regularisers (embedding_regularizer, net_regularizer) are the trainer's, not part of <see cref="Loss"/>.
/// </summary>
public abstract class CtrModel : Module
{
    /// <summary>The model's name as in FuxiCTR configs (e.g. "FSDNet").</summary>
    public abstract string ModelName { get; }

    /// <summary>The predicted click probability of each row, [rows, 1].</summary>
    public abstract Tensor Predict(Graph g, Batch batch);

    /// <summary>The training loss of a batch (a [1] tensor), built on the same forward pass as <see cref="Predict"/>.</summary>
    public abstract Tensor Loss(Graph g, Batch batch);

    /// <summary>The labels of a batch as a [rows, 1] tensor.</summary>
    protected static Tensor Labels(Graph g, Batch batch) =>
        g.Constant(new Shape(batch.Size, 1), batch.Labels.AsSpan(0, batch.Size));
}
