namespace FsdNet.Layers;

/// <summary>How a field reaches the model (FuxiCTR's feature <c>type</c>, less <c>meta</c>).</summary>
internal enum InputKind
{
    /// <summary>One code per row, looked up in the field's table.</summary>
    Categorical,

    /// <summary>One value per row; the embedding is the value times a learned vector.</summary>
    Numeric,

    /// <summary>max_len codes per row (0 = padding), looked up and pooled to one vector.</summary>
    Sequence,

    /// <summary>A pre-computed vector per row (pretrain_dim floats), projected to the embedding dim.</summary>
    Embedding,
}

/// <summary>How a sequence field's token embeddings become one vector (FuxiCTR's <c>feature_encoder</c>).</summary>
internal enum SequencePooling
{
    /// <summary><c>MaskedAveragePooling</c>: mean over the non-padding tokens (0 for an all-padding row).</summary>
    Mean,

    /// <summary><c>MaskedSumPooling</c>: sum over the tokens (padding rows are zero).</summary>
    Sum,

    /// <summary>No pooling: the field stays [rows, max_len, dim], which models that need one vector per field refuse.</summary>
    None,
}

/// <summary>How a pretrained table enters the field's embedding (FuxiCTR's <c>pretrain_usage</c>).</summary>
internal enum PretrainUsage
{
    /// <summary>The pretrained vectors are the embedding (projected when pretrain_dim differs from the dim).</summary>
    Init,

    /// <summary>The (projected) pretrained vector plus a learned id embedding.</summary>
    Sum,

    /// <summary>A projection of [pretrained ; learned id embedding].</summary>
    Concat,
}

/// <summary>
/// A pretrained table for a categorical or sequence field: <see cref="Load"/> returns [vocab, <see cref="Dim"/>]
/// row-major values aligned with the field's codes (row 0, padding, all zeros) and which rows the file provided.
/// It is called only when a model is built for training; a saved model brings its own weights.
/// </summary>
internal sealed record PretrainedSpec(int Dim, bool Freeze, PretrainUsage Usage, Func<(float[] Values, bool[] FromFile)> Load, string Source);

/// <summary>One input field as the embedding layer sees it; <see cref="Column"/> is its place in the model input.</summary>
internal sealed record InputField
{
    public required string Name { get; init; }

    public required InputKind Kind { get; init; }

    /// <summary>Categorical/numeric: column in <see cref="ModelInput.Categorical"/>/<see cref="ModelInput.Numeric"/>;
    /// sequence/embedding: offset in a row of <see cref="ModelInput.Sequence"/>/<see cref="ModelInput.Embedding"/>.</summary>
    public required int Column { get; init; }

    /// <summary>Table rows (padding and OOV included) for categorical and sequence fields.</summary>
    public int VocabSize { get; init; }

    /// <summary>Codes per row of a sequence field.</summary>
    public int MaxLen { get; init; }

    /// <summary>Floats per row of an embedding-type field (pretrain_dim).</summary>
    public int Width { get; init; }

    /// <summary>This field's embedding dim (null: the model's embedding_dim).</summary>
    public int? EmbeddingDim { get; init; }

    /// <summary>Another field whose table this one uses.</summary>
    public string? ShareEmbedding { get; init; }

    public SequencePooling Pooling { get; init; } = SequencePooling.Mean;

    public PretrainedSpec? Pretrained { get; init; }
}

