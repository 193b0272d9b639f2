using FsdNet.Autodiff;
using FsdNet.Tensors;

namespace FsdNet.Layers;

/// <summary>
/// EDCN's regulation module (FuxiCTR's RegulationModule): two field-wise gates g1, g2 [fields] (ones), each turned
/// into softmax(g / tau) over the fields and repeated over every field's embedding_dim entries, give the cross
/// tower's input g1 * x and the deep tower's input g2 * x; with batch_norm each then goes through its own
/// BatchNorm1d ("bn1", "bn2"). Without the gates (use_regulation_module: false, FsdNet's addition) both inputs are x
/// (then through the BatchNorms when set).
/// </summary>
internal sealed class RegulationModule : Module
{
    private readonly Parameter? g1;
    private readonly Parameter? g2;
    private readonly BatchNorm1d? bn1;
    private readonly BatchNorm1d? bn2;
    private readonly float[] ones;
    private readonly int fields;
    private readonly int dim;
    private readonly float tau;

    public RegulationModule(int numFields, int embeddingDim, double tau, bool batchNorm, bool gates = true)
    {
        if (tau <= 0)
        {
            throw new ArgumentException($"temperature must be > 0, got {tau}.");
        }
        fields = numFields;
        dim = embeddingDim;
        this.tau = (float)tau;
        if (gates)
        {
            g1 = AddParameter("g1", new Shape(numFields));
            g1.Span.Fill(1f);
            g2 = AddParameter("g2", new Shape(numFields));
            g2.Span.Fill(1f);
        }
        if (batchNorm)
        {
            bn1 = AddChild("bn1", new BatchNorm1d(numFields * embeddingDim));
            bn2 = AddChild("bn2", new BatchNorm1d(numFields * embeddingDim));
        }
        ones = new float[numFields * embeddingDim];
        ones.AsSpan().Fill(1f);
    }

    public int Width => fields * dim;

    /// <summary>The regulated cross input and deep input of x [rows, fields * embedding_dim].</summary>
    public (Tensor Cross, Tensor Deep) Forward(Graph g, Tensor x)
    {
        Tensor cross = x, deep = x;
        if (g1 is not null)
        {
            cross = g.MulRow(x, Gate(g, g1));
            deep = g.MulRow(x, Gate(g, g2!));
        }
        if (bn1 is not null)
        {
            cross = bn1.Forward(g, cross);
            deep = bn2!.Forward(g, deep);
        }
        return (cross, deep);
    }

    /// <summary>softmax(gate / tau) over the fields, each repeated embedding_dim times: a [fields * embedding_dim] row.</summary>
    private Tensor Gate(Graph g, Parameter gate)
    {
        var p = g.Reshape(g.Softmax(g.Affine(gate, 1f / tau)), new Shape(fields, 1));
        var expanded = g.Mul(p, g.Constant(new Shape(fields, dim), ones));
        return g.Reshape(expanded, new Shape(fields * dim));
    }
}
