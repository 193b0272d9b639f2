using FsdNet.Autodiff;
using FsdNet.Tensors;

namespace FsdNet.Layers;

/// <summary>
/// The input layer of every model (FuxiCTR's FeatureEmbedding / FeatureEmbeddingDict): one embedding vector per
/// field, in schema order, concatenated into x0 [rows, sum of dims].
/// <list type="bullet">
/// <item>categorical: a table [vocab, dim] per field (padding row 0 zero and never updated), normal(0, 1e-4);</item>
/// <item>numeric: value x a learned [dim] vector (FuxiCTR's Linear(1, dim, bias=False), Xavier-normal);</item>
/// <item>sequence: the field's table looked up per token and pooled (masked mean by default, or sum);</item>
/// <item>embedding: the row's pre-computed vector projected by Linear(pretrain_dim, dim, bias=False);</item>
/// <item>share_embedding: a field reads another field's table; pretrained_emb: a table loaded from a file,
/// frozen or trained, used as the embedding (init), added to (sum) or concatenated with (concat) a learned id
/// embedding, projected to dim where needed.</item>
/// </list>
/// Every table, projection and numeric vector counts as an embedding parameter for embedding_regularizer (as in
/// FuxiCTR, where they all live inside FeatureEmbeddingDict). The layer keeps no per-call state.
/// </summary>
internal sealed class FeatureEmbedding : Module
{
    private readonly FieldEmbeddingPlan plan;
    private readonly Tensor[] tables;
    private readonly DenseField[] dense;
    private readonly int[] dims;
    private int uniformDim = int.MinValue;

    /// <param name="schema">The fields.</param>
    /// <param name="embeddingDim">The model's embedding_dim (fields may override it).</param>
    /// <param name="rng">Initialisation draws, in field order.</param>
    /// <param name="loadPretrained">Whether to read pretrained tables (false when the weights come from a saved model).</param>
    public FeatureEmbedding(InputSchema schema, int embeddingDim, Rng rng, bool loadPretrained = true)
    {
        Schema = schema;
        var fields = schema.Fields;
        var store = AddChild("embedding_layer", new Tables());
        var encoders = new Tables();
        var byName = fields.Select((f, i) => (f.Name, i)).ToDictionary(t => t.Name, t => t.i, StringComparer.Ordinal);
        dims = new int[fields.Count];
        var kinds = new SlotKind[fields.Count];
        var columns = new int[fields.Count];
        var maxLens = new int[fields.Count];
        var sources = new int[fields.Count];
        var tableList = new List<Tensor>();
        var tableOf = new int[fields.Count];
        var denseList = new List<DenseField>();
        Array.Fill(tableOf, -1);
        // Shared fields take their owner's dim and table; resolve owners first so order in the schema does not matter.
        var owner = new int[fields.Count];
        for (var i = 0; i < fields.Count; i++)
        {
            owner[i] = Owner(fields, byName, i);
            dims[i] = DimOf(fields[owner[i]], embeddingDim);
        }
        for (var i = 0; i < fields.Count; i++)
        {
            var f = fields[i];
            var d = dims[i];
            columns[i] = f.Column;
            maxLens[i] = f.MaxLen;
            if (owner[i] != i)
            {
                var o = fields[owner[i]];
                if (o.Pretrained is { } op && (op.Usage != PretrainUsage.Init || op.Dim != d))
                {
                    throw new ArgumentException($"field '{f.Name}': share_embedding '{o.Name}' has a projected or combined pretrained embedding; share a plain table instead.");
                }
                if (f.VocabSize > o.VocabSize)
                {
                    throw new ArgumentException($"field '{f.Name}' has {f.VocabSize} codes but shares the table of '{o.Name}', which has {o.VocabSize} rows.");
                }
            }
            switch (f.Kind)
            {
                case InputKind.Numeric:
                {
                    var w = store.Add($"{f.Name}.weight", new Shape(1, d));
                    Init.XavierNormal(w, rng);
                    kinds[i] = SlotKind.Scaled;
                    sources[i] = Add(tableList, w);
                    break;
                }
                case InputKind.Embedding:
                {
                    if (f.Width < 1)
                    {
                        throw new ArgumentException($"field '{f.Name}' (type embedding) needs pretrain_dim >= 1.");
                    }
                    var proj = encoders.AddLinear(f.Name, f.Width, d, rng);
                    kinds[i] = SlotKind.Dense;
                    sources[i] = denseList.Count;
                    denseList.Add(new DenseField(f, proj, null, null, null, null));
                    break;
                }
                default:
                {
                    kinds[i] = f.Kind == InputKind.Categorical ? SlotKind.Code : Pooling(f);
                    if (owner[i] != i)
                    {
                        sources[i] = tableOf[owner[i]] >= 0 ? tableOf[owner[i]] : -1 - owner[i];
                        break;
                    }
                    CheckTable(f, f.VocabSize, d);
                    if (f.Pretrained is not { } pre)
                    {
                        var t = store.AddTable($"{f.Name}.weight", new Shape(f.VocabSize, d), rng, schema.DeferredTables);
                        tableOf[i] = sources[i] = Add(tableList, t);
                        break;
                    }
                    var preTable = PretrainedTable(store, f, pre, rng, loadPretrained);
                    if (pre.Usage == PretrainUsage.Init && pre.Dim == d)
                    {
                        tableOf[i] = sources[i] = Add(tableList, preTable);
                        break;
                    }
                    Parameter? id = null;
                    if (pre.Usage != PretrainUsage.Init)
                    {
                        id = store.Add($"{f.Name}.id_embedding.weight", new Shape(f.VocabSize, d));
                        Init.Embedding(id, rng);
                    }
                    var inWidth = pre.Usage == PretrainUsage.Concat ? pre.Dim + d : pre.Dim;
                    var projection = pre.Usage == PretrainUsage.Concat || pre.Dim != d ? store.AddLinear($"{f.Name}.proj", inWidth, d, rng) : null;
                    var lookup = kinds[i];
                    kinds[i] = SlotKind.Dense;
                    sources[i] = denseList.Count;
                    denseList.Add(new DenseField(f, projection, Single(f, lookup, pre.Dim), preTable, id is null ? null : Single(f, lookup, d), id));
                    break;
                }
            }
        }
        // Shared fields whose owner came later in the schema.
        for (var i = 0; i < fields.Count; i++)
        {
            if (sources[i] < 0 && kinds[i] != SlotKind.Dense)
            {
                sources[i] = tableOf[-1 - sources[i]];
            }
        }
        if (encoders.HasChildren)
        {
            AddChild("feature_encoders", encoders);
        }
        tables = [.. tableList];
        dense = [.. denseList];
        plan = new FieldEmbeddingPlan(kinds, columns, [.. dims], maxLens, sources, [.. fields.Select(f => f.Name)]);
    }

