using System.Globalization;
using System.Text;
using System.Text.Json;
using FsdNet.Autodiff;
using FsdNet.Data;
using FsdNet.Models;
using FsdNet.Serving;
using FsdNet.Tensors;
using FsdNet.Tests.Data;
using FsdNet.Training;

namespace FsdNet.Tests.Serving;

/// <summary>
/// A small CSV data set with every raw value kind the scorer encodes (string and number-typed categoricals with
/// convert_to_bucket, a normalised numeric with fill_na, sequences with pre and post padding and a copy_from), a
/// test split with unseen tokens and missing values, and a tiny FSDNet with BatchNorm trained a few steps on it,
/// saved as a run directory (model, feature map, test metrics, checkpoint).
/// </summary>
public sealed class ServingToy : IDisposable
{
    public const string DatasetYaml = """
        toy:
          train_data: train.csv
          valid_data: valid.csv
          test_data: test.csv
          min_categr_count: 1
          feature_cols:
            - {name: u, type: categorical}
            - {name: b, type: categorical, dtype: float, fill_na: 0, preprocess: convert_to_bucket}
            - {name: n, type: numeric, normalizer: StandardScaler, fill_na: 1.5}
            - {name: s, type: sequence, splitter: ^, max_len: 3, padding: pre}
            - {name: t, type: sequence, splitter: ^, max_len: 2, preprocess: copy_from(s)}
          label_col: {name: label}
        """;

    public const string ModelYaml = """
        exp:
            model: FSDNet
            dataset_id: toy
            epochs: 1
            batch_size: 32
            learning_rate: 1.e-2
            embedding_dim: 4
            parallel_dnn_hidden_units: [8, 8, 8]
            num_cross_layers: 3
            net_dropout: 0.1
            batch_norm: True
            seed: 7
            monitor: {AUC: 1, logloss: -1}
            monitor_mode: max
        """;

    private readonly TempDir tmp = new();

    public ServingToy(string modelYaml = ModelYaml)
    {
        tmp.File("train.csv", Rows(600, 1, unseen: false));
        tmp.File("valid.csv", Rows(150, 2, unseen: false));
        tmp.File("test.csv", Rows(200, 3, unseen: true));
        Data = Helpers.PrepareYaml(tmp, DatasetYaml);
        Config = ModelConfig.Parse(modelYaml, "model_config.yaml", "exp");
        var options = TrainerOptions.From(Config);
        Model = ModelRegistry.Create(ModelInputs.Schema(Data.FeatureMap, Config), Config, new Rng((ulong)options.Seed));
        RunDir = tmp.Sub("run");
        Directory.CreateDirectory(RunDir);
        var trainer = new Trainer(Model, options);
        trainer.Fit(Data.Train, Data.Valid!, Path.Combine(RunDir, "checkpoint.fsdc"));
        ModelBundle.Save(RunDir, Model, Data.FeatureMap, Config);
        var test = trainer.Evaluate(Data.Test!, ["AUC", "logloss"]);
        File.WriteAllText(Path.Combine(RunDir, TrainingRun.TestMetricsFile), JsonSerializer.Serialize(test, Trainer.Json));
        TestMetrics = test;
    }

    internal PreparedData Data { get; }

    public ModelConfig Config { get; }

    internal FsdNet.Models.CtrModel Model { get; }

    public string RunDir { get; }

    public IReadOnlyDictionary<string, double> TestMetrics { get; }

    public string TestCsv => tmp.Sub("test.csv");

    public string TrainCsv => tmp.Sub("train.csv");

    public string Sub(string name) => tmp.Sub(name);

    /// <summary>The test split's raw rows: column name to text, as in the file ("" = missing).</summary>
    public List<Dictionary<string, string>> TestRows() => ReadCsv(TestCsv);

    /// <summary>What Predictor.PredictAll gives over the test split encoded by the data pipeline.</summary>
    internal float[] PipelinePredictions(FsdNet.Models.CtrModel model) =>
        Predictor.PredictAll(model, new Graph(), Data.Test!, 64).Predictions;

    public static List<Dictionary<string, string>> ReadCsv(string path)
    {
        var lines = File.ReadAllLines(path);
        var header = lines[0].Split(',');
        return [.. lines.Skip(1).Select(l =>
        {
            var cols = l.Split(',');
            return header.Select((h, i) => (h, cols[i])).ToDictionary(t => t.h, t => t.Item2, StringComparer.Ordinal);
        })];
    }

    /// <summary>Fills a batch from raw text rows (every column, label included: the scorer ignores it).</summary>
    public static void Fill(RowBatch batch, IEnumerable<Dictionary<string, string>> rows)
    {
        batch.Clear();
        foreach (var row in rows)
        {
            var r = batch.AddRow();
            foreach (var (k, v) in row)
            {
                batch.Set(r, k, v);
            }
        }
    }

    /// <summary>Scores raw rows in batches of <paramref name="batchSize"/>.</summary>
    public static float[] ScoreAll(Scorer scorer, List<Dictionary<string, string>> rows, int batchSize = 50, int? head = null)
    {
        var batch = scorer.CreateBatch(batchSize);
        var result = new float[rows.Count];
        for (var start = 0; start < rows.Count; start += batchSize)
        {
            var chunk = rows.Skip(start).Take(batchSize).ToList();
            Fill(batch, chunk);
            scorer.Score(batch, result.AsSpan(start, chunk.Count), head);
        }
        return result;
    }

    private static string Rows(int n, int seed, bool unseen)
    {
        var rng = new Random(seed);
        var sb = new StringBuilder("label,u,b,n,s\n");
        for (var i = 0; i < n; i++)
        {
            var u = rng.Next(8);
            var uText = unseen && rng.Next(6) == 0 ? $"new{rng.Next(3)}" : rng.Next(12) == 0 ? "" : $"u{u}";
            var b = rng.Next(10) == 0 ? "" : (rng.Next(40) * (rng.Next(2) == 0 ? 1 : 1.5)).ToString(CultureInfo.InvariantCulture);
            var num = rng.Next(10) == 0 ? "" : (rng.NextDouble() * 4 - 1).ToString("F3", CultureInfo.InvariantCulture);
            var len = rng.Next(6);
            var toks = Enumerable.Range(0, len).Select(_ => unseen && rng.Next(8) == 0 ? "zz" : $"k{rng.Next(6)}");
            var s = string.Join('^', toks);
            var label = (u % 3 == 0) ^ (rng.Next(5) == 0) ? 1 : 0;
            sb.Append(CultureInfo.InvariantCulture, $"{label},{uText},{b},{num},{s}\n");
        }
        return sb.ToString();
    }

    public void Dispose()
    {
        Data.Dispose();
        tmp.Dispose();
    }
}
