namespace FsdNet.Bench;

public static class Program
{
    /// <summary>Benchmark modes: name, description, entry point (receives the arguments after the mode name).</summary>
    private static readonly (string Name, string Description, Func<string[], int> Run)[] Modes =
    [
        ("gemm", "SGEMM: FsdNet vs OpenBLAS cblas_sgemm, 2 threads (options: --reps N, --shape MxKxN, --form NN|NT|TN)", GemmBenchmark.Run),
        ("ingest", "Data ingest: parse+encode+cache a preset, reload time, peak RSS (options: --phase build|iterate, --preset, --train, --cache, --reps)", IngestBenchmark.Run),
        ("train", "End-to-end training speed of FSDNet on a preset, or of any experiment (options: --dataset frappe | --config <dir> --expid <id>, --epochs 3, --threads 2, --batch-size N, --json out)", TrainBenchmark.Run),
        ("models", "The registered model names, one per line (FSD-capable ones marked ' fsd')", _ => ListModels()),
        ("serve-latency", ServeLatencyBenchmark.Usage, ServeLatencyBenchmark.Run),
        ("onnx-latency", OnnxLatencyBenchmark.Usage, OnnxLatencyBenchmark.Run),
        ("dense-tail", DenseTailBenchmark.Usage, DenseTailBenchmark.Run),
        ("alloc", "Managed bytes allocated per steady-state MLP training step (options: --batch 10000, --steps 100, --threads 2)", AllocBenchmark.Run),
    ];

    private static int ListModels()
    {
        foreach (var name in FsdNet.Models.ModelRegistry.Names)
        {
            Console.WriteLine(FsdNet.Models.ModelRegistry.FsdCapable.Contains(name, StringComparer.OrdinalIgnoreCase) ? name + " fsd" : name);
        }
        return 0;
    }

    public static int Main(string[] args)
    {
        var mode = args.Length > 0 ? args[0] : "";
        foreach (var (name, _, run) in Modes)
        {
            if (name == mode)
            {
                return run(args[1..]);
            }
        }
        Console.WriteLine(mode.Length == 0 ? "usage: FsdNet.Bench <mode> [options]" : $"unknown mode '{mode}'");
        Console.WriteLine("modes:");
        foreach (var (name, description, _) in Modes)
        {
            Console.WriteLine($"  {name,-12} {description}");
        }
        return mode.Length == 0 ? 0 : 2;
    }
}
