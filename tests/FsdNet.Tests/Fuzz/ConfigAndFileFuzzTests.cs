using System.Text;
using FsdNet.Cli;
using FsdNet.Data;
using FsdNet.Layers;
using FsdNet.Models;
using FsdNet.Serving;
using FsdNet.Tensors;
using FsdNet.Tests.Data;
using FsdNet.Training;
using Xunit;
using Xunit.Abstractions;

namespace FsdNet.Tests.Fuzz;

/// <summary>
/// Mutated YAML configs (dataset and model), feature maps, model files and caches. Configs either load or fail with
/// a config error naming the file; checksummed files (model.fsdm, *.fsdcache, feature_map.json's schema_hash) must
/// reject every mutation that changes their content — none is ever accepted as whole.
/// </summary>
public sealed class ConfigAndFileFuzzTests(ITestOutputHelper output)
{
    private const string DatasetYaml = """
        ds:
          data_format: csv
          train_data: train.csv
          min_categr_count: 2
          feature_cols:
            - {name: [a, b], active: True, dtype: float, type: categorical, fill_na: 0, preprocess: convert_to_bucket}
            - {name: s, type: sequence, splitter: ^, max_len: 5, padding: pre}
            - {name: n, type: numeric, normalizer: StandardScaler, na_value: 0}
          label_col: {name: label, dtype: float}
        """;

    private const string ModelYaml = """
        Base:
            model: FSDNet
            epochs: 2
            batch_size: 64
            learning_rate: 1.e-3
            embedding_regularizer: 0.01
            monitor: {AUC: 1, logloss: -1}
            monitor_mode: max
        exp:
            dataset_id: toy
            embedding_dim: 4
            parallel_dnn_hidden_units: [8, 8]
            num_cross_layers: 2
            net_dropout: 0.1
            batch_norm: True
            choice: 2
            loss_coefficient: 0.9
            Temp: 1.3
        """;

    [Fact]
    public void Mutated_dataset_configs()
    {
        var counts = new FuzzCounts("dataset configs (dataset_config.yaml)");
        FuzzCounts.ForEachSeed(seed =>
        {
            var rng = new Random(seed);
            var text = Mutations.Text(DatasetYaml, rng);
            counts.Run(() =>
            {
                var cfg = DatasetConfigLoader.Parse(text, "fuzz.yaml", rng.Next(2) == 0 ? "ds" : null);
                Assert.NotEmpty(cfg.ActiveColumns);
                _ = FeatureMap.FromConfig(cfg);
            }, [typeof(DataConfigException)], e => Assert.Contains("fuzz.yaml", e.Message, StringComparison.Ordinal));
        }, count: 4000, baseSeed: 1000);
        counts.Report(output);
        Assert.True(counts.Accepted > 100 && counts.Rejected > 100, counts.ToString());
    }

    [Fact]
    public void Mutated_model_configs()
    {
        var counts = new FuzzCounts("model configs (model_config.yaml)");
        using var tmp = new TempDir();
        tmp.File("train.csv", "label,u,i\n1,a,x\n0,b,y\n1,a,y\n");
        using var data = Helpers.PrepareYaml(tmp, "toy:\n  train_data: train.csv\n  min_categr_count: 1\n  feature_cols: [{name: [u, i], type: categorical}]\n  label_col: {name: label}\n");
        FuzzCounts.ForEachSeed(seed =>
        {
            var rng = new Random(seed);
            var text = Mutations.Text(ModelYaml, rng);
            counts.Run(() =>
            {
                var cfg = ModelConfig.Parse(text, "fuzz.yaml", "exp");
                _ = TrainerOptions.From(cfg);
                // Build the network only when its size keys are small (the fuzz must not allocate gigabytes); a size
                // that overflows or runs out of memory is reported by CliSupport.CreateModel as a config error.
                var dim = cfg.GetDouble("embedding_dim", 10);
                var units = cfg.GetIntList("parallel_dnn_hidden_units", [8]);
                if (dim is > 0 and <= 64 && units.All(u => u is > 0 and <= 256) && cfg.GetDouble("num_cross_layers", 1) is >= 0 and <= 8)
                {
                    var model = CliSupport.CreateModel(data.FeatureMap, cfg, () => ModelRegistry.Create(ModelInputs.Schema(data.FeatureMap, cfg), cfg, new Rng(1)));
                    Assert.True(model.ParameterCount() > 0);
                }
            }, [typeof(ConfigException), typeof(DataConfigException), typeof(ArgumentException), typeof(ArgumentOutOfRangeException)],
               e =>
               {
                   if (e is ConfigException or DataConfigException)
                   {
                       Assert.Contains("fuzz.yaml", e.Message, StringComparison.Ordinal);
                   }
               });
        }, count: 3000, baseSeed: 2000);
        counts.Report(output);
        Assert.True(counts.Accepted > 100 && counts.Rejected > 100, counts.ToString());
    }

