using FsdNet.Autodiff;
using FsdNet.Tensors;

namespace FsdNet.Layers;

/// <summary>
/// FinalMLP's feature selection (FuxiCTR's FeatureSelection): two gates, each 2 · sigmoid(MLP(context)) over the
/// flattened embeddings, give the two towers their own view of x0: feature_k = x0 * gate_k. A gate's context is the
/// embeddings of its fs*_context features (their own tables, "fs1_ctx_emb"/"fs2_ctx_emb", in schema order, as
/// FuxiCTR's FeatureEmbedding with required_feature_columns), or, with no context features, a learned vector
/// "fs1_ctx_bias"/"fs2_ctx_bias" [1, embedding_dim] (zeros) shared by every row. Gates "fs1_gate"/"fs2_gate": MLPs with
/// fs_hidden_units, ReLU, no BatchNorm, output width x0's.
/// </summary>
internal sealed class FeatureSelection : Module
{
    private readonly Gate gate1;
    private readonly Gate gate2;

    public FeatureSelection(InputSchema schema, int featureDim, int embeddingDim, IReadOnlyList<int> hiddenUnits,
        IReadOnlyList<string> context1, IReadOnlyList<string> context2, Rng rng, bool loadPretrained = true)
    {
        // FuxiCTR's attribute order: both contexts, then both gates.
        var c1 = Context(schema, context1, "fs1", embeddingDim, rng, loadPretrained);
        var c2 = Context(schema, context2, "fs2", embeddingDim, rng, loadPretrained);
        gate1 = new Gate(c1.Bias, c1.Embedding, AddChild("fs1_gate", new MlpBlock(c1.Width, hiddenUnits, Activation.Relu, 0f, false, rng, outputDim: featureDim)));
        gate2 = new Gate(c2.Bias, c2.Embedding, AddChild("fs2_gate", new MlpBlock(c2.Width, hiddenUnits, Activation.Relu, 0f, false, rng, outputDim: featureDim)));
    }

    /// <summary>The two towers' inputs from x0 [rows, featureDim].</summary>
    public (Tensor Feature1, Tensor Feature2) Forward(Graph g, in ModelInput x, Tensor x0) =>
        (gate1.Apply(g, x, x0), gate2.Apply(g, x, x0));

    private (Parameter? Bias, FeatureEmbedding? Embedding, int Width) Context(
        InputSchema schema, IReadOnlyList<string> names, string prefix, int embeddingDim, Rng rng, bool loadPretrained)
    {
        if (names.Count == 0)
        {
            return (AddParameter($"{prefix}_ctx_bias", new Shape(1, embeddingDim)), null, embeddingDim);
        }
        foreach (var n in names)
        {
            if (!schema.Fields.Any(f => f.Name == n))
            {
                throw new ArgumentException(
                    $"{prefix}_context names '{n}', which is not an input feature (features: {string.Join(", ", schema.Fields.Select(f => f.Name))}).");
            }
        }
        var sub = new InputSchema(
            [.. schema.Fields.Where(f => names.Contains(f.Name))], schema.CategoricalCount, schema.NumericCount, schema.SequenceWidth, schema.EmbeddingWidth);
        var emb = AddChild($"{prefix}_ctx_emb", new FeatureEmbedding(sub, embeddingDim, rng, loadPretrained));
        return (null, emb, emb.OutFeatures);
    }

    private sealed class Gate(Parameter? bias, FeatureEmbedding? embedding, MlpBlock mlp)
    {
        public Tensor Apply(Graph g, in ModelInput x, Tensor x0)
        {
            if (bias is not null)
            {
                // Every row's context is the same vector, so the gate is computed once and scales every row.
                var gate = g.Affine(g.Sigmoid(mlp.Forward(g, bias)), 2f);
                return g.MulRow(x0, g.Reshape(gate, new Shape(x0.Shape.Last)));
            }
            var rowGate = g.Affine(g.Sigmoid(mlp.Forward(g, embedding!.Forward(g, x))), 2f);
            return g.Mul(x0, rowGate);
        }
    }
}
