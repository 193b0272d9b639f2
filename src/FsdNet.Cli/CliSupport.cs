using FsdNet.Data;
using FsdNet.Serving;
using FsdNet.Training;

namespace FsdNet.Cli;

/// <summary>Shared command-line plumbing: turning known failures into a clear message and an exit code.</summary>
internal static class CliSupport
{
    /// <summary>Exit code for bad input, config or files (the message says what to fix).</summary>
    public const int UserError = 2;

    /// <summary>Runs a command body; expected failures print one clear message to stderr instead of a stack trace.</summary>
    public static int Guard(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (Exception e) when (e is DataFormatException or DataConfigException or ConfigException or ModelFileException
                                       or FileNotFoundException or DirectoryNotFoundException or ArgumentException or NotSupportedException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return UserError;
        }
    }

    /// <summary>The data root to use, with a message saying what to put where when it is missing.</summary>
    public static string DataRoot(string? given, string dataset)
    {
        var root = given ?? DataPipeline.DefaultDataRoot();
        var folder = Path.Combine(root, dataset);
        if (!Directory.Exists(folder))
        {
            throw new DirectoryNotFoundException(
                $"the '{dataset}' data set is not at {Path.GetFullPath(folder)}. Put its files there " +
                $"(see docs/DATA.md; for Frappe: frappe.train.libfm.gz, frappe.validation.libfm.gz, frappe.test.libfm.gz), " +
                $"run `fsdnet data download {dataset}`, or pass --data-root <folder holding {dataset}/>.");
        }
        return root;
    }

    public static string Format(IReadOnlyDictionary<string, double> metrics) =>
        string.Join(" ", metrics.Select(kv => $"{kv.Key} {kv.Value.ToString("F6", System.Globalization.CultureInfo.InvariantCulture)}"));
}