    public InputSchema Schema { get; }

    /// <summary>Number of embedded fields.</summary>
    public int FieldCount => dims.Length;

    /// <summary>Each field's embedding dim, in schema order.</summary>
    public IReadOnlyList<int> FieldDims => dims;

    /// <summary>Width of x0: the sum of the fields' dims.</summary>
    public int OutFeatures => plan.OutWidth;

    /// <summary>The dim every field has, or null when fields differ.</summary>
    public int? UniformDim
    {
        get
        {
            // Computed once (a benign race between threads computes the same value): models call it every step.
            if (uniformDim == int.MinValue)
            {
                uniformDim = dims.All(d => d == dims[0]) ? dims[0] : -1;
            }
            return uniformDim >= 0 ? uniformDim : null;
        }
    }

    /// <summary>x0 [rows, sum of dims]: every field's embedding, flattened (FuxiCTR's flatten_emb=True).</summary>
    public Tensor Forward(Graph g, in ModelInput input)
    {
        input.Check(Schema);
        // Row-sharded tables (a distributed run): the codes index this step's working rows instead.
        var x = g.ShardedTables is { } sharded ? sharded.Local(this, input) : input;
        var inputs = g.TensorList(dense.Length);
        Tensor? block = null;
        for (var k = 0; k < dense.Length; k++)
        {
            inputs[k] = dense[k].Forward(g, x, ref block);
        }
        return g.FieldEmbedding(plan, tables, inputs, x);
    }

