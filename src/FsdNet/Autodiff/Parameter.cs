using FsdNet.Tensors;

namespace FsdNet.Autodiff;

/// <summary>What a parameter is, for regularisers (FuxiCTR: embedding_regularizer vs net_regularizer).</summary>
internal enum ParameterKind
{
    /// <summary>A dense network weight or bias (Linear, BatchNorm, LayerNorm, ...).</summary>
    Net,

    /// <summary>An embedding table.</summary>
    Embedding,
}

/// <summary>A trainable tensor with its own persistent gradient buffer.</summary>
internal sealed class Parameter : Tensor
{
    public Parameter(string name, Shape shape, ParameterKind kind = ParameterKind.Net)
        : base(shape)
    {
        Name = name;
        Kind = kind;
        RequiresGrad = true;
        Grad = new Tensor(shape);
    }

    /// <summary>
    /// An embedding table whose initial values are not drawn yet (<see cref="Layers.Init.DeferEmbedding"/>): no storage
    /// until <see cref="Materialize"/>, or until a distributed run keeps only its rows of it.
    /// </summary>
    private Parameter(string name, Shape shape, ParameterKind kind, Layers.DeferredDraw draw)
        : base(shape, allocate: false)
    {
        Name = name;
        Kind = kind;
        RequiresGrad = true;
        Grad = Unallocated(shape);
        Deferred = draw;
    }

    internal static Parameter DeferredTable(string name, Shape shape, Layers.DeferredDraw draw) => new(name, shape, ParameterKind.Embedding, draw);

    public ParameterKind Kind { get; }

    /// <summary>How this table's initial values are drawn when it is not allocated yet (null: it is).</summary>
    internal Layers.DeferredDraw? Deferred { get; private set; }

    /// <summary>Draws a deferred table whole, with its gradient buffer: the values it would have had from the start.</summary>
    internal void Materialize()
    {
        if (Deferred is not { } draw)
        {
            return;
        }
        var values = GC.AllocateArray<float>(Length, pinned: true);
        draw.Rows(Shape.D0, Shape.D1, (row, v) => v.CopyTo(values.AsSpan(row * Shape.D1)));
        Reallocate(values, Shape);
    }

    /// <summary>New storage of <paramref name="shape"/> for the values (<paramref name="values"/>) and a zero gradient; no longer deferred.</summary>
    internal void Reallocate(float[] values, Shape shape)
    {
        Adopt(values, shape);
        Grad!.Adopt(GC.AllocateArray<float>(shape.Length, pinned: true), shape);
        Deferred = null;
        ZeroGrad();
    }

    /// <summary>Whether a gradient was written since the last <see cref="ZeroGrad"/>; when false the gradient is zero.</summary>
    public bool HasGrad => GradLive;

    /// <summary>The gradient values (valid only when <see cref="HasGrad"/>).</summary>
    public Span<float> GradSpan => Grad!.Span;

    /// <summary>Marks the gradient as zero without touching memory: the next write overwrites it.</summary>
    public void ZeroGrad()
    {
        GradLive = false;
        Touched?.Reset();
    }

    /// <summary>
    /// Row-sparse gradients (lazy embedding updates): only the rows in <see cref="TouchedRows"/> hold a gradient when
    /// <see cref="SparseGrad"/> is true. Enabled by the trainer on embedding tables; optimizers, clipping and the
    /// regularizers then work on those rows alone.
    /// </summary>
    internal void EnableRowSparseGrad()
    {
        if (Shape.Rank != 2)
        {
            throw new InvalidOperationException($"Row-sparse gradients need a table [rows, width]; {Name} has shape {Shape}.");
        }
        Touched ??= new TouchedRows(Shape.D0, Shape.D1);
    }

    /// <summary>Whether this step's gradient is row-sparse (only <see cref="TouchedRows"/>'s rows are valid).</summary>
    internal bool SparseGrad => Touched is { All: false };

    /// <summary>The rows with a gradient this step, when <see cref="SparseGrad"/>.</summary>
    internal ReadOnlySpan<int> TouchedRowList => Touched!.Rows;


    /// <summary>Makes the gradient live, filling it with zeros if it was not.</summary>
    public Span<float> LiveGrad()
    {
        Touched?.MakeAll(Grad!.Span, GradLive);
        if (!GradLive)
        {
            Grad!.Span.Clear();
            GradLive = true;
        }
        return Grad!.Span;
    }
}
