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
                $"loss {record.TrainLoss:F5}, valid AUC {record.Valid["AUC"]:F6} logloss {record.Valid["logloss"]:F6}"));
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
        var overrides = new Dictionary<string, string> { ["epochs"] = epochs.ToString(CultureInfo.InvariantCulture), ["seed"] = seed, ["early_stop_patience"] = "1000" };
        if (Arg(args, "--batch-size") is { } batchSize)
        {
            overrides["batch_size"] = batchSize;
        }
        var cfg = baseCfg.With(overrides, "FsdNet.Bench train");
        var options = TrainerOptions.From(cfg);
        var model = ModelRegistry.Create(ModelInputs.Schema(data.FeatureMap, cfg), cfg, new Rng((ulong)options.Seed));
        var recorder = new Recorder();
        var trainer = new Trainer(model, options, recorder);
        Console.WriteLine($"fsdnet: {model.ModelName} ({cfg.ExpId}) on {dataset}, {model.ParameterCount():N0} parameters, batch {options.BatchSize}, {threads} threads, {epochs} epochs (data ready in {loadSeconds:F1} s)");
        var gc0 = (GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2));
        trainer.Fit(data.Train, data.Valid!);
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
        var rssMb = PeakRssMb();
        var train = recorder.Records.Select(r => r.TrainSeconds).ToArray();
        var valid = recorder.Records.Select(r => r.ValidSeconds).ToArray();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"fsdnet: mean train {train.Average():F2} s/epoch, mean valid {valid.Average():F2} s, {recorder.Records.Average(r => r.SamplesPerSecond):F0} samples/s, " +
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
            }));
        }
        return 0;
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

    /// <summary>Peak resident set size of this process (VmHWM), in MiB.</summary>
    internal static double PeakRssMb()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                return double.Parse(line[6..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024;
            }
        }
        return double.NaN;
    }

    internal static string? Arg(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}