    /// <summary>
    /// The embeddings as [rows, fields, dim] (FuxiCTR's flatten_emb=False), for models that need one vector of the
    /// same dim per field; <paramref name="model"/> names the model in the error when dims differ.
    /// </summary>
    public Tensor ForwardStacked(Graph g, in ModelInput x, string model) => AsFields(g, Forward(g, x), model);

    /// <summary>x0 from <see cref="Forward"/> seen as [rows, fields, dim] (a view), for models that use both forms.</summary>
    public Tensor AsFields(Graph g, Tensor x0, string model)
    {
        var d = UniformDim ?? throw new ArgumentException(
            $"{model} needs every field embedded with the same dim; " +
            string.Join(", ", Schema.Fields.Select((f, i) => (f.Name, Dim: dims[i])).GroupBy(t => t.Dim)
                .Select(grp => $"{string.Join(", ", grp.Take(3).Select(t => t.Name))}{(grp.Count() > 3 ? ", ..." : "")} {(grp.Count() == 1 ? "has" : "have")} {grp.Key}")) +
            ". Remove the per-field embedding_dim.");
        return g.Reshape(x0, new Shape(x0.Shape.D0, dims.Length, d));
    }

    /// <summary>
    /// The plain lookup tables (categorical and sequence fields' own tables, shared ones once) with the input columns
    /// that index them: categorical columns and sequence slots (offset, max_len). Projected or combined pretrained
    /// tables, numeric vectors and projections are not among them. For row-sharded training.
    /// </summary>
    internal IEnumerable<(Parameter Table, int[] Codes, (int Start, int Length)[] Sequences)> LookupTables()
    {
        for (var k = 0; k < tables.Length; k++)
        {
            var codes = new List<int>();
            var sequences = new List<(int, int)>();
            for (var s = 0; s < plan.Kinds.Length; s++)
            {
                if (plan.Sources[s] != k)
                {
                    continue;
                }
                switch (plan.Kinds[s])
                {
                    case SlotKind.Code:
                        codes.Add(plan.Columns[s]);
                        break;
                    case SlotKind.SequenceMean or SlotKind.SequenceSum:
                        sequences.Add((plan.Columns[s], plan.MaxLens[s]));
                        break;
                }
            }
            if (tables[k] is Parameter p && (codes.Count > 0 || sequences.Count > 0))
            {
                yield return (p, [.. codes], [.. sequences]);
            }
        }
    }

    private static int Owner(IReadOnlyList<InputField> fields, Dictionary<string, int> byName, int i)
    {
        var seen = 0;
        while (fields[i].ShareEmbedding is { } target)
        {
            if (!byName.TryGetValue(target, out var j))
            {
                throw new ArgumentException($"field '{fields[i].Name}': share_embedding '{target}' is not an input field of this model.");
            }
            if (fields[j].Kind is not (InputKind.Categorical or InputKind.Sequence) || fields[i].Kind is not (InputKind.Categorical or InputKind.Sequence))
            {
                throw new ArgumentException($"field '{fields[i].Name}': share_embedding works between categorical and sequence fields ('{target}' is {fields[j].Kind}).");
            }
            if (++seen > fields.Count)
            {
                throw new ArgumentException($"field '{fields[i].Name}': share_embedding forms a cycle.");
            }
            i = j;
        }
        return i;
    }

    private static int DimOf(InputField f, int modelDim)
    {
        var d = f.EmbeddingDim ?? modelDim;
        if (d < 1)
        {
            throw new ArgumentException(f.EmbeddingDim is null
                ? $"embedding_dim must be >= 1, got {d}."
                : $"field '{f.Name}': embedding_dim must be >= 1, got {d}.");
        }
        return d;
    }

    private static void CheckTable(InputField f, int rows, int d)
    {
        const long MaxElements = 1L << 31;
        if (rows < 2)
        {
            throw new ArgumentException($"field '{f.Name}' has vocab_size {rows}; it needs at least padding + one token.");
        }
        if ((long)rows * d >= MaxElements)
        {
            throw new ArgumentException(
                $"field '{f.Name}': a [{rows} x {d}] table ({(double)rows * d * 4 / (1L << 30):F1} GiB) is larger than a tensor can be (2^31 floats); lower embedding_dim.");
        }
    }

