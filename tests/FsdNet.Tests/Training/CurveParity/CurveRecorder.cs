using System.Text.Json;
using System.Text.Json.Nodes;
using FsdNet.Autodiff;
using FsdNet.Data;
using FsdNet.Layers;
using FsdNet.Models;
using FsdNet.Tensors;
using FsdNet.Training;

namespace FsdNet.Tests.Training.CurveParity;

/// <summary>What one run of a case produced: the loss of every step and, after every epoch, the validation metrics,
/// the learning rate and the model's state (parameters and BatchNorm running statistics).</summary>
public sealed record CurveRecord(
    IReadOnlyList<double> StepLoss,
    IReadOnlyList<double> ValidAuc,
    IReadOnlyList<double> ValidLogloss,
    IReadOnlyList<double> LearningRate,
    IReadOnlyList<Dictionary<string, float[]>> State);

/// <summary>
/// Trains a <see cref="CurveCase"/> with FsdNet's own trainer (<see cref="Trainer.Fit"/>, exactly as `fsdnet train`
/// builds it) and records its curve. With an export folder it also writes what the PyTorch mirror needs to train the
/// same run: the fields, the initial state, every training batch in order and the validation split (raw
/// little-endian arrays described by case.json).
/// </summary>
public static class CurveRecorder
{
    public static CurveRecord Run(CurveCase c, string dir, string? exportDir = null)
    {
        CurveCases.Write(c, dir);
        var (cfg, dataCfg) = TrainingRun.Resolve(new RunSpec { ConfigDir = dir, ExpId = c.Name });
        // Exact zero gradients for biases before BatchNorm on both sides: otherwise each framework's round-off makes
        // them random-walk differently (see TrainerOptions.ExactPreNormBias) and BatchNorm runs cannot be compared.
        var options = TrainerOptions.From(cfg) with { ExactPreNormBias = true };
        using var data = DataPipeline.Prepare(dataCfg, new DataOptions { CacheDir = Path.Combine(dir, "cache") });
        var model = ModelRegistry.Create(ModelInputs.Schema(data.FeatureMap, cfg), cfg, new Rng((ulong)options.Seed));
        if (exportDir is not null)
        {
            Export(c, cfg, options, data, model, exportDir);
        }
        var observer = new Observer(model);
        new Trainer(model, options, observer).Fit(data.Train, data.Valid!);
        return new CurveRecord(observer.StepLoss, observer.Auc, observer.Logloss, observer.Lr, observer.States);
    }

    private sealed class Observer(CtrModel model) : ITrainingObserver
    {
        private double lastRunning;

        public List<double> StepLoss { get; } = [];
        public List<double> Auc { get; } = [];
        public List<double> Logloss { get; } = [];
        public List<double> Lr { get; } = [];
        public List<Dictionary<string, float[]>> States { get; } = [];

        // The trainer reports the running mean since the last validation; the step's own loss is the difference of sums.
        public void OnStep(int epoch, long stepInEpoch, long stepsPerEpoch, double runningLoss, double samplesPerSecond)
        {
            var sum = runningLoss * stepInEpoch;
            StepLoss.Add(stepInEpoch == 1 ? runningLoss : sum - lastRunning);
            lastRunning = sum;
        }

        public void OnEvaluation(EpochRecord record)
        {
            Auc.Add(record.Valid["AUC"]);
            Logloss.Add(record.Valid["logloss"]);
            Lr.Add(record.LearningRate);
            States.Add(model.State().ToDictionary(s => s.Name, s => s.Value.Span.ToArray()));
        }
    }

