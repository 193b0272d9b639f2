using System.Text.Json;
using FsdNet.Server;
using FsdNet.Serving;
using FsdNet.Tests.Data;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit;

namespace FsdNet.Tests.Server;

/// <summary>
/// A team's own ASP.NET Core service hosting the scorer: <c>AddFsdNetScorer</c> (the holder that swaps models),
/// <c>AddFsdNetScorerCheck</c> (health), and the watch that reloads a replaced bundle.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class HostingTests(ServerFixture f) : IDisposable
{
    private readonly TempDir tmp = new();

    public void Dispose() => tmp.Dispose();

    private static readonly Dictionary<string, object?> Row = new() { ["user"] = "u3", ["item"] = "i2", ["n"] = 4.5, ["s"] = "t1^t2" };

    private static async Task<WebApplication> Host(string model, bool watch)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        builder.Services.AddFsdNetScorer(o =>
        {
            o.ModelPath = model;
            o.Watch = watch;
        });
        builder.Services.AddHealthChecks().AddFsdNetScorerCheck();
        var app = builder.Build();
        app.MapHealthChecks("/health");
        app.MapGet("/score", (ScorerHolder holder) => holder.Scorer.Score(Row));
        await app.StartAsync();
        return app;
    }

    [Fact]
    public async Task The_holder_scores_reloads_and_reports_its_health()
    {
        var (a, b) = ModelFiles.Pair(f, tmp, -0.3f);
        var served = tmp.Sub("served.fsdb");
        ModelFiles.Deploy(a, served);
        await using var app = await Host(served, watch: false);
        using var client = app.GetTestClient();
        var holder = app.Services.GetRequiredService<ScorerHolder>();
        float Score() => JsonSerializer.Deserialize<float>(client.GetStringAsync("/score").GetAwaiter().GetResult());
        var scoreA = Scorer.Load(a).Score(Row);
        var scoreB = Scorer.Load(b).Score(Row);
        Assert.NotEqual(scoreA, scoreB);

        Assert.Equal(scoreA, Score());
        Assert.Equal("Healthy", await client.GetStringAsync("/health"));
        Assert.False(holder.Reload().Reloaded); // unchanged

        ModelFiles.Deploy(b, served);
        Assert.True(holder.Reload().Reloaded);
        Assert.Equal(scoreB, Score());

        File.WriteAllBytes(served, [.. File.ReadAllBytes(b).Take(1000)]);
        var outcome = holder.Reload();
        Assert.False(outcome.Reloaded);
        Assert.Contains("could not be loaded", outcome.Message, StringComparison.Ordinal);
        Assert.Equal(scoreB, Score()); // the old model still serves
        using var health = await client.GetAsync("/health");
        Assert.Equal("Degraded", await health.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task The_watch_reloads_a_replaced_bundle()
    {
        var (a, b) = ModelFiles.Pair(f, tmp, -0.3f);
        var served = tmp.Sub("watched.fsdb");
        ModelFiles.Deploy(a, served);
        await using var app = await Host(served, watch: true);
        var holder = app.Services.GetRequiredService<ScorerHolder>();
        var before = holder.Checksum;
        ModelFiles.Deploy(b, served);
        for (var i = 0; i < 200 && holder.Checksum == before; i++)
        {
            await Task.Delay(50);
        }
        Assert.Equal(ScorerHolder.FileChecksum(b), holder.Checksum);
        Assert.Equal(Scorer.Load(b).Score(Row), holder.Scorer.Score(Row));
    }
}