    private static SlotKind Pooling(InputField f) => f.Pooling switch
    {
        SequencePooling.Mean => SlotKind.SequenceMean,
        SequencePooling.Sum => SlotKind.SequenceSum,
        _ => throw new ArgumentException(
            $"sequence field '{f.Name}' has no pooling (feature_encoder: null); the models need one vector per field: use MaskedAveragePooling or MaskedSumPooling."),
    };

    private static int Add(List<Tensor> list, Tensor t)
    {
        list.Add(t);
        return list.Count - 1;
    }

    /// <summary>A one-slot plan reading field <paramref name="f"/>'s codes into a [rows, width] lookup.</summary>
    private static FieldEmbeddingPlan Single(InputField f, SlotKind kind, int width) =>
        new([kind], [f.Column], [width], [f.MaxLen], [0], [f.Name]);

    /// <summary>FuxiCTR's PretrainedEmbedding table: frozen: zeros then the file's rows; trained: normal(0, 1e-4), PAD zero, then the file's rows.</summary>
    private static Parameter PretrainedTable(Tables store, InputField f, PretrainedSpec pre, Rng rng, bool load)
    {
        CheckTable(f, f.VocabSize, pre.Dim);
        var t = store.Add($"{f.Name}.pretrain_embedding.weight", new Shape(f.VocabSize, pre.Dim));
        if (!pre.Freeze)
        {
            Init.Embedding(t, rng);
        }
        if (load)
        {
            var (values, fromFile) = pre.Load();
            if (values.Length != t.Length || fromFile.Length != f.VocabSize)
            {
                throw new ArgumentException($"field '{f.Name}': {pre.Source} gave {values.Length} values for a [{f.VocabSize} x {pre.Dim}] table.");
            }
            for (var r = 1; r < f.VocabSize; r++)
            {
                if (fromFile[r])
                {
                    values.AsSpan(r * pre.Dim, pre.Dim).CopyTo(t.Row(r));
                }
            }
        }
        t.RequiresGrad = !pre.Freeze;
        return t;
    }

    /// <summary>A field whose vector is computed before the fused lookup: a projection of an embedding-type input or a pretrained lookup.</summary>
    private sealed record DenseField(InputField Field, Linear? Projection, FieldEmbeddingPlan? PretrainedPlan, Parameter? PretrainedTable, FieldEmbeddingPlan? IdPlan, Parameter? IdTable)
    {
        private readonly Tensor[] pretrained = PretrainedTable is null ? [] : [PretrainedTable];
        private readonly Tensor[] id = IdTable is null ? [] : [IdTable];

        public Tensor Forward(Graph g, in ModelInput x, ref Tensor? block)
        {
            if (PretrainedPlan is null)
            {
                block ??= g.EmbeddingInput(x);
                var v = Field.Width == x.EmbeddingWidth ? block : g.Slice(block, Field.Column, Field.Width);
                return Projection!.Forward(g, v);
            }
            var pre = g.FieldEmbedding(PretrainedPlan, pretrained, [], x);
            if (IdPlan is null)
            {
                return Projection!.Forward(g, pre);
            }
            var idEmb = g.FieldEmbedding(IdPlan, id, [], x);
            return Projection is null
                ? g.Add(pre, idEmb)
                : Field.Pretrained!.Usage == PretrainUsage.Concat
                    ? Projection.Forward(g, g.Concat(pre, idEmb))
                    : g.Add(Projection.Forward(g, pre), idEmb);
        }
    }

    /// <summary>A module that holds the layer's named tables and projections.</summary>
    private sealed class Tables : Module
    {
        public bool HasChildren { get; private set; }

        public Parameter Add(string name, Shape shape) => AddParameter(name, shape, ParameterKind.Embedding);

        /// <summary>A lookup table drawn now, or deferred (drawn when and where a trainer needs its rows).</summary>
        public Parameter AddTable(string name, Shape shape, Rng rng, bool deferred)
        {
            if (deferred)
            {
                return AddParameter(name, Init.DeferEmbedding(name, shape, rng));
            }
            var t = Add(name, shape);
            Init.Embedding(t, rng);
            return t;
        }

        public Linear AddLinear(string name, int inFeatures, int outFeatures, Rng rng)
        {
            HasChildren = true;
            return AddChild(name, new Linear(inFeatures, outFeatures, rng, bias: false, ParameterKind.Embedding));
        }
    }
}
