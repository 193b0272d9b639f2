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
        catch (Exception e) when (e is DataFormatException or DataConfigException or ConfigException or ModelFileException
                                       or FileNotFoundException or DirectoryNotFoundException or ArgumentException or NotSupportedException
                                       or UnauthorizedAccessException or HttpRequestException or IOException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return UserError;
        }
        catch (InvalidOperationException e) when (e.Message.StartsWith("Training diverged", StringComparison.Ordinal))
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

    /// <summary>
    /// Whether training shows the live progress bar: <c>bar</c> always, <c>plain</c> never, <c>auto</c> when standard
    /// output is a terminal that understands ANSI escapes (TERM set and not <c>dumb</c>) and no CI variable is set.
    /// Without ANSI Spectre.Console can only print bare "epoch 1/1: 4%" lines, so plain log lines are better there.
    /// </summary>
    public static bool UseProgressBar(string mode, bool outputRedirected, Func<string, string?> env) => mode switch
    {
        "bar" => true,
        "plain" => false,
        "auto" => !outputRedirected
                  && env("TERM") is { Length: > 0 } term && term != "dumb"
                  && env("CI") is null or "" or "false" or "0",
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

    /// <summary>
    /// Builds the model; running out of memory or overflowing a size while doing so becomes a <see cref="ConfigException"/>
    /// naming the size key that asks for the most memory (embedding_dim x vocabulary, or a hidden-unit list).
    /// </summary>
    public static CtrModel CreateModel(FeatureMap map, ModelConfig cfg, Func<CtrModel> create)
    {
        try
        {
            return create();
        }
        catch (Exception e) when (e is OutOfMemoryException or OverflowException or InsufficientExecutionStackException)
        {
            var what = e is OverflowException ? "a tensor size overflows" : "it does not fit in memory";
            throw new ConfigException($"{cfg.Source} [{cfg.ExpId}]: the model cannot be built: {what}. {LikelySizeKey(map, cfg)}");
        }
    }

    /// <summary>The size keys behind the largest estimated tensor, in words.</summary>
    internal static string LikelySizeKey(FeatureMap map, ModelConfig cfg)
    {
        var inv = CultureInfo.InvariantCulture;
        var candidates = new List<(string Keys, double Values, string Text)>();
        try
        {
            var dim = cfg.GetDouble("embedding_dim", 10);
            var input = dim * map.NumFields;
            var width = string.Create(inv, $"{map.NumFields} fields x embedding_dim {dim:G}");
            candidates.Add(("'embedding_dim'", dim * map.TotalFeatures,
                string.Create(inv, $"the embedding tables: {map.TotalFeatures:N0} features x embedding_dim {dim:G} = {dim * map.TotalFeatures:G3} values")));
            foreach (var key in cfg.Keys.Where(k => k.EndsWith("hidden_units", StringComparison.Ordinal)))
            {
                var units = cfg.GetIntList(key, []);
                for (var i = 0; i < units.Count; i++)
                {
                    var fanIn = i == 0 ? input : units[i - 1];
                    candidates.Add((i == 0 ? $"'embedding_dim' and '{key}'" : $"'{key}'", fanIn * units[i],
                        string.Create(inv, $"{key} layer {i + 1}: {(i == 0 ? $"({width})" : units[i - 1].ToString(inv))} x {units[i]} = {fanIn * units[i]:G3} values")));
                }
            }
            if (cfg.Has("num_cross_layers"))
            {
                var layers = cfg.GetDouble("num_cross_layers", 0);
                candidates.Add(("'embedding_dim' and 'num_cross_layers'", layers * input * input,
                    string.Create(inv, $"the cross layers: num_cross_layers {layers:G} x ({width})^2 = {layers * input * input:G3} values")));
            }
        }
        catch (ConfigException e)
        {
            return e.Message;
        }
        var top = candidates.MaxBy(c => c.Values);
        return $"The largest part is {top.Text}; lower {top.Keys}.";
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
