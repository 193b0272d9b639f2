using System.Globalization;
using FsdNet.Data;
using FsdNet.Layers;
using FsdNet.Models;
using FsdNet.Tensors;
using Google.Protobuf;
using Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace FsdNet.Serving.Onnx;

/// <summary>
/// Exports a trained model's inference graph as ONNX (opset 17, IR version 8) with its encoder as JSON beside it
/// (<c>model.encoder.json</c> for <c>model.onnx</c>). Inputs, each present when the feature map has such features:
/// <c>categorical</c> int64 [N, categorical columns] (the codes of the feature map, column i = the i-th categorical
/// feature), <c>numeric</c> float [N, numeric columns] (normalised values), <c>sequence</c> int64 [N, sum of max_len]
/// (each sequence feature's codes) and <c>embedding</c> float [N, sum of pretrain_dim] (type: embedding vectors);
/// output: <c>probability</c> float [N, 1]. The graph is
/// the evaluation-mode forward pass: BatchNorm folded into the Gemm before it (running statistics), dropout gone.
/// Covered: <see cref="SupportedModels"/>; anything else is refused with an error naming the model or option.
/// </summary>
public static class OnnxExporter
{
    /// <summary>The models the exporter covers (FuxiCTR names).</summary>
    public static IReadOnlyList<string> SupportedModels { get; } = ["FSDNet", "DCNv2", "DeepFM", "DNN", "WideDeep"];

    /// <summary>Name of the graph's categorical input (int64 [N, categorical columns]).</summary>
    public const string CategoricalInput = "categorical";

    /// <summary>Name of the graph's numeric input (float [N, numeric columns]), present when the feature map has numeric features.</summary>
    public const string NumericInput = "numeric";

    /// <summary>Name of the graph's sequence input (int64 [N, sum of max_len]), present when the model reads sequence features.</summary>
    public const string SequenceInput = "sequence";

    /// <summary>Name of the graph's embedding-vector input (float [N, sum of pretrain_dim]), present when the model reads <c>type: embedding</c> features.</summary>
    public const string EmbeddingInput = "embedding";

    /// <summary>Name of the graph's output (float [N, 1], the click probability).</summary>
    public const string Output = "probability";

    /// <summary>The encoder file written beside <paramref name="onnxPath"/>: model.onnx -> model.encoder.json.</summary>
    public static string EncoderPath(string onnxPath)
    {
        var full = Path.GetFullPath(onnxPath);
        var stem = Path.GetExtension(full).Equals(".onnx", StringComparison.OrdinalIgnoreCase) ? full[..^5] : full;
        return stem + ".encoder.json";
    }

    /// <summary>
    /// Writes <paramref name="outputPath"/> (the ONNX model) and the encoder JSON beside it for the run directory or
    /// bundle (.fsdb) <paramref name="model"/>; head: one FSD head (0-based), null: the model's own prediction (its score_head or
    /// the mean of all heads). Returns a one-line summary.
    /// </summary>
    public static string Export(string model, string outputPath, int? head = null)
    {
        return Export(ModelBundle.Load(model), outputPath, head);
    }

    /// <summary><see cref="Export(string, string, int?)"/> for a loaded model.</summary>
    public static string Export(ModelBundle bundle, string outputPath, int? head = null)
    {
        var (proto, description) = Build(bundle, head);
        var encoderPath = EncoderPath(outputPath);
        var encoderJson = OnnxEncoder.ToJson(bundle, Path.GetFileName(outputPath), head, description);
        var dir = Path.GetDirectoryName(Path.GetFullPath(outputPath));
        if (dir is not null)
        {
            Directory.CreateDirectory(dir);
        }
        WriteAtomically(outputPath, proto.ToByteArray());
        WriteAtomically(encoderPath, System.Text.Encoding.UTF8.GetBytes(encoderJson));
        var size = new FileInfo(outputPath).Length;
        return $"wrote {outputPath} ({size / 1024.0:F1} KiB, {bundle.Model.ModelName}, {description}, opset {OnnxGraph.Opset}) and {encoderPath}";
    }

