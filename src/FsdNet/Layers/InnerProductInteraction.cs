using FsdNet.Autodiff;
using FsdNet.Tensors;

namespace FsdNet.Layers;

/// <summary>
/// FuxiCTR's InnerProductInteraction with output="inner_product": the inner product of every pair of field
/// embeddings, [rows, fields, dim] to [rows, fields (fields - 1) / 2], pairs (i, j) with i &lt; j in row-major order.
/// No parameters; one fused op (<see cref="Graph.PairwiseInnerProduct"/>).
/// </summary>
internal sealed class InnerProductInteraction : Module
{
    public InnerProductInteraction(int numFields)
    {
        if (numFields < 2)
        {
            throw new ArgumentException($"pairwise inner products need at least 2 fields, the input has {numFields}.");
        }
        NumFields = numFields;
        InteractionUnits = numFields * (numFields - 1) / 2;
    }

    public int NumFields { get; }

    /// <summary>Number of pairs, the output width.</summary>
    public int InteractionUnits { get; }

    /// <param name="fields">Field embeddings [rows, fields, dim].</param>
    public Tensor Forward(Graph g, Tensor fields) => g.PairwiseInnerProduct(fields);
}
