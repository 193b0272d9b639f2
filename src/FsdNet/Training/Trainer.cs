using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using FsdNet.Autodiff;
using FsdNet.Data;
using FsdNet.Models;
using FsdNet.Serving;
using FsdNet.Tensors;

namespace FsdNet.Training;

/// <summary>What a training run is about to do.</summary>
public sealed record TrainingPlan(int Epochs, int StartEpoch, long StepsPerEpoch, long TrainRows, long ValidRows, long Parameters);

/// <summary>One validation pass: the metrics, the monitored value and what the trainer did about it.</summary>
public sealed record EpochRecord(
    int Epoch,
    long Step,
    double TrainLoss,
    double TrainSeconds,
    double ValidSeconds,
    double SamplesPerSecond,
    IReadOnlyDictionary<string, double> Valid,
    double Monitor,
    bool Improved,
    double LearningRate);

/// <summary>Progress callbacks (all optional). The trainer calls them on its own thread.</summary>
public interface ITrainingObserver
{
    void OnStart(TrainingPlan plan)
    {
    }

    void OnStep(int epoch, long stepInEpoch, long stepsPerEpoch, double runningLoss, double samplesPerSecond)
    {
    }

    void OnEvaluation(EpochRecord record)
    {
    }

    void OnMessage(string message)
    {
    }
}

/// <summary>The outcome of <see cref="Trainer.Fit"/>.</summary>
public sealed record TrainResult(IReadOnlyList<EpochRecord> History, int BestEpoch, double BestMonitor, bool EarlyStopped);

/// <summary>
/// FuxiCTR 2.0.x's training loop: Adam; each step zero_grad, loss (+ (lambda/2)||W||^2 regularisers), backward,
/// clip the global gradient norm, step; validate every epoch (or every eval_steps steps); the monitor is a weighted
/// sum of metrics; each non-improving validation multiplies the learning rate by 0.1 (floor 1e-6) and counts
/// towards early_stop_patience; the best weights are kept and restored at the end. Runs are deterministic for a
/// given seed and thread count; with a checkpoint path, the state is saved atomically after every epoch and a
/// resumed run ends with the same parameters as an uninterrupted one.
/// </summary>
public sealed class Trainer
{
    /// <summary>JSON settings for records that may hold NaN metrics (e.g. an undefined gAUC).</summary>
    public static readonly JsonSerializerOptions Json = new()
    {
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
        WriteIndented = true,
    };

    private readonly CtrModel model;
    private readonly TrainerOptions options;
    private readonly ITrainingObserver observer;
    private readonly Adam adam;
    private readonly Parameter[] embeddingParams;
    private readonly Parameter[] netParams;
    private readonly Parameter[] allParams;
    private readonly (string Name, Tensor Value)[] state;
    // One graph for training and evaluation: validation reuses the pooled training buffers instead of its own.
    private readonly Graph graph = new();

    public Trainer(CtrModel model, TrainerOptions options, ITrainingObserver? observer = null)
    {
        this.model = model;
        this.options = options;
        this.observer = observer ?? new NullObserver();
        allParams = [.. model.Parameters().Where(p => p.RequiresGrad)];
        embeddingParams = [.. allParams.Where(p => p.Kind == ParameterKind.Embedding)];
        netParams = [.. allParams.Where(p => p.Kind == ParameterKind.Net)];
        state = [.. model.State()];
        adam = new Adam(allParams, options.LearningRate);
    }

    public Adam Optimizer => adam;

