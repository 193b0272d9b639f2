using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using FsdNet.Server;
using FsdNet.Serving;
using FsdNet.Tensors;
using FsdNet.Tests.Data;
using FsdNet.Tests.Support;
using FsdNet.Training;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Logging;
using Xunit;

namespace FsdNet.Tests.Server;

[CollectionDefinition(Name)]
public sealed class ServerCollection : ICollectionFixture<ServerFixture>
{
    public const string Name = "Server";
}

/// <summary>
/// A small FSDNet (3 heads) trained once for the server tests on synthetic rows with every raw value kind: two
/// string categoricals, a numeric feature and a sequence. Also generates request rows (with unseen tokens and
/// missing values) as JSON and as the dictionaries <see cref="Scorer.Score(IReadOnlyDictionary{string, object?}, int?)"/> takes.
/// </summary>
public sealed class ServerFixture : IDisposable
{
    private readonly TempDir tmp = new();

    public ServerFixture()
    {
        var rng = new Rng(17);
        tmp.CsvSplits("label,user,item,n,s", (_, _) =>
        {
            int u = rng.NextInt(12), it = rng.NextInt(9);
            var n = rng.NextDouble() * 10;
            var seq = string.Join('^', Enumerable.Range(0, 1 + rng.NextInt(3)).Select(_ => $"t{rng.NextInt(6)}"));
            var p = ((u + it) % 3 == 0 ? 0.8 : 0.15) + (n > 7 ? 0.1 : 0);
            return string.Create(CultureInfo.InvariantCulture, $"{(rng.NextDouble() < p ? 1 : 0)},u{u},i{it},{n:F3},{seq}");
        }, 1500, 300, 300);
        tmp.CsvDatasetConfig("toy", 1,
            "{name: [user, item], active: True, dtype: str, type: categorical}",
            "{name: n, active: True, dtype: float, type: numeric, normalizer: StandardScaler}",
            "{name: s, active: True, dtype: str, type: sequence, splitter: ^, max_len: 3}");
        tmp.File("model_config.yaml", """
            FSD_toy:
                model: FSDNet
                dataset_id: toy
                embedding_dim: 4
                parallel_dnn_hidden_units: [16, 16, 16]
                num_cross_layers: 3
                batch_norm: True
                net_dropout: 0.1
                batch_size: 128
                learning_rate: 1.e-2
                choice: 2
                loss_coefficient: 0.9
                Temp: 1.3
                epochs: 3
                seed: 5
                monitor: {'AUC': 1, 'logloss': -1}
            """);
        Run = TrainingRun.Execute(new RunSpec { ConfigDir = tmp.Path, ExpId = "FSD_toy", RunDir = tmp.Sub("run"), CacheDir = tmp.Sub("cache") }, _ => new QuietReporter());
        Scorer = Scorer.Load(Run.RunDir);
    }

    public RunResult Run { get; }

    public Scorer Scorer { get; }

    public string RunDir => Run.RunDir;

    public void Dispose() => tmp.Dispose();

    /// <summary>A host on the in-process TestServer serving <see cref="Scorer"/> (started; dispose it).</summary>
    public async Task<TestHost> Host(Func<ServerOptions, ServerOptions>? tweak = null, Action<WebApplication>? extraRoutes = null)
    {
        var options = new ServerOptions { Scorer = Scorer, ModelPath = RunDir };
        var app = ServerApp.Build(tweak is null ? options : tweak(options), b =>
        {
            b.WebHost.UseTestServer();
            b.Logging.ClearProviders();
        }, extraRoutes);
        await app.StartAsync();
        return new TestHost(app, app.GetTestClient());
    }

    /// <summary>One generated row: its JSON object text and the same values for the Scorer API.</summary>
    public sealed record Row(string Json, Dictionary<string, object?> Values);

