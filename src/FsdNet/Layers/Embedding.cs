using FsdNet.Autodiff;
using FsdNet.Tensors;

namespace FsdNet.Layers;

/// <summary>
/// One embedding table per categorical field (FuxiCTR's FeatureEmbedding), each [vocab_f, dim] with padding row 0,
/// initialised normal(0, 1e-4). Forward maps a batch of codes [rows, fields] to [rows, fields * dim].
/// </summary>
public sealed class Embedding : Module
{
    private readonly Tensor[] tables;

    public Embedding(IReadOnlyList<(string Name, int VocabSize)> fields, int dim, Rng rng, double initStd = 1e-4)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dim);
        Dim = dim;
        tables = new Tensor[fields.Count];
        for (var f = 0; f < fields.Count; f++)
        {
            var (name, vocab) = fields[f];
            if (vocab < 2)
            {
                throw new ArgumentException($"Embedding: field '{name}' has vocab_size {vocab}; it needs at least padding + one token.");
            }
            var table = AddParameter($"{name}.weight", new Shape(vocab, dim), ParameterKind.Embedding);
            Init.Embedding(table, rng, initStd);
            tables[f] = table;
        }
    }

    public int Dim { get; }

    public int FieldCount => tables.Length;

    public int OutFeatures => tables.Length * Dim;

    public Tensor Forward(Graph g, int[] codes, int rows) => g.Embedding(tables, codes, rows);
}
