using FsdNet.Serving;
using Prometheus;

namespace FsdNet.Server;

/// <summary>
/// The server's Prometheus metrics, in a registry of its own (several servers in one process do not mix): requests
/// by endpoint and status, errors by kind, latency, rows scored, and the scorer's per-feature OOV and missing counts
/// (copied from <see cref="Scorer.Counts"/> at scrape time).
/// </summary>
internal sealed class ServerMetrics
{
    public const string Predict = "/v1/predict";

    public const string Reload = "/v1/admin/reload";

    private static readonly string[] Endpoints = [Predict, "/v1/model", "/healthz", "/metrics", Reload];

    private readonly Counter requests;
    private readonly Counter errors;
    private readonly Histogram latency;
    private readonly Counter rows;
    private readonly Gauge inFlight;
    private readonly Gauge modelInfo;
    private readonly Gauge loadedAt;
    private readonly Counter reloads;
    private readonly Dictionary<string, (long Oov, long Missing)> retired = new(StringComparer.Ordinal);
    private readonly Lock retiredLock = new();

    /// <param name="served">The model being served now (read at every scrape: a reload changes it).</param>
    public ServerMetrics(Func<ServedModel> served)
    {
        Registry = Prometheus.Metrics.NewCustomRegistry();
        var factory = Prometheus.Metrics.WithCustomRegistry(Registry);
        requests = factory.CreateCounter("fsdnet_http_requests_total", "HTTP requests by endpoint and status code.", "endpoint", "status");
        errors = factory.CreateCounter("fsdnet_http_errors_total", "Requests answered with an error, by endpoint and kind (bad_request, too_large, not_found, internal).", "endpoint", "kind");
        latency = factory.CreateHistogram("fsdnet_http_request_duration_seconds", "Time from request start to response end, by endpoint.",
            new HistogramConfiguration { LabelNames = ["endpoint"], Buckets = Histogram.ExponentialBuckets(0.00005, 2, 18) });
        rows = factory.CreateCounter("fsdnet_rows_scored_total", "Rows scored by POST /v1/predict.");
        inFlight = factory.CreateGauge("fsdnet_http_requests_in_flight", "Requests being handled now.");
        var oov = factory.CreateCounter("fsdnet_feature_oov_total", "Values scored as out-of-vocabulary (unseen in training), by feature.", "feature");
        var missing = factory.CreateCounter("fsdnet_feature_missing_total", "Values missing from a row (scored as the feature's fill value), by feature.", "feature");
        modelInfo = factory.CreateGauge("fsdnet_model_info", "The served model (always 1).", "model", "expid", "checksum");
        loadedAt = factory.CreateGauge("fsdnet_model_loaded_timestamp_seconds", "When the served model was loaded (Unix time).");
        reloads = factory.CreateCounter("fsdnet_model_reloads_total", "Model reloads, by result (ok: the new model serves; failed: the old one still does).", "result");
        reloads.WithLabels("ok");
        reloads.WithLabels("failed");
        Show(served());
        Registry.AddBeforeCollectCallback(() =>
        {
            // Counts of models served before a reload are kept, so the counters never go down.
            var now = served();
            lock (retiredLock)
            {
                foreach (var c in now.Scorer.Counts())
                {
                    var (o, m) = retired.GetValueOrDefault(c.Feature);
                    oov.WithLabels(c.Feature).IncTo(o + c.Oov);
                    missing.WithLabels(c.Feature).IncTo(m + c.Missing);
                }
            }
        });
    }

    private void Show(ServedModel m)
    {
        modelInfo.WithLabels(m.ModelName, m.ExpId, m.Checksum).Set(1);
        loadedAt.Set(m.LoadedAt.ToUnixTimeMilliseconds() / 1000.0);
    }

    /// <summary>Before <paramref name="old"/> is replaced: keep its feature counts and retire its info series.</summary>
    public void ModelChanging(ServedModel old)
    {
        lock (retiredLock)
        {
            foreach (var c in old.Scorer.Counts())
            {
                var (o, m) = retired.GetValueOrDefault(c.Feature);
                retired[c.Feature] = (o + c.Oov, m + c.Missing);
            }
        }
        modelInfo.RemoveLabelled(old.ModelName, old.ExpId, old.Checksum);
    }

    /// <summary>After a reload attempt (ok: the new model serves now, whose info series this shows).</summary>
    public void Reloaded(bool ok, ServedModel? now = null)
    {
        reloads.WithLabels(ok ? "ok" : "failed").Inc();
        if (now is not null)
        {
            Show(now);
        }
    }

    public CollectorRegistry Registry { get; }

    /// <summary>The endpoint label of a path: one of the served routes, else "other" (bounded label values).</summary>
    public static string EndpointOf(string? path)
    {
        foreach (var e in Endpoints)
        {
            if (string.Equals(path, e, StringComparison.Ordinal))
            {
                return e;
            }
        }
        return "other";
    }

    /// <summary>Requests being handled now.</summary>
    public double InFlight => inFlight.Value;

    public void Started() => inFlight.Inc();

    public void Finished(string endpoint, int status, double seconds)
    {
        inFlight.Dec();
        requests.WithLabels(endpoint, StatusText(status)).Inc();
        latency.WithLabels(endpoint).Observe(seconds);
        var kind = status switch
        {
            413 => "too_large",
            404 or 405 => "not_found",
            >= 400 and < 500 => "bad_request",
            >= 500 => "internal",
            _ => null,
        };
        if (kind is not null)
        {
            errors.WithLabels(endpoint, kind).Inc();
        }
    }

    public void RowsScored(int n) => rows.Inc(n);

    private static string StatusText(int status) => status switch
    {
        200 => "200",
        400 => "400",
        404 => "404",
        413 => "413",
        500 => "500",
        _ => status.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
