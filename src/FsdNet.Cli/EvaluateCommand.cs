using System.CommandLine;
using System.Globalization;
using FsdNet.Autodiff;
using FsdNet.Data;
using FsdNet.Serving;
using FsdNet.Tensors;
using FsdNet.Training;

namespace FsdNet.Cli;

/// <summary><c>fsdnet evaluate</c> and <c>fsdnet predict</c>: a saved run applied to a data file.</summary>
internal static class EvaluateCommand
{
    public static Command CreateEvaluate()
    {
        var model = new Option<string>("--model") { Description = "Run directory written by `fsdnet train`.", Required = true };
        var data = new Option<string>("--data") { Description = "Labelled data file in the training format (gzip allowed).", Required = true };
        var metrics = new Option<string>("--metrics") { Description = "Comma-separated metrics.", DefaultValueFactory = _ => "AUC,logloss" };
        var threads = new Option<int?>("--threads") { Description = "Threads for the engine (default: all cores)." };
        var cmd = new Command("evaluate", "Evaluate a trained model on a labelled data file.") { model, data, metrics, threads };
        cmd.SetAction(r => CliSupport.Guard(() =>
        {
            var names = r.GetValue(metrics)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            TrainingMetrics.Check(names);
            var (predictions, labels, groups) = Score(r.GetValue(model)!, r.GetValue(data)!, r.GetValue(threads));
            var result = TrainingMetrics.Compute(names, labels, predictions, groups);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"rows {predictions.Length} ") + CliSupport.Format(result));
            return 0;
        }));
        return cmd;
    }

    public static Command CreatePredict()
    {
        var model = new Option<string>("--model") { Description = "Run directory written by `fsdnet train`.", Required = true };
        var input = new Option<string>("--input") { Description = "Data file in the training format (gzip allowed); the label column/token may be absent or empty.", Required = true };
        var output = new Option<string>("--output") { Description = "CSV to write: one click probability per input row, in input order.", Required = true };
        var threads = new Option<int?>("--threads") { Description = "Threads for the engine (default: all cores)." };
        var cmd = new Command("predict", "Write click probabilities for every row of a data file.") { model, input, output, threads };
        cmd.SetAction(r => CliSupport.Guard(() =>
        {
            var path = r.GetValue(output)!;
            CheckOutput(path, r.GetValue(input)!, r.GetValue(model)!);
            var (predictions, _, _) = Score(r.GetValue(model)!, r.GetValue(input)!, r.GetValue(threads), labelOptional: true);
            var tmp = $"{path}.{Environment.ProcessId}.tmp";
            using (var w = new StreamWriter(tmp))
            {
                w.WriteLine("probability");
                foreach (var p in predictions)
                {
                    w.WriteLine(p.ToString("R", CultureInfo.InvariantCulture));
                }
            }
            File.Move(tmp, path, overwrite: true);
            Console.Error.WriteLine($"wrote {predictions.Length} predictions to {path}");
            return 0;
        }));
        return cmd;
    }

    /// <summary>
    /// Refuses an <c>--output</c> that would destroy something: the input itself, a directory, or an existing file of
    /// the model's run directory (model.fsdm, feature_map.json, ...); its folder must exist.
    /// </summary>
    internal static void CheckOutput(string output, string input, string model)
    {
        var full = RealPath(output);
        if (Directory.Exists(full))
        {
            throw new ArgumentException($"--output {output} is a directory; give a file name such as {Path.Combine(output, "predictions.csv")}.");
        }
        if (File.Exists(input) && full == RealPath(input))
        {
            throw new ArgumentException($"--output {output} is the --input file; predictions would overwrite the data they are computed from.");
        }
        var runDir = Directory.Exists(model) ? RealPath(model) : Path.GetDirectoryName(RealPath(model));
        if (runDir is not null && File.Exists(full) && Path.GetDirectoryName(full) == runDir)
        {
            throw new ArgumentException($"--output {output} is a file of the model's run directory {runDir} ({Path.GetFileName(full)}); " +
                                        "write the predictions to a new file.");
        }
        var parent = Path.GetDirectoryName(full);
        if (parent is not null && !Directory.Exists(parent))
        {
            throw new ArgumentException($"--output {output}: the folder {parent} does not exist.");
        }
    }

    /// <summary>The absolute path with symbolic links (of the file itself) resolved.</summary>
    private static string RealPath(string path)
    {
        var full = Path.GetFullPath(path);
        try
        {
            if (new FileInfo(full).ResolveLinkTarget(returnFinalTarget: true) is { } target)
            {
                return Path.GetFullPath(target.FullName);
            }
        }
        catch (IOException)
        {
        }
        return Path.TrimEndingDirectorySeparator(full);
    }

    /// <summary>Encodes a raw file with the run's feature map (unseen values go to OOV) and predicts every row (ModelBundle).</summary>
    private static (float[] Predictions, float[] Labels, long[]? Groups) Score(string runDir, string dataPath, int? threads, bool labelOptional = false)
    {
        if (threads is { } t)
        {
            CliSupport.SetThreads(t);
        }
        var (predictions, labels, groups, skipped) = ModelBundle.Load(runDir).ScoreFile(dataPath, new DataOptions { Log = Console.Error.WriteLine }, labelOptional);
        if (skipped > 0)
        {
            Console.Error.WriteLine($"skipped {skipped} bad lines");
        }
        return (predictions, labels, groups);
    }
}
