using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using FsdNet.Server;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Xunit;

namespace FsdNet.Tests.Server;

/// <summary>The HTTP endpoints in-process: scores equal the Scorer's, every bad request is a 400 naming row and field, caps are 413s.</summary>
[Collection(ServerCollection.Name)]
public sealed class ServerTests(ServerFixture f)
{
    [Fact]
    public async Task Single_row_requests_equal_the_scorer_exactly()
    {
        await using var host = await f.Host();
        foreach (var row in ServerFixture.Rows(60, seed: 1))
        {
            var (status, body) = await host.Post(ServerFixture.Body([row]));
            Assert.True(status == 200, body.ToString());
            var p = Assert.Single(TestHost.Probabilities(body));
            Assert.Equal(f.Scorer.Score(row.Values), p);
            Assert.Equal("FSDNet", body.GetProperty("model").GetString());
            Assert.Equal(JsonValueKind.Null, body.GetProperty("head").ValueKind);
        }
    }

    [Fact]
    public async Task Multi_row_requests_equal_the_scorer_batch_exactly()
    {
        await using var host = await f.Host();
        foreach (var (count, seed) in new[] { (2, 2), (17, 3), (300, 4) })
        {
            var rows = ServerFixture.Rows(count, seed);
            var (status, body) = await host.Post(ServerFixture.Body(rows));
            Assert.True(status == 200, body.ToString());
            var p = TestHost.Probabilities(body);
            Assert.Equal(f.Expected(rows), p);
            Assert.All(p, v => Assert.InRange(v, 0f, 1f));
            Assert.True(p.Distinct().Count() > 1, "the rows should not all score alike");
        }
        var (emptyStatus, empty) = await host.Post("{\"rows\": []}");
        Assert.Equal(200, emptyStatus);
        Assert.Empty(TestHost.Probabilities(empty));
    }

    [Fact]
    public async Task Values_read_as_the_Scorer_API_reads_them()
    {
        await using var host = await f.Host();
        var cases = new (string Json, Dictionary<string, object?> Values)[]
        {
            ("{\"user\": true, \"n\": false}", new() { ["user"] = true, ["n"] = false }),
            ("{\"user\": [\"u3\"], \"n\": [\"2.5\"]}", new() { ["user"] = "u3", ["n"] = "2.5" }),
            ("{\"user\": \"u\\u0033\", \"s\": \"t1^t2\"}", new() { ["user"] = "u3", ["s"] = new[] { "t1", "t2" } }),
            ("{\"item\": 7, \"s\": [\"t1\", 5]}", new() { ["item"] = "7", ["s"] = new[] { "t1", "5" } }),
            ("{\"user\": null, \"item\": \"\", \"s\": []}", new()),
        };
        foreach (var (json, values) in cases)
        {
            var (status, body) = await host.Post($"{{\"rows\": [{json}]}}");
            Assert.True(status == 200, json + ": " + body);
            Assert.Equal(f.Scorer.Score(values), Assert.Single(TestHost.Probabilities(body)));
        }
    }

    [Fact]
    public async Task A_bundle_file_serves_the_same_scores_as_its_run_directory()
    {
        using var tmp = new FsdNet.Tests.Data.TempDir();
        var bundle = Path.Combine(tmp.Path, "model.fsdb");
        FsdNet.Serving.BundleFile.Export(f.RunDir, bundle);
        var options = new ServerOptions { ModelPath = bundle };
        await using var app = ServerApp.Build(options, b =>
        {
            Microsoft.AspNetCore.TestHost.WebHostBuilderExtensions.UseTestServer(b.WebHost);
            b.Logging.ClearProviders();
        });
        await app.StartAsync();
        using var client = Microsoft.AspNetCore.TestHost.HostBuilderTestServerExtensions.GetTestClient(app);
        var rows = ServerFixture.Rows(25, seed: 21);
        using var response = await client.PostAsync("/v1/predict", new StringContent(ServerFixture.Body(rows)));
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(f.Expected(rows), TestHost.Probabilities(doc.RootElement));
        using var model = JsonDocument.Parse(await client.GetStringAsync("/v1/model"));
        Assert.Equal("bundle", model.RootElement.GetProperty("source").GetString());
        Assert.Equal(f.Run.Test["AUC"], model.RootElement.GetProperty("training_metrics").GetProperty("test").GetProperty("AUC").GetDouble());
    }

