using System.Globalization;
using System.Text;
using System.Text.Json;
using FsdNet.Autodiff;
using FsdNet.Data;
using FsdNet.Layers;
using FsdNet.Models;
using FsdNet.Serving;
using FsdNet.Serving.Onnx;
using FsdNet.Tensors;
using FsdNet.Tests.Data;
using FsdNet.Tests.Support;
using FsdNet.Training;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Xunit;

namespace FsdNet.Tests.Serving;

/// <summary>
/// A small data set with string, integer and bucketed categorical features, two normalised numeric features and a
/// sequence feature (which the exported models leave out with use_features), shared by the ONNX export tests.
/// </summary>
public sealed class OnnxExportData : IDisposable
{
    public OnnxExportData()
    {
        Tmp = new TempDir();
        var rng = new Rng(11);
        var train = new StringBuilder(Header);
        for (var i = 0; i < 480; i++)
        {
            train.Append(Row(rng, raw: false));
        }
        Tmp.File("train.csv", train.ToString());
        Data = Helpers.PrepareYaml(Tmp, """
            synth:
              data_format: csv
              train_data: train.csv
              valid_data: train.csv
              min_categr_count: 2
              feature_cols:
                - {name: a, active: True, dtype: str, type: categorical}
                - {name: n, active: True, dtype: float, type: numeric, normalizer: StandardScaler, fill_na: 1.5}
                - {name: b, active: True, dtype: str, type: categorical, fill_na: b0}
                - {name: c, active: True, dtype: int, type: categorical}
                - {name: d, active: True, dtype: float, type: categorical, fill_na: 0, preprocess: convert_to_bucket}
                - {name: m, active: True, dtype: float, type: numeric, normalizer: MinMaxScaler}
                - {name: s, active: True, type: sequence, splitter: ^, max_len: 3}
              label_col: {name: label, dtype: float}
            """);
        // Scoring rows: unseen tokens, rare tokens (min_categr_count 2), missing values, unparsable numbers.
        var scoring = new List<Dictionary<string, string?>>();
        for (var i = 0; i < 96; i++)
        {
            var cols = Row(rng, raw: true).TrimEnd('\n').Split(',');
            var names = Header.TrimEnd('\n').Split(',');
            scoring.Add(names.Zip(cols).ToDictionary(t => t.First, t => (string?)t.Second, StringComparer.Ordinal));
        }
        Rows = scoring;
    }

    private const string Header = "label,a,n,b,c,d,m,s\n";

    public TempDir Tmp { get; }

    internal PreparedData Data { get; }

    public IReadOnlyList<Dictionary<string, string?>> Rows { get; }

    public FeatureMap Map => Data.FeatureMap;

    private static string Row(Rng rng, bool raw)
    {
        int a = rng.NextInt(14), b = rng.NextInt(6), c = rng.NextInt(9), d = rng.NextInt(40);
        var n = (rng.NextDouble() * 10) - 3;
        var m = rng.NextDouble() * 100;
        var label = ((a + b) % 3 == 0 ? 0.8 : 0.15) + (n > 2 ? 0.1 : 0) > rng.NextDouble() ? 1 : 0;
        string A = $"a{a}", B = $"b{b}", C = c.ToString(CultureInfo.InvariantCulture), D = d.ToString(CultureInfo.InvariantCulture);
        string N = n.ToString("R", CultureInfo.InvariantCulture), M = m.ToString("R", CultureInfo.InvariantCulture);
        if (raw)
        {
            switch (rng.NextInt(8))
            {
                case 0: A = "never-seen"; C = "77"; break;
                case 1: A = ""; N = ""; B = ""; C = ""; D = ""; break;
                case 2: D = "not-a-number"; C = "3.0"; break;
                case 3: M = ""; D = "2.5"; break;
            }
        }
        return $"{label},{A},{N},{B},{C},{D},{M},s{a % 4}^s{b}\n";
    }

    public void Dispose()
    {
        Data.Dispose();
        Tmp.Dispose();
    }
}

