using FsdNet.Autodiff;
using FsdNet.Tensors;

namespace FsdNet.Layers;

/// <summary>
/// AFN's logarithmic transformation layer (FuxiCTR's AFN.logarithmic_net) on field embeddings [rows, F, D]:
/// log(clamp(|e|, min 1e-5)), BatchNorm1d over the F fields ("log_batch_norm"), a linear combination of the fields into
/// <c>logarithmic_neurons</c> L neurons without bias ("coefficient_W", Linear(F, L)), exp, BatchNorm1d over the L
/// neurons ("exp_batch_norm"), flattened to [rows, L·D] (neuron-major, as FuxiCTR's flatten of [rows, L, D]).
/// </summary>
internal sealed class LogarithmicTransformation : Module
{
    /// <summary>FuxiCTR's clamp of |e| before the log.</summary>
    public const float Clamp = 1e-5f;

    private readonly Linear coefficients;
    private readonly BatchNorm1d logNorm;
    private readonly BatchNorm1d expNorm;

    public LogarithmicTransformation(int numFields, int embeddingDim, int neurons, Rng rng)
    {
        Fields = numFields;
        Dim = embeddingDim;
        Neurons = neurons;
        coefficients = AddChild("coefficient_W", new Linear(numFields, neurons, rng, bias: false));
        logNorm = AddChild("log_batch_norm", new BatchNorm1d(numFields));
        expNorm = AddChild("exp_batch_norm", new BatchNorm1d(neurons));
    }

    public int Fields { get; }

    public int Dim { get; }

    public int Neurons { get; }

    /// <summary>Output width L·D.</summary>
    public int OutFeatures => Neurons * Dim;

    /// <param name="fields">[rows, F, D]; returns [rows, L·D].</param>
    public Tensor Forward(Graph g, Tensor fields)
    {
        // [rows, D, F]: BatchNorm over the last axis is BatchNorm1d over the fields of [rows, F, D].
        var logs = g.Transpose(g.LogAbs(fields, Clamp), 1, 2);
        var mixed = coefficients.Forward(g, logNorm.Forward(g, logs));
        var cross = expNorm.Forward(g, g.Exp(mixed));
        var rows = fields.Shape.D0;
        return g.Reshape(g.Transpose(cross, 1, 2), new Shape(rows, OutFeatures));
    }
}
