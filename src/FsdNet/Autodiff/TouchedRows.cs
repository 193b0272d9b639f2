namespace FsdNet.Autodiff;

/// <summary>
/// The rows of a table parameter [rows, width] whose gradient was written in the current step (lazy embedding
/// updates). Only those rows hold a gradient; the rest of the buffer is stale and is never read. A row is cleared
/// the first time it is touched in a step, so a step costs time in the rows it touches, not in the table. When an op
/// writes the whole gradient (a dense op on the table), <see cref="MakeAll"/> clears the untouched rows and the
/// gradient is dense again for that step. A step stamp per row marks membership, so starting a step clears nothing.
/// </summary>
internal sealed class TouchedRows
{
    private readonly int[] stamp;
    private int[] list;
    private int current = 1;

    public TouchedRows(int rows, int width)
    {
        stamp = new int[rows];
        list = new int[Math.Min(rows, 1024)];
        Width = width;
    }

    /// <summary>Row width (the table's embedding dimension).</summary>
    public int Width { get; }

    /// <summary>Rows touched this step, in first-touch order.</summary>
    public int Count { get; private set; }

    /// <summary>Whether the whole gradient is valid this step (a dense write happened).</summary>
    public bool All { get; private set; }

    public ReadOnlySpan<int> Rows => list.AsSpan(0, Count);

    /// <summary>Starts a new step: no row touched.</summary>
    public void Reset()
    {
        Count = 0;
        All = false;
        if (++current == int.MaxValue)
        {
            Array.Clear(stamp);
            current = 1;
        }
    }

    /// <summary>Adds <paramref name="row"/> and clears its gradient the first time it is touched this step.</summary>
    public Span<float> Touch(Span<float> grad, int row)
    {
        var g = grad.Slice(row * Width, Width);
        if (stamp[row] != current)
        {
            stamp[row] = current;
            if (Count == list.Length)
            {
                Array.Resize(ref list, Math.Min(stamp.Length, list.Length * 2));
            }
            list[Count++] = row;
            g.Clear();
        }
        return g;
    }

    /// <summary>Makes the gradient dense for this step: untouched rows are cleared (when it already holds a value).</summary>
    public void MakeAll(Span<float> grad, bool live)
    {
        if (All)
        {
            return;
        }
        if (live)
        {
            for (var r = 0; r < stamp.Length; r++)
            {
                if (stamp[r] != current)
                {
                    grad.Slice(r * Width, Width).Clear();
                }
            }
        }
        All = true;
    }
}
