using System.CommandLine;
using FsdNet.Server;

namespace FsdNet.Cli;

/// <summary><c>fsdnet serve</c>: an HTTP scoring server (POST /v1/predict, GET /v1/model, /healthz, /metrics).</summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var defaults = new ServerOptions();
        var model = new Option<string>("--model") { Description = "Bundle file (.fsdb) or run directory written by `fsdnet train`.", Required = true };
        var port = new Option<int>("--port") { Description = "TCP port (0: any free port).", DefaultValueFactory = _ => defaults.Port };
        var host = new Option<string>("--host") { Description = "Address to listen on: an IP address, localhost, or * for every interface.", DefaultValueFactory = _ => defaults.Host };
        var maxRows = new Option<int>("--max-rows") { Description = "Most rows per request (more: 413).", DefaultValueFactory = _ => defaults.MaxRows };
        var maxBody = new Option<long>("--max-body-bytes") { Description = "Largest request body in bytes (more: 413).", DefaultValueFactory = _ => defaults.MaxBodyBytes };
        var threads = new Option<int?>("--threads") { Description = "Threads for the engine (default: all cores)." };
        var drain = new Option<double>("--shutdown-timeout") { Description = "Seconds a stopping server waits for in-flight requests.", DefaultValueFactory = _ => defaults.ShutdownTimeout.TotalSeconds };
        var watch = new Option<bool>("--watch") { Description = "Reload the model when its file changes (the bundle, or the run directory's model.fsdm); a model that fails to load leaves the old one serving." };
        var adminToken = new Option<string?>("--admin-token") { Description = "Secret for POST /v1/admin/reload (Authorization: Bearer <token>), which then answers on every interface; without it, loopback only. Also read from $FSDNET_ADMIN_TOKEN." };
        var cmd = new Command("serve", "Serve a trained model over HTTP; Ctrl+C or SIGTERM drains in-flight requests and exits.")
        {
            model, port, host, maxRows, maxBody, threads, drain, watch, adminToken,
        };
        cmd.SetAction(r => CliSupport.Guard(() =>
        {
            if (r.GetValue(threads) is { } t)
            {
                CliSupport.SetThreads(t);
            }
            var seconds = r.GetValue(drain);
            if (!double.IsFinite(seconds) || seconds < 0 || seconds > 3600)
            {
                throw new ArgumentException($"--shutdown-timeout must be in [0, 3600] seconds, got {seconds}.");
            }
            var options = new ServerOptions
            {
                ModelPath = r.GetValue(model),
                Port = r.GetValue(port),
                Host = r.GetValue(host)!,
                MaxRows = r.GetValue(maxRows),
                MaxBodyBytes = r.GetValue(maxBody),
                ShutdownTimeout = TimeSpan.FromSeconds(seconds),
                Watch = r.GetValue(watch),
                AdminToken = r.GetValue(adminToken) ?? (Environment.GetEnvironmentVariable("FSDNET_ADMIN_TOKEN") is { Length: > 0 } env ? env : null),
            };
            ServerApp.RunAsync(options).GetAwaiter().GetResult();
            return 0;
        }));
        return cmd;
    }
}