    private static void Export(CurveCase c, ModelConfig cfg, TrainerOptions options, PreparedData data, CtrModel model, string dir)
    {
        Directory.CreateDirectory(dir);
        var arrays = new JsonObject();
        void Write<T>(string name, ReadOnlySpan<T> values, params int[] shape) where T : unmanaged
        {
            File.WriteAllBytes(Path.Combine(dir, name + ".bin"), System.Runtime.InteropServices.MemoryMarshal.AsBytes(values).ToArray());
            arrays[name] = new JsonObject
            {
                ["dtype"] = typeof(T) == typeof(float) ? "float32" : "int32",
                ["shape"] = new JsonArray([.. shape.Select(s => (JsonNode)s)]),
            };
        }

        var state = new JsonArray();
        foreach (var (name, t) in model.State())
        {
            Write("state." + name, (ReadOnlySpan<float>)t.Span, [.. Enumerable.Range(0, t.Shape.Rank).Select(a => t.Shape[a])]);
            state.Add(name);
        }
        var schema = model.Schema;
        var fields = new JsonArray();
        foreach (var f in schema.Fields)
        {
            fields.Add(new JsonObject
            {
                ["name"] = f.Name,
                ["kind"] = f.Kind.ToString(),
                ["column"] = f.Column,
                ["vocab_size"] = f.VocabSize,
                ["max_len"] = f.MaxLen,
                ["width"] = f.Width,
                ["embedding_dim"] = f.EmbeddingDim,
                ["share_embedding"] = f.ShareEmbedding,
                ["pooling"] = f.Pooling.ToString(),
                ["pretrained"] = f.Pretrained is { } p ? new JsonObject { ["dim"] = p.Dim, ["freeze"] = p.Freeze, ["usage"] = p.Usage.ToString() } : null,
            });
        }
        var steps = new JsonArray();
        var loader = new BatchLoader(data.Train, new BatchLoaderOptions { BatchSize = options.BatchSize, Shuffle = options.Shuffle, Seed = options.Seed });
        var batch = loader.CreateBatch();
        var step = 0;
        for (var epoch = 0; epoch < options.Epochs; epoch++)
        {
            loader.StartEpoch(epoch);
            while (loader.Next(batch))
            {
                WriteInput($"train.{step}", batch.Size, batch.Categorical, batch.Numeric, batch.Sequence, batch.Embedding, batch.Labels);
                steps.Add(batch.Size);
                step++;
            }
        }
        var valid = data.Valid!;
        var all = new BatchLoader(valid, new BatchLoaderOptions { BatchSize = (int)valid.RowCount, Shuffle = false });
        var vb = all.CreateBatch();
        all.StartEpoch(0);
        all.Next(vb);
        WriteInput("valid", vb.Size, vb.Categorical, vb.Numeric, vb.Sequence, vb.Embedding, vb.Labels);

        void WriteInput(string prefix, int rows, int[] cat, float[] num, int[] seq, float[] emb, float[] labels)
        {
            Write(prefix + ".categorical", (ReadOnlySpan<int>)cat.AsSpan(0, rows * schema.CategoricalCount), rows, schema.CategoricalCount);
            Write(prefix + ".numeric", (ReadOnlySpan<float>)num.AsSpan(0, rows * schema.NumericCount), rows, schema.NumericCount);
            Write(prefix + ".sequence", (ReadOnlySpan<int>)seq.AsSpan(0, rows * schema.SequenceWidth), rows, schema.SequenceWidth);
            Write(prefix + ".embedding", (ReadOnlySpan<float>)emb.AsSpan(0, rows * schema.EmbeddingWidth), rows, schema.EmbeddingWidth);
            Write(prefix + ".labels", (ReadOnlySpan<float>)labels.AsSpan(0, rows), rows);
        }

        var doc = new JsonObject
        {
            ["case"] = c.Name,
            ["model"] = model.ModelName,
            ["config_yaml"] = cfg.ToYaml(),
            ["fields"] = fields,
            ["state"] = state,
            ["trainable"] = new JsonArray([.. model.NamedParameters().Where(p => p.Value.RequiresGrad).Select(p => (JsonNode)p.Name)]),
            ["embedding_params"] = new JsonArray([.. model.NamedParameters().Where(p => p.Value.RequiresGrad && p.Value.Kind == ParameterKind.Embedding).Select(p => (JsonNode)p.Name)]),
            ["steps"] = steps,
            ["epochs"] = options.Epochs,
            ["exact_pre_norm_bias"] = options.ExactPreNormBias,
            ["arrays"] = arrays,
        };
        File.WriteAllText(Path.Combine(dir, "case.json"), doc.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }
}