    [Fact]
    public void Mutated_feature_maps_are_rejected_or_unchanged()
    {
        var counts = new FuzzCounts("feature maps (feature_map.json)");
        using var tmp = new TempDir();
        tmp.File("train.csv", "label,a,s,n\n1,x,p^q,1.5\n0,y,q,2\n1,x,p,3\n0,z,q^q^p,0.5\n");
        using var data = Helpers.PrepareYaml(tmp, """
            m:
              train_data: train.csv
              min_categr_count: 1
              feature_cols:
                - {name: a, type: categorical}
                - {name: s, type: sequence, max_len: 3}
                - {name: n, type: numeric, normalizer: MinMaxScaler}
              label_col: {name: label}
            """);
        var original = tmp.Sub("original.json");
        data.FeatureMap.Save(original);
        var text = File.ReadAllText(original);
        var path = tmp.Sub("feature_map.json");
        var saved = tmp.Sub("resaved.json");
        var unchanged = 0;
        FuzzCounts.ForEachSeed(seed =>
        {
            var rng = new Random(seed);
            var mutated = Mutations.Text(text, rng, maxEdits: 2);
            File.WriteAllText(path, mutated, new UTF8Encoding(false));
            counts.Run(() =>
            {
                var map = FeatureMap.Load(path);
                // accepted only as the same map (e.g. whitespace between JSON tokens): same schema, same content
                Assert.Equal(data.FeatureMap.SchemaHash, map.SchemaHash);
                map.Save(saved);
                Assert.Equal(text, File.ReadAllText(saved));
                unchanged++;
            }, [typeof(DataFormatException)], e => Assert.StartsWith(path, e.Message, StringComparison.Ordinal));
        }, count: 1500, baseSeed: 3000);
        counts.Report(output);
        output.WriteLine($"feature maps accepted: {unchanged}, each identical to the original once saved again");
        Assert.True(counts.Rejected > counts.Cases / 2, counts.ToString());
    }

    [Fact]
    public void Mutated_model_files_are_always_rejected()
    {
        var counts = new FuzzCounts("model files (model.fsdm via ModelBundle)");
        using var tmp = new TempDir();
        tmp.File("train.csv", "label,u,i\n1,a,x\n0,b,y\n1,a,y\n");
        using var data = Helpers.PrepareYaml(tmp, "toy:\n  train_data: train.csv\n  min_categr_count: 1\n  feature_cols: [{name: [u, i], type: categorical}]\n  label_col: {name: label}\n");
        var cfg = ModelConfig.Parse(ModelYaml, "model_config.yaml", "exp");
        var run = tmp.Sub("run");
        ModelBundle.Save(run, ModelRegistry.Create(ModelInputs.Schema(data.FeatureMap, cfg), cfg, new Rng(3)), data.FeatureMap, cfg);
        var modelPath = Path.Combine(run, ModelBundle.ModelFile);
        var original = File.ReadAllBytes(modelPath);
        Assert.NotNull(ModelBundle.Load(run)); // the intact file loads
        FuzzCounts.ForEachSeed(seed =>
        {
            var rng = new Random(seed);
            File.WriteAllBytes(modelPath, Mutations.Bytes(original, rng));
            counts.Run(() => ModelBundle.Load(run), [typeof(ModelFileException)],
                e => Assert.StartsWith(modelPath, e.Message, StringComparison.Ordinal));
        }, count: 1200, baseSeed: 4000);
        counts.Report(output);
        Assert.Equal(0, counts.Accepted);
    }

    [Fact]
    public void Mutated_caches_are_always_rejected()
    {
        var counts = new FuzzCounts("caches (*.fsdcache)");
        using var tmp = new TempDir();
        var sb = new StringBuilder("label,u,s,n\n");
        for (var i = 0; i < 300; i++)
        {
            sb.Append(System.Globalization.CultureInfo.InvariantCulture, $"{i % 2},u{i % 7},a^b{i % 3},{i * 0.5}\n");
        }
        tmp.File("train.csv", sb.ToString());
        using var data = Helpers.PrepareYaml(tmp, """
            c:
              train_data: train.csv
              min_categr_count: 1
              feature_cols:
                - {name: u, type: categorical}
                - {name: s, type: sequence, max_len: 2}
                - {name: n, type: numeric}
              label_col: {name: label}
            """);
        var cache = Directory.GetFiles(data.CacheDir, "train.fsdcache").Single();
        var original = File.ReadAllBytes(cache);
        var path = tmp.Sub("fuzz.fsdcache");
        FuzzCounts.ForEachSeed(seed =>
        {
            var rng = new Random(seed);
            File.WriteAllBytes(path, Mutations.Bytes(original, rng));
            counts.Run(() => EncodedDataset.Open(path, data.FeatureMap, verifyChecksum: true).Dispose(), [typeof(DataFormatException)],
                e => Assert.StartsWith(path, e.Message, StringComparison.Ordinal));
        }, count: 1200, baseSeed: 5000);
        counts.Report(output);
        Assert.Equal(0, counts.Accepted);
    }
}