    /// <summary>Random rows: known and unseen tokens, numbers as JSON numbers or strings, sequences as arrays or joined text, missing keys and nulls.</summary>
    public static List<Row> Rows(int count, int seed)
    {
        var rng = new Random(seed);
        var rows = new List<Row>(count);
        for (var i = 0; i < count; i++)
        {
            var parts = new List<string>();
            var values = new Dictionary<string, object?>();
            void Add(string key, string json, object? value)
            {
                parts.Add($"\"{key}\": {json}");
                values[key] = value;
            }
            if (rng.Next(10) > 0)
            {
                var u = rng.Next(8) == 0 ? $"new-user-{rng.Next(1000)}" : $"u{rng.Next(12)}";
                Add("user", JsonSerializer.Serialize(u), u);
            }
            switch (rng.Next(6))
            {
                case 0:
                    Add("item", "null", null);
                    break;
                case 1:
                    break;
                default:
                    var it = $"i{rng.Next(10)}"; // i9 was never seen
                    Add("item", JsonSerializer.Serialize(it), it);
                    break;
            }
            var n = Math.Round(rng.NextDouble() * 12 - 1, 3);
            switch (rng.Next(4))
            {
                case 0:
                    Add("n", JsonSerializer.Serialize(n.ToString("R", CultureInfo.InvariantCulture)), n.ToString("R", CultureInfo.InvariantCulture));
                    break;
                case 1:
                    break;
                default:
                    Add("n", n.ToString("R", CultureInfo.InvariantCulture), n);
                    break;
            }
            var tokens = Enumerable.Range(0, rng.Next(5)).Select(_ => $"t{rng.Next(8)}").ToArray();
            switch (rng.Next(4))
            {
                case 0:
                    Add("s", JsonSerializer.Serialize(string.Join('^', tokens)), string.Join('^', tokens));
                    break;
                case 1:
                    break;
                default:
                    Add("s", JsonSerializer.Serialize(tokens), tokens);
                    break;
            }
            if (rng.Next(5) == 0)
            {
                Add("label", "1", null); // the label column is accepted and not scored
                values.Remove("label");
            }
            rows.Add(new Row("{" + string.Join(", ", parts) + "}", values));
        }
        return rows;
    }

    public static string Body(IEnumerable<Row> rows, int? head = null) =>
        "{\"rows\": [" + string.Join(", ", rows.Select(r => r.Json)) + "]" + (head is { } h ? $", \"head\": {h}" : "") + "}";

    /// <summary>The scorer's own batch scores of <paramref name="rows"/> (one batch, as one request scores them).</summary>
    public float[] Expected(IReadOnlyList<Row> rows, int? head = null)
    {
        var batch = Scorer.CreateBatch(Math.Max(1, rows.Count));
        foreach (var row in rows)
        {
            var r = batch.AddRow();
            foreach (var (k, v) in row.Values)
            {
                batch.Set(r, k, v);
            }
        }
        var p = new float[rows.Count];
        Scorer.Score(batch, p, head);
        return p;
    }

}

/// <summary>A started in-process server and its client.</summary>
public sealed class TestHost(WebApplication app, HttpClient client) : IAsyncDisposable
{
    public WebApplication App { get; } = app;

    public HttpClient Client { get; } = client;

    internal ServerState State => (ServerState)App.Services.GetService(typeof(ServerState))!;

    public async Task<(int Status, JsonElement Body)> Post(string body, string path = "/v1/predict")
    {
        using var content = new StringContent(body, Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return await Send(content, path);
    }

    public async Task<(int Status, JsonElement Body)> Send(HttpContent content, string path = "/v1/predict")
    {
        using var response = await Client.PostAsync(path, content);
        var text = await response.Content.ReadAsStringAsync();
        using var doc = JsonDocument.Parse(text);
        return ((int)response.StatusCode, doc.RootElement.Clone());
    }

    public async Task<string> Get(string path)
    {
        using var response = await Client.GetAsync(path);
        Assert.Equal(200, (int)response.StatusCode);
        return await response.Content.ReadAsStringAsync();
    }

    public static float[] Probabilities(JsonElement body) =>
        [.. body.GetProperty("probabilities").EnumerateArray().Select(e => e.GetSingle())];

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await App.DisposeAsync();
    }
}
