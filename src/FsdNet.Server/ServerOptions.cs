using FsdNet.Serving;

namespace FsdNet.Server;

/// <summary>Settings of the HTTP scoring server (<see cref="ServerApp"/>).</summary>
public sealed record ServerOptions
{
    /// <summary>A bundle file or run directory to load (ignored when <see cref="Scorer"/> is given).</summary>
    public string? ModelPath { get; init; }

    /// <summary>An already loaded scorer to serve (tests, or hosts that build their own).</summary>
    public Scorer? Scorer { get; init; }

    /// <summary>Address Kestrel listens on (default loopback only).</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>TCP port (0: any free port; see <see cref="ServerApp.Urls"/>).</summary>
    public int Port { get; init; } = 8080;

    /// <summary>Most rows one <c>POST /v1/predict</c> may carry; more is answered 413.</summary>
    public int MaxRows { get; init; } = 10_000;

    /// <summary>Largest request body in bytes; more is answered 413.</summary>
    public long MaxBodyBytes { get; init; } = 1 << 20;

    /// <summary>How long a stopping server waits for in-flight requests before it cuts them off.</summary>
    public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// A secret that admin endpoints (<c>POST /v1/admin/reload</c>) require as <c>Authorization: Bearer &lt;token&gt;</c>;
    /// with it they answer on every interface the server listens on. Null: they answer on the loopback interface only.
    /// </summary>
    public string? AdminToken { get; init; }

    /// <summary>Reload the model when its file changes (the bundle file, or a run directory's model.fsdm).</summary>
    public bool Watch { get; init; }

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first setting out of range.</summary>
    public void Validate()
    {
        if (Scorer is null && string.IsNullOrWhiteSpace(ModelPath))
        {
            throw new ArgumentException("a model is required (--model <bundle or run dir>).");
        }
        if (Port is < 0 or > 65535)
        {
            throw new ArgumentException($"--port must be in [0, 65535], got {Port}.");
        }
        if (MaxRows < 1)
        {
            throw new ArgumentException($"--max-rows must be at least 1, got {MaxRows}.");
        }
        if (MaxBodyBytes < 16 || MaxBodyBytes > Array.MaxLength)
        {
            throw new ArgumentException($"--max-body-bytes must be in [16, {Array.MaxLength}], got {MaxBodyBytes}.");
        }
        if (ShutdownTimeout < TimeSpan.Zero)
        {
            throw new ArgumentException($"the shutdown timeout must not be negative, got {ShutdownTimeout}.");
        }
        if (AdminToken is { } token && (token.Length < 16 || token.Any(char.IsWhiteSpace)))
        {
            throw new ArgumentException("--admin-token must be at least 16 characters without spaces (it guards model reloads).");
        }
        var host = Host?.Trim() ?? "";
        if (host is not ("localhost" or "*" or "+") && !System.Net.IPAddress.TryParse(host.Trim('[', ']'), out _))
        {
            throw new ArgumentException($"--host must be an IP address, localhost or *, got '{Host}'.");
        }
    }
}
