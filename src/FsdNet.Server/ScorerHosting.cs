using System.Security.Cryptography;
using FsdNet.Serving;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace FsdNet.Server;

/// <summary>Settings of <see cref="FsdNetHosting.AddFsdNetScorer"/>.</summary>
public sealed class FsdNetScorerOptions
{
    /// <summary>The bundle file (.fsdb) or run directory to score with.</summary>
    public string? ModelPath { get; set; }

    /// <summary>How the scorer is built (BatchNorm folding).</summary>
    public ScorerOptions Scorer { get; set; } = new();

    /// <summary>Reload the model when its file changes (as <c>fsdnet serve --watch</c>).</summary>
    public bool Watch { get; set; }
}

/// <summary>The outcome of <see cref="ScorerHolder.Reload"/>: whether the new model scores now, and why not.</summary>
public sealed record ReloadOutcome(bool Reloaded, string Message);

/// <summary>
/// The model a service scores with, for hosts that put the <see cref="Scorer"/> in their own ASP.NET Core service
/// (<see cref="FsdNetHosting.AddFsdNetScorer"/>). <see cref="Scorer"/> always returns a fully loaded, warmed-up model;
/// <see cref="Reload"/> loads the file again and swaps the new model in with one reference write, or leaves the old
/// one in place when the new one cannot serve. Read <see cref="Scorer"/> once per request.
/// </summary>
public sealed class ScorerHolder
{
    private readonly ModelSlot<Loaded> slot;

    /// <summary>Loads <paramref name="path"/> (throws when it cannot serve: nothing to hold yet).</summary>
    public ScorerHolder(string path, ScorerOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        Path = path;
        Options = options ?? new ScorerOptions();
        slot = new ModelSlot<Loaded>(Load(path, Options), m => m.Checksum);
    }

    /// <summary>Where the model is loaded from (and reloaded).</summary>
    public string Path { get; }

    public ScorerOptions Options { get; }

    /// <summary>The model to score with now.</summary>
    public Scorer Scorer => slot.Current.Scorer;

    /// <summary>SHA-256 (hex) of the file the current model came from.</summary>
    public string Checksum => slot.Current.Checksum;

    public DateTimeOffset LoadedAt => slot.Current.LoadedAt;

    /// <summary>Why the last reload failed (the old model kept serving); null after a successful one.</summary>
    public string? LastReloadError { get; private set; }

    /// <summary>Loads <see cref="Path"/> again; swaps it in when it serves and differs from the current file.</summary>
    public ReloadOutcome Reload()
    {
        var result = slot.Swap(() => Load(Path, Options));
        LastReloadError = result.Error;
        return result.Kind switch
        {
            SwapKind.Failed => new ReloadOutcome(false, $"the model at {Path} could not be loaded: {result.Error}"),
            SwapKind.Unchanged => new ReloadOutcome(false, "unchanged: the file holds the model being served"),
            _ => new ReloadOutcome(true, "reloaded"),
        };
    }

    /// <summary>A scorer that can serve: the bundle's checksums, the scorer, and a warm-up row of missing values scoring a finite probability.</summary>
    internal static Loaded Load(string path, ScorerOptions options)
    {
        var scorer = Serving.Scorer.Create(ModelBundle.Load(path), options);
        var batch = scorer.CreateBatch(1);
        batch.AddRow();
        var p = new float[1];
        try
        {
            scorer.Score(batch, p);
        }
        catch (ScoringException e)
        {
            throw new ReloadException($"its warm-up row (every value missing) cannot be scored: {e.Message}");
        }
        if (!float.IsFinite(p[0]))
        {
            throw new ReloadException("its warm-up row (every value missing) scores no finite probability.");
        }
        return new Loaded(scorer, FileChecksum(scorer.Bundle.SourcePath), DateTimeOffset.UtcNow);
    }

    /// <summary>A model that can serve, and which file it came from (swapped as one reference).</summary>
    internal sealed record Loaded(Scorer Scorer, string Checksum, DateTimeOffset LoadedAt);

    internal static string FileChecksum(string path)
    {
        if (!File.Exists(path))
        {
            return "";
        }
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}

/// <summary>ASP.NET Core registration of an FsdNet scorer, its file watch and its health check.</summary>
public static class FsdNetHosting
{
    /// <summary>
    /// Registers a <see cref="ScorerHolder"/> singleton (loaded when first resolved) and, with
    /// <see cref="FsdNetScorerOptions.Watch"/>, a hosted service that reloads it when the model file changes.
    /// </summary>
    public static IServiceCollection AddFsdNetScorer(this IServiceCollection services, Action<FsdNetScorerOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        var options = new FsdNetScorerOptions();
        configure(options);
        if (string.IsNullOrWhiteSpace(options.ModelPath))
        {
            throw new ArgumentException("AddFsdNetScorer: set ModelPath (a bundle file or a run directory).");
        }
        services.AddSingleton(_ => new ScorerHolder(options.ModelPath, options.Scorer));
        if (options.Watch)
        {
            services.AddHostedService(sp => new ScorerWatch(sp.GetRequiredService<ScorerHolder>(), sp.GetRequiredService<ILoggerFactory>().CreateLogger("FsdNet.Scorer")));
        }
        return services;
    }

    /// <summary>
    /// A health check named <paramref name="name"/>: Healthy while the model serves; Degraded after a failed reload
    /// (the old model still serves), with the reason.
    /// </summary>
    public static IHealthChecksBuilder AddFsdNetScorerCheck(this IHealthChecksBuilder builder, string name = "fsdnet") =>
        builder.Add(new HealthCheckRegistration(name, sp => new ScorerHealthCheck(sp.GetRequiredService<ScorerHolder>()), null, null));

    private sealed class ScorerHealthCheck(ScorerHolder holder) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            var data = new Dictionary<string, object>
            {
                ["model"] = holder.Scorer.Bundle.Model.ModelName,
                ["checksum"] = holder.Checksum,
                ["loaded_at"] = holder.LoadedAt,
            };
            return Task.FromResult(holder.LastReloadError is { } error
                ? HealthCheckResult.Degraded($"serving the previous model: the last reload failed: {error}", data: data)
                : HealthCheckResult.Healthy($"serving {holder.Scorer.Bundle.Model.ModelName}", data));
        }
    }

    private sealed class ScorerWatch(ScorerHolder holder, ILogger log) : IHostedService, IDisposable
    {
        private ModelWatcher? watcher;

        public Task StartAsync(CancellationToken cancellationToken)
        {
            watcher = new ModelWatcher(holder.Path, () => Task.Run(() =>
            {
                var outcome = holder.Reload();
                if (log.IsEnabled(LogLevel.Information))
                {
                    log.LogInformation("{Path}: {Outcome}", holder.Path, outcome.Message);
                }
            }), line =>
            {
                if (log.IsEnabled(LogLevel.Warning))
                {
                    log.LogWarning("{Line}", line);
                }
            });
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken)
        {
            Dispose();
            return Task.CompletedTask;
        }

        public void Dispose()
        {
            watcher?.Dispose();
            watcher = null;
        }
    }
}