    /// <summary>The ONNX model of <paramref name="bundle"/> and a description of what it scores (e.g. "mean of 3 heads").</summary>
    internal static (ModelProto Model, string Scores) Build(ModelBundle bundle, int? head)
    {
        if (!BitConverter.IsLittleEndian)
        {
            throw new NotSupportedException("ONNX export writes little-endian tensor data; this machine is big-endian.");
        }
        var b = new Translator(bundle);
        var (probability, scores) = b.Build(head);
        var g = b.Graph;
        g.Output(probability, Output, 1);
        var meta = new List<(string, string)>
        {
            ("fsdnet.model", bundle.Model.ModelName),
            ("fsdnet.expid", bundle.Config.ExpId),
            ("fsdnet.schema_hash", bundle.FeatureMap.SchemaHash),
            ("fsdnet.scores", scores),
        };
        var version = typeof(OnnxExporter).Assembly.GetName().Version?.ToString(3) ?? "0";
        return (g.ToModel(version, $"{bundle.Model.ModelName} ({bundle.Config.ExpId}) exported by FsdNet: {scores}.", meta), scores);
    }

    private static void WriteAtomically(string path, byte[] bytes)
    {
        var tmp = path + "." + Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + ".tmp";
        File.WriteAllBytes(tmp, bytes);
        File.Move(tmp, path, overwrite: true);
    }

    /// <summary>Turns one model's parameters (by their State() names) into graph nodes.</summary>
    private sealed class Translator
    {
        private readonly ModelBundle bundle;
        private readonly CtrModel model;
        private readonly Dictionary<string, Tensor> state;
        private readonly string? categorical;
        private readonly string? numeric;
        private readonly string? sequence;
        private readonly string? embedding;

        public Translator(ModelBundle bundle)
        {
            this.bundle = bundle;
            model = bundle.Model;
            state = model.State().ToDictionary(t => t.Name, t => t.Value, StringComparer.Ordinal);
            Graph = new OnnxGraph(model.ModelName);
            var schema = model.Schema;
            if (schema.CategoricalCount > 0)
            {
                categorical = Graph.Input(CategoricalInput, DataType.Int64, schema.CategoricalCount);
            }
            if (schema.NumericCount > 0)
            {
                numeric = Graph.Input(NumericInput, DataType.Float, schema.NumericCount);
            }
            if (schema.SequenceWidth > 0)
            {
                sequence = Graph.Input(SequenceInput, DataType.Int64, schema.SequenceWidth);
            }
            if (schema.EmbeddingWidth > 0)
            {
                embedding = Graph.Input(EmbeddingInput, DataType.Float, schema.EmbeddingWidth);
            }
        }

        public OnnxGraph Graph { get; }

        private string Name => model.ModelName;

        public (string Probability, string Scores) Build(int? head)
        {
            var fsd = model is FsdCapableModel { HeadCount: not null } f ? f : null;
            if (head is not null && fsd is null)
            {
                throw new ArgumentException($"--head chooses one head of an FSD model (fsd: true); {Name} has no FSD module, so it has one prediction.");
            }
            return model switch
            {
                Dcnv2Model d => Dcnv2(d, head),
                DnnModel => Sigmoid(Mlp("mlp.", Embedding("embedding."), DnnOptions.From(bundle.Config).HiddenActivations)),
                WideDeepModel => Sigmoid(Graph.Node("Add", [
                    LogisticRegression("lr_layer."),
                    Mlp("mlp.", Embedding("embedding."), DnnOptions.From(bundle.Config).HiddenActivations)])),
                DeepFmModel => DeepFm(),
                _ when fsd is not null => throw Refuse($"{Name} with the FSD module"),
                _ => throw Refuse(Name),
            };
        }

        private static NotSupportedException Refuse(string what) => new(
            $"ONNX export does not cover {what} yet; it covers {string.Join(", ", SupportedModels)} " +
            "(export a bundle with --format bundle and score it with `fsdnet serve` or the Scorer instead).");

        private (string, string) Sigmoid(string logit) => (Graph.Node("Sigmoid", [logit]), "sigmoid of the logit");

        // ---- models ----

