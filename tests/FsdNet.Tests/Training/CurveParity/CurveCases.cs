using System.Globalization;
using FsdNet.Tensors;
using FsdNet.Tests.Data;

namespace FsdNet.Tests.Training.CurveParity;

/// <summary>
/// One training-curve parity case: a data set (feature_cols over the shared synthetic CSV splits) and a model
/// config. FsdNet trains it from its own seeded initialisation; tools/curve_parity/mirror_train.py trains the PyTorch
/// mirror from the same initial parameters on the same batches, and its curve is the golden file the test replays.
/// </summary>
public sealed record CurveCase(string Name, string[] FeatureCols, string ModelYaml, int TrainRows = CurveCases.TrainRows)
{
    /// <summary>The data: null for the synthetic CSV splits, else a shared data set sliced by <see cref="CurveCases.Write"/> ("frappe").</summary>
    public string? Dataset { get; init; }

    public override string ToString() => Name;
}

/// <summary>The cases and the synthetic data they share.</summary>
public static class CurveCases
{
    public const int TrainRows = 1600;
    public const int ValidRows = 600;
    public const int Epochs = 3;

    private const string Categorical = "{name: [u, i, c], active: True, dtype: str, type: categorical}";
    private const string Vec = "{name: vec, active: True, dtype: str, type: embedding, pretrain_dim: 4}";

    private static string Numeric(string normalizer) =>
        $"{{name: price, active: True, dtype: float, type: numeric, fill_na: 50, normalizer: {normalizer}}}";

    private static string Age(string normalizer) =>
        $"{{name: age, active: True, dtype: float, type: numeric, normalizer: {normalizer}}}";

    /// <summary>A raw numeric column (no normaliser) of values in [0, 2).</summary>
    private const string Ratio = "{name: ratio, active: True, dtype: float, type: numeric}";

    private static string Hist(string pooling, string padding = "post") =>
        $"{{name: hist, active: True, dtype: str, type: sequence, splitter: ^, max_len: 5, padding: {padding}, feature_encoder: \"layers.{pooling}()\"}}";

    /// <summary>
    /// FSDNet small enough to train in milliseconds, with the FSD loss at its most demanding (choice 2, the soft
    /// term weighted 0.6 at temperature 1.8, as the official ML-1M settings), Adam at 1e-2 so that three epochs move
    /// the parameters far, and no dropout (the mirror cannot draw FsdNet's masks).
    /// </summary>
    private static string Fsdnet(bool batchNorm) => $"""
        model: FSDNet
        parallel_dnn_hidden_units: [16, 16]
        num_cross_layers: 2
        choice: 2
        loss_coefficient: 0.4
        fea_coefficient: 0.01
        Temp: 1.8
        {Small(batchNorm)}
        """;

    /// <summary>The settings the FSDNet and the small zoo cases share.</summary>
    private static string Small(bool batchNorm) => $$"""
        embedding_dim: 4
        net_dropout: 0
        batch_norm: {{batchNorm}}
        learning_rate: 1.e-2
        embedding_regularizer: 0.01
        net_regularizer: 0
        batch_size: 200
        epochs: {{Epochs}}
        seed: 2024
        monitor: AUC
        monitor_mode: max
        early_stop_patience: 10
        """;

    /// <summary>A zoo model with FuxiCTR's keys, as small as the FSDNet cases.</summary>
    private static string Zoo(string model, bool batchNorm) => model switch
    {
        "DNN" or "DeepFM" => $"model: {model}\nhidden_units: [16, 16]\n",
        "DCNv2_parallel" => "model: DCNv2\nmodel_structure: parallel\nparallel_dnn_hidden_units: [16, 16]\nnum_cross_layers: 2\n",
        "DCNv2_stacked" => "model: DCNv2\nmodel_structure: stacked\nstacked_dnn_hidden_units: [16, 16]\nnum_cross_layers: 2\n",
        _ => throw new ArgumentException(model),
    } + Small(batchNorm);

    public static readonly string[] ZooModels =
        ["LR", "FM", "DNN", "WideDeep", "DeepFM", "PNN", "FiBiNET", "AFN", "xDeepFM", "AutoInt", "MaskNet", "FinalMLP", "DCN", "DCNv2", "GDCN", "GDCNP", "EDCN", "FSDNet"];

    public const int FrappeTrainRows = 8000, FrappeValidRows = 3000, FrappeEpochs = 2;

    /// <summary>Frappe's ten fields as the libFM files give them (numbers as tokens, as FuxiCTR's frappe_x1 config).</summary>
    private const string FrappeFields =
        "{name: [user, item, daytime, weekday, isweekend, homework, cost, weather, country, city], active: True, dtype: float, type: categorical}";

