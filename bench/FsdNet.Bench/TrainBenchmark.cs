using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using FsdNet.Data;
using FsdNet.Layers;
using FsdNet.Models;
using FsdNet.Tensors;
using FsdNet.Training;

namespace FsdNet.Bench;

/// <summary>
/// End-to-end training speed: FSDNet with a preset's official configuration (--dataset), or any experiment of a
/// FuxiCTR-style config folder (--config --expid: its model, trainer settings and dataset), for a few epochs, timing
/// the training loop and validation of every epoch, with peak RSS, GC counts and steady-state allocation per step.
/// The PyTorch sides of the comparison are tools/fsdnet_torch/train_frappe.py (bench/train_vs_pytorch.sh) and
/// tools/zoo_torch/train_zoo.py (bench/zoo_vs_pytorch.sh).
/// </summary>
internal static class TrainBenchmark
{
    private sealed class Recorder : ITrainingObserver
    {
        public List<EpochRecord> Records { get; } = [];

        public void OnEvaluation(EpochRecord record)
        {
            Records.Add(record);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  epoch {record.Epoch}: train {record.TrainSeconds:F2} s, valid {record.ValidSeconds:F2} s, {record.SamplesPerSecond:F0} samples/s, " +
                $"loss {record.TrainLoss:F5}, valid AUC {record.Valid["AUC"]:F6} logloss {record.Valid["logloss"]:F6}, " +
                $"JIT so far {System.Runtime.JitInfo.GetCompilationTime().TotalSeconds:F2} s ({System.Runtime.JitInfo.GetCompiledMethodCount()} methods)"));
        }
    }

    public static int Run(string[] args)
    {
        var configDir = Arg(args, "--config");
        var expid = Arg(args, "--expid");
        if ((configDir is null) != (expid is null) || (configDir is not null && Arg(args, "--dataset") is not null))
        {
            Console.Error.WriteLine("train: give --dataset <preset>, or --config <dir> --expid <experiment id> (model, trainer settings and dataset from that experiment).");
            return 2;
        }
        var dataset = Arg(args, "--dataset") ?? "frappe";
        var epochs = int.Parse(Arg(args, "--epochs") ?? "3", CultureInfo.InvariantCulture);
        var threads = int.Parse(Arg(args, "--threads") ?? "2", CultureInfo.InvariantCulture);
        var seed = Arg(args, "--seed") ?? "2023";
        var json = Arg(args, "--json");
        var allocSteps = int.Parse(Arg(args, "--alloc-steps") ?? "100", CultureInfo.InvariantCulture);
        if (allocSteps < 1)
        {
            Console.Error.WriteLine("train: --alloc-steps must be at least 1 (steady-state steps whose allocation is measured).");
            return 2;
        }
        Workers.ThreadCount = threads;
        var clock = Stopwatch.StartNew();
        var dataOptions = new DataOptions { CacheDir = Arg(args, "--cache-dir") };
        ModelConfig baseCfg;
        PreparedData prepared;
        if (configDir is not null)
        {
            (baseCfg, var dataCfg) = LoadExperiment(configDir, expid!, Arg(args, "--data-root"));
            dataset = dataCfg.DatasetId;
            prepared = DataPipeline.Prepare(dataCfg, dataOptions);
        }
        else
        {
            baseCfg = Presets.For(dataset);
            prepared = DataPipeline.Prepare(dataset, Arg(args, "--data-root"), dataOptions);
        }
        using var data = prepared;
        var loadSeconds = clock.Elapsed.TotalSeconds;
        // Early stopping never ends a speed run: every epoch is timed.
        var overrides = new Dictionary<string, string> { ["epochs"] = Math.Max(1, epochs).ToString(CultureInfo.InvariantCulture), ["seed"] = seed, ["early_stop_patience"] = "1000" };
        if (Arg(args, "--batch-size") is { } batchSize)
        {
            overrides["batch_size"] = batchSize;
        }
        for (var i = 0; i < args.Length - 1; i++)
        {
            if (args[i] == "--set")
            {
                var kv = args[i + 1].Split('=', 2);
                if (kv.Length != 2)
                {
                    Console.Error.WriteLine($"train: --set takes key=value, got '{args[i + 1]}'.");
                    return 2;
                }
                overrides[kv[0]] = kv[1];
            }
        }
        var cfg = baseCfg.With(overrides, "FsdNet.Bench train");
        var options = TrainerOptions.From(cfg);
        var model = ModelRegistry.Create(ModelInputs.Schema(data.FeatureMap, cfg), cfg, new Rng((ulong)options.Seed));
        var recorder = new Recorder();
        var trainer = new Trainer(model, options, recorder);
        Console.WriteLine($"fsdnet: {model.ModelName} ({cfg.ExpId}) on {dataset}, {model.ParameterCount():N0} parameters, batch {options.BatchSize}, {threads} threads, {epochs} epochs (data ready in {loadSeconds:F1} s)");
        var gc0 = (GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2));
        if (epochs > 0)
        {
            trainer.Fit(data.Train, data.Valid!);   // --epochs 0: no epoch, only the steady-state measures (with --profile)
        }
        var gc = (GC.CollectionCount(0) - gc0.Item1, GC.CollectionCount(1) - gc0.Item2, GC.CollectionCount(2) - gc0.Item3);

        // Steady state: bytes allocated (all threads) over --alloc-steps (100) training steps after warm-up.
        var loader = new BatchLoader(data.Train, new BatchLoaderOptions { BatchSize = options.BatchSize, Shuffle = true, Seed = 1 });
        var batch = loader.CreateBatch();
        double AllocPerStep(int steps)
        {
            loader.StartEpoch(99);
            for (var i = 0; i < 3; i++)
            {
                Next();
                trainer.TrainStep(batch);
            }
            var before = GC.GetTotalAllocatedBytes(precise: true);
            for (var i = 0; i < steps; i++)
            {
                Next();
                trainer.TrainStep(batch);
            }
            return (GC.GetTotalAllocatedBytes(precise: true) - before) / (double)steps;
        }
        void Next()
        {
            if (!loader.Next(batch))
            {
                loader.StartEpoch(100);
                loader.Next(batch);
            }
        }
        var allocPerStep = AllocPerStep(allocSteps);
        var rssMb = ProcessMemory.PeakRssMiB();
        var profile = args.Contains("--profile") ? StepProfile(trainer, loader, batch, data.Train.RowCount, options.BatchSize) : null;
        var train = recorder.Records.Select(r => r.TrainSeconds).ToArray();
        var valid = recorder.Records.Select(r => r.ValidSeconds).ToArray();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"fsdnet: mean train {(train.Length > 0 ? train.Average() : double.NaN):F2} s/epoch, mean valid {(valid.Length > 0 ? valid.Average() : double.NaN):F2} s, " +
            $"{(train.Length > 0 ? recorder.Records.Average(r => r.SamplesPerSecond) : double.NaN):F0} samples/s, " +
            $"peak RSS {rssMb:F0} MiB, GC during training gen0/1/2 {gc.Item1}/{gc.Item2}/{gc.Item3}, {allocPerStep:F0} bytes allocated per step (steady state, {allocSteps} steps)"));
        if (json is not null)
        {
            File.WriteAllText(json, JsonSerializer.Serialize(new
            {
                model = model.ModelName,
                expid = cfg.ExpId,
                batch_size = options.BatchSize,
                dataset,
                threads,
                epochs,
                parameters = model.ParameterCount(),
                train_s = train,
                valid_s = valid,
                samples_per_s = recorder.Records.Select(r => r.SamplesPerSecond).ToArray(),
                val_auc = recorder.Records.Select(r => r.Valid["AUC"]).ToArray(),
                peak_rss_mb = rssMb,
                gc_gen0 = gc.Item1,
                gc_gen1 = gc.Item2,
                gc_gen2 = gc.Item3,
                alloc_bytes_per_step = allocPerStep,
                profile,
            }));
        }
        return 0;
    }

    /// <summary>
    /// Where a step's time goes (--profile), over 30 steady-state steps: reading the batch, forward, backward,
    /// regularizer and clipping, the optimizer; inside forward and backward, matrix products (Sgemm) and the embedding
    /// gather/scatter, the rest being elementwise work (activations, BatchNorm, dropout, losses). The fp32 floor of an
    /// epoch is its matrix-product FLOPs over the best Sgemm rate measured here on the model's largest layer shape.
    /// </summary>
    private static Dictionary<string, double> StepProfile(Trainer trainer, BatchLoader loader, Batch batch, long trainRows, int batchSize)
    {
        const int steps = 30;
        loader.StartEpoch(200);
        long loadTicks = 0;
        Profile.Reset();
        Profile.Enabled = true;
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < steps; i++)
        {
            var t = Stopwatch.GetTimestamp();
            if (!loader.Next(batch))
            {
                loader.StartEpoch(201);
                loader.Next(batch);
            }
            Profile.Lap(ref loadTicks, t);
            trainer.TrainStep(batch);
        }
        var total = clock.Elapsed.TotalSeconds;
        Profile.Enabled = false;
        double Ms(long ticks) => ticks * 1000.0 / Stopwatch.Frequency / steps;
        var shape = LargestLinear(trainer, batchSize);
        var gflops = SgemmRate(shape.M, shape.K, shape.N);
        var flopsPerStep = (double)Profile.GemmFlops / steps;
        var stepsPerEpoch = (double)trainRows / batchSize;
        var r = new Dictionary<string, double>
        {
            ["step_ms"] = total * 1000 / steps,
            ["load_ms"] = Ms(loadTicks),
            ["forward_ms"] = Ms(Profile.ForwardTicks),
            ["backward_ms"] = Ms(Profile.BackwardTicks),
            ["regularize_clip_ms"] = Ms(Profile.RegularizeClipTicks),
            ["optimizer_ms"] = Ms(Profile.OptimizerTicks),
            ["sgemm_ms"] = Ms(Profile.GemmTicks),
            ["embedding_ms"] = Ms(Profile.EmbeddingTicks),
            ["elementwise_ms"] = Ms(Profile.ForwardTicks + Profile.BackwardTicks - Profile.GemmTicks - Profile.EmbeddingTicks),
            ["gemm_gflop_per_step"] = flopsPerStep / 1e9,
            ["sgemm_gflops_in_training"] = Profile.GemmTicks == 0 ? 0 : flopsPerStep / (Ms(Profile.GemmTicks) / 1000) / 1e9,
            ["sgemm_gflops_best"] = gflops,
            // 0 for a model without matrix products (LR, FM): it has no fp32 floor in this sense.
            ["floor_s_per_epoch"] = flopsPerStep * stepsPerEpoch / (gflops * 1e9),
            ["profiled_s_per_epoch"] = total / steps * stepsPerEpoch,
        };
        var inv = CultureInfo.InvariantCulture;
        Console.WriteLine(string.Create(inv,
            $"profile ({steps} steps, batch {batchSize}): step {r["step_ms"]:F1} ms = load {r["load_ms"]:F1} + forward {r["forward_ms"]:F1} + backward {r["backward_ms"]:F1} + regularizer/clip {r["regularize_clip_ms"]:F1} + optimizer {r["optimizer_ms"]:F1}"));
        Console.WriteLine(string.Create(inv,
            $"profile: forward+backward = sgemm {r["sgemm_ms"]:F1} ms ({r["sgemm_gflops_in_training"]:F0} GFLOP/s in training) + embedding gather/scatter {r["embedding_ms"]:F1} ms + elementwise and the rest {r["elementwise_ms"]:F1} ms"));
        // The ops by time, forward and backward (each op's time includes its matrix products and its own threads).
        var ops = Profile.Ops.Select(kv => (Name: kv.Key.Name.EndsWith("Op", StringComparison.Ordinal) ? kv.Key.Name[..^2] : kv.Key.Name,
            Forward: Ms(kv.Value.Forward), Backward: Ms(kv.Value.Backward), Count: kv.Value.Count / (double)steps))
            .OrderByDescending(o => o.Forward + o.Backward).ToList();
        var opTotal = ops.Sum(o => o.Forward + o.Backward);
        Console.WriteLine(string.Create(inv, $"profile: ops by time per step (forward + backward ms, nodes per step), {opTotal:F1} ms in all:"));
        foreach (var o in ops.Take(14))
        {
            Console.WriteLine(string.Create(inv,
                $"profile:   {o.Name,-22} {o.Forward + o.Backward,7:F1} ms = {o.Forward,6:F1} + {o.Backward,6:F1}  ({o.Count:F0} nodes, {(o.Forward + o.Backward) / opTotal * 100:F0}%)"));
            r[$"op_{o.Name}_ms"] = o.Forward + o.Backward;
        }
        // The matrix products by shape (m x k x n, form), slowest first, with their rate: which product to tune next.
        var shapes = Profile.GemmShapes.Select(kv => (Shape: kv.Key, Ms: Ms(kv.Value.Ticks), Count: kv.Value.Count / (double)steps,
                Gflops: kv.Value.Ticks == 0 ? 0 : 2.0 * kv.Key.M * kv.Key.N * kv.Key.K * kv.Value.Count / (kv.Value.Ticks / (double)Stopwatch.Frequency) / 1e9))
            .OrderByDescending(s => s.Ms).ToList();
        if (shapes.Count > 0)
        {
            Console.WriteLine(string.Create(inv, $"profile: sgemm by shape (m x k x n form: ms per step, calls per step, GFLOP/s), {shapes.Count} shapes:"));
            foreach (var s in shapes.Take(10))
            {
                Console.WriteLine(string.Create(inv, $"profile:   {s.Shape,-26} {s.Ms,7:F1} ms  {s.Count,3:F0} calls  {s.Gflops,6:F0} GFLOP/s"));
            }
        }
        if (flopsPerStep == 0)
        {
            Console.WriteLine("profile: no matrix products, so no fp32 floor");
            return r;
        }
        Console.WriteLine(string.Create(inv,
            $"profile: fp32 floor {r["floor_s_per_epoch"]:F1} s/epoch ({r["gemm_gflop_per_step"]:F2} GFLOP/step at the best Sgemm rate {gflops:F0} GFLOP/s on {shape.M}x{shape.K}x{shape.N}); this step rate gives {r["profiled_s_per_epoch"]:F1} s/epoch = {r["profiled_s_per_epoch"] / r["floor_s_per_epoch"]:F2}x the floor"));
        return r;
    }

    /// <summary>The model's largest Linear layer as an Sgemm shape at this batch size (M = batch, K = in, N = out).</summary>
    private static (int M, int K, int N) LargestLinear(Trainer trainer, int batchSize)
    {
        var best = (M: batchSize, K: 256, N: 256);
        foreach (var p in trainer.Optimizer.Parameters)
        {
            if (p.Shape.Rank == 2 && p.Kind == FsdNet.Autodiff.ParameterKind.Net && (long)p.Shape.D0 * p.Shape.D1 > (long)best.K * best.N)
            {
                best = (batchSize, p.Shape.D1, p.Shape.D0);
            }
        }
        return best;
    }

    /// <summary>Best of 7 rates (GFLOP/s) of Sgemm over the three products training runs on one layer shape.</summary>
    private static unsafe double SgemmRate(int m, int k, int n)
    {
        var a = GC.AllocateArray<float>(m * k, pinned: true);
        var w = GC.AllocateArray<float>(n * k, pinned: true);
        var c = GC.AllocateArray<float>(Math.Max(m * n, n * k), pinned: true);
        for (var i = 0; i < a.Length; i++)
        {
            a[i] = (i % 17) * 0.01f;
        }
        for (var i = 0; i < w.Length; i++)
        {
            w[i] = (i % 13) * 0.01f;
        }
        var best = 0.0;
        fixed (float* pa = a, pw = w, pc = c)
        {
            for (var rep = 0; rep < 7; rep++)
            {
                var t = Stopwatch.StartNew();
                Sgemm.Multiply(false, true, m, n, k, 1f, pa, k, pw, k, 0f, pc, n);      // Y = X W^T
                Sgemm.Multiply(false, false, m, k, n, 1f, pc, n, pw, k, 0f, pa, k);     // dX = dY W
                Sgemm.Multiply(true, false, n, k, m, 1f, pc, n, pa, k, 0f, pw, k);      // dW = dY^T X
                best = Math.Max(best, 3.0 * 2 * m * n * k / t.Elapsed.TotalSeconds / 1e9);
            }
        }
        return best;
    }

    /// <summary>
    /// An experiment of a FuxiCTR-style config folder, resolved as <c>fsdnet train --config --expid</c> does: the model
    /// config, its dataset_id's dataset config (whose training keys count too), <paramref name="dataRoot"/> replacing
    /// the dataset's data_root when given.
    /// </summary>
    internal static (ModelConfig Config, DatasetConfig Data) LoadExperiment(string configDir, string expid, string? dataRoot)
    {
        var cfg = ModelConfig.Load(configDir, expid);
        var datasetId = cfg.DatasetId ?? throw new ConfigException($"{cfg.Source} [{expid}]: 'dataset_id' is missing.");
        var dataCfg = DatasetConfigLoader.LoadFromDir(configDir, datasetId);
        if (dataCfg.Extra.Count > 0)
        {
            cfg = cfg.With(dataCfg.Extra, $"{Path.Combine(configDir, "dataset_config.yaml")} (dataset '{datasetId}')");
        }
        if (dataRoot is not null)
        {
            dataCfg.DataRoot = dataRoot;
        }
        return (cfg, dataCfg);
    }

    internal static string? Arg(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}
