using System.Runtime.CompilerServices;

namespace FsdNet.Tensors;

/// <summary>
/// A float32, row-major tensor. Storage is a pinned array that may be larger than the shape needs, so that a
/// pooled tensor can be reused across training steps (and across a smaller last batch) without reallocating.
/// A tensor may be a view of another tensor's storage (reshape); views never own storage.
/// </summary>
internal class Tensor
{
    private float[] own;
    private float[] data;
    private int offset;

    public Tensor(Shape shape)
    {
        own = NewStorage(shape.Length);
        data = own;
        Shape = shape;
    }

    /// <summary>A tensor of <paramref name="shape"/> with no storage yet (<see cref="Adopt"/> gives it some).</summary>
    private protected Tensor(Shape shape, bool allocate)
    {
        own = allocate ? NewStorage(shape.Length) : [];
        data = own;
        Shape = shape;
    }

    /// <summary>A tensor of <paramref name="shape"/> with no storage yet: its elements cannot be read until <see cref="Adopt"/>.</summary>
    internal static Tensor Unallocated(Shape shape) => new(shape, false);

    public Tensor(int d0)
        : this(new Shape(d0))
    {
    }

    public Tensor(int d0, int d1)
        : this(new Shape(d0, d1))
    {
    }

    public Tensor(int d0, int d1, int d2)
        : this(new Shape(d0, d1, d2))
    {
    }

    public Shape Shape { get; private set; }

    public int Length => Shape.Length;

    /// <summary>The gradient buffer (same shape), or null when none was needed.</summary>
    public Tensor? Grad { get; internal set; }

    /// <summary>Whether gradients flow to this tensor.</summary>
    public bool RequiresGrad { get; set; }

    /// <summary>
    /// For a pooled gradient buffer: whether it holds a value yet in this step. A fresh buffer is written, not
    /// accumulated into, so it never needs zeroing.
    /// </summary>
    internal bool GradLive { get; set; }

    /// <summary>
    /// The tape index of the backward node that last wrote this tensor's gradient (backward runs down the tape, so
    /// after a pass it is the lowest): where a parameter's gradient becomes final, for gradient buckets that are sent
    /// while backward goes on.
    /// </summary>
    internal int GradNode;

    public string? Name { get; set; }

    /// <summary>For a table parameter with row-sparse gradients: the rows written this step (else null).</summary>
    internal Autodiff.TouchedRows? Touched { get; set; }

    /// <summary>
    /// This weight [out, in] packed once for Sgemm (a scoring model's constant weight): Linear products read it
    /// instead of packing the weight every call. Set only on a model copy that never trains.
    /// </summary>
    internal Sgemm.PackedWeight? Packed { get; set; }

    /// <summary>Whether a graph owns this tensor (an intermediate whose gradient buffer is recycled).</summary>
    internal bool Pooled { get; init; }

    /// <summary>The elements.</summary>
    public Span<float> Span
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => data.AsSpan(offset, Shape.Length);
    }

    /// <summary>Row <paramref name="r"/> of the tensor seen as a matrix [Rows, Last].</summary>
    public Span<float> Row(int r) => data.AsSpan(offset + (r * Shape.Last), Shape.Last);

    /// <summary>The backing array (pinned) and the element offset of this tensor in it.</summary>
    internal float[] Array => data;

    internal int Offset => offset;

    internal bool IsView => !ReferenceEquals(data, own) || offset != 0;

    /// <summary>A pointer to the first element; the storage is pinned, so it is stable.</summary>
    internal unsafe float* Pointer => (float*)Unsafe.AsPointer(ref data[offset]);

    public float this[int i]
    {
        get => Span[i];
        set => Span[i] = value;
    }

    public float this[int r, int c]
    {
        get => data[offset + (r * Shape.Last) + c];
        set => data[offset + (r * Shape.Last) + c] = value;
    }

    /// <summary>Reshapes in place to a shape of at most the current capacity, keeping own storage.</summary>
    internal void Reset(Shape shape)
    {
        var n = shape.Length;
        if (own.Length < n)
        {
            own = NewStorage(n);
        }
        data = own;
        offset = 0;
        Shape = shape;
    }

    /// <summary>Takes <paramref name="storage"/> (length at least the shape's) as this tensor's own storage.</summary>
    internal void Adopt(float[] storage, Shape shape)
    {
        if (storage.Length < shape.Length)
        {
            throw new ArgumentException($"Storage of {storage.Length} floats is too small for shape {shape}.");
        }
        own = storage;
        data = storage;
        offset = 0;
        Shape = shape;
    }

    /// <summary>Gives up the own storage (returned for reuse) and keeps an empty one.</summary>
    internal float[] Surrender()
    {
        var s = own;
        own = data = [];
        offset = 0;
        return s;
    }

    /// <summary>Makes this tensor a view of <paramref name="source"/>'s storage with another shape.</summary>
    internal void ViewOf(Tensor source, Shape shape, int elementOffset = 0)
    {
        if (elementOffset + shape.Length > source.Length)
        {
            throw new ArgumentException($"A view of shape {shape} at offset {elementOffset} does not fit in a tensor of shape {source.Shape}.");
        }
        data = source.data;
        offset = source.offset + elementOffset;
        Shape = shape;
    }

    public void CopyFrom(ReadOnlySpan<float> values)
    {
        if (values.Length != Length)
        {
            throw new ArgumentException($"Cannot copy {values.Length} values into a tensor of shape {Shape}.");
        }
        values.CopyTo(Span);
    }

    public float[] ToArray() => Span.ToArray();

    public override string ToString() => $"Tensor{Shape}{(Name is null ? "" : " " + Name)}";

    private static float[] NewStorage(int n) => GC.AllocateArray<float>(Math.Max(n, 1), pinned: true);
}
