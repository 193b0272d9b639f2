using System.Globalization;
using FsdNet.Data;
using FsdNet.Distributed;
using FsdNet.Models;
using FsdNet.Tensors;
using FsdNet.Training;

// One rank of an MPI test. Prints "ok <scenario> ..." lines that the xunit side reads, or "FAIL ..." lines and exits 1.
// Scenarios:
//   collectives                       every collective against what each rank can compute for all ranks itself
//   parity <data-root> <cache> <steps> [key=value ...] [ref.key=value ...]
//                                     <steps> steps of FSDNet on Frappe over the ranks, then (rank 0) the same steps in
//                                     one process (ref. settings apply to it alone): the loss of every step and the
//                                     parameters after the last one
//   sharding <data-root> <cache> <steps> [key=value ...]
//                                     <steps> steps of FSDNet on Frappe over the ranks twice, tables replicated and
//                                     row-sharded: the largest parameter difference and the bytes each sent per step
//   buckets <data-root> <cache> <steps> [key=value ...]
//                                     <steps> steps over the ranks with the gradients summed after backward in one
//                                     buffer, then in small buckets during backward, then in the default ones: the
//                                     parameters must agree bit for bit; prints the buckets and how many left early
//   resume <data-root> <cache> <checkpoint> <kill-step> <params-out> [key=value ...]
//                                     Trainer.Fit with a checkpoint every 5 steps, resuming from <checkpoint> when it
//                                     exists; every rank stops dead at step <kill-step> of the first epoch (0: never),
//                                     else rank 0 writes the final parameters (float32) to <params-out>
//   exit-after <steps> <data-root> <cache> <exit|kill>
//                                     rank 1 exits with code 3 (or is killed with SIGKILL) after <steps> steps; the
//                                     job must end, not hang
var inv = CultureInfo.InvariantCulture;
var comm = Communicator.World(DistributedMode.Mpi);
var failures = 0;
void Fail(string what)
{
    Console.WriteLine($"FAIL rank {comm.Rank}: {what}");
    failures++;
}

switch (args[0])
{
    case "collectives":
        Collectives();
        break;
    case "parity":
        Parity(args[1], args[2], int.Parse(args[3], inv), args[4..]);
        break;
    case "grads":
        Grads(args[1], args[2], args[3..]);
        break;
    case "sharding":
        Sharding(args[1], args[2], int.Parse(args[3], inv), args[4..]);
        break;
    case "buckets":
        Buckets(args[1], args[2], int.Parse(args[3], inv), args[4..]);
        break;
    case "resume":
        Resume(args[1], args[2], args[3], int.Parse(args[4], inv), args[5], args[6..]);
        break;
    case "exit-after":
        ExitAfter(int.Parse(args[1], inv), args[2], args[3], args[4] == "kill");
        break;
    default:
        Console.WriteLine($"FAIL unknown scenario {args[0]}");
        return 2;
}
return failures == 0 ? 0 : 1;