/// <summary>The fields a model reads, in order, and the widths of the arrays of a <see cref="ModelInput"/>.</summary>
internal sealed class InputSchema
{
    public InputSchema(IReadOnlyList<InputField> fields, int categoricalCount, int numericCount, int sequenceWidth, int embeddingWidth)
    {
        if (fields.Count == 0)
        {
            throw new ArgumentException("A model needs at least one input field.");
        }
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var f in fields)
        {
            if (!names.Add(f.Name))
            {
                throw new ArgumentException($"input field '{f.Name}' appears twice.");
            }
            var (limit, what) = f.Kind switch
            {
                InputKind.Categorical => (categoricalCount, "categorical columns"),
                InputKind.Numeric => (numericCount, "numeric columns"),
                InputKind.Sequence => (sequenceWidth - f.MaxLen + 1, "sequence width"),
                _ => (embeddingWidth - f.Width + 1, "embedding width"),
            };
            if (f.Column < 0 || f.Column >= limit)
            {
                throw new ArgumentException($"input field '{f.Name}': column {f.Column} is outside the input's {what}.");
            }
        }
        Fields = fields;
        CategoricalCount = categoricalCount;
        NumericCount = numericCount;
        SequenceWidth = sequenceWidth;
        EmbeddingWidth = embeddingWidth;
    }

    public IReadOnlyList<InputField> Fields { get; }

    public int CategoricalCount { get; }

    public int NumericCount { get; }

    public int SequenceWidth { get; }

    public int EmbeddingWidth { get; }

    /// <summary>
    /// Whether the input layers leave their lookup tables undrawn (<see cref="Layers.Init.DeferEmbedding"/>): a
    /// distributed run that row-shards tables then keeps only each rank's rows, and no rank ever holds a whole table.
    /// The values are those of a drawn table either way; a trainer draws whatever it does not shard.
    /// </summary>
    public bool DeferredTables { get; init; }

    /// <summary>This schema with <see cref="DeferredTables"/> set to <paramref name="deferred"/>.</summary>
    public InputSchema WithDeferredTables(bool deferred) =>
        new(Fields, CategoricalCount, NumericCount, SequenceWidth, EmbeddingWidth) { DeferredTables = deferred };

    /// <summary>A schema of categorical fields only, in column order (tests, benchmarks).</summary>
    public static InputSchema Categorical(params (string Name, int VocabSize)[] fields) =>
        new([.. fields.Select((f, i) => new InputField { Name = f.Name, Kind = InputKind.Categorical, Column = i, VocabSize = f.VocabSize })],
            fields.Length, 0, 0, 0);
}

/// <summary>
/// A batch as a model reads it: row-major arrays of codes and values (only the first <see cref="Rows"/> rows are
/// valid) and the labels. A view over arrays the caller owns, which must stay unchanged until Backward.
/// </summary>
internal readonly struct ModelInput
{
    public ModelInput(int rows, int[] categorical, int categoricalCount, float[]? labels = null,
        float[]? numeric = null, int numericCount = 0, int[]? sequence = null, int sequenceWidth = 0,
        float[]? embedding = null, int embeddingWidth = 0)
    {
        Rows = rows;
        Categorical = categorical;
        CategoricalCount = categoricalCount;
        Labels = labels ?? [];
        Numeric = numeric ?? [];
        NumericCount = numericCount;
        Sequence = sequence ?? [];
        SequenceWidth = sequenceWidth;
        Embedding = embedding ?? [];
        EmbeddingWidth = embeddingWidth;
    }

    public int Rows { get; }

    /// <summary>Rows x CategoricalCount codes.</summary>
    public int[] Categorical { get; }

    public int CategoricalCount { get; }

    /// <summary>Rows x NumericCount values.</summary>
    public float[] Numeric { get; }

    public int NumericCount { get; }

    /// <summary>Rows x SequenceWidth codes, 0 = padding (the mask is code != 0).</summary>
    public int[] Sequence { get; }

    public int SequenceWidth { get; }

    /// <summary>Rows x EmbeddingWidth floats of embedding-type fields.</summary>
    public float[] Embedding { get; }

    public int EmbeddingWidth { get; }

    /// <summary>Rows labels (0/1); empty when scoring.</summary>
    public float[] Labels { get; }

    /// <summary>Checks that the arrays have the widths and rows the schema needs.</summary>
    public void Check(InputSchema schema)
    {
        void Need(string what, int have, int need)
        {
            if (have != need)
            {
                throw new ArgumentException($"model input: {have} {what} per row, the model was built for {need}.");
            }
        }
        Need("categorical columns", CategoricalCount, schema.CategoricalCount);
        Need("numeric columns", NumericCount, schema.NumericCount);
        Need("sequence codes", SequenceWidth, schema.SequenceWidth);
        Need("embedding floats", EmbeddingWidth, schema.EmbeddingWidth);
        if (Rows < 1 || Categorical.Length < Rows * CategoricalCount || Numeric.Length < Rows * NumericCount ||
            Sequence.Length < Rows * SequenceWidth || Embedding.Length < Rows * EmbeddingWidth)
        {
            throw new ArgumentException($"model input: the arrays hold fewer than {Rows} rows.");
        }
    }
}