/// <summary>
/// ONNX export: models trained a few steps (so BatchNorm's running statistics are not the identity) are exported,
/// scored by ONNX Runtime on rows encoded with the encoder JSON alone, and compared with FsdNet's own scores of the
/// same raw rows; the encoder JSON is checked against the feature map row by row; refused models and options fail
/// with errors that name them.
/// </summary>
public sealed class OnnxExportTests(OnnxExportData fixture) : IClassFixture<OnnxExportData>
{
    private const string Features = "use_features: [a, n, b, c, d, m]";

    private static ModelConfig Config(string model, string extra, bool useFeatures = true) => ModelConfig.Parse($$"""
        Base:
            epochs: 1
            batch_size: 64
            learning_rate: 5.e-3
            seed: 3
            monitor: AUC
            embedding_dim: 4
        exp:
            model: {{model}}
            {{(useFeatures ? Features : "")}}
            {{extra.Replace("\n", "\n    ", StringComparison.Ordinal)}}
        """, "onnx-test.yaml", "exp");

    /// <summary>Trains <paramref name="cfg"/>'s model for one epoch and saves it as a run directory.</summary>
    private string TrainRun(ModelConfig cfg, string name)
    {
        var data = fixture.Data;
        var options = TrainerOptions.From(cfg);
        var model = ModelRegistry.Create(ModelInputs.Schema(data.FeatureMap, cfg), cfg, new Rng((ulong)options.Seed));
        new Trainer(model, options).Fit(data.Train, data.Valid!);
        var dir = fixture.Tmp.Sub(name);
        ModelBundle.Save(dir, model, data.FeatureMap, cfg);
        return dir;
    }

    public static TheoryData<string, string, string, int?> Models => new()
    {
        { "fsdnet-mean", "FSDNet", "parallel_dnn_hidden_units: [8, 8, 8]\nnum_cross_layers: 3\nbatch_norm: True\nnet_dropout: 0.1", null },
        { "fsdnet-head0", "FSDNet", "parallel_dnn_hidden_units: [8, 8, 8]\nnum_cross_layers: 3\nbatch_norm: True", 0 },
        { "fsdnet-head1", "FSDNet", "parallel_dnn_hidden_units: [8, 8, 8]\nnum_cross_layers: 3\nbatch_norm: True\ndnn_activations: tanh", 1 },
        { "fsdnet-teacher", "FSDNet", "parallel_dnn_hidden_units: [8, 8]\nnum_cross_layers: 2\nbatch_norm: True", 1 },
        { "fsdnet-score-head", "FSDNet", "parallel_dnn_hidden_units: [8, 8, 8]\nnum_cross_layers: 3\nscore_head: 1", null },
        { "dcnv2-fsd", "DCNv2", "fsd: true\nparallel_dnn_hidden_units: [6, 6]\nnum_cross_layers: 2\nbatch_norm: True", null },
        { "dcnv2-crossnet-only", "DCNv2", "model_structure: crossnet_only\nnum_cross_layers: 3", null },
        { "dcnv2-stacked", "DCNv2", "model_structure: stacked\nstacked_dnn_hidden_units: [8, 6]\nbatch_norm: True\ndnn_activations: prelu", null },
        { "dcnv2-parallel", "DCNv2", "model_structure: parallel\nparallel_dnn_hidden_units: [8, 6]\nbatch_norm: True\nnet_dropout: 0.2", null },
        { "dcnv2-stacked-parallel", "DCNv2", "model_structure: stacked_parallel\nstacked_dnn_hidden_units: [8]\nparallel_dnn_hidden_units: [6, 6]\nbatch_norm: True\ndnn_activations: leakyrelu", null },
        { "deepfm", "DeepFM", "hidden_units: [8, 8]\nbatch_norm: True", null },
        { "dnn", "DNN", "hidden_units: [16, 8]\nbatch_norm: True\nnet_dropout: 0.1", null },
        { "dnn-dice", "DNN", "hidden_units: [8]\nbatch_norm: True\nhidden_activations: dice", null },
        { "dnn-feature-specs", "DNN", "hidden_units: [8]\nbatch_norm: True\nfeature_specs:\n  - {name: b, embedding_dim: 6}\n  - {name: c, share_embedding: a}", null },
        { "widedeep", "WideDeep", "hidden_units: [8, 4]\nbatch_norm: True\nhidden_activations: sigmoid", null },
    };