        private (string, string) Dcnv2(Dcnv2Model m, int? head)
        {
            var (activation, scoreHead, mixture) = m switch
            {
                FsdNetModel f => (f.Options.DnnActivations, f.Options.ScoreHead, false),
                _ => ReadDcnv2(),
            };
            if (mixture)
            {
                throw new NotSupportedException(
                    $"ONNX export does not cover {Name} with use_low_rank_mixture: True (CrossNetMix) yet; the full-rank cross network (use_low_rank_mixture: False) is covered.");
            }
            var x0 = Embedding("embedding.");
            if (m.HeadCount is { } heads)
            {
                return Fsd(x0, heads, head ?? scoreHead, activation);
            }
            var crossLayers = CountPrefixed("cross.cross_layers.");
            var cross = x0;
            for (var i = 0; i < crossLayers; i++)
            {
                cross = CrossLayer($"cross.cross_layers.{i}.", x0, cross);
            }
            var final = m.Structure switch
            {
                Dcnv2Structure.CrossNetOnly => cross,
                Dcnv2Structure.Stacked => Tower("stacked_dnn.", cross, activation),
                Dcnv2Structure.Parallel => Graph.Node("Concat", [cross, Tower("dnn.", x0, activation)], null, OnnxGraph.Int("axis", 1)),
                _ => Graph.Node("Concat", [Tower("stacked_dnn.", cross, activation), Tower("dnn.", x0, activation)], null, OnnxGraph.Int("axis", 1)),
            };
            return Sigmoid(Linear("fc.", final));
        }

        private (Activation Activation, int? ScoreHead, bool Mixture) ReadDcnv2()
        {
            var o = Dcnv2Options.From(bundle.Config);
            return (o.DnnActivations, o.Fsd?.ScoreHead, o.UseLowRankMixture);
        }

        /// <summary>The FSD module on DCNv2's parallel towers: f_i = [c_i ; d_i], z_i = head_i(f_i); only layers up to the scoring head are built.</summary>
        private (string, string) Fsd(string x0, int heads, int? head, Activation activation)
        {
            if (head is { } h && (h < 0 || h >= heads))
            {
                throw new ArgumentException($"--head {h} is not a head of this {Name} (heads 0 to {heads - 1}; {heads - 1} is the teacher).");
            }
            var last = head ?? heads - 1;
            string c = x0, d = x0;
            var probabilities = new List<string>();
            for (var i = 0; i <= last; i++)
            {
                c = CrossLayer($"cross.cross_layers.{i}.", x0, c);
                d = Dense($"dnn.{i}.", d, activation);
                if (head is null || i == head)
                {
                    var fused = Graph.Node("Concat", [c, d], null, OnnxGraph.Int("axis", 1));
                    probabilities.Add(Graph.Node("Sigmoid", [Linear($"heads.{i}.", fused)]));
                }
            }
            if (head is { } k)
            {
                return (probabilities[0], $"head {k} of {heads}");
            }
            var sum = probabilities[0];
            for (var i = 1; i < probabilities.Count; i++)
            {
                sum = Graph.Node("Add", [sum, probabilities[i]]);
            }
            return (Graph.Node("Mul", [sum, Graph.Scalar("inv_heads", 1f / heads)]), $"mean of {heads} heads' probabilities");
        }

        private (string, string) DeepFm()
        {
            var fields = model.Schema.Fields;
            var x0 = Embedding("embedding.");
            var dims = fields.Select(Dim).Distinct().ToList();
            if (dims.Count != 1)
            {
                throw new NotSupportedException($"{Name}: fields of different embedding dims cannot form the FM term.");
            }
            // FM second order: 0.5 * sum_d((sum_f e_f)^2 - sum_f e_f^2) on x0 seen as [N, fields, dim].
            var stacked = Graph.Node("Reshape", [x0, Graph.Longs("fields_shape", -1, fields.Count, dims[0])]);
            var axis1 = Graph.Longs("axis1", 1);
            var sum = Graph.Node("ReduceSum", [stacked, axis1], null, OnnxGraph.Int("keepdims", 0));
            var squareOfSum = Graph.Node("Mul", [sum, sum]);
            var sumOfSquares = Graph.Node("ReduceSum", [Graph.Node("Mul", [stacked, stacked]), axis1], null, OnnxGraph.Int("keepdims", 0));
            var pairs = Graph.Node("ReduceSum", [Graph.Node("Sub", [squareOfSum, sumOfSquares]), axis1], null, OnnxGraph.Int("keepdims", 1));
            var fm = Graph.Node("Add", [LogisticRegression("fm.lr_layer."), Graph.Node("Mul", [pairs, Graph.Scalar("half", 0.5f)])]);
            var deep = Mlp("mlp.", x0, DnnOptions.From(bundle.Config).HiddenActivations);
            return Sigmoid(Graph.Node("Add", [fm, deep]));
        }