void Collectives()
{
    int rank = comm.Rank, size = comm.Size;
    float Value(int r, int i) => (r + 1) * 0.1f + (i * 1e-3f);

    // All-reduce (MPI's and the ordered one): the sum in rank order, the same on every rank.
    foreach (var n in new[] { 0, 1, 7, 1000, 100_003 })
    {
        var mine = Enumerable.Range(0, n).Select(i => Value(rank, i)).ToArray();
        var ordered = (float[])mine.Clone();
        var sentBefore = comm.BytesSent;
        comm.AllReduceSumOrdered(ordered);
        // The traffic model of docs/DISTRIBUTED.md: a small buffer goes whole to every peer; a large one sends the
        // others' parts (n - own) and its own part to each peer, 2 (size - 1) / size of the buffer when n divides evenly.
        var own = Communicator.Part(n, rank, size).Count;
        var model = (long)n * (size - 1) <= 1 << 16 ? (long)n * (size - 1) : (n - own) + ((long)own * (size - 1));
        if (comm.BytesSent - sentBefore != model * sizeof(float))
        {
            Fail($"ordered all-reduce of {n}: {comm.BytesSent - sentBefore} bytes counted, the model says {model * sizeof(float)}");
        }
        var native = (float[])mine.Clone();
        comm.AllReduceSum(native);
        for (var i = 0; i < n; i++)
        {
            var expected = Value(0, i);
            for (var r = 1; r < size; r++)
            {
                expected += Value(r, i);
            }
            if (BitConverter.SingleToInt32Bits(ordered[i]) != BitConverter.SingleToInt32Bits(expected))
            {
                Fail($"ordered all-reduce of {n}: [{i}] = {ordered[i]:R}, the rank-order sum is {expected:R}");
                break;
            }
            if (Math.Abs(native[i] - expected) > 1e-5f * Math.Abs(expected))
            {
                Fail($"all-reduce of {n}: [{i}] = {native[i]:R}, expected {expected:R}");
                break;
            }
        }
    }
    var d = new[] { rank + 0.5, -rank * 2.0 };
    comm.AllReduceSum(d);
    var sumRanks = size * (size - 1) / 2.0;
    if (d[0] != sumRanks + (0.5 * size) || d[1] != -2 * sumRanks)
    {
        Fail($"double all-reduce gave {d[0]}, {d[1]}");
    }
    var m = new[] { (long)rank * 10, -rank };
    comm.AllReduceMax(m);
    if (m[0] != (size - 1) * 10L || m[1] != 0)
    {
        Fail($"max all-reduce gave {m[0]}, {m[1]}");
    }

    // Gathers: rank r contributes r + 1 values r * 100 + i.
    var counts = Enumerable.Range(0, size).Select(r => r + 1).ToArray();
    var expectedAll = Enumerable.Range(0, size).SelectMany(r => Enumerable.Range(0, r + 1).Select(i => (long)((r * 100) + i))).ToArray();
    var part = Enumerable.Range(0, rank + 1).Select(i => (long)((rank * 100) + i)).ToArray();
    var all = new long[expectedAll.Length];
    comm.AllGatherV<long>(part, all, counts);
    if (!all.SequenceEqual(expectedAll))
    {
        Fail($"all-gather gave {string.Join(",", all)}");
    }
    var gathered = new long[rank == 0 ? expectedAll.Length : 0];
    comm.GatherV<long>(part, gathered, counts, 0);
    if (rank == 0 && !gathered.SequenceEqual(expectedAll))
    {
        Fail($"gather gave {string.Join(",", gathered)}");
    }

    // All-to-all: rank r sends q + 1 ints (r * 1000 + q * 10 + i) to rank q.
    var sendCounts = Enumerable.Range(0, size).Select(q => q + 1).ToArray();
    var send = Enumerable.Range(0, size).SelectMany(q => Enumerable.Range(0, q + 1).Select(i => (rank * 1000) + (q * 10) + i)).ToArray();
    var receiveCounts = Enumerable.Repeat(rank + 1, size).ToArray();
    var receive = new int[size * (rank + 1)];
    comm.AllToAllV<int>(send, sendCounts, receive, receiveCounts);
    var expectedReceive = Enumerable.Range(0, size).SelectMany(r => Enumerable.Range(0, rank + 1).Select(i => (r * 1000) + (rank * 10) + i)).ToArray();
    if (!receive.SequenceEqual(expectedReceive))
    {
        Fail($"all-to-all gave {string.Join(",", receive)}");
    }

    // Broadcast from the last rank, of values and of a string.
    var b = rank == size - 1 ? new[] { 3.25f, -1f, float.NaN } : new float[3];
    comm.Broadcast<float>(b, size - 1);
    if (b[0] != 3.25f || b[1] != -1f || !float.IsNaN(b[2]))
    {
        Fail($"broadcast gave {string.Join(",", b)}");
    }
    var text = comm.Broadcast(rank == 0 ? "runs/FSDNet-seed2023-ü" : null, 0);
    if (text != "runs/FSDNet-seed2023-ü")
    {
        Fail($"string broadcast gave '{text}'");
    }
    // Strings of every rank, of different lengths (rank 0's empty, others multi-byte UTF-8), in rank order.
    var names = comm.AllGather(string.Concat(Enumerable.Repeat("hôst", rank)));
    if (!names.SequenceEqual(Enumerable.Range(0, size).Select(r => string.Concat(Enumerable.Repeat("hôst", r)))))
    {
        Fail($"string all-gather gave '{string.Join("', '", names)}'");
    }
    comm.Barrier();
    if (failures == 0)
    {
        Console.WriteLine($"ok collectives rank {rank} of {size} ({comm.Description})");
    }
}

