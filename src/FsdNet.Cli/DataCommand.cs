using System.CommandLine;
using FsdNet.Data;

namespace FsdNet.Cli;

/// <summary><c>fsdnet data inspect|download</c>.</summary>
internal static class DataCommand
{
    public static Command Create()
    {
        var data = new Command("data", "Inspect and download data sets (encoding, vocabularies, binary cache).");
        data.Subcommands.Add(Inspect());
        data.Subcommands.Add(Download());
        return data;
    }

    /// <summary>Options shared by commands that load a dataset.</summary>
    internal sealed class DatasetOptions
    {
        public Option<string?> Dataset { get; } = new("--dataset") { Description = "Built-in preset: " + string.Join(", ", DatasetConfigLoader.Presets) };
        public Option<string?> Config { get; } = new("--config") { Description = "FuxiCTR dataset_config.yaml, or a folder holding it" };
        public Option<string?> DatasetId { get; } = new("--dataset-id") { Description = "Dataset id inside the config file" };
        public Option<string?> DataRoot { get; } = new("--data-root") { Description = "Data root (default: $FSDNET_DATA or ../shared/data)" };
        public Option<string?> CacheDir { get; } = new("--cache-dir") { Description = "Cache folder (default: $XDG_CACHE_HOME/fsdnet or ~/.cache/fsdnet, else ./cache; the data root is never written)" };

        public Option<string> OnBadLine { get; } = new("--on-bad-line")
        {
            Description = "error (default): stop at the first bad line; skip: drop bad lines and report them",
            DefaultValueFactory = _ => "error",
        };

        public Option<bool> Rebuild { get; } = new("--rebuild") { Description = "Ignore existing caches" };

        public DatasetOptions()
        {
            OnBadLine.AcceptOnlyFromAmong("error", "skip");
        }

        public void AddTo(Command c)
        {
            foreach (var o in new Option[] { Dataset, Config, DatasetId, DataRoot, CacheDir, OnBadLine, Rebuild })
            {
                c.Options.Add(o);
            }
        }

        public PreparedData Prepare(ParseResult r, Action<string> log)
        {
            var root = r.GetValue(DataRoot);
            DatasetConfig cfg;
            if (r.GetValue(Config) is { } config)
            {
                cfg = DatasetConfigLoader.Load(config, r.GetValue(DatasetId));
                if (root is not null)
                {
                    cfg.DataRoot = root;
                }
            }
            else if (r.GetValue(Dataset) is { } preset)
            {
                cfg = DatasetConfigLoader.Preset(preset, root ?? DataPipeline.DefaultDataRoot());
            }
            else
            {
                throw new DataConfigException("give --dataset <preset> or --config <file|dir> [--dataset-id <id>]");
            }
            return DataPipeline.Prepare(cfg, new DataOptions
            {
                CacheDir = r.GetValue(CacheDir),
                OnBadLine = r.GetValue(OnBadLine) == "skip" ? FsdNet.Data.OnBadLine.Skip : FsdNet.Data.OnBadLine.Error,
                Rebuild = r.GetValue(Rebuild),
                Log = log,
            });
        }
    }

    private static Command Inspect()
    {
        var cmd = new Command("inspect", "Print rows per split and the vocabulary size of every field.");
        var opts = new DatasetOptions();
        opts.AddTo(cmd);
        cmd.SetAction(r => Run(() =>
        {
            using var data = opts.Prepare(r, m => Console.Error.WriteLine(m));
            Console.Write(DataReport.Describe(data));
        }));
        return cmd;
    }

    private static Command Download()
    {
        var cmd = new Command("download", "Fetch a public data set, verify its checksum and unpack it where the presets look.");
        var name = new Argument<string>("name") { Description = "One of: " + string.Join(", ", DataDownloader.Known.Select(k => k.Name)) };
        var root = new Option<string?>("--data-root") { Description = "Where to unpack (default: $FSDNET_DATA or ../shared/data)" };
        var sha = new Option<string?>("--sha256") { Description = "Expected sha256 of the archive (required when none is pinned)" };
        var archive = new Option<string?>("--archive") { Description = "Use an already downloaded archive instead of fetching" };
        cmd.Arguments.Add(name);
        cmd.Options.Add(root);
        cmd.Options.Add(sha);
        cmd.Options.Add(archive);
        cmd.SetAction(r => Run(() =>
        {
            var dataRoot = r.GetValue(root) ?? DataPipeline.DefaultDataRoot();
            var spec = DataDownloader.Find(r.GetValue(name)!);
            var target = r.GetValue(archive) is { } a
                ? DataDownloader.VerifyAndUnpack(a, spec, dataRoot, r.GetValue(sha), Console.Error.WriteLine)
                : DataDownloader.DownloadAsync(spec.Name, dataRoot, r.GetValue(sha), null, Console.Error.WriteLine).GetAwaiter().GetResult();
            Console.WriteLine($"{spec.Name}: {target}");
            if (spec.Notes is not null)
            {
                Console.WriteLine(spec.Notes);
            }
        }));
        return cmd;
    }

    private static int Run(Action action) => CliSupport.Guard(() =>
    {
        action();
        return 0;
    });
}