        // ---- layers ----

        /// <summary>A field's embedding dim in the model's main FeatureEmbedding ("embedding."), read from its table.</summary>
        private int Dim(InputField f) => f.Kind switch
        {
            InputKind.Categorical => Table("embedding.", f, null, plain: false, model.Schema.Fields.ToDictionary(x => x.Name, StringComparer.Ordinal)).Shape[1],
            InputKind.Numeric => Param($"embedding.embedding_layer.{f.Name}.weight").Shape[1],
            InputKind.Sequence => Table("embedding.", f, null, plain: false, model.Schema.Fields.ToDictionary(x => x.Name, StringComparer.Ordinal)).Shape[1],
            InputKind.Embedding => Param($"embedding.feature_encoders.{f.Name}.weight").Shape[0],
            _ => 0,
        };

        /// <summary>
        /// x0 [N, sum of dims] of a FeatureEmbedding named <paramref name="prefix"/>: runs of consecutive categorical
        /// fields of one dim read one concatenated table with one Gather (codes outside a field's [0, vocab) are sent
        /// to an index out of the table's bounds, so ONNX Runtime refuses them instead of reading another field's
        /// rows); numeric fields scale their vector by the value.
        /// </summary>
        private string Embedding(string prefix, bool plain = false)
        {
            var fields = model.Schema.Fields;
            var byName = fields.ToDictionary(f => f.Name, StringComparer.Ordinal);
            var parts = new List<string>();
            var i = 0;
            while (i < fields.Count)
            {
                var f = fields[i];
                var dim = plain ? 1 : Dim(f);
                var j = i + 1;
                while (j < fields.Count && fields[j].Kind == f.Kind && (plain ? 1 : Dim(fields[j])) == dim)
                {
                    j++;
                }
                var run = fields.Skip(i).Take(j - i).ToList();
                switch (f.Kind)
                {
                    case InputKind.Categorical:
                        parts.Add(CategoricalRun(prefix, run, dim, plain, byName));
                        break;
                    case InputKind.Numeric:
                        parts.Add(NumericRun(prefix, run, dim));
                        break;
                    case InputKind.Sequence:
                        parts.AddRange(run.Select(x => SequenceField(prefix, x, dim, plain, byName)));
                        break;
                    default:
                        parts.AddRange(run.Select(x => VectorField(prefix, x, dim)));
                        break;
                }
                i = j;
            }
            return parts.Count == 1 ? parts[0] : Graph.Node("Concat", [.. parts], null, OnnxGraph.Int("axis", 1));
        }

