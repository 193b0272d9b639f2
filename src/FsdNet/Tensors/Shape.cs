namespace FsdNet.Tensors;

/// <summary>A tensor shape of rank 1 to 3 (row-major). Value type, so shapes never allocate.</summary>
internal readonly record struct Shape
{
    public Shape(int d0)
        : this(1, d0, 1, 1)
    {
    }

    public Shape(int d0, int d1)
        : this(2, d0, d1, 1)
    {
    }

    public Shape(int d0, int d1, int d2)
        : this(3, d0, d1, d2)
    {
    }

    private Shape(int rank, int d0, int d1, int d2)
    {
        if (d0 < 0 || d1 < 0 || d2 < 0)
        {
            throw new ArgumentException($"Negative dimension in shape ({d0}, {d1}, {d2}).");
        }
        Rank = rank;
        D0 = d0;
        D1 = d1;
        D2 = d2;
    }

    public int Rank { get; }

    public int D0 { get; }

    public int D1 { get; }

    public int D2 { get; }

    /// <summary>Number of elements.</summary>
    public int Length => checked(D0 * D1 * D2);

    /// <summary>The size of the last dimension (the "features" axis).</summary>
    public int Last => Rank switch { 1 => D0, 2 => D1, _ => D2 };

    /// <summary>Number of rows when the tensor is seen as a matrix [Length / Last, Last].</summary>
    public int Rows => Last == 0 ? 0 : Length / Last;

    public int this[int axis] => axis switch
    {
        0 => D0,
        1 when Rank > 1 => D1,
        2 when Rank > 2 => D2,
        _ => throw new ArgumentOutOfRangeException(nameof(axis), $"axis {axis} of a rank-{Rank} shape"),
    };

    public override string ToString() => Rank switch
    {
        1 => $"[{D0}]",
        2 => $"[{D0}, {D1}]",
        _ => $"[{D0}, {D1}, {D2}]",
    };
}
