using System.Globalization;
using System.Text;

namespace FsdNet.Tests.Support;

/// <summary>A tiny FuxiCTR-style config folder for runs through the CLI or <c>TrainingRun</c>: root/config and root/data.</summary>
internal static class ToyConfig
{
    /// <summary>config/ with FSDNet_toy (1 epoch) on 600 rows of user_id, price and a label.</summary>
    public static void Write(string root)
    {
        var rng = new FsdNet.Tensors.Rng(4);
        var data = Directory.CreateDirectory(Path.Combine(root, "data")).FullName;
        foreach (var (split, rows) in new[] { ("train", 400), ("valid", 100), ("test", 100) })
        {
            var sb = new StringBuilder("label,user_id,price\n");
            for (var i = 0; i < rows; i++)
            {
                var u = rng.NextInt(12);
                var label = rng.NextDouble() < (u % 3 == 0 ? 0.75 : 0.2) ? 1 : 0;
                sb.Append(CultureInfo.InvariantCulture, $"{label},u{u},{rng.NextDouble() * 10:F2}\n");
            }
            File.WriteAllText(Path.Combine(data, split + ".csv"), sb.ToString());
        }
        var config = Directory.CreateDirectory(Path.Combine(root, "config")).FullName;
        File.WriteAllText(Path.Combine(config, "dataset_config.yaml"), $$"""
            toy:
              data_root: {{data}}
              data_format: csv
              train_data: train.csv
              valid_data: valid.csv
              test_data: test.csv
              min_categr_count: 1
              feature_cols:
                - {name: user_id, active: True, dtype: str, type: categorical}
                - {name: price, active: True, dtype: float, type: numeric, normalizer: StandardScaler}
              label_col: {name: label, dtype: float}
            """);
        File.WriteAllText(Path.Combine(config, "model_config.yaml"), """
            FSDNet_toy:
                model: FSDNet
                dataset_id: toy
                embedding_dim: 4
                parallel_dnn_hidden_units: [8, 8]
                num_cross_layers: 2
                batch_size: 64
                epochs: 1
            """);
    }
}