(CtrModel Model, Trainer Trainer, TrainerOptions Options) Build(PreparedData data, string[] sets, Communicator c, ITrainingObserver? observer = null)
{
    var cfg = Presets.For("frappe");
    foreach (var s in sets)
    {
        var eq = s.IndexOf('=', StringComparison.Ordinal);
        cfg = cfg.With(new Dictionary<string, string> { [s[..eq]] = s[(eq + 1)..] }, "test");
    }
    var options = TrainerOptions.From(cfg);
    // As fsdnet train builds it: tables that may be row-sharded are drawn only where their rows are kept.
    var model = ModelRegistry.Create(RowShardedTables.ForTraining(ModelInputs.Schema(data.FeatureMap, cfg), options.EmbeddingSharding, c), cfg, new Rng((ulong)options.Seed));
    return (model, new Trainer(model, options, observer, c), options);
}

PreparedData Prepare(string dataRoot, string cache)
{
    if (comm.Rank != 0)
    {
        comm.Barrier();
    }
    var data = DataPipeline.Prepare("frappe", dataRoot, new DataOptions { CacheDir = cache });
    if (comm.Rank == 0)
    {
        comm.Barrier();
    }
    return data;
}

double[] Train(PreparedData data, Trainer trainer, TrainerOptions options, Communicator c, int steps)
{
    var loader = new BatchLoader(data.Train, new BatchLoaderOptions { BatchSize = options.BatchSize, Shuffle = true, Seed = options.Seed, Slice = (c.Rank, c.Size) });
    var batch = loader.CreateBatch();
    var losses = new List<double>();
    for (var epoch = 0; losses.Count < steps; epoch++)
    {
        loader.StartEpoch(epoch);
        while (losses.Count < steps && loader.Next(batch))
        {
            losses.Add(trainer.TrainStep(batch));
        }
    }
    return [.. losses];
}

void Parity(string dataRoot, string cache, int steps, string[] given)
{
    var sets = given.Where(s => !s.StartsWith("ref.", StringComparison.Ordinal)).ToArray();
    string[] refSets = [.. sets, .. given.Where(s => s.StartsWith("ref.", StringComparison.Ordinal)).Select(s => s[4..])];
    using var data = Prepare(dataRoot, cache);
    var (model, trainer, options) = Build(data, sets, comm);
    var losses = Train(data, trainer, options, comm, steps);
    trainer.AssembleTables();   // row-sharded tables back whole (nothing when replicated)
    var state = model.State().SelectMany(s => s.Value.ToArray()).ToArray();

    // Every rank must hold bitwise the same parameters.
    var counts = Enumerable.Repeat(state.Length, comm.Size).ToArray();
    var all = new float[comm.Rank == 0 ? state.Length * comm.Size : 0];
    comm.GatherV<float>(state, all, counts, 0);
    if (comm.Rank != 0)
    {
        return;
    }
    for (var r = 1; r < comm.Size; r++)
    {
        if (!all.AsSpan(r * state.Length, state.Length).SequenceEqual(state))
        {
            Fail($"rank {r}'s parameters differ from rank 0's after {steps} steps");
        }
    }
    var oneThreads = Workers.ThreadCount;
    var (refModel, refTrainer, _) = Build(data, refSets, Communicator.Single);
    var refLosses = Train(data, refTrainer, options, Communicator.Single, steps);
    var refState = refModel.State().SelectMany(s => s.Value.ToArray()).ToArray();
    double lossDiff = 0, paramDiff = 0;
    for (var i = 0; i < steps; i++)
    {
        lossDiff = Math.Max(lossDiff, Math.Abs(losses[i] - refLosses[i]));
        Console.WriteLine(string.Create(inv, $"step {i + 1} loss {losses[i]:R} one-process {refLosses[i]:R}"));
    }
    var worst = 0;
    for (var i = 0; i < state.Length; i++)
    {
        var diff = Math.Abs(state[i] - refState[i]);
        if (diff > paramDiff)
        {
            (paramDiff, worst) = (diff, i);
        }
    }
    Console.WriteLine(string.Create(inv,
        $"ok parity ranks {comm.Size} steps {steps} threads {oneThreads} max_loss_diff {lossDiff:E3} max_param_diff {paramDiff:E3} (element {worst}: {state[worst]:R} vs {refState[worst]:R})"));
}

