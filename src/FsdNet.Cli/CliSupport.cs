using System.Globalization;
using FsdNet.Data;
using FsdNet.Models;
using FsdNet.Serving;
using FsdNet.Tensors;
using FsdNet.Training;

namespace FsdNet.Cli;

/// <summary>Shared command-line plumbing: turning known failures into a clear message and an exit code.</summary>
internal static class CliSupport
{
    /// <summary>Exit code for bad input, config or files (the message says what to fix).</summary>
    public const int UserError = 2;

    /// <summary>Exit code for a failure FsdNet did not foresee (a bug: the message says what happened).</summary>
    public const int InternalError = 70;

    /// <summary>
    /// Runs a command body; every failure prints one <c>error:</c> line to stderr instead of a stack trace. Bad input,
    /// config, files and options exit with <see cref="UserError"/>; anything unforeseen exits with
    /// <see cref="InternalError"/> (set FSDNET_TRACE=1 to get its stack trace as well).
    /// </summary>
    public static int Guard(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (Exception e) when (IsUserError(e))
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return UserError;
        }
        catch (OutOfMemoryException)
        {
            Console.Error.WriteLine("error: out of memory: the model or data does not fit (check size keys such as embedding_dim, the *_hidden_units lists and batch_size).");
            return UserError;
        }
        catch (Exception e) when (Environment.GetEnvironmentVariable("FSDNET_TRACE") is not "1")
        {
            Console.Error.WriteLine($"error: internal error ({e.GetType().Name}): {e.Message} (please report it; FSDNET_TRACE=1 shows the stack trace)");
            return InternalError;
        }
    }

    /// <summary>Bad input, config, files or options (the message says what to fix), as opposed to a bug.</summary>
    public static bool IsUserError(Exception e) =>
        e is DataFormatException or DataConfigException or ConfigException or ModelFileException
            or FileNotFoundException or DirectoryNotFoundException or ArgumentException or NotSupportedException
            or UnauthorizedAccessException or HttpRequestException or IOException or Distributed.DistributedException
        || (e is InvalidOperationException && e.Message.StartsWith("Training diverged", StringComparison.Ordinal));

    /// <summary>
    /// Whether training shows the live progress bar: <c>bar</c> always, <c>plain</c> never, <c>auto</c> when standard
    /// output is a terminal that understands ANSI escapes (TERM set and not <c>dumb</c>) and no CI variable is set.
    /// Without ANSI Spectre.Console can only print bare "epoch 1/1: 4%" lines, so plain log lines are better there.
    /// Under <c>mpirun</c> (<c>OMPI_COMM_WORLD_SIZE</c> set) <c>auto</c> means plain: Open MPI hands every rank a
    /// pseudo-terminal and forwards it, so a rank cannot tell whether mpirun writes to a terminal or to a log file, and
    /// a live bar in a log file is thousands of redraws.
    /// </summary>
    public static bool UseProgressBar(string mode, bool outputRedirected, Func<string, string?> env) => mode switch
    {
        "bar" => true,
        "plain" => false,
        "auto" => !outputRedirected
                  && env("TERM") is { Length: > 0 } term && term != "dumb"
                  && env("CI") is null or "" or "false" or "0"
                  && string.IsNullOrEmpty(env("OMPI_COMM_WORLD_SIZE")),
        _ => throw new ArgumentException($"--progress must be auto, bar or plain, got '{mode}'."),
    };

    /// <summary>Applies <c>--threads</c>; it must be at least 1.</summary>
    public static void SetThreads(int threads)
    {
        if (threads < 1)
        {
            throw new ArgumentException($"--threads must be at least 1, got {threads}.");
        }
        Workers.ThreadCount = threads;
    }

    /// <inheritdoc cref="TrainingRun.CreateModel"/>
    public static CtrModel CreateModel(FeatureMap map, ModelConfig cfg, Func<CtrModel> create) => TrainingRun.CreateModel(map, cfg, create);

    public static string Format(IReadOnlyDictionary<string, double> metrics) =>
        string.Join(" ", metrics.Select(kv => $"{kv.Key} {kv.Value.ToString("F6", System.Globalization.CultureInfo.InvariantCulture)}"));
}