    public TrainResult Fit(EncodedDataset train, EncodedDataset valid, string? checkpointPath = null, bool resume = false)
    {
        var loader = new BatchLoader(train, new BatchLoaderOptions { BatchSize = options.BatchSize, Shuffle = options.Shuffle, Seed = options.Seed });
        var batch = loader.CreateBatch();
        var stepsPerEpoch = loader.BatchCount;
        var evalEvery = options.EvalSteps ?? stepsPerEpoch;
        var history = new List<EpochRecord>();
        var monitor = new PlateauMonitor(options);
        float[][]? bestState = null;
        var bestEpoch = -1;
        long totalSteps = 0;
        var startEpoch = 0;
        var stop = false;
        if (resume && checkpointPath is not null && File.Exists(checkpointPath))
        {
            var ck = ReadCheckpoint(checkpointPath);
            startEpoch = ck.Epoch + 1;
            monitor.Best = ck.Best;
            bestEpoch = ck.BestEpoch;
            monitor.StoppingSteps = ck.StoppingSteps;
            totalSteps = ck.TotalSteps;
            bestState = ck.BestState;
            history.AddRange(ck.History);
            stop = ck.Stopped;
            observer.OnMessage($"Resumed from {checkpointPath} after epoch {startEpoch} (lr {adam.LearningRate:G3}, best {monitor.Best:F6}).");
        }
        observer.OnStart(new TrainingPlan(options.Epochs, startEpoch, stepsPerEpoch, train.RowCount, valid.RowCount, model.ParameterCount()));
        var running = 0.0;
        var runningSteps = 0;
        for (var epoch = startEpoch; epoch < options.Epochs && !stop; epoch++)
        {
            loader.StartEpoch(epoch);
            graph.Random = Rng.Derive((ulong)options.Seed, (ulong)epoch + 1);
            var clock = Stopwatch.StartNew();
            var trainSeconds = 0.0;
            long rows = 0;
            long step = 0;
            while (loader.Next(batch))
            {
                var loss = TrainStep(batch);
                if (!double.IsFinite(loss))
                {
                    throw new InvalidOperationException(
                        $"Training diverged: the loss is {loss} at epoch {epoch + 1}, step {step + 1} (try a lower learning_rate or check the data for extreme values).");
                }
                running += loss;
                runningSteps++;
                rows += batch.Size;
                step++;
                totalSteps++;
                observer.OnStep(epoch, step, stepsPerEpoch, running / runningSteps, rows / Math.Max(clock.Elapsed.TotalSeconds, 1e-9));
                if (totalSteps % evalEvery == 0)
                {
                    trainSeconds += clock.Elapsed.TotalSeconds;
                    var evalClock = Stopwatch.StartNew();
                    var metrics = Evaluate(valid, [.. options.Metrics.Union(options.Monitor.Keys)]);
                    var validSeconds = evalClock.Elapsed.TotalSeconds;
                    var value = monitor.Value(metrics);
                    var improved = monitor.Observe(value);
                    adam.LearningRate = monitor.NextLearningRate(adam.LearningRate, improved);
                    if (improved)
                    {
                        bestEpoch = epoch;
                        bestState = Snapshot(bestState);
                    }
                    var record = new EpochRecord(
                        epoch + 1, totalSteps, running / runningSteps, trainSeconds, validSeconds,
                        rows / Math.Max(trainSeconds, 1e-9), metrics, value, improved, adam.LearningRate);
                    history.Add(record);
                    observer.OnEvaluation(record);
                    running = 0;
                    runningSteps = 0;
                    if (monitor.ShouldStop)
                    {
                        observer.OnMessage($"Early stopping after {monitor.StoppingSteps} validations without improvement (best at epoch {bestEpoch + 1}).");
                        stop = true;
                        break;
                    }
                    clock.Restart();
                    trainSeconds = 0;
                    rows = 0;
                }
            }
            if (checkpointPath is not null)
            {
                WriteCheckpoint(checkpointPath, new CheckpointState(epoch, monitor.Best, bestEpoch, monitor.StoppingSteps, totalSteps, stop, history, bestState));
            }
        }
        if (bestState is not null)
        {
            Restore(bestState);
        }
        return new TrainResult(history, bestEpoch + 1, monitor.Best, stop);
    }

    /// <summary>One optimisation step on a batch; returns the loss including the regularisers.</summary>
    public double TrainStep(Batch batch)
    {
        var g = graph;
        g.Training = true;
        g.GradEnabled = true;
        g.Reset();
        adam.ZeroGrad();
        var loss = model.Loss(g, batch.Input());
        g.Backward(loss);
        var reg = Regularizer.ApplyL2(embeddingParams, options.EmbeddingRegularizer) + Regularizer.ApplyL2(netParams, options.NetRegularizer);
        GradClip.ClipGradNorm(allParams, options.MaxGradientNorm);
        adam.Step();
        return loss.Span[0] + reg;
    }

    /// <summary>Metrics over a whole split (running BatchNorm statistics, no dropout).</summary>
    public Dictionary<string, double> Evaluate(EncodedDataset data, IEnumerable<string>? metrics = null)
    {
        var (predictions, labels, groups) = Predict(data);
        return TrainingMetrics.Compute(metrics ?? options.Metrics, labels, predictions, groups);
    }

    /// <summary>Predicted probabilities for every row of a split, in file order, with its labels and group ids.</summary>
    public (float[] Predictions, float[] Labels, long[]? Groups) Predict(EncodedDataset data) =>
        Predictor.PredictAll(model, graph, data, options.BatchSize);

    private float[][] Snapshot(float[][]? into)
    {
        into ??= [.. state.Select(s => new float[s.Value.Length])];
        for (var i = 0; i < state.Length; i++)
        {
            state[i].Value.Span.CopyTo(into[i]);
        }
        return into;
    }