void Sharding(string dataRoot, string cache, int steps, string[] sets)
{
    // The same steps with the tables replicated and row-sharded. The embedding gradients are summed in rank order both
    // ways (the all-reduce's ((g0 + g1) + ...), the owner's 0 + g0 + g1 + ...) and the rest is the same code, so they
    // differ only where the shards' squared gradient norm (for clipping) and penalty are summed in another order.
    using var data = Prepare(dataRoot, cache);
    var (replicated, rTrainer, options) = Build(data, [.. sets, "embedding_sharding=replicate"], comm);
    var before = comm.BytesSent;
    var rLosses = Train(data, rTrainer, options, comm, steps);
    var rBytes = (comm.BytesSent - before) / steps;
    var (rowSharded, sTrainer, _) = Build(data, [.. sets, "embedding_sharding=row"], comm);
    before = comm.BytesSent;
    var sLosses = Train(data, sTrainer, options, comm, steps);
    var sBytes = (comm.BytesSent - before) / steps;
    var shardedTables = sTrainer.ShardedTableCount;
    sTrainer.AssembleTables();
    var a = replicated.State().SelectMany(x => x.Value.ToArray()).ToArray();
    var b = rowSharded.State().SelectMany(x => x.Value.ToArray()).ToArray();
    if (a.Length != b.Length)
    {
        Fail($"replicated {a.Length} values, sharded {b.Length} after assembling");
        return;
    }
    double paramDiff = 0, lossDiff = 0;
    var same = 0;
    for (var i = 0; i < a.Length; i++)
    {
        paramDiff = Math.Max(paramDiff, Math.Abs(a[i] - b[i]));
        same += BitConverter.SingleToInt32Bits(a[i]) == BitConverter.SingleToInt32Bits(b[i]) ? 1 : 0;
    }
    for (var i = 0; i < steps; i++)
    {
        lossDiff = Math.Max(lossDiff, Math.Abs(rLosses[i] - sLosses[i]));
    }
    Console.WriteLine(string.Create(inv,
        $"ok sharding rank {comm.Rank} of {comm.Size} steps {steps} tables {shardedTables} max_loss_diff {lossDiff:E3} max_param_diff {paramDiff:E3} bitwise {same} of {a.Length} bytes_per_step replicated {rBytes} sharded {sBytes}"));
}

void Buckets(string dataRoot, string cache, int steps, string[] sets)
{
    using var data = Prepare(dataRoot, cache);
    float[]? reference = null;
    foreach (var mb in new[] { "0", "0.05", "1" })
    {
        var (model, trainer, options) = Build(data, [.. sets, "gradient_bucket_mb=" + mb], comm);
        var ticks = comm.Ticks;
        var losses = Train(data, trainer, options, comm, steps);
        var seconds = (comm.Ticks - ticks) / (double)System.Diagnostics.Stopwatch.Frequency;
        var state = model.State().SelectMany(x => x.Value.ToArray()).ToArray();
        reference ??= state;
        var same = 0;
        for (var i = 0; i < state.Length; i++)
        {
            same += BitConverter.SingleToInt32Bits(state[i]) == BitConverter.SingleToInt32Bits(reference[i]) ? 1 : 0;
        }
        var b = trainer.Buckets!;
        Console.WriteLine(string.Create(inv,
            $"ok buckets rank {comm.Rank} of {comm.Size} mb {mb} buckets {b.Count} started_during_backward {b.StartedDuringBackward} relearnt {b.Relearnt} bitwise {same} of {state.Length} last_loss {losses[^1]:R} comm_s {seconds:F3}"));
        trainer.Dispose();   // frees the buckets' two communicators (MPI_Comm_free) before the next trainer makes its own
        // A step after that sums in one buffer on the world communicator: still the same on every rank.
        var after = Train(data, trainer, options, comm, 1)[0];
        var afterAll = new double[comm.Size];
        comm.AllGatherV<double>([after], afterAll, Enumerable.Repeat(1, comm.Size).ToArray());
        if (afterAll.Any(x => x != afterAll[0]) || trainer.Buckets!.Count != 0)
        {
            Fail($"a step after Dispose: losses {string.Join(", ", afterAll)}, {trainer.Buckets!.Count} buckets");
        }
    }
}

