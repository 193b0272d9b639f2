using FsdNet.Autodiff;
using FsdNet.Tensors;

namespace FsdNet.Layers;

/// <summary>
/// FuxiCTR's LogisticRegression block: a weight per feature value (an embedding of dim 1, without pretrained tables
/// or sharing; sequences sum their tokens' weights) summed over the fields, plus a bias: [rows, 1].
/// </summary>
internal sealed class LogisticRegression : Module
{
    private readonly FeatureEmbedding weights;
    private readonly Parameter? bias;

    public LogisticRegression(InputSchema schema, Rng rng, bool useBias = true)
    {
        var plain = new InputSchema(
            [.. schema.Fields.Select(f => f with
            {
                EmbeddingDim = null,
                ShareEmbedding = null,
                Pretrained = null,
                Pooling = f.Kind == InputKind.Sequence ? SequencePooling.Sum : f.Pooling,
            })],
            schema.CategoricalCount, schema.NumericCount, schema.SequenceWidth, schema.EmbeddingWidth)
        {
            DeferredTables = schema.DeferredTables,
        };
        weights = AddChild("embedding_layer", new FeatureEmbedding(plain, 1, rng, loadPretrained: false));
        bias = useBias ? AddParameter("bias", new Shape(1)) : null;
    }

    public Tensor Forward(Graph g, in ModelInput x)
    {
        var sum = g.SumLast(weights.Forward(g, x));
        return bias is null ? sum : g.AddRow(sum, bias);
    }
}

/// <summary>
/// FuxiCTR's FactorizationMachine block: logistic regression plus the pairwise inner products of the field
/// embeddings, 0.5 * sum_d((sum_f e_f)^2 - sum_f e_f^2) (InnerProductInteraction, product_sum): [rows, 1].
/// </summary>
internal sealed class FactorizationMachine : Module
{
    private readonly LogisticRegression lr;

    public FactorizationMachine(InputSchema schema, Rng rng)
    {
        lr = AddChild("lr_layer", new LogisticRegression(schema, rng));
    }

    /// <param name="fields">The field embeddings [rows, fields, dim].</param>
    public Tensor Forward(Graph g, in ModelInput x, Tensor fields) => g.Add(lr.Forward(g, x), ProductSum(g, fields));

    /// <summary>0.5 * sum over dim of ((sum over fields)^2 - sum over fields of squares), [rows, 1].</summary>
    public static Tensor ProductSum(Graph g, Tensor fields)
    {
        var squareOfSum = g.Square(g.Sum(fields, 1));
        var sumOfSquares = g.Sum(g.Square(fields), 1);
        return g.SumLast(g.Affine(g.Sub(squareOfSum, sumOfSquares), 0.5f));
    }
}