    [Theory]
    [MemberData(nameof(Models))]
    public void Onnx_runtime_scores_the_exported_model_as_fsdnet_does(string name, string model, string extra, int? head)
    {
        var run = TrainRun(Config(model, extra), name);
        var onnx = Path.Combine(fixture.Tmp.Sub(name + "-export"), "model.onnx");
        var summary = OnnxExporter.Export(run, onnx, head);
        Assert.Contains(model, summary, StringComparison.Ordinal);

        var bundle = ModelBundle.Load(run);
        var expected = FsdNetScores(bundle, head);
        if (name == "dnn-feature-specs")
        {
            var tables = bundle.Model.State().ToDictionary(p => p.Name, p => p.Value);
            Assert.False(tables.ContainsKey("embedding.embedding_layer.c.weight"), "c should read a's table");
            Assert.Equal(6, tables["embedding.embedding_layer.b.weight"].Shape[1]);
        }
        // Where there is BatchNorm, training moved its running statistics away from the identity (0, 1), so folding is tested.
        foreach (var (key, t) in bundle.Model.State().Where(p => p.Name.EndsWith("batch_norm.running_var", StringComparison.Ordinal)))
        {
            Assert.True(t.Span.ToArray().Any(v => Math.Abs(v - 1) > 1e-3), $"{name}: {key} is still all ones");
        }
        using var encoder = JsonDocument.Parse(File.ReadAllText(OnnxExporter.EncoderPath(onnx)));
        var actual = OrtScores(onnx, encoder.RootElement, fixture.Rows);
        Assert.Equal(expected.Length, actual.Length);
        var maxDiff = expected.Zip(actual).Max(t => Math.Abs(t.First - t.Second));
        Assert.True(maxDiff <= 1e-5, $"{name}: max |FsdNet - ONNX Runtime| = {maxDiff}");
        // The scores are not all equal (the test would then not tell heads or layers apart).
        Assert.True(expected.Max() - expected.Min() > 1e-3, $"{name}: scores barely vary ({expected.Min()}..{expected.Max()})");
    }

