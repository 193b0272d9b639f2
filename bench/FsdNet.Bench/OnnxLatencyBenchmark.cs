using System.Diagnostics;
using System.Globalization;
using FsdNet.Data;
using FsdNet.Serving;
using FsdNet.Serving.Onnx;
using Microsoft.ML.OnnxRuntime;

namespace FsdNet.Bench;

/// <summary>
/// ONNX Runtime's latency on an exported model (the reference the in-process scorer is measured against): rows of a
/// raw data file encoded with the run's feature map, then single-row scoring (p50/p99 over every row, after a
/// warm-up) and batch-1000 throughput, with intra-op threads = --threads. Inputs and outputs are preallocated
/// OrtValues, so the timings are ONNX Runtime's own work plus the call. Prints <c>key value</c> lines.
/// </summary>
internal static class OnnxLatencyBenchmark
{
    public const string Usage =
        "ONNX Runtime latency of an exported model (options: --onnx model.onnx --model <run dir> --data <raw file> [--rows 10000] [--threads 1] [--batch-reps 50])";

    public static int Run(string[] args)
    {
        try
        {
            return Measure(args);
        }
        catch (Exception e) when (e is ModelFileException or DataFormatException or DataConfigException or ArgumentException
            or FormatException or IOException or OnnxRuntimeException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
    }

    private static int Measure(string[] args)
    {
        var onnx = TrainBenchmark.Arg(args, "--onnx");
        var runDir = TrainBenchmark.Arg(args, "--model");
        var dataPath = TrainBenchmark.Arg(args, "--data");
        if (onnx is null || runDir is null || dataPath is null)
        {
            Console.Error.WriteLine("usage: FsdNet.Bench onnx-latency " + Usage);
            return 2;
        }
        var rows = int.Parse(TrainBenchmark.Arg(args, "--rows") ?? "10000", CultureInfo.InvariantCulture);
        var threads = int.Parse(TrainBenchmark.Arg(args, "--threads") ?? "1", CultureInfo.InvariantCulture);
        var batchReps = int.Parse(TrainBenchmark.Arg(args, "--batch-reps") ?? "50", CultureInfo.InvariantCulture);
        if (rows < 1 || threads < 1 || batchReps < 1)
        {
            Console.Error.WriteLine("error: --rows, --threads and --batch-reps must be >= 1");
            return 2;
        }

        var map = ModelBundle.Load(runDir).FeatureMap;
        var (codes, values, n) = ReadRows(map, dataPath, rows);
        int c = map.CategoricalCount, m = map.NumericCount;

        using var options = new SessionOptions
        {
            IntraOpNumThreads = threads,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        using var session = new InferenceSession(onnx, options);
        using var runOptions = new RunOptions();

        // Single row: one preallocated 1-row input per graph input, refilled from the next data row before each call.
        var cat1 = new long[c];
        var num1 = new float[m];
        var out1 = new float[1];
        using (var single = new Binding(session, cat1, num1, out1, 1, c, m))
        {
            void Score(int r)
            {
                Array.Copy(codes, (long)r * c, cat1, 0, c);
                Array.Copy(values, (long)r * m, num1, 0, m);
                single.Run(session, runOptions);
            }
            for (var i = 0; i < Math.Min(2000, Math.Max(n, 200)); i++)
            {
                Score(i % n);
            }
            var times = new double[n];
            var ticksToUs = 1e6 / Stopwatch.Frequency;
            for (var r = 0; r < n; r++)
            {
                var t0 = Stopwatch.GetTimestamp();
                Score(r);
                times[r] = (Stopwatch.GetTimestamp() - t0) * ticksToUs;
            }
            Array.Sort(times);
            Print("onnx_single_row_p50_us", Percentile(times, 0.50));
            Print("onnx_single_row_p99_us", Percentile(times, 0.99));
        }

        // Batch of 1000 rows (the data rows repeated when there are fewer).
        const int Batch = 1000;
        var (catB, numB) = RepeatRows(codes, values, n, c, m, Batch);
        var outB = new float[Batch];
        using (var batch = new Binding(session, catB, numB, outB, Batch, c, m))
        {
            for (var i = 0; i < 5; i++)
            {
                batch.Run(session, runOptions);
            }
            var sw = Stopwatch.StartNew();
            for (var i = 0; i < batchReps; i++)
            {
                batch.Run(session, runOptions);
            }
            sw.Stop();
            Print("onnx_batch1000_rows_per_s", Batch * (double)batchReps / sw.Elapsed.TotalSeconds);
            Print("onnx_batch1000_ms", sw.Elapsed.TotalMilliseconds / batchReps);
        }
        Console.WriteLine($"rows {n}");
        Console.WriteLine($"threads {threads}");
        return 0;
    }

    private static void Print(string key, double value) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{key} {value:F2}"));

    /// <summary>The first <paramref name="rows"/> encoded rows (the data rows repeated when there are fewer), as one batch's inputs.</summary>
    internal static (long[] Codes, float[] Values) RepeatRows(long[] codes, float[] values, int n, int c, int m, int rows)
    {
        var cat = new long[rows * c];
        var num = new float[rows * m];
        for (var r = 0; r < rows; r++)
        {
            Array.Copy(codes, (long)(r % n) * c, cat, (long)r * c, c);
            Array.Copy(values, (long)(r % n) * m, num, (long)r * m, m);
        }
        return (cat, num);
    }

    internal static double Percentile(double[] sorted, double q) =>
        sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Length) - 1, 0, sorted.Length - 1)];

    /// <summary>Up to <paramref name="limit"/> rows of a raw file, encoded with the run's feature map (as `fsdnet evaluate` does).</summary>
    internal static (long[] Codes, float[] Values, int Rows) ReadRows(FeatureMap map, string dataPath, int limit)
    {
        var cacheDir = Path.Combine(Path.GetTempPath(), "fsdnet-onnx-bench-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(cacheDir);
        try
        {
            var (encoded, _) = DataPipeline.Encode(map, dataPath, Path.Combine(cacheDir, "data.fsdcache"), new DataOptions { LabelOptional = true });
            using (encoded)
            {
                var n = (int)Math.Min(limit, encoded.RowCount);
                if (n < 1)
                {
                    throw new ArgumentException($"{dataPath}: no rows to score.");
                }
                int c = map.CategoricalCount, m = map.NumericCount;
                var codes = new long[(long)n * c];
                var values = new float[(long)n * m];
                var loader = new BatchLoader(encoded, new BatchLoaderOptions { BatchSize = 4096, Shuffle = false });
                var b = loader.CreateBatch();
                loader.StartEpoch(0);
                var at = 0;
                while (at < n && loader.Next(b))
                {
                    var take = Math.Min(b.Size, n - at);
                    for (var i = 0; i < take * c; i++)
                    {
                        codes[((long)at * c) + i] = b.Categorical[i];
                    }
                    b.Numeric.AsSpan(0, take * m).CopyTo(values.AsSpan(at * m));
                    at += take;
                }
                return (codes, values, n);
            }
        }
        finally
        {
            Directory.Delete(cacheDir, recursive: true);
        }
    }

    /// <summary>OrtValues over caller-owned arrays for the graph's inputs and output, so a call allocates no tensors.</summary>
    internal sealed class Binding : IDisposable
    {
        private readonly List<string> inputNames = [];
        private readonly List<OrtValue> inputs = [];
        private readonly string[] outputNames = [OnnxExporter.Output];
        private readonly OrtValue[] outputs;

        public Binding(InferenceSession session, long[] cat, float[] num, float[] output, int rows, int c, int m)
        {
            foreach (var name in session.InputMetadata.Keys)
            {
                inputNames.Add(name);
                inputs.Add(name == OnnxExporter.CategoricalInput
                    ? OrtValue.CreateTensorValueFromMemory(cat, [rows, c])
                    : OrtValue.CreateTensorValueFromMemory(num, [rows, m]));
            }
            outputs = [OrtValue.CreateTensorValueFromMemory(output, [rows, 1])];
        }

        public void Run(InferenceSession session, RunOptions options) => session.Run(options, inputNames, inputs, outputNames, outputs);

        public void Dispose()
        {
            foreach (var v in inputs)
            {
                v.Dispose();
            }
            outputs[0].Dispose();
        }
    }
}
