using System.Runtime.CompilerServices;

namespace FsdNet.Data;

/// <summary>
/// Provisional token ids for one field of one segment: distinct tokens get ids 0,1,2... in order of first appearance
/// and are counted. Keyed on spans (no per-field string allocation for known tokens) or on numbers.
/// </summary>
internal sealed class TokenTable
{
    private readonly Dictionary<string, int> strings = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> lookup;
    private readonly Dictionary<long, int> numbers = [];
    private int[] counts = new int[64];

    public TokenTable(bool numberKeyed)
    {
        NumberKeyed = numberKeyed;
        lookup = strings.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    public bool NumberKeyed { get; }

    public int Count { get; private set; }

    /// <summary>Tokens by provisional id (strings).</summary>
    public List<string> StringTokens { get; } = [];

    /// <summary>Tokens by provisional id (numbers).</summary>
    public List<double> NumberTokens { get; } = [];

    public ReadOnlySpan<int> Counts => counts.AsSpan(0, Count);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Add(ReadOnlySpan<char> token)
    {
        if (!lookup.TryGetValue(token, out var id))
        {
            id = NewId();
            var s = token.ToString();
            strings.Add(s, id);
            StringTokens.Add(s);
        }
        counts[id]++;
        return id;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Add(double value)
    {
        var key = FeatureInfo.NumberKey(value);
        if (!numbers.TryGetValue(key, out var id))
        {
            id = NewId();
            numbers.Add(key, id);
            NumberTokens.Add(value == 0 ? 0.0 : value);
        }
        counts[id]++;
        return id;
    }

    private int NewId()
    {
        if (Count == counts.Length)
        {
            Array.Resize(ref counts, counts.Length * 2);
        }
        return Count++;
    }
}

/// <summary>Growable int buffer (no List overhead on the hot path).</summary>
internal sealed class IntBuffer
{
    private int[] items = new int[1024];

    public int Count { get; private set; }

    public Span<int> Span => items.AsSpan(0, Count);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Add(int v)
    {
        if (Count == items.Length)
        {
            Array.Resize(ref items, items.Length * 2);
        }
        items[Count++] = v;
    }

    public void Clear() => Count = 0;
}
