using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Text.Json;
using FsdNet.Data;
using FsdNet.Serving;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Prometheus;

namespace FsdNet.Server;

/// <summary>
/// The HTTP scoring server behind <c>fsdnet serve</c> (ASP.NET Core minimal APIs on Kestrel):
/// <c>POST /v1/predict</c>, <c>GET /v1/model</c>, <c>GET /healthz</c> and <c>GET /metrics</c> (Prometheus text).
/// Requests score concurrently on one thread-safe <see cref="Scorer"/> with pooled row batches.
/// </summary>
public static class ServerApp
{
    /// <summary>
    /// Builds the server (loading the model unless <see cref="ServerOptions.Scorer"/> is given) without starting it.
    /// <paramref name="configure"/> runs last on the builder (e.g. <c>b.WebHost.UseTestServer()</c> in tests).
    /// </summary>
    public static WebApplication Build(ServerOptions options, Action<WebApplicationBuilder>? configure = null) => Build(options, configure, null);

    /// <summary><see cref="Build(ServerOptions, Action{WebApplicationBuilder}?)"/> with extra routes (tests: a failing endpoint).</summary>
    internal static WebApplication Build(ServerOptions options, Action<WebApplicationBuilder>? configure, Action<WebApplication>? extraRoutes)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var served = options.Scorer is { } given ? new ServedModel(given, options.MaxRows) : ServedModel.Load(options.ModelPath!, options.MaxRows);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = [],
            ApplicationName = typeof(ServerApp).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
            EnvironmentName = Environments.Production, // never the developer exception page (stack traces)
        });
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss ";
        });
        builder.Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        builder.Logging.SetMinimumLevel(LogLevel.Information);
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = options.ShutdownTimeout);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = null; // capped by the handler itself, with a JSON 413 (the same under TestServer)
            var host = options.Host.Trim();
            if (host is "localhost")
            {
                k.ListenLocalhost(options.Port);
            }
            else if (host is "*" or "+")
            {
                k.ListenAnyIP(options.Port);
            }
            else if (IPAddress.TryParse(host.Trim('[', ']'), out var ip))
            {
                k.Listen(ip, options.Port);
            }
            else
            {
                throw new ArgumentException($"--host must be an IP address, localhost or *, got '{options.Host}'.");
            }
        });
        var state = new ServerState(served, options);
        builder.Services.AddSingleton(state);
        configure?.Invoke(builder);

        var app = builder.Build();
        var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("FsdNet.Server");
        app.Use(async (HttpContext http, RequestDelegate next) =>
        {
            var start = Stopwatch.GetTimestamp();
            state.Metrics.Started();
            try
            {
                await next(http);
            }
            catch (Exception) when (http.RequestAborted.IsCancellationRequested)
            {
                // The client went away; nobody reads an answer.
            }
            catch (Exception e)
            {
                log.LogError(e, "unexpected error on {Method} {Path}", http.Request.Method, http.Request.Path.Value);
                if (!http.Response.HasStarted)
                {
                    http.Response.Clear();
                    await WriteError(http, new RequestException(500, "internal error: the server could not answer this request (see the server log)."));
                }
            }
            finally
            {
                state.Metrics.Finished(ServerMetrics.EndpointOf(http.Request.Path.Value), http.Response.StatusCode, Stopwatch.GetElapsedTime(start).TotalSeconds);
            }
        });
        app.MapPost(ServerMetrics.Predict, (RequestDelegate)(http => Predict(http, state)));
        app.MapGet("/v1/model", (RequestDelegate)(async http =>
        {
            http.Response.ContentType = "application/json; charset=utf-8";
            await http.Response.Body.WriteAsync(state.Current.ModelJson, http.RequestAborted);
        }));
        app.MapPost(ServerMetrics.Reload, (RequestDelegate)(http => Reload(http, state, log)));
        app.MapGet("/healthz", (RequestDelegate)(http =>
        {
            http.Response.ContentType = "text/plain; charset=utf-8";
            return http.Response.WriteAsync("ok\n", http.RequestAborted);
        }));
        app.MapMetrics("/metrics", state.Metrics.Registry);
        extraRoutes?.Invoke(app);
        if (options.Watch)
        {
            var lifetime = app.Services.GetRequiredService<IHostApplicationLifetime>();
            ModelWatcher? watcher = null;
            lifetime.ApplicationStarted.Register(() =>
            {
                watcher = new ModelWatcher(state.ReloadPath, () => state.ReloadAsync(line => LogLine(log, line)), line => LogLine(log, line));
                LogLine(log, $"watching {watcher.Watching}: a change reloads the model");
            });
            lifetime.ApplicationStopping.Register(() => watcher?.Dispose());
        }
        return app;
    }

    /// <summary>
    /// Builds and runs the server until <paramref name="cancel"/> fires or the process gets Ctrl+C / SIGTERM; a stop
    /// drains in-flight requests (up to <see cref="ServerOptions.ShutdownTimeout"/>). Lines for the operator go to
    /// <paramref name="log"/> (standard error when null).
    /// </summary>
    public static async Task RunAsync(ServerOptions options, TextWriter? log = null, CancellationToken cancel = default)
    {
        log ??= Console.Error;
        await using var app = Build(options);
        var state = app.Services.GetRequiredService<ServerState>();
        var lifetime = app.Services.GetRequiredService<IHostApplicationLifetime>();
        lifetime.ApplicationStarted.Register(() => log.WriteLine(
            $"serving {state.Current.Describe()} on {string.Join(", ", Urls(app))} " +
            $"(at most {options.MaxRows} rows and {options.MaxBodyBytes} bytes per request); Ctrl+C stops"));
        lifetime.ApplicationStopping.Register(() => log.WriteLine("stopping: draining in-flight requests"));
        await ((IHost)app).RunAsync(cancel);
        log.WriteLine("stopped");
    }

    /// <summary>The addresses a started server listens on (with the real port when <see cref="ServerOptions.Port"/> is 0).</summary>
    public static IReadOnlyList<string> Urls(WebApplication app) =>
        [.. app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? []];

    private static async Task Predict(HttpContext http, ServerState state)
    {
        byte[]? body = null;
        PredictContext? ctx = null;
        var s = state.Current; // this request's model, whatever a reload does meanwhile
        try
        {
            int length;
            (body, length) = await ReadBody(http, state.Options.MaxBodyBytes);
            ctx = ParseAndScore(s, state.Metrics, state.Options.MaxRows, body, length);
            http.Response.ContentType = "application/json; charset=utf-8";
            var w = ctx.Writer ??= new Utf8JsonWriter(http.Response.BodyWriter);
            w.Reset(http.Response.BodyWriter);
            w.WriteStartObject();
            w.WriteStartArray("probabilities"u8);
            for (var i = 0; i < ctx.Batch.Count; i++)
            {
                w.WriteNumberValue(ctx.Probabilities[i]);
            }
            w.WriteEndArray();
            if (ctx.Head is { } h)
            {
                w.WriteNumber("head"u8, h);
            }
            else
            {
                w.WriteNull("head"u8);
            }
            w.WriteString("model"u8, s.ModelName);
            w.WriteString("expid"u8, s.ExpId);
            w.WriteString("checksum"u8, s.Checksum);
            w.WriteEndObject();
            w.Flush();
            w.Reset(Stream.Null); // drop the reference to this response's writer
            await http.Response.BodyWriter.FlushAsync(http.RequestAborted);
        }
        catch (RequestException e)
        {
            await WriteError(http, e);
        }
        catch (ScoringException e)
        {
            await WriteError(http, new RequestException(400, e.Message, e.Row, e.Field));
        }
        catch (BadHttpRequestException e)
        {
            await WriteError(http, new RequestException(e.StatusCode is >= 400 and < 500 ? e.StatusCode : 400, $"bad request: {e.Message}"));
        }
        finally
        {
            if (body is not null)
            {
                ArrayPool<byte>.Shared.Return(body);
            }
            if (ctx is not null)
            {
                s.Pool.Return(ctx);
            }
        }
    }

    private static PredictContext ParseAndScore(ServedModel s, ServerMetrics metrics, int maxRows, byte[] body, int length)
    {
        var span = body.AsSpan(0, length);
        var rows = PredictParser.CountRows(span, maxRows);
        var ctx = s.Pool.Rent(Math.Max(rows, 1));
        try
        {
            ctx.Head = s.Parser.Fill(span, ctx);
            s.Scorer.Score(ctx.Batch, ctx.Probabilities, ctx.Head);
            metrics.RowsScored(ctx.Batch.Count);
            return ctx;
        }
        catch
        {
            s.Pool.Return(ctx);
            throw;
        }
    }

    private static string TooLarge(long max) =>
        $"request body too large: at most {max} bytes (send fewer rows per request, or start the server with a higher --max-body-bytes).";

    /// <summary>The whole body in a pooled buffer (the caller returns it), or a 413 as soon as it passes <paramref name="max"/> bytes.</summary>
    private static async ValueTask<(byte[] Buffer, int Length)> ReadBody(HttpContext http, long max)
    {
        if (http.Request.ContentLength > max)
        {
            throw new RequestException(413, TooLarge(max));
        }
        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Min(http.Request.ContentLength ?? 4096, max) + 1);
        var length = 0;
        try
        {
            while (true)
            {
                if (length == buffer.Length)
                {
                    var bigger = ArrayPool<byte>.Shared.Rent((int)Math.Min(2L * buffer.Length, max + 1));
                    buffer.AsSpan(0, length).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = bigger;
                }
                var n = await http.Request.Body.ReadAsync(buffer.AsMemory(length), http.RequestAborted);
                if (n == 0)
                {
                    return (buffer, length);
                }
                length += n;
                if (length > max)
                {
                    throw new RequestException(413, TooLarge(max));
                }
            }
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
    }

    /// <summary>Error texts quote names with ' (JSON-safe; the answer is not HTML).</summary>
    private static readonly JsonWriterOptions ErrorJson = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static async Task WriteError(HttpContext http, RequestException e)
    {
        http.Response.StatusCode = e.Status;
        http.Response.ContentType = "application/json; charset=utf-8";
        if (e.Status == 413)
        {
            http.Response.Headers.Connection = "close"; // the rest of the body is not read
        }
        using (var w = new Utf8JsonWriter(http.Response.BodyWriter, ErrorJson))
        {
            w.WriteStartObject();
            w.WriteString("error"u8, e.Message);
            if (e.Row is { } row)
            {
                w.WriteNumber("row"u8, row);
            }
            if (e.Field is { } field)
            {
                w.WriteString("field"u8, field);
            }
            if (e.Line is { } line)
            {
                w.WriteNumber("line"u8, line);
            }
            if (e.Position is { } position)
            {
                w.WriteNumber("position"u8, position);
            }
            w.WriteEndObject();
        }
        await http.Response.BodyWriter.FlushAsync(http.RequestAborted);
    }

    /// <summary>
    /// <c>POST /v1/admin/reload</c>: from the loopback interface only, unless the server has an admin token, which
    /// the request then must carry (<c>Authorization: Bearer &lt;token&gt;</c>). 200 when the new model serves, 200 with
    /// <c>"reloaded": false</c> when the file is unchanged, 422 when it cannot be served (the old one keeps serving).
    /// </summary>
    private static async Task Reload(HttpContext http, ServerState state, ILogger log)
    {
        if (!AdminAllowed(http, state.Options.AdminToken))
        {
            await WriteError(http, new RequestException(403, state.Options.AdminToken is null
                ? "admin endpoints answer only on the loopback interface (start the server with --admin-token to allow others)."
                : "admin endpoints need 'Authorization: Bearer <the server's --admin-token>'."));
            return;
        }
        var result = await state.ReloadAsync(m => LogLine(log, m));
        http.Response.StatusCode = result.Reloaded || result.Unchanged ? 200 : 422;
        http.Response.ContentType = "application/json; charset=utf-8";
        using (var w = new Utf8JsonWriter(http.Response.BodyWriter, ErrorJson))
        {
            w.WriteStartObject();
            w.WriteBoolean("reloaded", result.Reloaded);
            w.WriteString(result.Reloaded || result.Unchanged ? "message" : "error", result.Message);
            w.WriteNumber("seconds", Math.Round(result.Seconds, 4));
            w.WriteStartObject("serving");
            result.Serving.WriteIdentity(w);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        await http.Response.BodyWriter.FlushAsync(http.RequestAborted);
    }

    private static void LogLine(ILogger log, string line)
    {
        if (log.IsEnabled(LogLevel.Information))
        {
            log.LogInformation("{Line}", line);
        }
    }

    private static bool AdminAllowed(HttpContext http, string? token)
    {
        if (token is null)
        {
            // TestServer has no connection address: an in-process caller.
            return http.Connection.RemoteIpAddress is not { } ip || IPAddress.IsLoopback(ip);
        }
        var header = http.Request.Headers.Authorization.ToString();
        var given = header.StartsWith("Bearer ", StringComparison.Ordinal) ? header[7..].Trim() : "";
        return System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(
            System.Text.Encoding.UTF8.GetBytes(given), System.Text.Encoding.UTF8.GetBytes(token));
    }

    /// <summary>The body of <c>GET /v1/model</c>, built once per served model.</summary>
    internal static byte[] ModelJson(ServedModel served)
    {
        var scorer = served.Scorer;
        var bundle = scorer.Bundle;
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            served.WriteIdentity(w);
            w.WriteString("fsdnet_version", ModelBundle.CurrentFsdNetVersion);
            w.WriteString("source", bundle.IsBundleFile ? "bundle" : "run directory");
            w.WriteNumber("format_version", bundle.FileFormatVersion);
            if (bundle.FsdNetVersion is { } written)
            {
                w.WriteString("written_by_fsdnet", written);
            }
            else
            {
                w.WriteNull("written_by_fsdnet");
            }
            w.WriteNumber("parameters", bundle.Model.ParameterCount());
            if (scorer.HeadCount is { } heads)
            {
                w.WriteNumber("heads", heads);
            }
            else
            {
                w.WriteNull("heads");
            }
            w.WriteString("label", bundle.FeatureMap.LabelName);
            w.WriteStartArray("inputs");
            foreach (var input in scorer.Inputs)
            {
                w.WriteStartObject();
                w.WriteString("name", input.Name);
                w.WriteString("type", input.Type.ToString().ToLowerInvariant());
                w.WriteString("dtype", input.Dtype);
                if (input.Type == FeatureType.Sequence)
                {
                    w.WriteNumber("max_len", input.MaxLen);
                }
                w.WriteEndObject();
            }
            w.WriteEndArray();
            var metrics = bundle.TrainingMetrics;
            w.WritePropertyName("training_metrics");
            if (metrics.Test.Count == 0 && metrics.Valid.Count == 0 && metrics.BestEpoch is null)
            {
                w.WriteNullValue();
            }
            else
            {
                w.WriteStartObject();
                WriteMetrics(w, "test", metrics.Test);
                WriteMetrics(w, "valid", metrics.Valid);
                if (metrics.BestEpoch is { } epoch)
                {
                    w.WriteNumber("best_epoch", epoch);
                }
                w.WriteEndObject();
            }
            w.WriteString("config_yaml", bundle.ConfigYaml);
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteMetrics(Utf8JsonWriter w, string name, IReadOnlyDictionary<string, double> metrics)
    {
        if (metrics.Count == 0)
        {
            return;
        }
        w.WriteStartObject(name);
        foreach (var (k, v) in metrics)
        {
            if (double.IsFinite(v))
            {
                w.WriteNumber(k, v);
            }
        }
        w.WriteEndObject();
    }
}

/// <summary>
/// What every request shares: the options, the metrics, and the model being served (<see cref="Current"/>), which a
/// reload replaces in one reference write. A request reads it once and uses that model to its end, so in-flight
/// requests finish on the model they started with and no answer mixes two models.
/// </summary>
internal sealed class ServerState
{
    private readonly ModelSlot<ServedModel> slot;

    public ServerState(ServedModel served, ServerOptions options)
    {
        Options = options;
        slot = new ModelSlot<ServedModel>(served, m => m.Checksum);
        Metrics = new ServerMetrics(() => Current);
    }

    public ServedModel Current => slot.Current;

    public ServerOptions Options { get; }

    public ServerMetrics Metrics { get; }

    /// <summary>Where a reload reads the new model: <see cref="ServerOptions.ModelPath"/>, else the file the served one came from.</summary>
    public string ReloadPath => Options.ModelPath ?? Current.Scorer.Bundle.SourcePath;

    /// <summary>
    /// Loads the model at <see cref="ReloadPath"/> fully (checksums, the scorer with BatchNorm folded, a warm-up row
    /// that must score a finite probability) and only then swaps it in (<see cref="ModelSlot{T}"/>). Any failure
    /// leaves the served model as it was and is reported (result, log line, metric).
    /// </summary>
    public Task<ReloadResult> ReloadAsync(Action<string> log) => Task.Run(() => Reload(log));

    private ReloadResult Reload(Action<string> log)
    {
        var path = ReloadPath;
        var clock = Stopwatch.StartNew();
        var old = Current;
        var result = slot.Swap(() => ServedModel.Load(path, Options.MaxRows), (was, _) => Metrics.ModelChanging(was));
        var seconds = clock.Elapsed.TotalSeconds;
        switch (result.Kind)
        {
            case SwapKind.Failed:
                Metrics.Reloaded(ok: false);
                log($"reload of {path} failed, still serving {result.Serving.Describe()}: {result.Error}");
                return new ReloadResult(false, $"the model at {path} could not be loaded: {result.Error}", result.Serving, seconds);
            case SwapKind.Unchanged:
                return new ReloadResult(false, "unchanged: the file holds the model being served", result.Serving, seconds, Unchanged: true);
            default:
                Metrics.Reloaded(ok: true, result.Serving);
                log($"reloaded {path}: now serving {result.Serving.Describe()} (was {old.Describe()}) after {seconds:F2} s");
                return new ReloadResult(true, "reloaded", result.Serving, seconds);
        }
    }
}

/// <summary>The outcome of a reload: whether the new model serves now, why not, and the model that serves.</summary>
internal sealed record ReloadResult(bool Reloaded, string Message, ServedModel Serving, double Seconds, bool Unchanged = false);