    [Fact]
    public async Task Head_selects_one_FSD_head()
    {
        await using var host = await f.Host();
        Assert.Equal(3, f.Scorer.HeadCount);
        var rows = ServerFixture.Rows(20, seed: 5);
        var byHead = new List<float[]>();
        for (var h = 0; h < 3; h++)
        {
            var (status, body) = await host.Post(ServerFixture.Body(rows, h));
            Assert.Equal(200, status);
            Assert.Equal(h, body.GetProperty("head").GetInt32());
            var p = TestHost.Probabilities(body);
            Assert.Equal(f.Expected(rows, h), p);
            byHead.Add(p);
        }
        var (_, mean) = await host.Post(ServerFixture.Body(rows)[..^1] + ", \"head\": null}");
        Assert.Equal(f.Expected(rows), TestHost.Probabilities(mean));
        Assert.NotEqual(byHead[0], byHead[2]);
    }

    public static TheoryData<string, int?, string?, string> BadRequests() => new()
    {
        { "{\"rows\": [{\"user\": \"u1\",}]}", null, null, "malformed JSON at line 1" },
        { "{\"rows\": [{\"user\": \"u1\"}\n  {\"user\": \"u2\"}]}", null, null, "malformed JSON at line 2, byte 3" },
        { "", null, null, "malformed JSON" },
        { "{\"rows\": [{}]} trailing", null, null, "malformed JSON" },
        { new string('[', 200) + new string(']', 200), null, null, "malformed JSON" },
        { "[]", null, null, "must be a JSON object" },
        { "{}", null, "rows", "\"rows\" is missing" },
        { "{\"rows\": {\"user\": \"u1\"}}", null, "rows", "must be an array" },
        { "{\"rows\": null}", null, "rows", "must be an array" },
        { "{\"rows\": [{}], \"rows\": [{}]}", null, "rows", "given twice" },
        { "{\"rows\": [{}, 7]}", 1, null, "a row must be an object" },
        { "{\"rows\": [{\"user\": \"u1\"}, {\"user\": \"u2\", \"nope\": 1}]}", 1, "nope", "not an input of this model" },
        { "{\"rows\": [{\"user\": {\"a\": 1}}]}", 0, "user", "an object is not a value" },
        { "{\"rows\": [{}, {}, {\"s\": true}]}", 2, "s", "a boolean is not a value of a sequence" },
        { "{\"rows\": [{\"user\": [\"u1\", \"u2\"]}]}", 0, "user", "an array of 2 values is not a value of a categorical" },
        { "{\"rows\": [{\"s\": 5}]}", 0, "s", "a number is not a value of a sequence" },
        { "{\"rows\": [{\"s\": [\"t1\", null]}]}", 0, "s", "element 1 is null" },
        { "{\"rows\": [{\"s\": [\"t1\", [\"t2\"]]}]}", 0, "s", "element 1 is an array" },
        { "{\"rows\": [{}, {\"n\": \"abc\"}]}", 1, "n", "non-numeric value" },
        { "{\"rows\": [{\"n\": \"1e999\"}]}", 0, "n", "NaN/Inf" },
        { "{\"rows\": [{\"n\": 1e999}]}", 0, "n", "out of range" },
        { "{\"rows\": [{\"n\": [1, 2]}]}", 0, "n", "an array of 2 values is not a value of a numeric" },
        { "{\"rows\": [{\"n\": []}]}", 0, "n", "an array of 0 values" },
        { "{\"rows\": [{}, {\"n\": 12345678901234567890123456789}]}", 1, null, "the model's output is not a number" },
        { "{\"rows\": [{\"user\": \"a\", \"user\": \"b\"}]}", 0, "user", "given twice" },
        { "{\"rows\": [{}], \"head\": 3}", null, "head", "head 3 is not in [0, 2]" },
        { "{\"rows\": [{}], \"head\": -1}", null, "head", "is not in [0, 2]" },
        { "{\"rows\": [{}], \"head\": \"1\"}", null, "head", "must be an integer" },
        { "{\"rows\": [{}], \"head\": 1.5}", null, "head", "must be an integer" },
        { "{\"rows\": [{}], \"head\": 1e40}", null, "head", "must be an integer" },
        { "{\"rows\": [{}], \"extra\": 1}", null, "extra", "unknown field 'extra'" },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task Bad_requests_are_400s_naming_the_row_and_field(string request, int? row, string? field, string message)
    {
        await using var host = await f.Host();
        var (status, body) = await host.Post(request);
        Assert.Equal(400, status);
        var error = body.GetProperty("error").GetString()!;
        Assert.Contains(message, error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal); // no stack trace
        Assert.Equal(row, body.TryGetProperty("row", out var r) ? r.GetInt32() : null);
        Assert.Equal(field, body.TryGetProperty("field", out var fl) ? fl.GetString() : null);
        if (message.StartsWith("malformed", StringComparison.Ordinal))
        {
            Assert.True(body.GetProperty("line").GetInt64() >= 1);
            Assert.True(body.GetProperty("position").GetInt64() >= 1);
        }
        // The server still answers good requests after a bad one.
        var good = ServerFixture.Rows(1, seed: 9);
        Assert.Equal(200, (await host.Post(ServerFixture.Body(good))).Status);
    }

    [Theory]
    [InlineData("{\"rows\": [{\"user\": \"u", "\"}]}", 1, 20)]
    [InlineData("{\"rows\": [{}, {\n  \"us", "er\": 1}]}", 2, 3)]
    [InlineData("{\"rows\": [{\"s\": [\"t1\", \"", "\"]}]}", 1, 24)]
    public async Task Invalid_utf8_is_a_400_with_its_position(string head, string tail, int line, int position)
    {
        await using var host = await f.Host();
        byte[] body = [.. Encoding.UTF8.GetBytes(head), 0xff, 0xfe, .. Encoding.UTF8.GetBytes(tail)];
        using var content = new ByteArrayContent(body);
        var (status, json) = await host.Send(content);
        Assert.Equal(400, status);
        Assert.StartsWith("malformed JSON at line", json.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal(line, json.GetProperty("line").GetInt64());
        Assert.Equal(position, json.GetProperty("position").GetInt64());
    }

    [Fact]
    public async Task Oversized_bodies_are_413s_with_or_without_a_content_length()
    {
        await using var host = await f.Host(o => o with { MaxBodyBytes = 4096 });
        var small = ServerFixture.Body(ServerFixture.Rows(5, seed: 6));
        Assert.True(small.Length < 4096);
        Assert.Equal(200, (await host.Post(small)).Status);
        var rows = ServerFixture.Rows(200, seed: 7);
        var big = ServerFixture.Body(rows);
        Assert.True(big.Length > 4096);
        var (status, body) = await host.Post(big);
        Assert.Equal(413, status);
        Assert.Contains("at most 4096 bytes", body.GetProperty("error").GetString(), StringComparison.Ordinal);
        using var chunked = new Chunked(Encoding.UTF8.GetBytes(big));
        var (status2, body2) = await host.Send(chunked);
        Assert.Equal(413, status2);
        Assert.Contains("--max-body-bytes", body2.GetProperty("error").GetString(), StringComparison.Ordinal);
        // Exactly at the cap is fine.
        var exact = small + new string(' ', 4096 - Encoding.UTF8.GetByteCount(small));
        Assert.Equal(200, (await host.Post(exact)).Status);
        Assert.Equal(413, (await host.Post(exact + " ")).Status);
    }

    [Fact]
    public async Task Too_many_rows_is_a_413()
    {
        await using var host = await f.Host(o => o with { MaxRows = 5 });
        var rows = ServerFixture.Rows(6, seed: 8);
        var (ok, okBody) = await host.Post(ServerFixture.Body(rows.Take(5)));
        Assert.Equal(200, ok);
        Assert.Equal(f.Expected(rows.Take(5).ToList()), TestHost.Probabilities(okBody));
        var (status, body) = await host.Post(ServerFixture.Body(rows));
        Assert.Equal(413, status);
        Assert.Contains("too many rows: at most 5", body.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Model_endpoint_describes_the_model()
    {
        await using var host = await f.Host();
        using var doc = JsonDocument.Parse(await host.Get("/v1/model"));
        var m = doc.RootElement;
        Assert.Equal("FSDNet", m.GetProperty("model").GetString());
        Assert.Equal("FSD_toy", m.GetProperty("expid").GetString());
        Assert.Equal(f.Run.Parameters, m.GetProperty("parameters").GetInt64());
        Assert.Equal(3, m.GetProperty("heads").GetInt32());
        Assert.Equal(FsdNet.Serving.ModelBundle.FormatVersion, m.GetProperty("format_version").GetInt32());
        Assert.Equal("run directory", m.GetProperty("source").GetString());
        Assert.Equal(FsdNet.Serving.ModelBundle.CurrentFsdNetVersion, m.GetProperty("fsdnet_version").GetString());
        Assert.Equal(FsdNet.Serving.ModelBundle.CurrentFsdNetVersion, m.GetProperty("written_by_fsdnet").GetString());
        var inputs = m.GetProperty("inputs").EnumerateArray().Select(i => (i.GetProperty("name").GetString(), i.GetProperty("type").GetString())).ToList();
        Assert.Equal([("user", "categorical"), ("item", "categorical"), ("n", "numeric"), ("s", "sequence")], inputs);
        Assert.Equal(3, m.GetProperty("inputs")[3].GetProperty("max_len").GetInt32());
        var test = m.GetProperty("training_metrics").GetProperty("test");
        Assert.Equal(f.Run.Test["AUC"], test.GetProperty("AUC").GetDouble());
        Assert.Equal(f.Run.Test["logloss"], test.GetProperty("logloss").GetDouble());
        var kept = f.Run.Training.History.Last(h => h.Improved);
        Assert.Equal(kept.Epoch, m.GetProperty("training_metrics").GetProperty("best_epoch").GetInt32());
        Assert.Equal(kept.Valid["AUC"], m.GetProperty("training_metrics").GetProperty("valid").GetProperty("AUC").GetDouble());
        Assert.Contains("num_cross_layers: 3", m.GetProperty("config_yaml").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Healthz_answers_ok()
    {
        await using var host = await f.Host();
        Assert.Equal("ok\n", await host.Get("/healthz"));
    }

    private static double Metric(string text, string series)
    {
        var line = text.Split('\n').SingleOrDefault(l => l.StartsWith(series + " ", StringComparison.Ordinal));
        return line is null ? 0 : double.Parse(line[(series.Length + 1)..], CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task Metrics_count_requests_errors_latency_rows_and_oov()
    {
        await using var host = await f.Host();
        var before = await host.Get("/metrics");
        var rows = new[]
        {
            new ServerFixture.Row("{\"user\": \"never-seen-user\", \"item\": \"i1\", \"n\": 2}", []),
            new ServerFixture.Row("{\"user\": \"u1\", \"n\": 3}", []),
        };
        Assert.Equal(200, (await host.Post(ServerFixture.Body(rows))).Status);
        Assert.Equal(400, (await host.Post("{\"rows\": [{\"bogus\": 1}]}")).Status);
        var after = await host.Get("/metrics");
        Assert.Contains("# TYPE fsdnet_feature_oov_total counter", after, StringComparison.Ordinal);
        Assert.Equal(1, Metric(after, "fsdnet_feature_oov_total{feature=\"user\"}") - Metric(before, "fsdnet_feature_oov_total{feature=\"user\"}"));
        Assert.Equal(0, Metric(after, "fsdnet_feature_oov_total{feature=\"item\"}") - Metric(before, "fsdnet_feature_oov_total{feature=\"item\"}"));
        Assert.Equal(1, Metric(after, "fsdnet_feature_missing_total{feature=\"item\"}") - Metric(before, "fsdnet_feature_missing_total{feature=\"item\"}"));
        Assert.Equal(2, Metric(after, "fsdnet_feature_missing_total{feature=\"s\"}") - Metric(before, "fsdnet_feature_missing_total{feature=\"s\"}"));
        Assert.Equal(2, Metric(after, "fsdnet_rows_scored_total"));
        Assert.Equal(1, Metric(after, "fsdnet_http_requests_total{endpoint=\"/v1/predict\",status=\"200\"}"));
        Assert.Equal(1, Metric(after, "fsdnet_http_requests_total{endpoint=\"/v1/predict\",status=\"400\"}"));
        Assert.Equal(1, Metric(after, "fsdnet_http_errors_total{endpoint=\"/v1/predict\",kind=\"bad_request\"}"));
        Assert.Equal(2, Metric(after, "fsdnet_http_request_duration_seconds_count{endpoint=\"/v1/predict\"}"));
        Assert.True(Metric(after, "fsdnet_http_request_duration_seconds_sum{endpoint=\"/v1/predict\"}") > 0);
        Assert.Equal(1, Metric(after, "fsdnet_http_requests_total{endpoint=\"/metrics\",status=\"200\"}"));
        Assert.Equal(1, Metric(after, $"fsdnet_model_info{{model=\"FSDNet\",expid=\"FSD_toy\",checksum=\"{host.State.Current.Checksum}\"}}"));
        Assert.Equal(64, host.State.Current.Checksum.Length);
    }

    [Fact]
    public async Task Concurrent_requests_from_8_tasks_equal_serial_scores()
    {
        await using var host = await f.Host();
        var requests = Enumerable.Range(0, 160).Select(i => ServerFixture.Rows(1 + (i % 7) * 3, seed: 100 + i)).ToList();
        var serial = new List<float[]>();
        foreach (var rows in requests)
        {
            serial.Add(TestHost.Probabilities((await host.Post(ServerFixture.Body(rows))).Body));
        }
        var parallel = new float[requests.Count][];
        await Task.WhenAll(Enumerable.Range(0, 8).Select(t => Task.Run(async () =>
        {
            for (var i = t; i < requests.Count; i += 8)
            {
                var (status, body) = await host.Post(ServerFixture.Body(requests[i]));
                Assert.Equal(200, status);
                parallel[i] = TestHost.Probabilities(body);
            }
        })));
        for (var i = 0; i < requests.Count; i++)
        {
            Assert.Equal(serial[i], parallel[i]);
            Assert.Equal(f.Expected(requests[i]), serial[i]);
        }
    }

    [Fact]
    public async Task Steady_state_requests_reuse_pooled_row_batches()
    {
        await using var host = await f.Host();
        var body = ServerFixture.Body(ServerFixture.Rows(3, seed: 11));
        for (var i = 0; i < 100; i++)
        {
            Assert.Equal(200, (await host.Post(body)).Status);
        }
        Assert.Equal(1, host.State.Current.Pool.Created);
        Assert.Equal(200, (await host.Post(ServerFixture.Body(ServerFixture.Rows(100, seed: 12)))).Status); // a bigger tier
        Assert.Equal(2, host.State.Current.Pool.Created);
        Assert.Equal(0, host.State.Metrics.InFlight);
    }

    [Fact]
    public async Task An_unexpected_failure_is_a_500_without_a_stack_trace_and_is_logged()
    {
        var logged = new List<string>();
        var options = new ServerOptions { Scorer = f.Scorer };
        await using var app = ServerApp.Build(options, b =>
        {
            Microsoft.AspNetCore.TestHost.WebHostBuilderExtensions.UseTestServer(b.WebHost);
            b.Logging.ClearProviders();
            b.Logging.AddProvider(new ListLogger(logged));
        }, a => a.MapGet("/boom", (RequestDelegate)(_ => throw new InvalidOperationException("kaboom"))));
        await app.StartAsync();
        using var client = Microsoft.AspNetCore.TestHost.HostBuilderTestServerExtensions.GetTestClient(app);
        using var response = await client.GetAsync("/boom");
        Assert.Equal(500, (int)response.StatusCode);
        var text = await response.Content.ReadAsStringAsync();
        Assert.Contains("internal error", text, StringComparison.Ordinal);
        Assert.DoesNotContain("kaboom", text, StringComparison.Ordinal);
        Assert.DoesNotContain(" at ", text, StringComparison.Ordinal);
        Assert.Contains(logged, l => l.Contains("kaboom", StringComparison.Ordinal));
        Assert.Equal(200, (int)(await client.GetAsync("/healthz")).StatusCode);
    }

    [Fact]
    public async Task Stopping_the_server_drains_an_in_flight_request()
    {
        // Real Kestrel on a loopback port: the request's body arrives in two halves, and the host is stopped between them.
        var options = new ServerOptions { Scorer = f.Scorer, Port = 0, ShutdownTimeout = TimeSpan.FromSeconds(20) };
        await using var app = ServerApp.Build(options, b => b.Logging.ClearProviders());
        await app.StartAsync();
        var url = ServerApp.Urls(app).Single();
        var state = app.Services.GetRequiredService<ServerState>();
        var rows = ServerFixture.Rows(4, seed: 13);
        var bytes = Encoding.UTF8.GetBytes(ServerFixture.Body(rows));
        using var content = new Halves(bytes);
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        var request = client.PostAsync(url + "/v1/predict", content);
        await WaitFor(() => state.Metrics.InFlight == 1, "the request to reach the handler");
        var stopping = app.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
        var stop = app.StopAsync();
        await WaitFor(() => stopping.IsCancellationRequested, "the host to begin stopping");
        await Task.Delay(300);
        Assert.False(stop.IsCompleted, "the host stopped while a request was in flight");
        Assert.False(request.IsCompleted);
        content.Release();
        using var response = await request;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(f.Expected(rows), TestHost.Probabilities(doc.RootElement));
        await stop.WaitAsync(TimeSpan.FromSeconds(20));
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => client.GetAsync(url + "/healthz"));
    }

    private static async Task WaitFor(Func<bool> condition, string what)
    {
        for (var i = 0; i < 400 && !condition(); i++)
        {
            await Task.Delay(25);
        }
        Assert.True(condition(), $"timed out waiting for {what}");
    }

    /// <summary>A body sent without a Content-Length (chunked).</summary>
    private sealed class Chunked(byte[] bytes) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            for (var i = 0; i < bytes.Length; i += 1000)
            {
                await stream.WriteAsync(bytes.AsMemory(i, Math.Min(1000, bytes.Length - i)));
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }

    /// <summary>A body whose second half is held back until <see cref="Release"/>.</summary>
    private sealed class Halves : HttpContent
    {
        private readonly byte[] bytes;
        private readonly TaskCompletionSource gate = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Halves(byte[] bytes)
        {
            this.bytes = bytes;
            Headers.ContentType = new MediaTypeHeaderValue("application/json");
        }

        public void Release() => gate.TrySetResult();

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            var half = bytes.Length / 2;
            await stream.WriteAsync(bytes.AsMemory(0, half));
            await stream.FlushAsync();
            await gate.Task;
            await stream.WriteAsync(bytes.AsMemory(half));
        }

        protected override bool TryComputeLength(out long length)
        {
            length = bytes.Length;
            return true;
        }
    }

    private sealed class ListLogger(List<string> into) : ILoggerProvider, ILogger
    {
        public ILogger CreateLogger(string categoryName) => this;

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Error;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (into)
            {
                into.Add(formatter(state, exception) + " " + exception?.Message);
            }
        }

        public void Dispose()
        {
        }
    }
}
