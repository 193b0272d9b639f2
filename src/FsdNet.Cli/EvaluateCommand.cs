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
            foreach (var n in names)
            {
                if (!TrainingMetrics.Known.Contains(n))
                {
                    throw new ArgumentException($"unknown metric '{n}'; known: {string.Join(", ", TrainingMetrics.Known)}.");
                }
            }
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
        var input = new Option<string>("--input") { Description = "Data file in the training format (gzip allowed).", Required = true };
        var output = new Option<string>("--output") { Description = "CSV to write: one click probability per input row, in input order.", Required = true };
        var threads = new Option<int?>("--threads") { Description = "Threads for the engine (default: all cores)." };
        var cmd = new Command("predict", "Write click probabilities for every row of a data file.") { model, input, output, threads };
        cmd.SetAction(r => CliSupport.Guard(() =>
        {
            var (predictions, _, _) = Score(r.GetValue(model)!, r.GetValue(input)!, r.GetValue(threads));
            var path = r.GetValue(output)!;
            var tmp = path + ".tmp";
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

    /// <summary>Encodes a raw file with the run's feature map (unseen values go to OOV) and predicts every row.</summary>
    private static (float[] Predictions, float[] Labels, long[]? Groups) Score(string runDir, string dataPath, int? threads)
    {
        if (threads is { } t)
        {
            Workers.ThreadCount = t;
        }
        var bundle = ModelBundle.Load(runDir);
        var cacheDir = Path.Combine(Path.GetTempPath(), "fsdnet-eval-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(cacheDir);
        try
        {
            var (encoded, bad) = DataPipeline.Encode(bundle.FeatureMap, dataPath, Path.Combine(cacheDir, "data.fsdcache"));
            using (encoded)
            {
                if (bad.Dropped > 0)
                {
                    Console.Error.WriteLine($"skipped {bad.Dropped} bad lines");
                }
                var batchSize = bundle.Config.GetInt("batch_size", 10000);
                return Predictor.PredictAll(bundle.Model, new Graph(), encoded, batchSize);
            }
        }
        finally
        {
            Directory.Delete(cacheDir, recursive: true);
        }
    }
}