    private void Restore(float[][] from)
    {
        for (var i = 0; i < state.Length; i++)
        {
            from[i].CopyTo(state[i].Value.Span);
        }
    }

    private sealed record CheckpointState(
        int Epoch, double Best, int BestEpoch, int StoppingSteps, long TotalSteps, bool Stopped, IReadOnlyList<EpochRecord> History, float[][]? BestState);

    private void WriteCheckpoint(string path, CheckpointState s)
    {
        var (m, v, step) = adam.State;
        var tensors = new List<(string, Tensor)>();
        tensors.AddRange(state.Select(x => ("model." + x.Name, x.Value)));
        for (var i = 0; i < allParams.Length; i++)
        {
            tensors.Add(($"adam.m.{i}", Wrap(m[i])));
            tensors.Add(($"adam.v.{i}", Wrap(v[i])));
        }
        if (s.BestState is not null)
        {
            for (var i = 0; i < state.Length; i++)
            {
                tensors.Add(("best." + state[i].Name, Wrap(s.BestState[i])));
            }
        }
        var meta = JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["format"] = "fsdnet-checkpoint",
            ["model"] = model.ModelName,
            ["epoch"] = s.Epoch,
            ["best"] = s.Best.ToString("R", CultureInfo.InvariantCulture),
            ["best_epoch"] = s.BestEpoch,
            ["stopping_steps"] = s.StoppingSteps,
            ["total_steps"] = s.TotalSteps,
            ["stopped"] = s.Stopped,
            ["lr"] = adam.LearningRate.ToString("R", CultureInfo.InvariantCulture),
            ["adam_step"] = step,
            ["seed"] = options.Seed,
            ["history"] = s.History,
        }, Json);
        TensorFile.Write(path, meta, tensors);
    }

    private CheckpointState ReadCheckpoint(string path)
    {
        var (meta, tensors) = TensorFile.Read(path);
        var byName = tensors.ToDictionary(t => t.Name, t => t.Value, StringComparer.Ordinal);
        using var doc = JsonDocument.Parse(meta);
        var root = doc.RootElement;
        if (root.GetProperty("format").GetString() != "fsdnet-checkpoint" || root.GetProperty("model").GetString() != model.ModelName)
        {
            throw new ModelFileException($"{path}: not a checkpoint of a {model.ModelName} run.");
        }
        if (root.GetProperty("seed").GetInt32() != options.Seed)
        {
            throw new ModelFileException($"{path}: saved with seed {root.GetProperty("seed").GetInt32()}, this run uses seed {options.Seed}; resume with the same seed.");
        }
        TensorFile.LoadInto(path, [.. tensors.Where(t => t.Name.StartsWith("model.", StringComparison.Ordinal)).Select(t => (t.Name[6..], t.Value))], state);
        var ms = new float[allParams.Length][];
        var vs = new float[allParams.Length][];
        for (var i = 0; i < allParams.Length; i++)
        {
            ms[i] = byName.TryGetValue($"adam.m.{i}", out var mt) ? mt.ToArray() : throw new ModelFileException($"{path}: optimizer state is missing.");
            vs[i] = byName.TryGetValue($"adam.v.{i}", out var vt) ? vt.ToArray() : throw new ModelFileException($"{path}: optimizer state is missing.");
        }
        adam.Restore(ms, vs, root.GetProperty("adam_step").GetInt64());
        adam.LearningRate = double.Parse(root.GetProperty("lr").GetString()!, CultureInfo.InvariantCulture);
        float[][]? bestState = null;
        if (byName.ContainsKey("best." + state[0].Name))
        {
            bestState = [.. state.Select(s => byName.TryGetValue("best." + s.Name, out var t) ? t.ToArray() : throw new ModelFileException($"{path}: best weights incomplete."))];
        }
        var history = root.GetProperty("history").Deserialize<List<EpochRecord>>(Json) ?? [];
        return new CheckpointState(
            root.GetProperty("epoch").GetInt32(),
            double.Parse(root.GetProperty("best").GetString()!, CultureInfo.InvariantCulture),
            root.GetProperty("best_epoch").GetInt32(),
            root.GetProperty("stopping_steps").GetInt32(),
            root.GetProperty("total_steps").GetInt64(),
            root.GetProperty("stopped").GetBoolean(),
            history,
            bestState);
    }

    private static Tensor Wrap(float[] values)
    {
        var t = new Tensor(values.Length);
        t.CopyFrom(values);
        return t;
    }

    private sealed class NullObserver : ITrainingObserver;
}