        private string CategoricalRun(string prefix, List<InputField> run, int dim, bool plain, Dictionary<string, InputField> byName)
        {
            var total = run.Sum(f => (long)f.VocabSize) * dim;
            if (total > int.MaxValue)
            {
                throw new NotSupportedException($"{Name}: the embedding tables of fields {run[0].Name}..{run[^1].Name} hold {total} values, more than one ONNX initializer of this exporter holds (2^31).");
            }
            var table = new float[total];
            var offsets = new long[run.Count];
            var vocabs = new long[run.Count];
            var at = 0;
            for (var k = 0; k < run.Count; k++)
            {
                var f = run[k];
                var t = Table(prefix, f, dim, plain, byName);
                if (t.Length < (long)f.VocabSize * dim)
                {
                    throw new ModelFileException($"{Name}: the embedding table of field '{f.Name}' has {t.Length / dim} rows, its vocabulary {f.VocabSize}.");
                }
                t.Span[..(f.VocabSize * dim)].CopyTo(table.AsSpan(at * dim));
                offsets[k] = at;
                vocabs[k] = f.VocabSize;
                at += f.VocabSize;
            }
            var label = plain ? "lr_weights" : "embeddings";
            var tableName = Graph.Const($"{prefix}{label}_{run[0].Name}", table, at, dim);
            var columns = run.Select(f => (long)f.Column).ToArray();
            var codes = columns.Length == model.Schema.CategoricalCount && columns.Select((c, k) => c == k).All(x => x)
                ? categorical!
                : Graph.Node("Gather", [categorical!, Graph.Longs("columns", columns)], null, OnnxGraph.Int("axis", 1));
            var valid = Graph.Node("And", [
                Graph.Node("GreaterOrEqual", [codes, Graph.Longs("zero", new long[run.Count])]),
                Graph.Node("Less", [codes, Graph.Longs("vocab_sizes", vocabs)])]);
            var rows = Graph.Node("Where", [valid, Graph.Node("Add", [codes, Graph.Longs("table_offsets", offsets)]), Graph.Const("out_of_range", new[] { -(long)at - 1 })]);
            var looked = Graph.Node("Gather", [tableName, rows], null, OnnxGraph.Int("axis", 0));
            return Graph.Node("Reshape", [looked, Graph.Longs("flat_shape", -1, run.Count * dim)]);
        }

        private Tensor Table(string prefix, InputField f, int? dim, bool plain, Dictionary<string, InputField> byName)
        {
            var owner = f;
            if (!plain)
            {
                for (var hops = 0; owner.ShareEmbedding is { } s && hops <= byName.Count; hops++)
                {
                    owner = byName[s];
                }
            }
            if (!plain && owner.Pretrained is { } pre)
            {
                var table = Param($"{prefix}embedding_layer.{owner.Name}.pretrain_embedding.weight");
                if (pre.Usage != PretrainUsage.Init || pre.Dim != (dim ?? table.Shape[1]) || state.ContainsKey($"{prefix}embedding_layer.{owner.Name}.proj.weight"))
                {
                    throw new NotSupportedException(
                        $"ONNX export does not cover field '{owner.Name}''s pretrained embedding with pretrain_usage {pre.Usage.ToString().ToLowerInvariant()}" +
                        " (or projected to another dim) yet; pretrain_usage init at the field's embedding dim is covered.");
                }
                return table;
            }
            return Param(plain ? $"{prefix}embedding_layer.{f.Name}.weight" : $"{prefix}embedding_layer.{owner.Name}.weight");
        }

        private string NumericRun(string prefix, List<InputField> run, int dim)
        {
            var weights = new float[run.Count * dim];
            for (var k = 0; k < run.Count; k++)
            {
                Param($"{prefix}embedding_layer.{run[k].Name}.weight").Span[..dim].CopyTo(weights.AsSpan(k * dim));
            }
            var columns = run.Select(f => (long)f.Column).ToArray();
            var values = Graph.Node("Gather", [numeric!, Graph.Longs("numeric_columns", columns)], null, OnnxGraph.Int("axis", 1));
            var scaled = Graph.Node("Mul", [
                Graph.Node("Unsqueeze", [values, Graph.Longs("axis2", 2)]),
                Graph.Const($"{prefix}numeric_{run[0].Name}", weights, run.Count, dim)]);
            return Graph.Node("Reshape", [scaled, Graph.Longs("flat_shape", -1, run.Count * dim)]);
        }

