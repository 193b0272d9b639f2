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
    /// <summary>A model over the input fields of <paramref name="schema"/>.</summary>
    protected CtrModel(InputSchema schema)
    {
        Schema = schema;
    }

    /// <summary>The model's name as in FuxiCTR configs (e.g. "FSDNet").</summary>
    public abstract string ModelName { get; }

    /// <summary>The input fields the model was built for.</summary>
    public InputSchema Schema { get; }

    /// <summary>The predicted click probability of each row, [rows, 1]: the sigmoid of the <see cref="Logit"/>.</summary>
    public virtual Tensor Predict(Graph g, in ModelInput x) => g.Sigmoid(Logit(g, x));

    /// <summary>The training loss of a batch (a [1] tensor), built on the same forward pass as <see cref="Predict"/>: binary cross-entropy of the logit.</summary>
    public virtual Tensor Loss(Graph g, in ModelInput x) => g.BceWithLogits(Logit(g, x), Labels(g, x));

    /// <summary>The model's logit of each row, [rows, 1]: its architecture (a model file is this method and its constructor).</summary>
    protected abstract Tensor Logit(Graph g, in ModelInput x);

    /// <summary>The labels of a batch as a [rows, 1] tensor.</summary>
    protected static Tensor Labels(Graph g, in ModelInput x) =>
        x.Labels.Length >= x.Rows
            ? g.Constant(new Shape(x.Rows, 1), x.Labels.AsSpan(0, x.Rows))
            : throw new ArgumentException($"the loss needs labels for {x.Rows} rows, the input has {x.Labels.Length}.");
}