    /// <summary>Every registered model, with its layer variants and the FSD module where it takes one, on every field of the
    /// data (categorical, numeric and a mean-pooled sequence).</summary>
    public static TheoryData<string, string, string> EveryModel => new()
    {
        { "lr", "LR", "" },
        { "fm", "FM", "" },
        { "dnn", "DNN", "hidden_units: [8, 8]\nbatch_norm: True\nhidden_activations: prelu" },
        { "widedeep", "WideDeep", "hidden_units: [8]" },
        { "deepfm", "DeepFM", "hidden_units: [8]\nbatch_norm: True" },
        { "pnn", "PNN", "hidden_units: [8, 4]\nbatch_norm: True" },
        { "fibinet-all", "FiBiNET", "hidden_units: [8]\nbilinear_type: field_all\nreduction_ratio: 2" },
        { "fibinet-each", "FiBiNET", "hidden_units: [8]\nbilinear_type: field_each" },
        { "fibinet-interaction", "FiBiNET", "hidden_units: [8]\nbilinear_type: field_interaction" },
        { "afn", "AFN", "afn_hidden_units: [8]\nlogarithmic_neurons: 6\nensemble_dnn: True\ndnn_hidden_units: [8]\nbatch_norm: True" },
        { "xdeepfm", "xDeepFM", "cin_hidden_units: [4, 4]\ndnn_hidden_units: [8]" },
        { "autoint", "AutoInt", "attention_layers: 2\nnum_heads: 2\nattention_dim: 8\ndnn_hidden_units: [8]\nuse_wide: True\nlayer_norm: True" },
        { "autoint-plain", "AutoInt", "attention_layers: 1\nnum_heads: 1\nattention_dim: 4\nuse_residual: False\nuse_scale: True" },
        { "masknet-serial", "MaskNet", "model_type: SerialMaskNet\ndnn_hidden_units: [8, 8]\nreduction_ratio: 1\nemb_layernorm: True\nnet_layernorm: True" },
        { "masknet-parallel", "MaskNet", "model_type: ParallelMaskNet\nparallel_num_blocks: 2\nparallel_block_dim: 8\ndnn_hidden_units: [8]" },
        { "finalmlp", "FinalMLP", "mlp1_hidden_units: [8]\nmlp2_hidden_units: [8]\nuse_fs: True\nfs_hidden_units: [8]\nnum_heads: 2" },
        { "dcn", "DCN", "dnn_hidden_units: [8]\nnum_cross_layers: 2" },
        { "dcnv2-mixture", "DCNv2", "use_low_rank_mixture: True\nlow_rank: 4\nnum_experts: 2\nparallel_dnn_hidden_units: [8]\nnum_cross_layers: 2" },
        { "gdcn", "GDCN", "dnn_hidden_units: [8]\nnum_cross_layers: 2" },
        { "gdcnp", "GDCNP", "dnn_hidden_units: [8]\nnum_cross_layers: 2" },
        { "edcn", "EDCN", "num_cross_layers: 2\nuse_regulation_module: True\nbridge_type: attention_pooling" },
        { "edcn-concat", "EDCN", "num_cross_layers: 2\nbridge_type: concatenation\nbatch_norm: True" },
        { "fsdnet", "FSDNet", "parallel_dnn_hidden_units: [8, 8]\nnum_cross_layers: 2\nbatch_norm: True" },
        { "dcnv2-fsd", "DCNv2", "model_structure: parallel\nfsd: true\nparallel_dnn_hidden_units: [6, 5, 4]\nnum_cross_layers: 3" },
        { "dcn-fsd", "DCN", "fsd: true\ndnn_hidden_units: [6, 5, 4]\nnum_cross_layers: 3" },
        { "xdeepfm-fsd", "xDeepFM", "fsd: true\ncin_hidden_units: [4, 4, 4]\ndnn_hidden_units: [6, 5, 4]" },
        { "autoint-fsd", "AutoInt", "fsd: true\nattention_layers: 3\ndnn_hidden_units: [6, 5, 4]\nuse_wide: true" },
        { "finalmlp-fsd", "FinalMLP", "fsd: true\nmlp1_hidden_units: [8, 4, 4]\nmlp2_hidden_units: [6, 2, 2]" },
        { "gdcnp-fsd", "GDCNP", "fsd: true\ndnn_hidden_units: [4, 4, 4]\nnum_cross_layers: 3" },
        { "edcn-fsd", "EDCN", "fsd: true\nnum_cross_layers: 2\nbridge_type: pointwise_addition\nbatch_norm: True" },
    };

    [Theory]
    [MemberData(nameof(EveryModel))]
    public void Every_model_exports_and_onnx_runtime_scores_it_as_fsdnet_does(string name, string model, string extra)
    {
        var run = TrainRun(Config(model, extra, useFeatures: false), "every-" + name);
        var bundle = ModelBundle.Load(run);
        Assert.True(bundle.Model.Schema.SequenceWidth > 0, "the sequence field should be in the model");
        var heads = bundle.Model is FsdCapableModel { HeadCount: { } h } ? h : 0;
        // The model's own prediction, and each head of an FSD model by early exit.
        foreach (var head in new int?[] { null }.Concat(Enumerable.Range(0, heads).Select(k => (int?)k)))
        {
            var onnx = Path.Combine(fixture.Tmp.Sub("every-" + name + "-export"), $"model{head}.onnx");
            OnnxExporter.Export(run, onnx, head);
            var expected = FsdNetScores(bundle, head);
            var actual = OrtEncodedScores(onnx, bundle.FeatureMap);
            var maxDiff = expected.Zip(actual).Max(t => Math.Abs(t.First - t.Second));
            Assert.True(maxDiff <= 1e-5, $"{name} head {head}: max |FsdNet - ONNX Runtime| = {maxDiff}");
            Assert.True(expected.Max() - expected.Min() > 1e-4, $"{name}: scores barely vary ({expected.Min()}..{expected.Max()})");
        }
    }

