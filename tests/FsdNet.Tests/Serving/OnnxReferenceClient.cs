using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Xunit;

namespace FsdNet.Tests.Serving;

/// <summary>
/// What a client without .NET does with an exported model: it reads the encoder JSON (docs/ONNX.md) and nothing else
/// of FsdNet, turns raw rows into the graph's inputs by the rules written there, and runs ONNX Runtime. Written from
/// the document, not from FsdNet's code, so that a rule the JSON does not carry shows up as a score difference.
/// </summary>
internal static class OnnxReferenceClient
{
    /// <summary>The graph's inputs for one raw row (<paramref name="raw"/>: a source column's text, null or "" = missing).</summary>
    public sealed record Encoded(long[] Categorical, float[] Numeric, long[] Sequence, float[] Embedding);

    public static Encoded Encode(JsonElement enc, Func<string, string?> raw)
    {
        string Text(JsonElement f) => raw(f.GetProperty("source_column").GetString()!) ?? "";
        var cats = enc.GetProperty("categorical");
        var codes = new long[cats.GetArrayLength()];
        foreach (var f in cats.EnumerateArray())
        {
            var text = Text(f);
            if (text.Length == 0)
            {
                text = f.GetProperty("missing").GetString()!;
            }
            var vocab = f.GetProperty("vocab");
            var oov = f.GetProperty("oov_idx").GetInt64();
            var buckets = Buckets(f);
            long code;
            if (f.GetProperty("match").GetString() == "string")
            {
                code = buckets > 0 ? (text == f.GetProperty("oov_token").GetString() ? oov : 1 + (long)(Fnv(Encoding.UTF8.GetBytes(text)) % buckets))
                    : vocab.TryGetProperty(text, out var v) ? v.GetInt64() : oov;
            }
            else if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) || !double.IsFinite(d))
            {
                code = oov;
            }
            else
            {
                if (f.GetProperty("convert_to_bucket").GetBoolean())
                {
                    d = d > 2 ? Math.Floor(Math.Log(d) * Math.Log(d)) : Math.Truncate(d);
                }
                code = oov;
                if (buckets > 0)
                {
                    var oovToken = f.GetProperty("oov_token");
                    code = oovToken.ValueKind == JsonValueKind.String && double.Parse(oovToken.GetString()!, CultureInfo.InvariantCulture) == d
                        ? oov
                        : 1 + (long)(Fnv(BitConverter.GetBytes(d == 0 ? 0.0 : d)) % buckets);
                }
                foreach (var p in buckets > 0 ? [] : vocab.EnumerateObject())
                {
                    if (double.Parse(p.Name, CultureInfo.InvariantCulture) == d)
                    {
                        code = p.Value.GetInt64();
                    }
                }
            }
            codes[f.GetProperty("column").GetInt32()] = code;
        }

        var nums = enc.GetProperty("numeric");
        var values = new float[nums.GetArrayLength()];
        foreach (var f in nums.EnumerateArray())
        {
            var text = Text(f);
            if (text.Length == 0)
            {
                text = f.GetProperty("missing").GetString()!;
            }
            var v = (float)double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);
            var norm = f.GetProperty("normalizer");
            values[f.GetProperty("column").GetInt32()] = norm.ValueKind == JsonValueKind.Null
                ? v
                : (float)((v - norm.GetProperty("shift").GetDouble()) / norm.GetProperty("scale").GetDouble());
        }

        var seqWidth = Width(enc, "sequence");
        var sequence = new long[seqWidth];
        if (enc.TryGetProperty("sequence", out var seqs))
        {
            foreach (var f in seqs.EnumerateArray())
            {
                var text = Text(f);
                if (text.Length == 0)
                {
                    continue; // all padding
                }
                var tokens = text.Split(f.GetProperty("splitter").GetString()!);
                var maxLen = f.GetProperty("max_len").GetInt32();
                var keep = Math.Min(tokens.Length, maxLen);
                var pre = f.GetProperty("padding").GetString() == "pre";
                var from = pre ? tokens.Length - keep : 0;
                var to = f.GetProperty("column").GetInt32() + (pre ? maxLen - keep : 0);
                var vocab = f.GetProperty("vocab");
                var pad = f.GetProperty("padding_token").GetString()!;
                for (var i = 0; i < keep; i++)
                {
                    var tok = tokens[from + i];
                    var buckets = Buckets(f);
                    sequence[to + i] = tok == pad ? f.GetProperty("padding_idx").GetInt64()
                        : buckets > 0 ? 1 + (long)(Fnv(Encoding.UTF8.GetBytes(tok)) % buckets)
                        : vocab.TryGetProperty(tok, out var v) ? v.GetInt64() : f.GetProperty("oov_idx").GetInt64();
                }
            }
        }

        var embedding = new float[Width(enc, "embedding")];
        if (enc.TryGetProperty("embedding", out var embs))
        {
            foreach (var f in embs.EnumerateArray())
            {
                var parts = Text(f).Split(f.GetProperty("splitter").GetString()!);
                Assert.Equal(f.GetProperty("width").GetInt32(), parts.Length);
                for (var i = 0; i < parts.Length; i++)
                {
                    embedding[f.GetProperty("column").GetInt32() + i] = (float)double.Parse(parts[i].Trim(), NumberStyles.Float, CultureInfo.InvariantCulture);
                }
            }
        }
        return new Encoded(codes, values, sequence, embedding);
    }

    /// <summary>hash_buckets of an entry (0: a vocabulary).</summary>
    private static ulong Buckets(JsonElement f) =>
        f.TryGetProperty("hash_buckets", out var h) && h.ValueKind == JsonValueKind.Number ? h.GetUInt64() : 0;

    /// <summary>FNV-1a, 64 bits (offset basis 14695981039346656037, prime 1099511628211), as docs/ONNX.md names it.</summary>
    private static ulong Fnv(byte[] bytes)
    {
        var h = 14695981039346656037UL;
        foreach (var b in bytes)
        {
            h = (h ^ b) * 1099511628211UL;
        }
        return h;
    }

    /// <summary>The width of a graph input from the encoder's "inputs" (0 when the graph has none).</summary>
    private static int Width(JsonElement enc, string input) =>
        enc.GetProperty("inputs").EnumerateArray().Where(i => i.GetProperty("name").GetString() == input)
            .Select(i => i.GetProperty("shape")[1].GetInt32()).FirstOrDefault();

    /// <summary>ONNX Runtime's probabilities for raw rows encoded by <see cref="Encode"/>.</summary>
    public static float[] Score(string onnx, JsonElement encoder, IReadOnlyList<Func<string, string?>> rows)
    {
        var encoded = rows.Select(r => Encode(encoder, r)).ToList();
        var n = rows.Count;
        using var options = new SessionOptions { IntraOpNumThreads = 1 };
        using var session = new InferenceSession(onnx, options);
        var inputs = new List<NamedOnnxValue>();
        foreach (var input in encoder.GetProperty("inputs").EnumerateArray())
        {
            var name = input.GetProperty("name").GetString()!;
            var width = input.GetProperty("shape")[1].GetInt32();
            inputs.Add(name switch
            {
                "categorical" => NamedOnnxValue.CreateFromTensor(name, new DenseTensor<long>(encoded.SelectMany(e => e.Categorical).ToArray(), [n, width])),
                "numeric" => NamedOnnxValue.CreateFromTensor(name, new DenseTensor<float>(encoded.SelectMany(e => e.Numeric).ToArray(), [n, width])),
                "sequence" => NamedOnnxValue.CreateFromTensor(name, new DenseTensor<long>(encoded.SelectMany(e => e.Sequence).ToArray(), [n, width])),
                "embedding" => NamedOnnxValue.CreateFromTensor(name, new DenseTensor<float>(encoded.SelectMany(e => e.Embedding).ToArray(), [n, width])),
                _ => throw new InvalidOperationException($"unknown graph input '{name}' in the encoder JSON"),
            });
        }
        using var results = session.Run(inputs);
        var output = results.Single(v => v.Name == encoder.GetProperty("output").GetProperty("name").GetString());
        var t = output.AsTensor<float>();
        Assert.Equal([n, 1], t.Dimensions.ToArray());
        return t.ToArray();
    }
}
