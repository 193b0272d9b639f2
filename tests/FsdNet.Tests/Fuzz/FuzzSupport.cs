using System.Text;
using Xunit;
using Xunit.Abstractions;

namespace FsdNet.Tests.Fuzz;

/// <summary>
/// Outcome counts of one fuzz kind: accepted (parsed to something valid) or rejected with a documented exception
/// type and a message. Anything else escaping a case, or a case running past its time bound, fails the test.
/// </summary>
internal sealed class FuzzCounts(string kind)
{
    public static readonly TimeSpan CaseBound = TimeSpan.FromSeconds(20);

    private readonly SortedDictionary<string, int> rejected = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, string> examples = new(StringComparer.Ordinal);

    public string Kind { get; } = kind;

    public int Cases { get; private set; }

    public int Accepted { get; private set; }

    public int Rejected => rejected.Values.Sum();

    /// <summary>
    /// Runs one case in a bounded task. <paramref name="body"/> returns normally when the input was accepted (after
    /// checking what it parsed to) and throws when it was rejected; only <paramref name="documented"/> types count as
    /// rejections, and their message must satisfy <paramref name="messageCheck"/>.
    /// </summary>
    public void Run(Action body, Type[] documented, Action<Exception> messageCheck)
    {
        Cases++;
        var task = Task.Run(() =>
        {
            try
            {
                body();
                return null;
            }
            catch (Exception e)
            {
                return e;
            }
        });
        Assert.True(task.Wait(CaseBound), $"{Kind}: case {Cases} did not finish within {CaseBound.TotalSeconds} s (hang)");
        var error = task.Result;
        if (error is null)
        {
            Accepted++;
            return;
        }
        if (error is Xunit.Sdk.XunitException)
        {
            throw new Xunit.Sdk.XunitException($"{Kind}: case {Cases}: invariant broken: {error.Message}");
        }
        Assert.True(documented.Contains(error.GetType()), $"{Kind}: case {Cases}: unhandled {error.GetType().Name}: {error}");
        Assert.False(string.IsNullOrWhiteSpace(error.Message), $"{Kind}: case {Cases}: {error.GetType().Name} without a message");
        messageCheck(error);
        var key = error.GetType().Name;
        rejected[key] = rejected.GetValueOrDefault(key) + 1;
        examples.TryAdd(key, error.Message.Length > 200 ? error.Message[..200] + "..." : error.Message);
    }

    /// <summary>
    /// Runs <paramref name="body"/> for the seeds baseSeed .. baseSeed + count - 1: the same cases on every run, so a
    /// failure reproduces; the failing seed is named.
    /// </summary>
    public static void ForEachSeed(Action<int> body, int count, int baseSeed)
    {
        for (var seed = baseSeed; seed < baseSeed + count; seed++)
        {
            try
            {
                body(seed);
            }
            catch (Xunit.Sdk.XunitException e)
            {
                throw new Xunit.Sdk.XunitException($"seed {seed}: {e.Message}");
            }
        }
    }

    public void Report(ITestOutputHelper output)
    {
        output.WriteLine(ToString());
        foreach (var (type, message) in examples)
        {
            output.WriteLine($"  first {type}: {message}");
        }
    }

    public override string ToString()
    {
        var sb = new StringBuilder($"{Kind}: {Cases} cases, {Accepted} accepted, {Rejected} rejected with a clear error");
        if (rejected.Count > 0)
        {
            sb.Append(" (").AppendJoin(", ", rejected.Select(kv => $"{kv.Value} {kv.Key}")).Append(')');
        }
        return sb.ToString();
    }
}

/// <summary>Seeded mutations of text and bytes.</summary>
internal static class Mutations
{
    private const string TextAlphabet = "0123456789:,. -+eE\tNaNinfx\"é'\\^|;\n\r{}[]#&*!%@`";
    private static readonly string[] Inserts = ["NaN", "inf", "-1", "2", "1e400", "", "::", "0.5", "\u0000", "\n\n", "\"", "  ", "1e9", "-0", "[1, 2]", "{a: 1}"];

    public static string Text(string text, Random rng, int maxEdits = 4)
    {
        var sb = new StringBuilder(text);
        var edits = 1 + rng.Next(maxEdits);
        for (var k = 0; k < edits; k++)
        {
            var pos = sb.Length == 0 ? 0 : rng.Next(sb.Length);
            switch (rng.Next(7))
            {
                case 0 when sb.Length > 0: sb.Remove(pos, 1); break;
                case 1: sb.Insert(pos, TextAlphabet[rng.Next(TextAlphabet.Length)]); break;
                case 2 when sb.Length > 0: sb[pos] = TextAlphabet[rng.Next(TextAlphabet.Length)]; break;
                case 3: sb.Insert(pos, Inserts[rng.Next(Inserts.Length)]); break;
                case 4 when sb.Length > 0 && rng.Next(4) == 0: sb.Length = pos; break;
                case 5: sb.Append(' '); break;
                default:
                    if (sb.Length > 2)
                    {
                        var len = rng.Next(1, Math.Min(40, sb.Length - pos) + 1);
                        sb.Insert(pos, sb.ToString(pos, len)); // duplicate a stretch
                    }
                    break;
            }
        }
        return sb.ToString();
    }

    /// <summary>A byte-level mutation that always changes the content (flip, overwrite, insert, delete, truncate, append).</summary>
    public static byte[] Bytes(byte[] data, Random rng)
    {
        var b = new List<byte>(data);
        var edits = 1 + rng.Next(3);
        for (var k = 0; k < edits; k++)
        {
            if (b.Count == 0)
            {
                b.Add((byte)rng.Next(256));
                continue;
            }
            var pos = rng.Next(b.Count);
            switch (rng.Next(6))
            {
                case 0: b[pos] ^= (byte)(1 << rng.Next(8)); break;
                case 1: b[pos] ^= (byte)rng.Next(1, 256); break;
                case 2: b.Insert(pos, (byte)rng.Next(256)); break;
                case 3 when b.Count > 1: b.RemoveAt(pos); break;
                case 4 when b.Count > 1: b.RemoveRange(pos, b.Count - pos); break;
                default: b.Add((byte)rng.Next(256)); break;
            }
        }
        var result = b.ToArray();
        if (result.AsSpan().SequenceEqual(data))
        {
            result[^1] ^= 0x5a; // the edits cancelled out: change one byte for sure
        }
        return result;
    }
}
