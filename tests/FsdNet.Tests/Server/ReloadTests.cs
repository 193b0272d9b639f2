using System.Text.Json;
using FsdNet.Server;
using FsdNet.Serving;
using FsdNet.Tests.Data;
using Xunit;

namespace FsdNet.Tests.Server;

/// <summary>
/// Changing the served model without downtime: <c>POST /v1/admin/reload</c> and <c>--watch</c> load the new bundle
/// fully before swapping it in; in-flight requests finish on the model they started with; a damaged bundle leaves the
/// old model serving and says so (response, <c>/metrics</c>).
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class ReloadTests(ServerFixture f) : IDisposable
{
    private readonly TempDir tmp = new();

    public void Dispose() => tmp.Dispose();

    private static async Task<(int Status, JsonElement Body)> Reload(TestHost host, string? token = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/admin/reload");
        if (token is not null)
        {
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        }
        using var response = await host.Client.SendAsync(request);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return ((int)response.StatusCode, doc.RootElement.Clone());
    }

    [Fact]
    public async Task A_hundred_reloads_under_load_fail_no_request_and_never_mix_two_models()
    {
        var (a, b) = ModelFiles.Pair(f, tmp);
        var served = tmp.Sub("served.fsdb");
        ModelFiles.Deploy(a, served);
        var rows = ServerFixture.Rows(40, seed: 77);
        var body = ServerFixture.Body(rows);
        var expected = new Dictionary<string, float[]>();
        foreach (var path in new[] { a, b })
        {
            var scorer = Scorer.Load(path);
            var batch = scorer.CreateBatch(rows.Count);
            foreach (var row in rows)
            {
                var r = batch.AddRow();
                foreach (var (k, v) in row.Values)
                {
                    batch.Set(r, k, v);
                }
            }
            var p = new float[rows.Count];
            scorer.Score(batch, p);
            expected[Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(path)))] = p;
        }
        Assert.Equal(2, expected.Count);
        Assert.True(expected.Values.First().Zip(expected.Values.Last()).Max(t => Math.Abs(t.First - t.Second)) > 1e-3, "A and B score alike");

        await using var host = await f.Host(o => o with { Scorer = null, ModelPath = served });
        using var stop = new CancellationTokenSource();
        var answers = 0;
        var failures = new List<string>();
        var clients = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var (status, json) = await host.Post(body);
                lock (failures)
                {
                    answers++;
                    if (status != 200)
                    {
                        failures.Add($"status {status}: {json}");
                        continue;
                    }
                    var checksum = json.GetProperty("checksum").GetString()!;
                    if (!expected.TryGetValue(checksum, out var want) || !TestHost.Probabilities(json).SequenceEqual(want))
                    {
                        failures.Add($"an answer that is neither model's (checksum {checksum})");
                    }
                }
            }
        })).ToList();

        var reloads = 0;
        for (var i = 0; i < 100; i++)
        {
            ModelFiles.Deploy(i % 2 == 0 ? b : a, served);
            var (status, json) = await Reload(host);
            Assert.True(status == 200 && json.GetProperty("reloaded").GetBoolean(), $"reload {i}: {status} {json}");
            reloads++;
        }
        await stop.CancelAsync();
        await Task.WhenAll(clients);
        Assert.Equal(100, reloads);
        Assert.Empty(failures);
        Assert.True(answers > 100, $"only {answers} requests ran beside the reloads");
        var metrics = await host.Get("/metrics");
        Assert.Contains("fsdnet_model_reloads_total{result=\"ok\"} 100", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_damaged_or_unchanged_bundle_leaves_the_old_model_serving()
    {
        var (a, _) = ModelFiles.Pair(f, tmp);
        var served = tmp.Sub("served.fsdb");
        ModelFiles.Deploy(a, served);
        await using var host = await f.Host(o => o with { Scorer = null, ModelPath = served });
        var before = await host.Get("/v1/model");
        var rows = ServerFixture.Body(ServerFixture.Rows(5, seed: 3));
        var (_, first) = await host.Post(rows);

        var (status, json) = await Reload(host);
        Assert.Equal(200, status);
        Assert.False(json.GetProperty("reloaded").GetBoolean());
        Assert.Contains("unchanged", json.GetProperty("message").GetString(), StringComparison.Ordinal);

        var bytes = File.ReadAllBytes(a);
        bytes[bytes.Length / 2] ^= 0x5A; // a flipped byte in the middle of the weights
        File.WriteAllBytes(served, bytes);
        (status, json) = await Reload(host);
        Assert.Equal(422, status);
        Assert.False(json.GetProperty("reloaded").GetBoolean());
        Assert.Contains("could not be loaded", json.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal(first.GetProperty("checksum").GetString(), json.GetProperty("serving").GetProperty("checksum").GetString());

        File.WriteAllBytes(served, bytes[..(bytes.Length / 3)]); // truncated
        (status, _) = await Reload(host);
        Assert.Equal(422, status);

        var (after, again) = await host.Post(rows);
        Assert.Equal(200, after);
        Assert.Equal(TestHost.Probabilities(first), TestHost.Probabilities(again));
        Assert.Equal(before, await host.Get("/v1/model"));
        Assert.Contains("fsdnet_model_reloads_total{result=\"failed\"} 2", await host.Get("/metrics"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_an_admin_token_a_reload_needs_it()
    {
        var (a, b) = ModelFiles.Pair(f, tmp);
        var served = tmp.Sub("served.fsdb");
        ModelFiles.Deploy(a, served);
        const string token = "0123456789abcdef-secret";
        await using var host = await f.Host(o => o with { Scorer = null, ModelPath = served, AdminToken = token });
        ModelFiles.Deploy(b, served);
        Assert.Equal(403, (await Reload(host)).Status);
        Assert.Equal(403, (await Reload(host, "wrong-token-0123456789")).Status);
        var (status, json) = await Reload(host, token);
        Assert.Equal(200, status);
        Assert.True(json.GetProperty("reloaded").GetBoolean());
        Assert.Throws<ArgumentException>(() => new ServerOptions { ModelPath = served, AdminToken = "short" }.Validate());
    }

    [Fact]
    public async Task Watch_reloads_when_the_bundle_file_changes()
    {
        var (a, b) = ModelFiles.Pair(f, tmp);
        var served = tmp.Sub("served.fsdb");
        ModelFiles.Deploy(a, served);
        await using var host = await f.Host(o => o with { Scorer = null, ModelPath = served, Watch = true });
        var before = JsonDocument.Parse(await host.Get("/v1/model")).RootElement.GetProperty("checksum").GetString();
        ModelFiles.Deploy(b, served);
        string? now = before;
        for (var i = 0; i < 200 && now == before; i++)
        {
            await Task.Delay(50);
            now = JsonDocument.Parse(await host.Get("/v1/model")).RootElement.GetProperty("checksum").GetString();
        }
        Assert.NotEqual(before, now);
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(b))), now);
    }
}