    /// <summary>A zoo model at FuxiCTR's defaults (its model_zoo settings where FsdNet needs one).</summary>
    private static string ZooDefaults(string model, int epochs)
    {
        var reg = model is "LR" or "FM" ? "regularizer: 0.01\n" : "embedding_regularizer: 0.01\nnet_regularizer: 0\n";
        // FuxiCTR's GDCN builds no deep network without dnn_hidden_units (FsdNet refuses that): its model_zoo config's.
        reg += model is "GDCN" or "GDCNP" ? "dnn_hidden_units: [400, 400, 400]\n" : "";
        return $$"""
            model: {{model}}
            {{reg}}batch_size: 200
            epochs: {{epochs}}
            seed: 2024
            monitor: AUC
            monitor_mode: max
            early_stop_patience: 10
            """;
    }

    /// <summary>Every input kind on FSDNet and numeric inputs (each normaliser) with a sequence on DNN, DeepFM and
    /// DCNv2, each with batch_norm on and off.</summary>
    public static IReadOnlyList<CurveCase> All { get; } = Build();

    public static CurveCase Get(string name) => All.Single(c => c.Name == name);

    private static List<CurveCase> Build()
    {
        var inputs = new (string Name, string[] Cols)[]
        {
            ("cat", [Categorical]),
            ("num_std", [Categorical, Numeric("StandardScaler"), Age("StandardScaler")]),
            ("num_minmax", [Categorical, Numeric("MinMaxScaler"), Age("MinMaxScaler")]),
            ("num_none", [Categorical, Ratio]),
            ("seq_mean", [Categorical, Hist("MaskedAveragePooling")]),
            ("seq_sum_pre", [Categorical, Hist("MaskedSumPooling", "pre")]),
            ("numseq", [Categorical, Numeric("StandardScaler"), Age("StandardScaler"), Hist("MaskedAveragePooling")]),
            ("seqnum", [Hist("MaskedAveragePooling"), Categorical, Numeric("StandardScaler"), Age("StandardScaler")]),
            ("embedding", [Categorical, Vec]),
            ("all", [Categorical, Numeric("StandardScaler"), Age("StandardScaler"), Hist("MaskedAveragePooling"), Vec]),
        };
        var list = new List<CurveCase>();
        foreach (var (name, cols) in inputs)
        {
            foreach (var bn in new[] { true, false })
            {
                list.Add(new CurveCase($"fsdnet_{name}_{(bn ? "bn" : "nobn")}", cols, Fsdnet(bn)));
            }
        }
        foreach (var model in new[] { "DNN", "DeepFM", "DCNv2_parallel", "DCNv2_stacked" })
        {
            foreach (var (name, cols) in new (string, string[])[]
            {
                ("numseq", [Categorical, Numeric("StandardScaler"), Age("StandardScaler"), Hist("MaskedAveragePooling")]),
                ("num_minmax", [Categorical, Numeric("MinMaxScaler"), Age("MinMaxScaler")]),
                ("num_none", [Categorical, Ratio, Hist("MaskedSumPooling")]),
            })
            {
                foreach (var bn in new[] { true, false })
                {
                    list.Add(new CurveCase($"{model.ToLowerInvariant()}_{name}_{(bn ? "bn" : "nobn")}", cols, Zoo(model, bn)));
                }
            }
        }
        // Every zoo model with its FuxiCTR defaults (learning rate 1e-3, no dropout; batch_norm only where FuxiCTR
        // defaults to it, as AFN) on the categorical fields; the mirrors are tools/zoo_torch/mirrors. Again on a slice
        // of the real Frappe data (its ten fields, 8,000 train and 3,000 valid rows, 2 epochs).
        foreach (var model in ZooModels)
        {
            list.Add(new CurveCase($"zoo_{model.ToLowerInvariant()}", [Categorical], ZooDefaults(model, Epochs)));
            list.Add(new CurveCase($"frappe_{model.ToLowerInvariant()}", [FrappeFields], ZooDefaults(model, FrappeEpochs), FrappeTrainRows) { Dataset = "frappe" });
        }
        return list;
    }

