using System.Globalization;
using System.Text;
using FsdNet.Autodiff;
using FsdNet.Data;
using FsdNet.Layers;
using FsdNet.Models;
using FsdNet.Serving;
using FsdNet.Serving.Onnx;
using FsdNet.Tensors;
using Tensor = FsdNet.Tensors.Tensor;
using FsdNet.Tests.Data;
using FsdNet.Tests.Support;
using FsdNet.Training;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Xunit;

namespace FsdNet.Tests.Serving;

/// <summary>
/// Traced ONNX export over every input kind at once: a pretrained table (FuxiCTR's golden emb.npz, 3-dim vectors) in
/// each pretrain_usage, a sequence that shares another field's table, sum pooling, a <c>type: embedding</c> vector, a numeric
/// feature and a per-field embedding dim; ONNX Runtime must score the encoded rows as FsdNet does. Also: an op with no
/// place in an inference graph is refused with an error naming the op and the model.
/// </summary>
public sealed class OnnxInputKindsTests
{
    private static readonly string[] Ids = ["10", "20", "30", "99", "5", "7"];

    private static string Data(TempDir tmp)
    {
        File.Copy(Path.Combine(AppContext.BaseDirectory, "Golden", "fuxictr", "pretrained", "emb.npz"), tmp.Sub("emb.npz"));
        var rng = new Rng(5);
        var ids = Ids;
        var sb = new StringBuilder("label,uid,item,c,hist,tags,vec,n\n");
        for (var i = 0; i < 400; i++)
        {
            var u = rng.NextInt(ids.Length);
            var c = rng.NextInt(5);
            var hist = string.Join('^', Enumerable.Range(0, rng.NextInt(4)).Select(_ => ids[rng.NextInt(ids.Length)]));
            var tags = string.Join('^', Enumerable.Range(0, rng.NextInt(3)).Select(_ => "t" + rng.NextInt(4).ToString(CultureInfo.InvariantCulture)));
            var v = Enumerable.Range(0, 4).Select(_ => rng.NextGaussian()).ToArray();
            var n = rng.NextDouble() * 4;
            var logit = (u % 3) - 1 + (c == 2 ? 1 : 0) + v[0] - (0.5 * n) + (hist.Contains(ids[u], StringComparison.Ordinal) ? 1 : 0) + (tags.Contains("t1", StringComparison.Ordinal) ? 0.7 : 0);
            var y = rng.NextDouble() < 1 / (1 + Math.Exp(-logit)) ? 1 : 0;
            sb.Append(CultureInfo.InvariantCulture, $"{y},{ids[u]},{ids[rng.NextInt(ids.Length)]},c{c},{hist},{tags},{string.Join('^', v.Select(x => x.ToString("F4", CultureInfo.InvariantCulture)))},{n:F3}\n");
        }
        tmp.File("train.csv", sb.ToString());
        return "train.csv";
    }

