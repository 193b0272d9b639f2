namespace FsdNet.Training;

/// <summary>
/// Built-in experiments: the official FSDNet model_config.yaml settings for the paper's four data sets
/// (coder-qiu/FSDNet, config/model_config.yaml; see docs/REFERENCE_SEMANTICS.md §1.5), keyed by our data presets.
/// Two deliberate additions: <c>soft_loss: official</c> (the KL the official code computes) and
/// <c>embedding_regularizer</c> written as numbers FsdNet reads (1e-5 works here; PyYAML would need 1.e-5).
/// </summary>
public static class Presets
{
    private const string Base = """
        Base:
            early_stop_patience: 2
            save_best_only: True
            eval_steps: null
            loss: 'binary_crossentropy'
            metrics: ['logloss', 'AUC']
            task: binary_classification
            optimizer: adam
            model: FSDNet
            model_structure: parallel
            learning_rate: 1.0e-3
            net_regularizer: 0
            embedding_dim: 16
            parallel_dnn_hidden_units: [400, 400, 400]
            dnn_activations: relu
            num_cross_layers: 3
            batch_norm: True
            epochs: 100
            shuffle: True
            seed: 2023
            monitor: {'AUC': 1, 'logloss': 0}
            monitor_mode: 'max'
            choice: 2
            fea_coefficient: 0.01
            soft_loss: official
            max_gradient_norm: 10

        """;

    private static readonly Dictionary<string, (string ExpId, string Block)> Blocks = new(StringComparer.OrdinalIgnoreCase)
    {
        ["frappe"] = ("FSDNet_Frappe_x1", """
            FSDNet_Frappe_x1:
                dataset_id: frappe
                embedding_regularizer: 0.1
                batch_size: 10000
                net_dropout: 0.7
                loss_coefficient: 0.9
                Temp: 1.3
            """),
        ["frappe_x1"] = ("FSDNet_Frappe_x1_csv", """
            FSDNet_Frappe_x1_csv:
                dataset_id: frappe_x1
                embedding_regularizer: 0.1
                batch_size: 10000
                net_dropout: 0.7
                loss_coefficient: 0.9
                Temp: 1.3
            """),
        ["ml-1m"] = ("FSDNet_ML-1M", """
            FSDNet_ML-1M:
                dataset_id: ml-1m
                embedding_regularizer: 1.e-1
                batch_size: 10000
                net_dropout: 0.1
                loss_coefficient: 0.4
                Temp: 1.8
            """),
        ["ml-tag"] = ("FSDNet_Movielenslatest_x1", """
            FSDNet_Movielenslatest_x1:
                dataset_id: ml-tag
                embedding_regularizer: 1.e-2
                batch_size: 10000
                net_dropout: 0.3
                loss_coefficient: 0.3
                Temp: 1
            """),
        ["criteo"] = ("FSDNet_Criteo_x4", """
            FSDNet_Criteo_x4:
                dataset_id: criteo
                embedding_regularizer: 1.0e-5
                batch_size: 4096
                net_dropout: 0.2
                loss_coefficient: 0.5
                Temp: 1
                monitor: AUC
            """),
    };

    /// <summary>Data sets with a built-in experiment.</summary>
    public static IReadOnlyList<string> Names => [.. Blocks.Keys];

    /// <summary>The built-in experiment for a data set preset.</summary>
    public static ModelConfig For(string dataset)
    {
        if (!Blocks.TryGetValue(dataset, out var b))
        {
            throw new ConfigException($"No built-in experiment for '{dataset}'; presets: {string.Join(", ", Blocks.Keys)}.");
        }
        return ModelConfig.Parse(Base + b.Block, $"preset '{dataset}'", b.ExpId);
    }
}