    [Fact]
    public void A_bundle_exports_the_same_graph_as_its_run_directory()
    {
        var run = TrainRun(Config("FSDNet", "parallel_dnn_hidden_units: [8, 8]\nnum_cross_layers: 2"), "from-bundle");
        var dir = fixture.Tmp.Sub("from-bundle-export");
        var fsdb = Path.Combine(dir, "model.fsdb");
        BundleFile.Export(run, fsdb);
        OnnxExporter.Export(run, Path.Combine(dir, "run.onnx"), 1);
        OnnxExporter.Export(fsdb, Path.Combine(dir, "bundle.onnx"), 1);
        Assert.Equal(File.ReadAllBytes(Path.Combine(dir, "run.onnx")), File.ReadAllBytes(Path.Combine(dir, "bundle.onnx")));
        Assert.Equal(File.ReadAllText(Path.Combine(dir, "run.encoder.json")).Replace("run.onnx", "bundle.onnx", StringComparison.Ordinal),
            File.ReadAllText(Path.Combine(dir, "bundle.encoder.json")));
    }

    [Fact]
    public void Heads_of_one_model_give_different_graphs_and_scores()
    {
        var run = TrainRun(Config("FSDNet", "parallel_dnn_hidden_units: [8, 8, 8]\nnum_cross_layers: 3"), "heads");
        var dir = fixture.Tmp.Sub("heads-export");
        var scores = new List<float[]>();
        var nodes = new List<int>();
        foreach (var head in new int?[] { 0, 1, 2, null })
        {
            var path = Path.Combine(dir, $"h{head?.ToString(CultureInfo.InvariantCulture) ?? "mean"}.onnx");
            OnnxExporter.Export(run, path, head);
            using var enc = JsonDocument.Parse(File.ReadAllText(OnnxExporter.EncoderPath(path)));
            Assert.Equal(head, enc.RootElement.GetProperty("head").ValueKind == JsonValueKind.Null ? null : enc.RootElement.GetProperty("head").GetInt32());
            scores.Add(OrtScores(path, enc.RootElement, fixture.Rows));
            nodes.Add(global::Onnx.ModelProto.Parser.ParseFrom(File.ReadAllBytes(path)).Graph.Node.Count);
        }
        // Early exit: head k's graph holds only layers 0..k.
        Assert.True(nodes[0] < nodes[1] && nodes[1] < nodes[2], string.Join(", ", nodes));
        for (var r = 0; r < scores[0].Length; r++)
        {
            Assert.Equal((scores[0][r] + scores[1][r] + scores[2][r]) / 3, scores[3][r], 1e-5);
        }
        Assert.True(scores[0].Zip(scores[2]).Max(t => Math.Abs(t.First - t.Second)) > 1e-4, "heads 0 and 2 score alike");
    }

    [Fact]
    public void The_encoder_json_encodes_raw_rows_as_the_feature_map_does()
    {
        var run = TrainRun(Config("DNN", "hidden_units: [4]"), "encoder");
        var onnx = Path.Combine(fixture.Tmp.Sub("encoder-export"), "dnn.onnx");
        OnnxExporter.Export(run, onnx);
        Assert.EndsWith("dnn.encoder.json", OnnxExporter.EncoderPath(onnx), StringComparison.Ordinal);
        using var doc = JsonDocument.Parse(File.ReadAllText(OnnxExporter.EncoderPath(onnx)));
        var enc = doc.RootElement;
        Assert.Equal("fsdnet-onnx-encoder", enc.GetProperty("format").GetString());
        Assert.Equal(fixture.Map.SchemaHash, enc.GetProperty("schema_hash").GetString());
        Assert.Empty(enc.GetProperty("ignored_features").EnumerateArray());
        // The model was trained without s (use_features): the encoder still says how to encode it, and that nothing reads it.
        var s = Assert.Single(enc.GetProperty("sequence").EnumerateArray());
        Assert.Equal("s", s.GetProperty("feature").GetString());
        Assert.False(s.GetProperty("used_by_model").GetBoolean());
        var map = fixture.Map;
        var cat = new int[map.CategoricalCount];
        var num = new float[map.NumericCount];
        var seq = new int[map.SequenceWidth];
        int oov = 0, missing = 0;
        foreach (var row in fixture.Rows)
        {
            map.EncodeRow(c => row.GetValueOrDefault(c), cat, num, seq, out _);
            var (codes, values) = Encode(enc, row);
            Assert.Equal(cat.Select(c => (long)c), codes);
            Assert.Equal(num, values);
            oov += map.Categorical.Count(f => cat[f.TypeIndex] == f.OovIdx);
            missing += row.Count(kv => kv.Value == "");
        }
        // The rows exercise the rules that matter: unseen tokens and missing values.
        Assert.True(oov > 10 && missing > 10, $"oov {oov}, missing {missing}");
    }

