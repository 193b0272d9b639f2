using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using FsdNet.Tests.Fuzz;
using Xunit;
using Xunit.Abstractions;

namespace FsdNet.Tests.Server;

/// <summary>
/// 10,000+ mutated <c>POST /v1/predict</c> bodies (byte flips, truncation, type swaps, huge numbers, deep nesting,
/// unicode and invalid UTF-8, duplicate keys, missing rows, extra fields, too many rows, oversized bodies): every
/// answer is a 2xx with probabilities or a 4xx with a JSON error, never a 5xx, and the server keeps scoring correctly.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class ServerFuzzTests(ServerFixture f, ITestOutputHelper output)
{
    private const int MaxRows = 40;
    private const int MaxBody = 16 * 1024;

    private static readonly string[] Swaps =
    [
        "true", "false", "null", "{}", "[]", "[1, [2]]", "{\"a\": {\"b\": []}}", "\"\"", "\"x\"", "1e308", "-1e400", "1e-400",
        "12345678901234567890123456789", "-0", "0.0000001", "NaN", "Infinity", "\"\\uD800\"", "\"\\u0000\"", "\"\u00e9\u4e2d\ud83d\ude00\"",
        "\"\\u202e\"", "[\"t1\", 2, null]", "[\"" + new string('t', 300) + "\"]", "\"1e999\"", "2147483648", "-2147483649",
    ];

    private static readonly string[] Keys = ["user", "item", "n", "s", "label", "rows", "head", "", "\u00fcser", "user\u0000", "USER", "\\u0075ser"];

    [Fact]
    public async Task Mutated_requests_get_only_2xx_or_4xx()
    {
        await using var host = await f.Host(o => o with { MaxRows = MaxRows, MaxBodyBytes = MaxBody });
        var statuses = new SortedDictionary<int, int>();
        var watch = Stopwatch.StartNew();
        const int cases = 10_500;
        for (var seed = 0; seed < cases; seed++)
        {
            var rng = new Random(seed);
            var rows = ServerFixture.Rows(1 + rng.Next(6), seed: 50_000 + seed);
            var body = Mutate(ServerFixture.Body(rows, rng.Next(3) == 0 ? rng.Next(-1, 4) : null), rng);
            using var content = new ByteArrayContent(body);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            using var response = await host.Client.PostAsync("/v1/predict", content);
            var status = (int)response.StatusCode;
            var text = await response.Content.ReadAsStringAsync();
            statuses[status] = statuses.GetValueOrDefault(status) + 1;
            if (status is not (>= 200 and < 300 or >= 400 and < 500))
            {
                var shown = Encoding.UTF8.GetString(body);
                Assert.Fail($"seed {seed}: status {status} for {shown[..Math.Min(300, shown.Length)]}: {text}");
            }
            using var doc = JsonDocument.Parse(text);
            if (status == 200)
            {
                Assert.All(doc.RootElement.GetProperty("probabilities").EnumerateArray(), p => Assert.InRange(p.GetSingle(), 0f, 1f));
            }
            else
            {
                Assert.False(string.IsNullOrWhiteSpace(doc.RootElement.GetProperty("error").GetString()), $"seed {seed}: {text}");
                Assert.DoesNotContain("   at ", text, StringComparison.Ordinal);
            }
        }
        output.WriteLine($"{cases} mutated requests in {watch.Elapsed.TotalSeconds:F1} s: " + string.Join(", ", statuses.Select(kv => $"{kv.Value} x {kv.Key}")));
        Assert.True(statuses.GetValueOrDefault(200) > 250, "too few mutations still valid");
        Assert.True(statuses.GetValueOrDefault(400) > 3000, "too few mutations rejected");
        Assert.True(statuses.GetValueOrDefault(413) > 50, "too few oversized requests");
        // Still healthy, and still scoring exactly.
        Assert.Equal("ok\n", await host.Get("/healthz"));
        var check = ServerFixture.Rows(7, seed: 99);
        var (s, result) = await host.Post(ServerFixture.Body(check));
        Assert.Equal(200, s);
        Assert.Equal(f.Expected(check), TestHost.Probabilities(result));
        Assert.Equal(0, host.State.Metrics.InFlight);
    }

    private static byte[] Mutate(string body, Random rng)
    {
        var edits = 1 + rng.Next(2);
        for (var k = 0; k < edits; k++)
        {
            switch (rng.Next(12))
            {
                case 0:
                    return Mutations.Bytes(Encoding.UTF8.GetBytes(body), rng); // byte flips, inserts, deletes, truncation
                case 1:
                    body = Mutations.Text(body, rng);
                    break;
                case 2:
                    body = body[..rng.Next(body.Length + 1)]; // truncation
                    break;
                case 3:
                    body = ReplaceValue(body, rng, Swaps[rng.Next(Swaps.Length)]); // type swaps, huge numbers, unicode
                    break;
                case 4:
                {
                    var depth = rng.Next(2) == 0 ? rng.Next(10, 80) : rng.Next(60, 2000); // deep nesting (past the reader's limit too)
                    var open = rng.Next(2) == 0 ? new StringBuilder().Insert(0, "[", depth).ToString() : new StringBuilder().Insert(0, "{\"a\": ", depth).ToString();
                    var close = open[0] == '[' ? new string(']', depth) : new string('}', depth);
                    body = ReplaceValue(body, rng, open + "1" + close);
                    break;
                }
                case 5:
                {
                    var key = Keys[rng.Next(Keys.Length)]; // duplicate or odd keys
                    var at = body.IndexOf('{', rng.Next(body.Length));
                    if (at >= 0)
                    {
                        body = body.Insert(at + 1, $"\"{key}\": {Swaps[rng.Next(Swaps.Length)]}, ");
                    }
                    break;
                }
                case 6:
                    body = rng.Next(3) switch // missing rows
                    {
                        0 => body.Replace("\"rows\"", "\"rowz\"", StringComparison.Ordinal),
                        1 => "{\"head\": 1}",
                        _ => "{\"rows\": null}",
                    };
                    break;
                case 7:
                    body = (body.Length == 0 ? "{" : body).Insert(1, rng.Next(2) == 0 ? "\"extra\": {\"x\": [1, 2]}, " : "\"rows\": [], "); // extra field or a second "rows"
                    break;
                case 8:
                {
                    var many = ServerFixture.Rows(MaxRows + 1 + rng.Next(20), seed: rng.Next());
                    body = ServerFixture.Body(many); // too many rows
                    break;
                }
                case 9:
                    body += new string(' ', MaxBody); // oversized
                    break;
                case 10:
                {
                    var bytes = Encoding.UTF8.GetBytes(body).ToList(); // invalid UTF-8 inside a string
                    var quote = bytes.IndexOf((byte)'"', rng.Next(bytes.Count));
                    if (quote >= 0)
                    {
                        byte[][] bad = [[0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xf4, 0x90, 0x80, 0x80]];
                        bytes.InsertRange(quote + 1, bad[rng.Next(bad.Length)]);
                    }
                    return [.. bytes];
                }
                default:
                    body = rng.Next(4) switch
                    {
                        0 => "",
                        1 => "   \n\t ",
                        2 => "rows=1&head=2",
                        _ => "[" + body + "]",
                    };
                    break;
            }
        }
        return Encoding.UTF8.GetBytes(body);
    }

    /// <summary>Replaces the value after a random ": " (a column's, "rows" or "head") with <paramref name="value"/>.</summary>
    private static string ReplaceValue(string body, Random rng, string value)
    {
        var at = body.IndexOf(": ", rng.Next(Math.Max(1, body.Length)), StringComparison.Ordinal);
        if (at < 0)
        {
            at = body.IndexOf(": ", StringComparison.Ordinal);
        }
        if (at < 0)
        {
            return body + value;
        }
        var start = at + 2;
        var end = start;
        var depth = 0;
        var inString = false;
        for (; end < body.Length; end++)
        {
            var c = body[end];
            if (inString)
            {
                if (c == '\\')
                {
                    end++;
                }
                else if (c == '"')
                {
                    inString = false;
                    if (depth == 0)
                    {
                        end++;
                        break;
                    }
                }
                continue;
            }
            if (c == '"')
            {
                inString = true;
            }
            else if (c is '[' or '{')
            {
                depth++;
            }
            else if (c is ']' or '}')
            {
                if (depth == 0)
                {
                    break;
                }
                if (--depth == 0)
                {
                    end++;
                    break;
                }
            }
            else if (c == ',' && depth == 0)
            {
                break;
            }
        }
        return body[..start] + value + body[Math.Min(end, body.Length)..];
    }
}