    [Theory]
    [InlineData("DNN", "init", "hidden_units: [8]\nbatch_norm: True")]
    [InlineData("DNN", "sum", "hidden_units: [8]")]
    [InlineData("DNN", "concat", "hidden_units: [8]")]
    [InlineData("FSDNet", "sum", "parallel_dnn_hidden_units: [6, 6]\nnum_cross_layers: 2\nbatch_norm: True")]
    [InlineData("AutoInt", "concat", "attention_layers: 1\nnum_heads: 2\nattention_dim: 4\nuse_wide: True")]
    [InlineData("xDeepFM", "init", "cin_hidden_units: [4]\ndnn_hidden_units: [6]")]
    public void Every_input_kind_exports_and_onnx_runtime_scores_it_as_fsdnet_does(string model, string usage, string extra)
    {
        using var tmp = new TempDir();
        var train = Data(tmp);
        using var data = Helpers.PrepareYaml(tmp, $$"""
            kinds:
              train_data: {{train}}
              valid_data: {{train}}
              min_categr_count: 1
              feature_cols:
                - {name: uid, dtype: str, type: categorical, pretrained_emb: emb.npz, pretrain_usage: {{usage}}, pretrain_dim: 3, freeze_emb: false}
                - {name: c, dtype: str, type: categorical}
                - {name: item, dtype: str, type: categorical}
                - {name: hist, type: sequence, share_embedding: item, splitter: ^, max_len: 3}
                - {name: tags, type: sequence, splitter: ^, max_len: 2, encoder: MaskedSumPooling}
                - {name: vec, dtype: str, type: embedding, pretrain_dim: 4}
                - {name: n, dtype: float, type: numeric, normalizer: StandardScaler}
              label_col: {name: label, dtype: float}
            """);
        var cfg = ModelConfig.Parse($"""
            exp:
                model: {model}
                embedding_dim: 4
                epochs: 1
                batch_size: 64
                learning_rate: 1.e-2
                seed: 7
                {extra.Replace("\n", "\n    ", StringComparison.Ordinal)}
            """, "kinds.yaml", "exp");
        var map = data.FeatureMap;
        var m = ModelRegistry.Create(ModelInputs.Schema(map, cfg), cfg, new Rng(7));
        new Trainer(m, TrainerOptions.From(cfg)).Fit(data.Train, data.Valid!);
        var run = tmp.Sub("run");
        ModelBundle.Save(run, m, map, cfg);
        var bundle = ModelBundle.Load(run);
        var schema = bundle.Model.Schema;
        Assert.True(schema.SequenceWidth == 5 && schema.EmbeddingWidth == 4 && schema.NumericCount == 1, $"schema {schema.SequenceWidth} {schema.EmbeddingWidth}");

        // 64 rows: tokens of the training data, unseen ones, empty sequences.
        var rng = new Rng(9);
        var rows = Enumerable.Range(0, 64).Select(i => new Dictionary<string, string?>
        {
            ["uid"] = i % 7 == 0 ? "12345" : Ids[rng.NextInt(Ids.Length)],
            ["item"] = Ids[rng.NextInt(Ids.Length)],
            ["c"] = "c" + rng.NextInt(6).ToString(CultureInfo.InvariantCulture),
            ["hist"] = i % 5 == 0 ? "" : string.Join('^', Ids.Skip(rng.NextInt(3)).Take(1 + rng.NextInt(3))),
            ["tags"] = i % 3 == 0 ? "" : "t" + rng.NextInt(5).ToString(CultureInfo.InvariantCulture),
            ["vec"] = string.Join('^', Enumerable.Range(0, 4).Select(_ => rng.NextGaussian().ToString("F3", CultureInfo.InvariantCulture))),
            ["n"] = (rng.NextDouble() * 4).ToString("F3", CultureInfo.InvariantCulture),
        }).ToList();
        int cc = map.CategoricalCount, nc = map.NumericCount, sc = map.SequenceWidth, ec = map.EmbeddingWidth;
        var (cat, num, seq, emb) = (new int[rows.Count * cc], new float[rows.Count * nc], new int[rows.Count * sc], new float[rows.Count * ec]);
        for (var r = 0; r < rows.Count; r++)
        {
            var row = rows[r];
            map.EncodeRow(k => row.GetValueOrDefault(k), cat.AsSpan(r * cc, cc), num.AsSpan(r * nc, nc), seq.AsSpan(r * sc, sc), emb.AsSpan(r * ec, ec), out _);
        }
        var x = new ModelInput(rows.Count, cat, cc, null, num, nc, seq, sc, emb, ec);
        var expected = bundle.Model.Predict(new Graph { Training = false, GradEnabled = false }, x).Span.ToArray();

        var onnx = Path.Combine(tmp.Sub("export"), "model.onnx");
        OnnxExporter.Export(run, onnx);
        using var session = new InferenceSession(onnx);
        var inputs = session.InputMetadata.Keys.Select(name => name switch
        {
            OnnxExporter.CategoricalInput => NamedOnnxValue.CreateFromTensor(name, new DenseTensor<long>(cat.Select(v => (long)v).ToArray(), [rows.Count, cc])),
            OnnxExporter.NumericInput => NamedOnnxValue.CreateFromTensor(name, new DenseTensor<float>(num, [rows.Count, nc])),
            OnnxExporter.SequenceInput => NamedOnnxValue.CreateFromTensor(name, new DenseTensor<long>(seq.Select(v => (long)v).ToArray(), [rows.Count, sc])),
            OnnxExporter.EmbeddingInput => NamedOnnxValue.CreateFromTensor(name, new DenseTensor<float>(emb, [rows.Count, ec])),
            _ => throw new InvalidOperationException(name),
        }).ToList();
        Assert.Equal(4, inputs.Count);
        using var results = session.Run(inputs);
        var actual = results.Single().AsEnumerable<float>().ToArray();
        var maxDiff = expected.Zip(actual).Max(t => Math.Abs(t.First - t.Second));
        Assert.True(maxDiff <= 1e-5, $"{model} ({usage}): max |FsdNet - ONNX Runtime| = {maxDiff}");
        Assert.True(expected.Max() - expected.Min() > 1e-3, $"scores barely vary ({expected.Min()}..{expected.Max()})");
    }

    /// <summary>A model whose prediction runs a loss: the export names the op and the model.</summary>
    private sealed class LossInForward : CtrModel
    {
        private readonly FeatureEmbedding embedding;

        public LossInForward(InputSchema schema)
            : base(schema)
        {
            embedding = AddChild("embedding", new FeatureEmbedding(schema, 2, new Rng(1)));
        }

        public override string ModelName => "LossInForward";

        public override Tensor Predict(Graph g, in ModelInput x)
        {
            var e = embedding.Forward(g, x);
            var a = g.Slice(e, 0, 1);
            return g.Sigmoid(g.Add(a, g.MeanSquaredError(a, g.Slice(e, 1, 1))));
        }

        protected override Tensor Logit(Graph g, in ModelInput x) => throw new NotSupportedException();
    }

    [Fact]
    public void An_op_with_no_place_in_an_inference_graph_is_refused_by_name()
    {
        var model = new LossInForward(InputSchema.Categorical(("a", 4), ("b", 3)));
        var e = Assert.Throws<NotSupportedException>(() => OnnxTracer.Trace(model, null));
        Assert.Equal("ONNX export of LossInForward: the forward pass runs MeanSquaredError (a loss), which has no place in an inference graph.", e.Message);
    }
}