        /// <summary>
        /// A sequence field pooled over its non-padding codes (code 0 is padding): the sum, or for mean pooling the sum
        /// over max(count, 1), as FsdNet's FieldEmbedding; codes outside the table are refused by ONNX Runtime.
        /// </summary>
        private string SequenceField(string prefix, InputField f, int dim, bool plain, Dictionary<string, InputField> byName)
        {
            var t = Table(prefix, f, dim, plain, byName);
            var rows = t.Shape[0];
            var table = Graph.Const($"{prefix}{(plain ? "lr_weights" : "embeddings")}_{f.Name}", t.Span[..(rows * dim)], rows, dim);
            var codes = Graph.Node("Slice", [sequence!, Graph.Longs("seq_start", f.Column), Graph.Longs("seq_end", f.Column + f.MaxLen), Graph.Longs("axis1", 1)]);
            var valid = Graph.Node("And", [
                Graph.Node("GreaterOrEqual", [codes, Graph.Const("zero", new long[1])]),
                Graph.Node("Less", [codes, Graph.Const("rows", new long[] { rows })])]);
            var index = Graph.Node("Where", [valid, codes, Graph.Const("out_of_range", new[] { -(long)rows - 1 })]);
            var vectors = Graph.Node("Gather", [table, index], null, OnnxGraph.Int("axis", 0));
            var mask = Graph.Node("Cast", [Graph.Node("Not", [Graph.Node("Equal", [codes, Graph.Const("pad", new long[1])])])], null, OnnxGraph.Int("to", (long)DataType.Float));
            var masked = Graph.Node("Mul", [vectors, Graph.Node("Unsqueeze", [mask, Graph.Longs("axis2", 2)])]);
            var sum = Graph.Node("ReduceSum", [masked, Graph.Longs("axis1", 1)], null, OnnxGraph.Int("keepdims", 0));
            var pooling = plain ? SequencePooling.Sum : f.Pooling;
            if (pooling != SequencePooling.Mean)
            {
                return sum;
            }
            var count = Graph.Node("ReduceSum", [mask, Graph.Longs("axis1", 1)], null, OnnxGraph.Int("keepdims", 1));
            return Graph.Node("Div", [sum, Graph.Node("Max", [count, Graph.Scalar("one", 1f)])]);
        }

        /// <summary>A <c>type: embedding</c> field: its slice of the embedding input projected by Linear(pretrain_dim, dim, bias=False).</summary>
        private string VectorField(string prefix, InputField f, int dim)
        {
            var w = Param($"{prefix}feature_encoders.{f.Name}.weight");
            var values = Graph.Node("Slice", [embedding!, Graph.Longs("emb_start", f.Column), Graph.Longs("emb_end", f.Column + f.Width), Graph.Longs("axis1", 1)]);
            return Graph.Gemm(values, $"{prefix}feature_encoders.{f.Name}", w.Span, new float[dim], dim, f.Width);
        }

        /// <summary>FuxiCTR's LogisticRegression: the sum of every field's weight plus a bias, [N, 1].</summary>
        private string LogisticRegression(string prefix)
        {
            var weights = Embedding(prefix + "embedding_layer.", plain: true);
            var sum = Graph.Node("ReduceSum", [weights, Graph.Longs("axis1", 1)], null, OnnxGraph.Int("keepdims", 1));
            return state.ContainsKey(prefix + "bias") ? Graph.Node("Add", [sum, Graph.Const(prefix + "bias", Param(prefix + "bias").Span, 1)]) : sum;
        }

        private string Linear(string prefix, string x)
        {
            var w = Param(prefix + "weight");
            var bias = state.TryGetValue(prefix + "bias", out var b) ? b.Span.ToArray() : new float[w.Shape[0]];
            return Graph.Gemm(x, prefix.TrimEnd('.'), w.Span, bias, w.Shape[0], w.Shape[1]);
        }

        /// <summary>DCNv2's cross layer: x_l + x_0 * (W x_l + b).</summary>
        private string CrossLayer(string prefix, string x0, string xl) =>
            Graph.Node("Add", [xl, Graph.Node("Mul", [x0, Linear(prefix, xl)])]);

        /// <summary>An MlpTower (children "0", "1", ...).</summary>
        private string Tower(string prefix, string x, Activation activation)
        {
            var n = CountPrefixed(prefix);
            for (var i = 0; i < n; i++)
            {
                x = Dense($"{prefix}{i}.", x, activation);
            }
            return x;
        }

        /// <summary>An MlpBlock: hidden.i dense layers, then the output Linear.</summary>
        private string Mlp(string prefix, string x, Activation activation)
        {
            x = Tower(prefix + "hidden.", x, activation);
            return state.ContainsKey(prefix + "output.weight") ? Linear(prefix + "output.", x) : x;
        }

