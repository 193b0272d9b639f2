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
            var (files, download) = dataset switch
            {
                "frappe" => ("frappe.train.libfm.gz, frappe.validation.libfm.gz, frappe.test.libfm.gz",
                             "`fsdnet data download frappe_x1` fetches the same split as CSV (then train with --dataset frappe_x1)"),
                "frappe_x1" => ("train.csv, valid.csv, test.csv", "`fsdnet data download frappe_x1` fetches them"),
                "ml-1m" => ("FuxiCTR's train.csv, valid.csv, test.csv, or GroupLens's ratings.dat and users.dat",
                            "`fsdnet data download movielens1m` fetches GroupLens's files (move them to ml-1m/)"),
                "ml-tag" => ("MovielensLatest_x1's train.csv, valid.csv, test.csv", "see docs/DATA.md for where to get them"),
                "criteo" => ("Criteo_x4's train.txt, valid.txt, test.txt (raw TSV)", "see docs/DATA.md for where to get them"),
                _ => ("its files", "see docs/DATA.md"),
            };
            throw new DirectoryNotFoundException(
                $"the '{dataset}' data set is not at {Path.GetFullPath(folder)}. Put {files} there, or pass " +
                $"--data-root <folder holding {dataset}/>; {download}.");
        }
        return root;
    }

    public static string Format(IReadOnlyDictionary<string, double> metrics) =>
        string.Join(" ", metrics.Select(kv => $"{kv.Key} {kv.Value.ToString("F6", System.Globalization.CultureInfo.InvariantCulture)}"));
}