    /// <summary>
    /// Writes the case's train/valid/test CSVs, dataset_config.yaml and model_config.yaml (experiment id = case
    /// name) into <paramref name="dir"/>. The data: users u0..u39, items i0..i29, a 5-valued context c, a price
    /// (log-normal around 100, 5% missing), an age (18..70), a ratio in [0, 2), a history of 0..8 items (max_len 5 keeps the first or
    /// last 5) and a 4-float vector; the label depends on all of them, so every input matters.
    /// </summary>
    public static void Write(CurveCase c, string dir)
    {
        if (c.Dataset == "frappe")
        {
            WriteFrappeSlice(c, dir);
            return;
        }
        var rng = new Rng(20261206);
        var userBias = Enumerable.Range(0, 40).Select(_ => (rng.NextDouble() * 2) - 1).ToArray();
        var itemBias = Enumerable.Range(0, 30).Select(_ => (rng.NextDouble() * 2) - 1).ToArray();
        TempDir.WriteCsvSplits(dir, "label,u,i,c,price,age,ratio,hist,vec", (_, _) =>
        {
            int u = rng.NextInt(40), it = rng.NextInt(30), ctx = rng.NextInt(5);
            var missing = rng.NextDouble() < 0.05;
            var price = 100 * Math.Exp(rng.NextGaussian() * 0.8);
            var age = 18 + rng.NextInt(53);
            var ratio = rng.NextDouble() * 2;
            var hist = Enumerable.Range(0, rng.NextInt(9)).Select(_ => rng.NextInt(30)).ToArray();
            var vec = Enumerable.Range(0, 4).Select(_ => rng.NextGaussian()).ToArray();
            var logit = userBias[u] + itemBias[it] + (ctx == 2 ? 0.7 : 0) + (missing ? 0 : 0.8 * Math.Log(price / 100)) -
                        (0.03 * (age - 44)) + (0.5 * (ratio - 1)) + (hist.Contains(it) ? 1.2 : 0) + (hist.Length == 0 ? -0.5 : 0) + (0.6 * vec[0]) - (0.4 * vec[2]);
            var y = rng.NextDouble() < 1 / (1 + Math.Exp(-logit)) ? 1 : 0;
            return string.Create(CultureInfo.InvariantCulture,
                $"{y},u{u},i{it},c{ctx},{(missing ? "" : price.ToString("F2", CultureInfo.InvariantCulture))},{age},{ratio:F4},{string.Join('^', hist.Select(h => $"i{h}"))},{string.Join('^', vec.Select(v => v.ToString("F4", CultureInfo.InvariantCulture)))}");
        }, c.TrainRows, ValidRows, 200);
        WriteConfigs(c, dir, "csv", "csv");
    }

    /// <summary>dataset_config.yaml (dataset "curve" over train/valid/test.<paramref name="ext"/>) and model_config.yaml.</summary>
    private static void WriteConfigs(CurveCase c, string dir, string format, string ext)
    {
        var sb = new System.Text.StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"curve:\n  data_root: .\n  data_format: {format}\n  train_data: train.{ext}\n  valid_data: valid.{ext}\n  test_data: test.{ext}\n  min_categr_count: 1\n  feature_cols:\n");
        foreach (var f in c.FeatureCols)
        {
            sb.Append("    - ").Append(f).Append('\n');
        }
        sb.Append("  label_col: {name: label, dtype: float}\n");
        File.WriteAllText(Path.Combine(dir, "dataset_config.yaml"), sb.ToString());
        var model = string.Join('\n', c.ModelYaml.Split('\n').Select(l => "    " + l));
        File.WriteAllText(Path.Combine(dir, "model_config.yaml"), $"{c.Name}:\n    dataset_id: curve\n{model}\n");
    }

    /// <summary>
    /// The first rows of ../shared/data/frappe's libFM splits (the files are shuffled, so a prefix is a sample): the
    /// case's train rows, <see cref="FrappeValidRows"/> valid rows, 1,000 test rows.
    /// </summary>
    private static void WriteFrappeSlice(CurveCase c, string dir)
    {
        var source = Support.SharedData.Dir("frappe");
        foreach (var (file, split, rows) in new[] { ("frappe.train.libfm.gz", "train", c.TrainRows), ("frappe.validation.libfm.gz", "valid", FrappeValidRows), ("frappe.test.libfm.gz", "test", 1000) })
        {
            using var gz = new System.IO.Compression.GZipStream(File.OpenRead(Path.Combine(source, file)), System.IO.Compression.CompressionMode.Decompress);
            using var reader = new StreamReader(gz);
            using var writer = new StreamWriter(Path.Combine(dir, split + ".libfm"));
            for (var i = 0; i < rows && reader.ReadLine() is { } line; i++)
            {
                writer.Write(line);
                writer.Write('\n');
            }
        }
        WriteConfigs(c, dir, "libfm", "libfm");
    }
}
