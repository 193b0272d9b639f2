using System.Diagnostics;
using FsdNet.Cli;

namespace FsdNet.Tests.Support;

/// <summary>
/// Runs the <c>fsdnet</c> command in-process and captures what it prints (use from the Threading collection), or any
/// program as a process of its own.
/// </summary>
public static class CliRunner
{
    /// <summary>The built <c>fsdnet</c> command, to run as <c>dotnet CliDll ...</c> in a process of its own.</summary>
    public static string CliDll { get; } = Path.Combine(AppContext.BaseDirectory, "FsdNet.Cli.dll");

    /// <summary>Runs <paramref name="file"/> with <paramref name="args"/> as its own process to the end; its exit code and output.</summary>
    public static async Task<(int Code, string Out, string Err)> RunProcessAsync(
        string file, IEnumerable<string> args, string? workingDirectory = null, IReadOnlyDictionary<string, string>? environment = null, TimeSpan? timeout = null)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        if (workingDirectory is not null)
        {
            start.WorkingDirectory = workingDirectory;
        }
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }
        using var process = Process.Start(start)!;
        var err = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEndAsync();
        using var limit = new CancellationTokenSource(timeout ?? Timeout.InfiniteTimeSpan);
        try
        {
            await process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not end within {timeout}: {await output}{await err}");
        }
        return (process.ExitCode, await output, await err);
    }

    public static (int Code, string Out, string Err) Run(params string[] args)
    {
        var (oldOut, oldErr) = (Console.Out, Console.Error);
        var (o, e) = (new StringWriter(), new StringWriter());
        Console.SetOut(o);
        Console.SetError(e);
        try
        {
            var code = Commands.Root().Parse(args).Invoke();
            return (code, o.ToString(), e.ToString());
        }
        finally
        {
            Console.SetOut(oldOut);
            Console.SetError(oldErr);
        }
    }
}