void Grads(string dataRoot, string cache, string[] sets)
{
    // One step's gradients (SGD at a negligible rate leaves them in place) over the ranks against one process's, and
    // the noise floor: one process again with the batch's halves swapped, which changes only the order of the sums.
    string[] sgd = [.. sets, "optimizer=sgd"];
    using var data = Prepare(dataRoot, cache);
    var (model, trainer, options) = Build(data, sgd, comm);
    trainer.Optimizer.LearningRate = 1e-30;
    Train(data, trainer, options, comm, 1);
    if (comm.Rank != 0)
    {
        return;
    }
    var (refModel, refTrainer, _) = Build(data, sgd, Communicator.Single);
    refTrainer.Optimizer.LearningRate = 1e-30;
    Train(data, refTrainer, options, Communicator.Single, 1);
    var (swapModel, swapTrainer, _) = Build(data, sgd, Communicator.Single);
    swapTrainer.Optimizer.LearningRate = 1e-30;
    var loader = new BatchLoader(data.Train, new BatchLoaderOptions { BatchSize = options.BatchSize, Shuffle = true, Seed = options.Seed });
    var batch = loader.CreateBatch();
    loader.StartEpoch(0);
    loader.Next(batch);
    var half = batch.Size / 2;
    void Swap<T>(T[] v, int width)
    {
        var copy = v[..(batch.Size * width)];
        copy.AsSpan(half * width).CopyTo(v);
        copy.AsSpan(0, half * width).CopyTo(v.AsSpan((batch.Size - half) * width));
    }
    Swap(batch.Categorical, batch.CategoricalCount);
    Swap(batch.Numeric, batch.NumericCount);
    Swap(batch.Labels, 1);
    swapTrainer.TrainStep(batch);
    var ranks = model.Parameters().ToList();
    var one = refModel.Parameters().ToList();
    var swapped = swapModel.Parameters().ToList();
    var worst = 0.0;
    for (var i = 0; i < one.Count; i++)
    {
        double diff = 0, noise = 0, scale = 0;
        for (var j = 0; j < one[i].Length; j++)
        {
            var g = one[i].GradSpan[j];
            diff = Math.Max(diff, Math.Abs(ranks[i].GradSpan[j] - g));
            noise = Math.Max(noise, Math.Abs(swapped[i].GradSpan[j] - g));
            scale = Math.Max(scale, Math.Abs(g));
        }
        // Within 4x the noise floor, or 1e-5 of the gradient's scale where the floor is near zero.
        var ratio = diff / ((4 * noise) + (1e-5 * scale) + 1e-12);
        worst = Math.Max(worst, ratio);
        Console.WriteLine(string.Create(inv, $"grad {i} {one[i].Name} {one[i].Shape}: ranks vs one process {diff:E2}, halves swapped {noise:E2}, scale {scale:E2}"));
    }
    Console.WriteLine(string.Create(inv, $"ok grads worst {worst:F3}"));
}

void Resume(string dataRoot, string cache, string checkpoint, int killStep, string paramsOut, string[] sets)
{
    using var data = Prepare(dataRoot, cache);
    var (model, trainer, _) = Build(data, [.. sets, "checkpoint_every_steps=5"], comm, new Killer(killStep, comm.Rank == 0));
    try
    {
        trainer.Fit(data.Train, data.Valid!, checkpoint, resume: true);
        trainer.AssembleTables(rootOnly: true);   // rank 0 writes the parameters below
    }
    catch (OperationCanceledException) when (killStep > 0)
    {
        Console.WriteLine($"ok resume rank {comm.Rank} of {comm.Size} killed at step {killStep}");
        return;
    }
    if (comm.Rank == 0)
    {
        var state = model.State().SelectMany(s => s.Value.ToArray()).ToArray();
        File.WriteAllBytes(paramsOut, System.Runtime.InteropServices.MemoryMarshal.AsBytes(state.AsSpan()).ToArray());
        Console.WriteLine($"ok resume ranks {comm.Size}: {state.Length} parameters written");
    }
}

void ExitAfter(int steps, string dataRoot, string cache, bool kill)
{
    using var data = Prepare(dataRoot, cache);
    var (_, trainer, options) = Build(data, [], comm);
    var loader = new BatchLoader(data.Train, new BatchLoaderOptions { BatchSize = options.BatchSize, Shuffle = true, Seed = 1, Slice = (comm.Rank, comm.Size) });
    var batch = loader.CreateBatch();
    for (var step = 0; loader.Next(batch); step++)
    {
        if (step == steps && comm.Rank == 1)
        {
            Console.WriteLine("rank 1 leaves");
            Console.Out.Flush();
            if (kill)
            {
                System.Diagnostics.Process.GetCurrentProcess().Kill();
            }
            Environment.Exit(3);
        }
        trainer.TrainStep(batch);
    }
    Fail("the job went on without rank 1");
}

/// <summary>
/// Stops every rank dead at one step of the first epoch, as a kill -9 of the job would (nothing saved; 0: never), and
/// prints the trainer's messages on rank 0.
/// </summary>
internal sealed class Killer(long step, bool print) : ITrainingObserver
{
    public void OnMessage(string message)
    {
        if (print)
        {
            Console.WriteLine(message);
        }
    }

    public void OnStep(int epoch, long s, long stepsPerEpoch, double runningLoss, double samplesPerSecond)
    {
        if (epoch == 0 && s == step)
        {
            throw new OperationCanceledException("killed");
        }
    }
}