    [Fact]
    public void Codes_outside_a_fields_vocabulary_are_refused_by_onnx_runtime()
    {
        var run = TrainRun(Config("DNN", "hidden_units: [4]"), "range");
        var onnx = Path.Combine(fixture.Tmp.Sub("range-export"), "dnn.onnx");
        OnnxExporter.Export(run, onnx);
        var map = fixture.Map;
        using var session = new InferenceSession(onnx);
        var numeric = new DenseTensor<float>(new float[map.NumericCount], [1, map.NumericCount]);
        foreach (var bad in new long[] { map.Categorical.First().VocabSize, -1, 1L << 40 })
        {
            var codes = new long[map.CategoricalCount];
            Array.Fill(codes, 1);
            codes[0] = bad;
            var inputs = new List<NamedOnnxValue>
            {
                NamedOnnxValue.CreateFromTensor("categorical", new DenseTensor<long>(codes, [1, map.CategoricalCount])),
                NamedOnnxValue.CreateFromTensor("numeric", numeric),
            };
            Assert.Throws<OnnxRuntimeException>(() => session.Run(inputs).Dispose());
        }
    }

    [Theory]
    [InlineData("DNN", "hidden_units: [4]", 0, "DNN has no FSD module")]
    [InlineData("FSDNet", "parallel_dnn_hidden_units: [8, 8]\nnum_cross_layers: 2", 2, "--head 2 is not a head")]
    public void Heads_that_a_model_does_not_have_are_refused_by_name(string model, string extra, int? head, string message)
    {
        var run = TrainRun(Config(model, extra), "refused-" + model + head);
        var onnx = Path.Combine(fixture.Tmp.Sub("refused-export-" + model + head), "m.onnx");
        var e = Assert.ThrowsAny<Exception>(() => OnnxExporter.Export(run, onnx, head));
        Assert.True(e is NotSupportedException or ArgumentException, e.GetType().Name);
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(onnx));
    }


    // ---- FsdNet's side ----

    private float[] FsdNetScores(ModelBundle bundle, int? head)
    {
        var map = bundle.FeatureMap;
        var rows = fixture.Rows;
        int c = map.CategoricalCount, n = map.NumericCount, s = map.SequenceWidth;
        var cat = new int[rows.Count * c];
        var num = new float[rows.Count * n];
        var seq = new int[rows.Count * s];
        for (var r = 0; r < rows.Count; r++)
        {
            var row = rows[r];
            map.EncodeRow(k => row.GetValueOrDefault(k), cat.AsSpan(r * c, c), num.AsSpan(r * n, n), seq.AsSpan(r * s, s), out _);
        }
        var x = new ModelInput(rows.Count, cat, c, numeric: num, numericCount: n, sequence: seq, sequenceWidth: s);
        var g = new Graph { Training = false, GradEnabled = false };
        var p = head is { } h ? ((FsdCapableModel)bundle.Model).PredictHead(g, x, h) : bundle.Model.Predict(g, x);
        return p.Span.ToArray();
    }

    /// <summary>ONNX Runtime's scores of the fixture's rows, encoded by the feature map (the graph's inputs as FsdNet's batches hold them).</summary>
    private float[] OrtEncodedScores(string onnx, FeatureMap map)
    {
        var rows = fixture.Rows;
        int c = map.CategoricalCount, n = map.NumericCount, s = map.SequenceWidth;
        var cat = new long[rows.Count * c];
        var num = new float[rows.Count * n];
        var seq = new long[rows.Count * s];
        var (ci, si) = (new int[c], new int[s]);
        for (var r = 0; r < rows.Count; r++)
        {
            var row = rows[r];
            map.EncodeRow(k => row.GetValueOrDefault(k), ci, num.AsSpan(r * n, n), si, out _);
            for (var k = 0; k < c; k++)
            {
                cat[(r * c) + k] = ci[k];
            }
            for (var k = 0; k < s; k++)
            {
                seq[(r * s) + k] = si[k];
            }
        }
        using var session = new InferenceSession(onnx);
        var inputs = new List<NamedOnnxValue>();
        foreach (var name in session.InputMetadata.Keys)
        {
            inputs.Add(name switch
            {
                OnnxExporter.CategoricalInput => NamedOnnxValue.CreateFromTensor(name, new DenseTensor<long>(cat, [rows.Count, c])),
                OnnxExporter.NumericInput => NamedOnnxValue.CreateFromTensor(name, new DenseTensor<float>(num, [rows.Count, n])),
                OnnxExporter.SequenceInput => NamedOnnxValue.CreateFromTensor(name, new DenseTensor<long>(seq, [rows.Count, s])),
                _ => throw new InvalidOperationException($"unexpected graph input {name}"),
            });
        }
        using var results = session.Run(inputs);
        return [.. results.Single().AsEnumerable<float>()];
    }

    // ---- a client's side: the encoder JSON and ONNX Runtime only (OnnxReferenceClient) ----

    private static float[] OrtScores(string onnx, JsonElement encoder, IReadOnlyList<Dictionary<string, string?>> rows) =>
        OnnxReferenceClient.Score(onnx, encoder, [.. rows.Select(r => (Func<string, string?>)r.GetValueOrDefault)]);

    private static (long[] Codes, float[] Values) Encode(JsonElement enc, Dictionary<string, string?> row)
    {
        var e = OnnxReferenceClient.Encode(enc, row.GetValueOrDefault);
        return (e.Categorical, e.Numeric);
    }
}

