using System.Text.Json;
using FsdNet.Tensors;
using Xunit;

namespace FsdNet.Tests.Support;

/// <summary>A golden file written by tools/golden (PyTorch / sklearn): named tensors and parameters.</summary>
internal sealed class Golden
{
    private readonly Dictionary<string, (int[] Shape, double[] Data)> tensors = [];

    private Golden(string path)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        var root = doc.RootElement;
        Params = root.TryGetProperty("params", out var p) ? p.Clone() : default;
        foreach (var t in root.GetProperty("tensors").EnumerateObject())
        {
            var shape = t.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            var data = t.Value.GetProperty("data").EnumerateArray().Select(e => e.GetDouble()).ToArray();
            tensors[t.Name] = (shape, data);
        }
    }

    public JsonElement Params { get; }

    public static Golden Load(params string[] relative) =>
        new(Path.Combine([AppContext.BaseDirectory, "Golden", .. relative]));

    public float[] Floats(string name) => tensors[name].Data.Select(d => (float)d).ToArray();

    public int[] Ints(string name) => tensors[name].Data.Select(d => (int)d).ToArray();

    public int[] ShapeOf(string name) => tensors[name].Shape;

    /// <summary>A new tensor holding the named values (scalars become [1]).</summary>
    public Tensor Tensor(string name)
    {
        var (shape, _) = tensors[name];
        var s = shape.Length switch
        {
            0 => new Shape(1),
            1 => new Shape(shape[0]),
            2 => new Shape(shape[0], shape[1]),
            3 => new Shape(shape[0], shape[1], shape[2]),
            _ => throw new NotSupportedException($"rank {shape.Length}"),
        };
        var t = new Tensor(s) { Name = name };
        t.CopyFrom(Floats(name));
        return t;
    }

    /// <summary>Copies the named values into an existing tensor (e.g. a layer's parameter).</summary>
    public void Into(string name, Tensor target) => target.CopyFrom(Floats(name));

    /// <summary>
    /// Asserts <paramref name="actual"/> matches the named golden values within 1e-4 relative, or 1e-6 absolute for
    /// values near zero.
    /// </summary>
    public void AssertClose(string name, ReadOnlySpan<float> actual, double rel = 1e-4, double abs = 1e-6)
    {
        var expected = tensors[name].Data;
        Assert.True(expected.Length == actual.Length, $"{name}: {actual.Length} values, golden has {expected.Length}");
        for (var i = 0; i < expected.Length; i++)
        {
            var tol = Math.Max(rel * Math.Abs(expected[i]), abs);
            Assert.True(
                Math.Abs(actual[i] - expected[i]) <= tol,
                $"{name}[{i}]: got {actual[i]:R}, PyTorch {expected[i]:R} (tolerance {tol:G3})");
        }
    }
}
