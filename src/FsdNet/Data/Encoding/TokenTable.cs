using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace FsdNet.Data;

/// <summary>
/// Provisional token ids for one field of one segment: distinct tokens get ids 0,1,2... in order of first appearance
/// and are counted. Short ASCII tokens (up to 15 chars, e.g. Criteo's 8-hex ids) and numbers are packed into a
/// 128-bit key in an open-addressing table that also holds the id and the count, so a lookup touches one cache line;
/// longer or non-ASCII tokens go through a span-keyed Dictionary. A packed token is kept only as its key (16 bytes by
/// id, no string): at Criteo size the fit meets tens of millions of distinct tokens and keeps about a million, so
/// strings are made only for the tokens that are read back (<see cref="StringToken"/>).
/// </summary>
internal sealed class TokenTable
{
    private const ulong NumberTag = 0xFE00_0000_0000_0000UL;

    private readonly Dictionary<string, int> strings = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> lookup;
    private Slot[] slots = new Slot[1024];
    private int used;
    private int[] longCounts = new int[16];

    public TokenTable(bool numberKeyed)
    {
        NumberKeyed = numberKeyed;
        lookup = strings.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    public bool NumberKeyed { get; }

    public int Count { get; private set; }

    /// <summary>Marks an id's key as a long token: K0 is its index in <see cref="longTokens"/>.</summary>
    private const ulong LongTag = 0xFD00_0000_0000_0000UL;

    private readonly List<string> longTokens = [];
    private ulong[] idK0 = [];
    private ulong[] idK1 = [];

    /// <summary>Tokens by provisional id (numbers).</summary>
    public List<double> NumberTokens { get; } = [];

    /// <summary>Count of each provisional id.</summary>
    public int[] Counts
    {
        get
        {
            var c = new int[Count];
            foreach (ref readonly var s in slots.AsSpan())
            {
                if (s.IdPlus1 != 0)
                {
                    c[s.IdPlus1 - 1] = s.Count;
                }
            }
            foreach (var id in strings.Values)
            {
                c[id] = longCounts[id];
            }
            return c;
        }
    }

    /// <summary>
    /// The key of provisional id <paramref name="id"/> of a string table: equal keys are equal tokens across tables,
    /// except long tokens (<see cref="IsLong"/>), whose key is local to this table.
    /// </summary>
    public (ulong K0, ulong K1) Key(int id) => (idK0[id], idK1[id]);

    /// <summary>Whether provisional id <paramref name="id"/> is a long or non-ASCII token (kept as a string).</summary>
    public bool IsLong(int id) => idK1[id] == LongTag;

    /// <summary>The token of provisional id <paramref name="id"/> of a string table, as a new string.</summary>
    public string StringToken(int id)
    {
        if (IsLong(id))
        {
            return longTokens[(int)idK0[id]];
        }
        Span<char> buf = stackalloc char[15];
        return new string(buf[..Unpack(idK0[id], idK1[id], buf)]);
    }

    /// <summary>The token of provisional id <paramref name="id"/> written into <paramref name="buf"/> (15 chars suffice for a packed one).</summary>
    public ReadOnlySpan<char> TokenSpan(int id, Span<char> buf) =>
        IsLong(id) ? longTokens[(int)idK0[id]] : buf[..Unpack(idK0[id], idK1[id], buf)];

    /// <summary>The token of a packed key (<see cref="Pack"/>'s inverse) written into <paramref name="buf"/>; returns its length.</summary>
    public static int Unpack(ulong k0, ulong k1, Span<char> buf)
    {
        var n = (int)(k1 >> 56);
        for (var i = 0; i < n; i++)
        {
            buf[i] = (char)(i < 8 ? (k0 >> (i * 8)) & 0xFF : (k1 >> ((i - 8) * 8)) & 0xFF);
        }
        return n;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Slot
    {
        public ulong K0;
        public ulong K1;
        public int IdPlus1;
        public int Count;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Add(ReadOnlySpan<char> token)
    {
        if (token.Length <= 15 && Pack(token, out var k0, out var k1))
        {
            return AddPacked(k0, k1, token, double.NaN);
        }
        return AddLong(token);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Add(double value) => AddPacked((ulong)FeatureCodec.NumberKey(value), NumberTag, default, value == 0 ? 0.0 : value);

    /// <summary>Packs up to 15 ASCII chars (7 in K0's low bytes... all 8 bytes of K0, 7 of K1) plus the length.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool Pack(ReadOnlySpan<char> s, out ulong k0, out ulong k1)
    {
        k0 = 0;
        k1 = (ulong)s.Length << 56;
        for (var i = 0; i < s.Length; i++)
        {
            uint c = s[i];
            if (c > 0x7F)
            {
                return false;
            }
            if (i < 8)
            {
                k0 |= (ulong)c << (i * 8);
            }
            else
            {
                k1 |= (ulong)c << ((i - 8) * 8);
            }
        }
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int AddPacked(ulong k0, ulong k1, ReadOnlySpan<char> token, double number)
    {
        var mask = slots.Length - 1;
        var h = Hash(k0, k1);
        var i = (int)(h >> 40) & mask;
        ref var s0 = ref MemoryMarshal.GetArrayDataReference(slots);
        while (true)
        {
            ref var s = ref Unsafe.Add(ref s0, i);
            if (s.IdPlus1 == 0)
            {
                break;
            }
            if (s.K0 == k0 && s.K1 == k1)
            {
                s.Count++;
                return s.IdPlus1 - 1;
            }
            i = (i + 1) & mask;
        }
        return Insert(k0, k1, token, number);
    }

    /// <summary>
    /// Adds <paramref name="count"/> occurrences of packed key (<paramref name="k0"/>, <paramref name="k1"/>): merging
    /// the counts of other segments' tables into one, without a string per token.
    /// </summary>
    public void AddCount(ulong k0, ulong k1, int count)
    {
        var mask = slots.Length - 1;
        var i = (int)(Hash(k0, k1) >> 40) & mask;
        while (slots[i].IdPlus1 != 0)
        {
            if (slots[i].K0 == k0 && slots[i].K1 == k1)
            {
                slots[i].Count += count;
                return;
            }
            i = (i + 1) & mask;
        }
        Insert(k0, k1, default, double.NaN, count);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Hash(ulong k0, ulong k1) => (k0 * 0x9E3779B97F4A7C15UL) ^ ((k1 + 0x632BE59BD9B4E019UL) * 0xC2B2AE3D27D4EB4FUL);

    private int Insert(ulong k0, ulong k1, ReadOnlySpan<char> token, double number, int count = 1)
    {
        if ((used + 1) * 2 > slots.Length)
        {
            Grow();
        }
        var mask = slots.Length - 1;
        var h = Hash(k0, k1);
        var i = (int)(h >> 40) & mask;
        while (slots[i].IdPlus1 != 0)
        {
            i = (i + 1) & mask;
        }
        var id = NewId();
        slots[i] = new Slot { K0 = k0, K1 = k1, IdPlus1 = id + 1, Count = count };
        used++;
        if (NumberKeyed)
        {
            NumberTokens.Add(number);
        }
        else
        {
            KeepKey(id, k0, k1);
        }
        return id;
    }

    private void Grow()
    {
        var old = slots;
        slots = new Slot[old.Length * 2];
        var mask = slots.Length - 1;
        foreach (ref readonly var s in old.AsSpan())
        {
            if (s.IdPlus1 == 0)
            {
                continue;
            }
            var h = Hash(s.K0, s.K1);
            var i = (int)(h >> 40) & mask;
            while (slots[i].IdPlus1 != 0)
            {
                i = (i + 1) & mask;
            }
            slots[i] = s;
        }
    }

    private int AddLong(ReadOnlySpan<char> token)
    {
        if (!lookup.TryGetValue(token, out var id))
        {
            id = NewId();
            var s = token.ToString();
            strings.Add(s, id);
            KeepKey(id, (ulong)longTokens.Count, LongTag);
            longTokens.Add(s);
        }
        if (id >= longCounts.Length)
        {
            Array.Resize(ref longCounts, Math.Max(id + 1, longCounts.Length * 2));
        }
        longCounts[id]++;
        return id;
    }

    private int NewId() => Count++;

    private void KeepKey(int id, ulong k0, ulong k1)
    {
        if (id == idK0.Length)
        {
            var size = Math.Max(1024, id * 2);
            Array.Resize(ref idK0, size);
            Array.Resize(ref idK1, size);
        }
        idK0[id] = k0;
        idK1[id] = k1;
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