/// <summary>`fsdnet export --format onnx` from the command line (console capture: the Threading collection).</summary>
[Collection(ThreadingCollection.Name)]
public sealed class OnnxExportCliTests
{
    [Fact]
    public void The_cli_exports_any_model_and_names_a_refused_head()
    {
        using var tmp = new TempDir();
        tmp.File("train.csv", "label,u,i\n1,a,x\n0,b,y\n1,a,y\n0,b,x\n");
        using var data = Helpers.PrepareYaml(tmp, "toy:\n  train_data: train.csv\n  min_categr_count: 1\n  feature_cols: [{name: [u, i], type: categorical}]\n  label_col: {name: label}\n");
        foreach (var (model, extra) in new[] { ("WideDeep", "hidden_units: [4]"), ("AutoInt", "dnn_hidden_units: [4]\nnum_heads: 1\nattention_layers: 1") })
        {
            var cfg = ModelConfig.Parse($"e:\n    model: {model}\n    embedding_dim: 2\n    {extra.Replace("\n", "\n    ", StringComparison.Ordinal)}\n", "m.yaml", "e");
            var m = ModelRegistry.Create(ModelInputs.Schema(data.FeatureMap, cfg), cfg, new Rng(1));
            var run = tmp.Sub("run-" + model);
            ModelBundle.Save(run, m, data.FeatureMap, cfg);
            var output = Path.Combine(tmp.Sub("out"), model + ".onnx");
            var (code, _, err) = CliRunner.Run("export", "--format", "onnx", "--model", run, "--output", output);
            Assert.Equal(0, code);
            Assert.True(File.Exists(output) && File.Exists(OnnxExporter.EncoderPath(output)), err);
            // A head the model does not have: an error that names it, no stack trace, no file.
            var refused = Path.Combine(tmp.Sub("out"), model + "-head.onnx");
            (code, _, err) = CliRunner.Run("export", "--format", "onnx", "--model", run, "--output", refused, "--head", "0");
            Assert.NotEqual(0, code);
            Assert.StartsWith($"error: --head chooses one head of an FSD model (fsd: true); {model} has no FSD module", err, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", err, StringComparison.Ordinal);
            Assert.False(File.Exists(refused));
        }
    }
}
