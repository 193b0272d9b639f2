using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using FsdNet.Autodiff;
using FsdNet.Data;
using FsdNet.Distributed;
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

    /// <summary>
    /// Progress of a scoring pass over a split (<paramref name="split"/>: "valid" or "test"), after every batch:
    /// rows scored so far, the split's rows and the rate so far.
    /// </summary>
    void OnScoring(string split, long rowsDone, long totalRows, double rowsPerSecond)
    {
    }

    void OnMessage(string message)
    {
    }
}

/// <summary>The outcome of <see cref="Trainer.Fit"/>.</summary>
public sealed record TrainResult(IReadOnlyList<EpochRecord> History, int BestEpoch, double BestMonitor, bool EarlyStopped);

/// <summary>
/// FuxiCTR 2.0.x's training loop: the optimizer (Adam by default); each step zero_grad, loss (+ (lambda/2)||W||^2 and
/// lambda||W||_1 regularisers), backward, clip the global gradient norm, step; validate every epoch (or every
/// eval_steps steps, or FuxiCTR 1.x's every_x_epochs); the monitor is a weighted
/// sum of metrics; each non-improving validation multiplies the learning rate by 0.1 (floor 1e-6) and counts
/// towards early_stop_patience; the best weights are kept and restored at the end. Runs are deterministic for a
/// given seed and thread count; with a checkpoint path, the state is saved atomically after every epoch and a
/// resumed run ends with the same parameters as an uninterrupted one.
/// </summary>
internal sealed partial class Trainer : IDisposable
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
    private readonly Optimizer optimizer;
    private readonly Parameter[] embeddingParams;
    private readonly Parameter[] netParams;
    private readonly Parameter[] allParams;
    // Row-sharded tables (a distributed run): the shards stand in for the tables in allParams, embeddingParams and
    // state; replicatedParams are the rest, whose gradients are all-reduced.
    private readonly RowShardedTables? sharded;
    private readonly Parameter[] replicatedParams;
    private readonly Parameter[] replicatedEmbeddingParams;
    private readonly Parameter[] shardParams;
    private readonly double[] shardTotals = new double[2];
    private bool assembled;
    private readonly long parameterCount;
    private readonly (string Name, Tensor Value)[] state;
    private readonly Parameter[] preNormBiases;
    // One graph for training and evaluation: validation reuses the pooled training buffers instead of its own.
    private readonly Graph graph = new();
    private readonly Communicator comm;
    // Data-parallel training: the replicated gradients summed in buckets during backward, or packed in one buffer for
    // one all-reduce after it (the first step, which the buckets learn from, and any whose tape changed).
    private readonly GradientBuckets? buckets;
    private float[] gradientBuffer = [];
    private readonly double[] stepTotals = new double[3];

    public Trainer(CtrModel model, TrainerOptions options, ITrainingObserver? observer = null)
        : this(model, options, observer, Communicator.Single)
    {
    }

    /// <summary>
    /// A trainer that is one rank of a data-parallel job over <paramref name="communicator"/>: each rank trains on its
    /// slice of every global batch (<c>batch_size</c> rows in all), gradients are summed over the ranks, BatchNorm is
    /// synchronised, every rank takes the same optimizer step, and validation scores are gathered to rank 0, which
    /// alone checkpoints. The same seed gives what one process gives, up to the order of float sums.
    /// </summary>
    internal Trainer(CtrModel model, TrainerOptions options, ITrainingObserver? observer, Communicator communicator)
    {
        this.model = model;
        this.options = options;
        this.observer = observer ?? new NullObserver();
        comm = communicator;
        graph.BatchSync = comm.Size > 1 ? comm : null;
        allParams = [.. model.Parameters().Where(p => p.RequiresGrad)];
        embeddingParams = [.. allParams.Where(p => p.Kind == ParameterKind.Embedding)];
        netParams = [.. allParams.Where(p => p.Kind == ParameterKind.Net)];
        state = [.. model.State()];
        parameterCount = model.ParameterCount();
        // Lazy updates over several ranks: the rows to move are those any rank looked up, which only a table's owner
        // sees whole, so every lookup table is row-sharded (one with fewer rows than ranks stays replicated and dense).
        var lazyRanks = options.LazyEmbeddingUpdates && comm.Size > 1;
        if (lazyRanks && options.EmbeddingSharding == EmbeddingSharding.Replicate)
        {
            throw new ConfigException(
                $"lazy_embedding_updates: true with {comm.Size} ranks needs row-sharded tables (each owner moves the rows any rank looked up); " +
                "set embedding_sharding to auto or row, or lazy_embedding_updates to false.");
        }
        sharded = RowShardedTables.Create(
            model.Modules().OfType<Layers.FeatureEmbedding>(), comm, lazyRanks ? EmbeddingSharding.Row : options.EmbeddingSharding, options.BatchSize, state);
        shardParams = sharded is null ? [] : [.. sharded.Shards];
        if (sharded is not null)
        {
            var s = sharded;
            allParams = [.. allParams.Select(p => s.ShardOf(p) ?? p)];
            embeddingParams = [.. embeddingParams.Select(p => s.ShardOf(p) ?? p)];
            state = [.. state.Select(x => x.Value is Parameter p && s.ShardOf(p) is { } shard ? (x.Name, (Tensor)shard) : x)];
            graph.ShardedTables = sharded;
            this.observer.OnMessage(
                $"embedding_sharding {options.EmbeddingSharding.ToString().ToLowerInvariant()}: {shardParams.Length} table(s) row-sharded over {comm.Size} ranks " +
                $"({string.Join(", ", sharded.ShardedNames.Keys.Take(4))}{(shardParams.Length > 4 ? ", ..." : "")}; {sharded.TableElements:N0} of {parameterCount:N0} parameters), the rest replicated.");
        }
        if (comm.Size == 1 && options.EmbeddingSharding == EmbeddingSharding.Row)
        {
            this.observer.OnMessage("note: embedding_sharding: row has no effect in a one-process run (it lays tables out over the ranks of an mpirun job).");
        }
        foreach (var p in model.Parameters())
        {
            p.Materialize();   // a deferred table this rank does not shard is drawn whole (InputSchema.DeferredTables)
        }
        replicatedParams = [.. allParams.Except(shardParams)];
        if (comm.Size > 1)
        {
            buckets = new GradientBuckets(comm, replicatedParams, options.GradientBucketFloats);
            graph.BackwardListener = buckets;
        }
        replicatedEmbeddingParams = [.. embeddingParams.Except(shardParams)];
        preNormBiases = options.ExactPreNormBias
            ? [.. model.Modules().OfType<Layers.DenseLayer>().Where(d => d.Norm is not null && d.Linear.Bias is { RequiresGrad: true }).Select(d => d.Linear.Bias!)]
            : [];
        optimizer = options.Optimizer.Create(allParams, options.LearningRate);
        if (options.LazyEmbeddingUpdates)
        {
            // Tables read through lookups get row-sparse gradients; a table an op writes densely (a projection
            // weight) falls back to a dense gradient for that step by itself. Over several ranks only the shards are
            // (their owners mark the rows any rank asked for): replicated gradients are summed dense.
            foreach (var p in (lazyRanks ? shardParams : embeddingParams).Where(p => p.Shape.Rank == 2))
            {
                p.EnableRowSparseGrad();
            }
            if (lazyRanks && options.EmbeddingSharding == EmbeddingSharding.Auto)
            {
                this.observer.OnMessage($"lazy_embedding_updates over {comm.Size} ranks: every lookup table with at least {comm.Size} rows is row-sharded (embedding_sharding auto acts as row).");
            }
        }
    }

    public Optimizer Optimizer => optimizer;

    /// <summary>
    /// Releases what a distributed trainer holds from MPI (the buckets' communicators). Collective: every rank disposes
    /// after its last step; a trainer that failed need not (the job is ending). Nothing to do in one process.
    /// </summary>
    public void Dispose() => buckets?.Dispose();

    /// <summary>The gradient buckets of a distributed run (null in one process).</summary>
    internal GradientBuckets? Buckets => buckets;

    /// <summary>How many embedding tables this rank holds row-sharded (0: all replicated).</summary>
    internal int ShardedTableCount => shardParams.Length;

    /// <param name="cancellationToken">
    /// Stops the run between two steps with an <see cref="OperationCanceledException"/>. With a checkpoint path the
    /// state at that step is checkpointed first, so <paramref name="resume"/> continues from there exactly.
    /// </param>
    public TrainResult Fit(
        EncodedDataset train, EncodedDataset valid, string? checkpointPath = null, bool resume = false, CancellationToken cancellationToken = default)
    {
        var loader = new BatchLoader(train, new BatchLoaderOptions
        {
            BatchSize = options.BatchSize, Shuffle = options.Shuffle, Seed = options.Seed, Slice = (comm.Rank, comm.Size),
        });
        var batch = loader.CreateBatch();
        var stepsPerEpoch = loader.BatchCount;
        if (train.RowCount % options.BatchSize is var last and > 0 && last < comm.Size)
        {
            // The loader would refuse it at the end of every epoch; say so before the first one.
            throw new ConfigException(
                $"the last batch of each epoch has {last} rows ({train.RowCount} train rows in batches of {options.BatchSize}), fewer than the " +
                $"{comm.Size} ranks it must be split over; change batch_size or the number of ranks.");
        }
        var evalEvery = options.EvalSteps ?? stepsPerEpoch;
        // FuxiCTR 1.x's every_x_epochs: a fraction validates ceil(x * steps) steps into each epoch and at its end.
        var withinEpoch = options.EveryXEpochs is { } x and < 1 ? Math.Max(1, (long)Math.Ceiling(x * stepsPerEpoch)) : stepsPerEpoch;
        var everyEpochs = options.EveryXEpochs is { } n and >= 1 ? (int)n : 1;
        CheckValidationLabels(valid);
        var history = new List<EpochRecord>();
        var monitor = new PlateauMonitor(options);
        float[][]? bestState = null;
        var bestEpoch = -1;
        long totalSteps = 0;
        var startEpoch = 0;
        var stop = false;
        var running = 0.0;
        var runningSteps = 0;
        CheckpointState? midEpoch = null;
        var resumable = resume && checkpointPath is not null && File.Exists(checkpointPath);
        if (comm.Size > 1)
        {
            // Every rank must resume, or none: one that starts afresh would train other parameters in lockstep.
            var rootHas = new[] { (byte)(resumable ? 1 : 0) };
            comm.Broadcast<byte>(rootHas, 0);
            if (rootHas[0] == 1 && !resumable)
            {
                throw new DistributedException(
                    $"rank {comm.Rank} cannot read the checkpoint {checkpointPath} that rank 0 resumes from: a distributed --resume needs the run " +
                    "directory at the same path on every host (a shared file system, or copy it there first).");
            }
            resumable = rootHas[0] == 1;
        }
        if (resumable)
        {
            var ck = ReadCheckpoint(checkpointPath!);
            startEpoch = ck.Step > 0 ? ck.Epoch : ck.Epoch + 1;
            midEpoch = ck.Step > 0 ? ck : null;
            (running, runningSteps) = (ck.Running, ck.RunningSteps);
            monitor.Best = ck.Best;
            bestEpoch = ck.BestEpoch;
            monitor.StoppingSteps = ck.StoppingSteps;
            totalSteps = ck.TotalSteps;
            bestState = ck.BestState;
            history.AddRange(ck.History);
            stop = ck.Stopped;
            observer.OnMessage(midEpoch is null
                ? $"Resumed from {checkpointPath} after epoch {startEpoch} (lr {optimizer.LearningRate:G3}, best {monitor.Best:F6})."
                : $"Resumed from {checkpointPath} in epoch {startEpoch + 1} after step {midEpoch.Step} of {stepsPerEpoch} (lr {optimizer.LearningRate:G3}, best {monitor.Best:F6}).");
        }
        observer.OnStart(new TrainingPlan(options.Epochs, startEpoch, stepsPerEpoch, train.RowCount, valid.RowCount, parameterCount));
        var checkpointClock = Stopwatch.StartNew();
        for (var epoch = startEpoch; epoch < options.Epochs && !stop; epoch++)
        {
            // A cancellation that came during the last epoch's end (validation, checkpoint) stops here.
            cancellationToken.ThrowIfCancellationRequested();
            loader.StartEpoch(epoch);
            graph.Random = Rng.Derive((ulong)options.Seed, (ulong)epoch + 1);
            var clock = Stopwatch.StartNew();
            var trainSeconds = 0.0;
            long rows = 0;
            long step = 0;
            var traffic = (Ticks: comm.Ticks, Bytes: comm.BytesSent, Steps: 0L, Asked: sharded?.RemoteIdsAsked ?? 0, Served: sharded?.RemoteIdsServed ?? 0);
            if (midEpoch is not null)
            {
                // Where the interrupted run stopped: the same rows next, the same dropout draws.
                loader.Skip(midEpoch.Step);
                graph.Random.RestoreState(midEpoch.RandomState!);
                step = midEpoch.Step;
                midEpoch = null;
            }
            while (loader.Next(batch))
            {
                // A stop asked for on any rank (mpirun forwards signals, not always at the same step) stops all of
                // them after the same step: the request travels with the step's loss.
                var (loss, stopAsked) = Step(batch, cancellationToken.IsCancellationRequested);
                if (!double.IsFinite(loss))
                {
                    throw new InvalidOperationException(
                        $"Training diverged: the loss is {loss} at epoch {epoch + 1}, step {step + 1} (try a lower learning_rate or check the data for extreme values).");
                }
                running += loss;
                runningSteps++;
                rows += batch.GlobalSize;   // the rows of the whole step, over every rank
                step++;
                totalSteps++;
                observer.OnStep(epoch, step, stepsPerEpoch, running / runningSteps, rows / Math.Max(clock.Elapsed.TotalSeconds, 1e-9));
                var validate = options.EveryXEpochs is null
                    ? totalSteps % evalEvery == 0
                    : step == stepsPerEpoch
                        ? (epoch + 1) % everyEpochs == 0 || epoch + 1 == options.Epochs
                        : step % withinEpoch == 0;
                if (validate)
                {
                    if (step == stepsPerEpoch)
                    {
                        // The epoch has read every row: its pages leave the resident set while validation reads its own.
                        train.ReleasePages();
                    }
                    trainSeconds += clock.Elapsed.TotalSeconds;
                    var trainTraffic = (Ticks: comm.Ticks - traffic.Ticks, Bytes: comm.BytesSent - traffic.Bytes, Steps: step - traffic.Steps,
                        Asked: (sharded?.RemoteIdsAsked ?? 0) - traffic.Asked, Served: (sharded?.RemoteIdsServed ?? 0) - traffic.Served);
                    var evalClock = Stopwatch.StartNew();
                    var metrics = Evaluate(valid, [.. options.Metrics.Union(options.Monitor.Keys)]);
                    var validSeconds = evalClock.Elapsed.TotalSeconds;
                    var value = monitor.Value(metrics);
                    var improved = monitor.Observe(value);
                    optimizer.LearningRate = monitor.NextLearningRate(optimizer.LearningRate, improved);
                    if (improved)
                    {
                        bestEpoch = epoch;
                    }
                    if (improved || !options.SaveBestOnly)
                    {
                        // The weights restored at the end: the best validation's, or (save_best_only: false) the last one's.
                        bestState = Snapshot(bestState);
                    }
                    var record = new EpochRecord(
                        epoch + 1, totalSteps, running / runningSteps, trainSeconds, validSeconds,
                        rows / Math.Max(trainSeconds, 1e-9), metrics, value, improved, optimizer.LearningRate);
                    history.Add(record);
                    observer.OnEvaluation(record);
                    if (comm.Size > 1)
                    {
                        var exchange = sharded is null ? "" : $"; row-sharded tables: {trainTraffic.Asked} ids asked of other ranks, {trainTraffic.Served} served to them";
                        observer.OnMessage(string.Create(CultureInfo.InvariantCulture,
                            $"communication (rank 0 of {comm.Size}): {trainTraffic.Steps} steps, {(double)trainTraffic.Bytes / Math.Max(trainTraffic.Steps, 1):F0} bytes sent per step, " +
                            $"{(double)trainTraffic.Ticks / Stopwatch.Frequency:F2} s in collectives{exchange}"));
                    }
                    running = 0;
                    runningSteps = 0;
                    if (monitor.ShouldStop)
                    {
                        observer.OnMessage($"Early stopping after {monitor.StoppingSteps} validations without improvement (best at epoch {bestEpoch + 1}).");
                        stop = true;
                        break;
                    }
                    clock.Restart();
                    traffic = (comm.Ticks, comm.BytesSent, step, sharded?.RemoteIdsAsked ?? 0, sharded?.RemoteIdsServed ?? 0);
                    trainSeconds = 0;
                    rows = 0;
                }
                // One process stops after the step during which the stop was asked; ranks after the step whose
                // all-reduce carried it, so that all of them stop after the same one.
                var cancel = (comm.Size > 1 ? stopAsked : cancellationToken.IsCancellationRequested) && step < stepsPerEpoch && !stop;
                if (checkpointPath is not null && step < stepsPerEpoch &&
                    (cancel ||
                     (options.CheckpointEverySteps is { } every && step % every == 0) ||
                     (options.CheckpointEveryMinutes is { } minutes && checkpointClock.Elapsed.TotalMinutes >= minutes)))
                {
                    WriteCheckpoint(checkpointPath, new CheckpointState(epoch, monitor.Best, bestEpoch, monitor.StoppingSteps, totalSteps, stop, history, bestState)
                    {
                        Step = step, Running = running, RunningSteps = runningSteps, RandomState = graph.Random.SaveState(),
                    });
                    checkpointClock.Restart();
                }
                if (cancel)
                {
                    observer.OnMessage(checkpointPath is null
                        ? $"Cancelled in epoch {epoch + 1} after step {step} of {stepsPerEpoch}."
                        : $"Cancelled in epoch {epoch + 1} after step {step} of {stepsPerEpoch}; checkpoint written to {checkpointPath} (resume continues from here).");
                    throw new OperationCanceledException(cancellationToken.IsCancellationRequested ? cancellationToken : new CancellationToken(true));
                }
            }
            if (checkpointPath is not null)
            {
                WriteCheckpoint(checkpointPath, new CheckpointState(epoch, monitor.Best, bestEpoch, monitor.StoppingSteps, totalSteps, stop, history, bestState)
                {
                    Running = running, RunningSteps = runningSteps,
                });
                checkpointClock.Restart();
            }
        }
        if (bestState is not null)
        {
            Restore(bestState);
        }
        // Row-sharded tables stay sharded: Evaluate scores them in lockstep as validation did, and AssembleTables
        // puts them back whole where the model is saved.
        return new TrainResult(history, bestEpoch + 1, monitor.Best, stop);
    }

    /// <summary>
    /// Puts row-sharded tables back into the model whole, for saving (and scoring alone) after training: on every rank
    /// (every rank calls it), or with <paramref name="rootOnly"/> on rank 0 alone, so the other ranks never hold a
    /// whole table (they can neither train nor score after it). Nothing when the tables are replicated.
    /// </summary>
    internal void AssembleTables(bool rootOnly = false)
    {
        if (sharded is null || assembled)
        {
            return;
        }
        sharded.Assemble(rootOnly ? 0 : null);
        graph.ShardedTables = null;
        assembled = true;
        scoresNothing = rootOnly && !comm.IsRoot;
    }

    // A rank whose tables were assembled on rank 0 only: its model's tables are working tables, not the model's.
    private bool scoresNothing;

    /// <summary>One optimisation step on a batch; returns the loss including the regularisers.</summary>
    public double TrainStep(Batch batch) => Step(batch, false).Loss;

    /// <summary>
    /// One step; with several ranks <paramref name="batch"/> is this rank's slice of the global batch, its loss is
    /// weighted by its share of the rows (so the gradients summed over the ranks are those of the global batch's mean
    /// loss), and <paramref name="stopAsked"/> is combined over the ranks.
    /// </summary>
    private (double Loss, bool StopAsked) Step(Batch batch, bool stopAsked)
    {
        var g = graph;
        var profile = Profile.Enabled;
        var t = profile ? Stopwatch.GetTimestamp() : 0;
        g.Training = true;
        g.GradEnabled = true;
        g.Reset();
        var globalRows = batch.GlobalSize > 0 ? batch.GlobalSize : batch.Size;
        (g.RowOffset, g.GlobalRows) = (batch.SliceStart, globalRows);
        var share = comm.Size > 1 ? (float)((double)batch.Size / globalRows) : 1f;
        optimizer.ZeroGrad();
        if (sharded is not null)
        {
            if (assembled)
            {
                throw new InvalidOperationException("this trainer's sharded tables were assembled at the end of training; create a new trainer to train again.");
            }
            sharded.ZeroWorkGradients();
            sharded.Exchange(batch.Input());
        }
        if (profile)
        {
            Profile.OpClock = Stopwatch.GetTimestamp();
        }
        var loss = model.Loss(g, batch.Input());
        t = profile ? Profile.Lap(ref Profile.ForwardTicks, t) : 0;
        var bucketed = buckets?.Arm(g) == true;
        g.Backward(loss, share);
        t = profile ? Profile.Lap(ref Profile.BackwardTicks, t) : 0;
        double value = loss.Span[0];
        if (comm.Size > 1)
        {
            // Every rank's [loss share, stop flag, buckets off schedule], summed in rank order: every rank reports
            // bitwise the same loss, and all take the buckets' sums or all sum again in one buffer.
            var onSchedule = bucketed && buckets!.Finish();
            (stepTotals[0], stepTotals[1], stepTotals[2]) = (value * share, stopAsked ? 1 : 0, onSchedule ? 0 : 1);
            comm.AllReduceSumOrdered(stepTotals);
            (value, stopAsked) = (stepTotals[0], stepTotals[1] > 0);
            if (stepTotals[2] == 0)
            {
                buckets!.WriteBack();
                gradientBuffer = [];   // the one-buffer sum is needed again only if the tape changes
            }
            else
            {
                buckets!.Learn(g);
                SumGradientsOverRanks();
            }
            sharded?.ReduceGradients();
            // The collectives' time is the communicator's own count (Communicator.Ticks), not a profile phase.
            t = profile ? Stopwatch.GetTimestamp() : 0;
        }
        foreach (var b in preNormBiases)
        {
            b.ZeroGrad();
        }
        var reg = Regularizer.ApplyL2(replicatedEmbeddingParams, options.EmbeddingRegularizer) + Regularizer.ApplyL2(netParams, options.NetRegularizer);
        if (options.EmbeddingRegularizerL1 != 0 || options.NetRegularizerL1 != 0)
        {
            reg += Regularizer.ApplyL1(replicatedEmbeddingParams, options.EmbeddingRegularizerL1) + Regularizer.ApplyL1(netParams, options.NetRegularizerL1);
        }
        // Row-sharded tables (none: both terms 0, no collective): the shards are disjoint, so their penalty and squared
        // gradient norm are summed over the ranks (rank order); the replicated parameters count once.
        shardTotals[0] = Regularizer.ApplyL2(shardParams, options.EmbeddingRegularizer) + Regularizer.ApplyL1(shardParams, options.EmbeddingRegularizerL1);
        shardTotals[1] = GradClip.SumOfSquares(shardParams);
        if (shardParams.Length > 0)
        {
            comm.AllReduceSumOrdered(shardTotals);
        }
        reg += shardTotals[0];
        GradClip.Scale(allParams, Math.Sqrt(GradClip.SumOfSquares(replicatedParams) + shardTotals[1]), options.MaxGradientNorm);
        t = profile ? Profile.Lap(ref Profile.RegularizeClipTicks, t) : 0;
        optimizer.Step();
        if (profile)
        {
            Profile.Lap(ref Profile.OptimizerTicks, t);
        }
        return (value + reg, stopAsked);
    }

    /// <summary>
    /// Replaces every parameter's gradient by its sum over the ranks: one buffer, one all-reduce. Every rank runs the
    /// same graph, so the same parameters have a gradient everywhere.
    /// </summary>
    private void SumGradientsOverRanks()
    {
        long total = 0;
        foreach (var p in replicatedParams)
        {
            total += p.HasGrad ? p.Length : 0;
        }
        if (gradientBuffer.Length < total)
        {
            gradientBuffer = new float[checked((int)total)];
        }
        var offset = 0;
        foreach (var p in replicatedParams)
        {
            if (p.HasGrad)
            {
                p.GradSpan.CopyTo(gradientBuffer.AsSpan(offset));
                offset += p.Length;
            }
        }
        comm.AllReduceSumOrdered(gradientBuffer.AsSpan(0, offset));
        offset = 0;
        foreach (var p in replicatedParams)
        {
            if (p.HasGrad)
            {
                gradientBuffer.AsSpan(offset, p.Length).CopyTo(p.GradSpan);
                offset += p.Length;
            }
        }
    }

    /// <summary>Metrics over a whole split (running BatchNorm statistics, no dropout).</summary>
    public Dictionary<string, double> Evaluate(EncodedDataset data, IEnumerable<string>? metrics = null, string split = "valid")
    {
        var names = (metrics ?? options.Metrics).ToList();
        var (predictions, labels, groups) = Predict(data, split);
        if (comm.Size == 1)
        {
            return TrainingMetrics.Compute(names, labels, predictions, groups);
        }
        // Rank 0 holds every score: it computes the exact metrics and every rank gets its numbers, so early stopping
        // and the learning-rate decay decide the same everywhere.
        var computed = comm.IsRoot ? TrainingMetrics.Compute(names, labels, predictions, groups) : null;
        var keys = comm.Broadcast(computed is null ? null : string.Join('\n', computed.Keys), 0).Split('\n');
        var values = computed?.Values.ToArray() ?? new double[keys.Length];
        comm.Broadcast<double>(values, 0);
        return keys.Zip(values).ToDictionary(kv => kv.First, kv => kv.Second);
    }

    /// <summary>
    /// Predicted probabilities for every row of a split, in file order, with its labels and group ids. With several
    /// ranks each scores its part of the rows and rank 0 gets them all (the other ranks get empty arrays).
    /// </summary>
    public (float[] Predictions, float[] Labels, long[]? Groups) Predict(EncodedDataset data, string split = "valid")
    {
        if (scoresNothing)
        {
            throw new InvalidOperationException("this rank's tables were assembled on rank 0 only; score before AssembleTables(rootOnly: true).");
        }
        if (comm.Size == 1)
        {
            return Predictor.PredictAll(model, graph, data, options.BatchSize, (done, total, rate) => observer.OnScoring(split, done, total, rate));
        }
        var n = checked((int)data.RowCount);
        var counts = Enumerable.Range(0, comm.Size).Select(r => Communicator.Part(n, r, comm.Size).Count).ToArray();
        var (start, count) = Communicator.Part(n, comm.Rank, comm.Size);
        // Sharded tables: every rank takes part in every batch's exchange, so all run the most batches any rank has.
        var lockstep = sharded is not null && !assembled;
        var batches = lockstep ? counts.Max(c => (c + options.BatchSize - 1) / options.BatchSize) : 0;
        // Progress counts the whole split, at this rank's rate times the ranks.
        var part = Predictor.PredictAll(
            model, graph, data, options.BatchSize, (done, _, rate) => observer.OnScoring(split, done * comm.Size, n, rate * comm.Size), (start, count),
            lockstep ? b => sharded!.Exchange(b?.Input()) : null, batches);
        var all = comm.IsRoot ? n : 0;
        var predictions = new float[all];
        var labels = new float[all];
        var groups = data.HasGroupIds ? new long[all] : null;
        comm.GatherV<float>(part.Predictions, predictions, counts, 0);
        comm.GatherV<float>(part.Labels, labels, counts, 0);
        if (groups is not null)
        {
            comm.GatherV<long>(part.Groups!, groups, counts, 0);
        }
        return (predictions, labels, groups);
    }

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

    /// <summary>
    /// A validation split with one class makes AUC (and gAUC) undefined. When the monitor has another term with a
    /// non-zero weight, warn once and let the monitor follow those terms; when it has none, refuse before training
    /// instead of cutting the learning rate on meaningless comparisons.
    /// </summary>
    private void CheckValidationLabels(EncodedDataset valid)
    {
        var labels = valid.Labels;
        if (labels.Length == 0 || labels.IndexOfAnyExcept(labels[0]) >= 0)
        {
            return;
        }
        var label = labels[0].ToString(CultureInfo.InvariantCulture);
        var undefined = new[] { "AUC", "gAUC" };
        var rest = options.Monitor.Where(kv => kv.Value != 0 && !undefined.Contains(kv.Key)).Select(kv => kv.Key).ToList();
        if (options.Monitor.Any(kv => kv.Value != 0 && undefined.Contains(kv.Key)))
        {
            if (rest.Count == 0)
            {
                throw new DataConfigException(
                    $"the validation split has a single class (all {labels.Length} labels are {label}), so AUC is undefined there and " +
                    $"the monitor ({string.Join(", ", options.Monitor.Select(kv => $"{kv.Key}: {kv.Value}"))}) cannot choose the best epoch; " +
                    "use a validation split with both classes, or monitor logloss (monitor: logloss, monitor_mode: min).");
            }
            observer.OnMessage(
                $"warning: the validation split has a single class (all {labels.Length} labels are {label}): AUC is undefined (NaN) there; " +
                $"the monitor follows {string.Join(", ", rest)} only.");
        }
        else
        {
            observer.OnMessage($"warning: the validation split has a single class (all {labels.Length} labels are {label}): its AUC is undefined (NaN).");
        }
    }

    private sealed class NullObserver : ITrainingObserver;
}