        /// <summary>A DenseLayer: Linear with BatchNorm folded in (running statistics), then the activation; dropout is gone.</summary>
        private string Dense(string prefix, string x, Activation activation)
        {
            var w = Param(prefix + "linear.weight");
            int outF = w.Shape[0], inF = w.Shape[1];
            var weight = w.Span.ToArray();
            var bias = Param(prefix + "linear.bias").Span.ToArray();
            if (state.ContainsKey(prefix + "batch_norm.weight"))
            {
                var gamma = Param(prefix + "batch_norm.weight").Span;
                var beta = Param(prefix + "batch_norm.bias").Span;
                var mean = Param(prefix + "batch_norm.running_mean").Span;
                var variance = Param(prefix + "batch_norm.running_var").Span;
                const double Eps = 1e-5; // BatchNorm1d's default, as DenseLayer builds it
                for (var o = 0; o < outF; o++)
                {
                    var scale = gamma[o] / Math.Sqrt(variance[o] + Eps);
                    for (var k = 0; k < inF; k++)
                    {
                        weight[(o * inF) + k] = (float)(weight[(o * inF) + k] * scale);
                    }
                    bias[o] = (float)(((bias[o] - mean[o]) * scale) + beta[o]);
                }
            }
            var h = Graph.Gemm(x, prefix + "folded", weight, bias, outF, inF);
            return Activate(prefix, h, activation, outF);
        }

        private string Activate(string prefix, string h, Activation activation, int width)
        {
            switch (activation)
            {
                case Activation.None:
                    return h;
                case Activation.Relu:
                    return Graph.Node("Relu", [h]);
                case Activation.Sigmoid:
                    return Graph.Node("Sigmoid", [h]);
                case Activation.Tanh:
                    return Graph.Node("Tanh", [h]);
                case Activation.LeakyRelu:
                    return Graph.Node("LeakyRelu", [h], null, OnnxGraph.Float("alpha", 0.01f));
                case Activation.PRelu:
                    return Graph.Node("PRelu", [h, Graph.Const(prefix + "prelu", Param(prefix + "activation.weight").Span, 1)]);
                case Activation.Dice:
                {
                    // x * (p + alpha (1 - p)) = x * (alpha + p (1 - alpha)), p = sigmoid((x - mean) / sqrt(var + 1e-9)).
                    var mean = Param(prefix + "activation.bn.running_mean").Span;
                    var variance = Param(prefix + "activation.bn.running_var").Span;
                    var alpha = Param(prefix + "activation.alpha").Span;
                    var inv = new float[width];
                    var shift = new float[width];
                    var oneMinusAlpha = new float[width];
                    for (var o = 0; o < width; o++)
                    {
                        inv[o] = 1f / MathF.Sqrt(variance[o] + 1e-9f);
                        shift[o] = -mean[o] * inv[o];
                        oneMinusAlpha[o] = 1f - alpha[o];
                    }
                    var normed = Graph.Node("Add", [Graph.Node("Mul", [h, Graph.Const(prefix + "dice_inv_std", inv, width)]), Graph.Const(prefix + "dice_shift", shift, width)]);
                    var p = Graph.Node("Sigmoid", [normed]);
                    var gate = Graph.Node("Add", [Graph.Node("Mul", [p, Graph.Const(prefix + "dice_1_minus_alpha", oneMinusAlpha, width)]), Graph.Const(prefix + "dice_alpha", alpha, width)]);
                    return Graph.Node("Mul", [h, gate]);
                }
                default:
                    throw new NotSupportedException($"ONNX export does not cover the activation {activation} yet (covered: relu, sigmoid, tanh, leakyrelu, prelu, dice, linear).");
            }
        }

        private int CountPrefixed(string prefix)
        {
            var n = 0;
            while (state.Keys.Any(k => k.StartsWith($"{prefix}{n.ToString(CultureInfo.InvariantCulture)}.", StringComparison.Ordinal)))
            {
                n++;
            }
            return n;
        }

        private Tensor Param(string name) => state.TryGetValue(name, out var t)
            ? t
            : throw new ModelFileException($"{Name}: the model has no parameter '{name}' (the ONNX exporter does not know this layout; parameters: {string.Join(", ", state.Keys.Take(8))}...).");
    }
}
