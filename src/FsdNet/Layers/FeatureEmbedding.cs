using FsdNet.Autodiff;
using FsdNet.Data;
using FsdNet.Tensors;

namespace FsdNet.Layers;

/// <summary>A categorical input field of a model: its name and vocabulary size (padding and OOV included).</summary>
public readonly record struct FieldSpec(string Name, int VocabSize)
{
    /// <summary>The categorical fields of a fitted feature map, in batch column order.</summary>
    public static IReadOnlyList<FieldSpec> From(FeatureMap map)
    {
        var unsupported = map.Features.Where(f => f.Type is FeatureType.Numeric or FeatureType.Sequence).Select(f => $"{f.Name} ({f.Type})").ToList();
        if (unsupported.Count > 0)
        {
            throw new NotSupportedException(
                $"The models take categorical fields only for now; the feature map has {string.Join(", ", unsupported)}. " +
                "Bucketize numeric columns (preprocess: convert_to_bucket, type: categorical) as FuxiCTR's Criteo config does.");
        }
        return [.. map.Categorical.Select(f => new FieldSpec(f.Name, f.VocabSize))];
    }
}

/// <summary>
/// The input layer of every model: each categorical field of a batch is looked up in its own table and the
/// embeddings are concatenated to x0 [rows, fields * dim] (FuxiCTR's FeatureEmbedding with flatten).
/// </summary>
public sealed class FeatureEmbedding : Module
{
    private readonly Embedding embedding;

    public FeatureEmbedding(IReadOnlyList<FieldSpec> fields, int dim, Rng rng)
    {
        if (fields.Count == 0)
        {
            throw new ArgumentException("A model needs at least one input field.");
        }
        Fields = fields;
        embedding = AddChild("embedding_layer", new Embedding([.. fields.Select(f => (f.Name, f.VocabSize))], dim, rng));
    }

    public IReadOnlyList<FieldSpec> Fields { get; }

    public int Dim => embedding.Dim;

    /// <summary>Width of x0: fields x dim.</summary>
    public int OutFeatures => embedding.OutFeatures;

    public Tensor Forward(Graph g, Batch batch)
    {
        if (batch.CategoricalCount != Fields.Count)
        {
            throw new ArgumentException($"The batch has {batch.CategoricalCount} categorical fields, the model was built for {Fields.Count}.");
        }
        return embedding.Forward(g, batch.Categorical, batch.Size);
    }
}
