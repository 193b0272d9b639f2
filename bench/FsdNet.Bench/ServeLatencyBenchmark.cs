using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using FsdNet.Data;
using FsdNet.Metrics;
using FsdNet.Serving;
using FsdNet.Tensors;

namespace FsdNet.Bench;

/// <summary>
/// In-process serving: for the model's prediction and (with --heads) each FSD head k, test AUC and logloss over a raw
/// data file, single-row latency (one row filled and scored at a time, after warm-up; p50 and p99 in microseconds)
/// and batch-1000 throughput (rows scored per second from batches encoded beforehand, as ONNX Runtime gets int64
/// codes; then with the raw-text encoding included, and the encoding's own time per batch). Prints machine-readable <c>key value</c> lines.
/// The raw file is read as the model's training data was: CSV/TSV with a header (no quoted fields) or libFM
/// (label, then idx:val per configured field); .gz is decompressed.
/// </summary>
internal static class ServeLatencyBenchmark
{
    public const string Usage =
        "In-process scorer latency and quality (options: --model <run dir or .fsdb>, --data <raw file>, --rows N, --heads, " +
        "--iterations N single rows (10000), --batches N of 1000 rows (50), --threads N (1), --no-fold, " +
        "--onnx <exported model>: also the prediction against ONNX Runtime, alternating in blocks of --ab-rows N single " +
        "rows (2000) and --ab-batches N batches (100), ab.* lines)";

    public static int Run(string[] args)
    {
        var modelPath = TrainBenchmark.Arg(args, "--model");
        var dataPath = TrainBenchmark.Arg(args, "--data");
        if (modelPath is null || dataPath is null)
        {
            Console.Error.WriteLine("serve-latency needs --model <run dir or .fsdb> and --data <raw file>.");
            return 2;
        }
        var maxRows = TrainBenchmark.Arg(args, "--rows") is { } r ? int.Parse(r, CultureInfo.InvariantCulture) : int.MaxValue;
        var iterations = TrainBenchmark.Arg(args, "--iterations") is { } it ? int.Parse(it, CultureInfo.InvariantCulture) : 10_000;
        var batches = TrainBenchmark.Arg(args, "--batches") is { } bt ? int.Parse(bt, CultureInfo.InvariantCulture) : 50;
        Workers.ThreadCount = TrainBenchmark.Arg(args, "--threads") is { } th ? int.Parse(th, CultureInfo.InvariantCulture) : 1;
        var heads = args.Contains("--heads");
        var scorer = Scorer.Load(modelPath, new ScorerOptions { FoldBatchNorm = !args.Contains("--no-fold") });
        var (allColumns, allRows, labels) = ReadRaw(scorer.Bundle.FeatureMap, dataPath, maxRows);
        // only the model's inputs (a raw file may hold other columns)
        var inputs = scorer.Inputs.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        var keep = Enumerable.Range(0, allColumns.Length).Where(i => inputs.Contains(allColumns[i])).ToArray();
        var columns = keep.Select(i => allColumns[i]).ToArray();
        var rows = allRows.Select(row => keep.Select(i => row[i]).ToArray()).ToList();
        if (rows.Count == 0)
        {
            Console.Error.WriteLine($"{dataPath}: no rows.");
            return 2;
        }
        Emit("model", scorer.Bundle.Model.ModelName);
        Emit("rows", rows.Count);
        Emit("threads", Workers.ThreadCount);
        Emit("folded_batch_norms", scorer.FoldedBatchNorms);
        var targets = new List<(string Name, int? Head)> { ("predict", null) };
        if (heads)
        {
            if (scorer.HeadCount is not { } n)
            {
                Console.Error.WriteLine($"--heads: {scorer.Bundle.Model.ModelName} has one head (train with fsd: true).");
                return 2;
            }
            targets.AddRange(Enumerable.Range(0, n).Select(k => ($"head{k}", (int?)k)));
        }
        var batch = scorer.CreateBatch(1000);
        var single = scorer.CreateBatch(1);
        var probabilities = new float[rows.Count];
        foreach (var (name, head) in targets)
        {
            for (var start = 0; start < rows.Count; start += batch.Capacity)
            {
                var count = Fill(batch, columns, rows, start);
                scorer.Score(batch, probabilities.AsSpan(start, count), head);
            }
            Emit($"{name}.auc", BinaryMetrics.Auc(labels, probabilities));
            Emit($"{name}.logloss", BinaryMetrics.LogLoss(labels, probabilities));

            var one = new float[1];
            var times = new double[iterations];
            // Warm-up: at least 2,000 rows and one second, so that the single-row path has been recompiled at tier 1
            // before timing starts (the runtime waits 100 ms after a method's 30th call before it queues the rejit,
            // and 2,000 rows alone can take less than that: the first runs timed tier-0 calls in their tail).
            var warmUntil = Stopwatch.GetTimestamp() + Stopwatch.Frequency;
            var warmRows = Math.Min(iterations, 2000);
            for (var i = 0; i < warmRows || Stopwatch.GetTimestamp() < warmUntil; i++)
            {
                ScoreRaw(scorer, single, columns, rows[i % rows.Count], one, head);
            }
            for (var i = 0; i < iterations; i++)
            {
                var row = rows[(i + rows.Count * 4) % rows.Count];
                var t0 = Stopwatch.GetTimestamp();
                ScoreRaw(scorer, single, columns, row, one, head);
                times[i] = Stopwatch.GetElapsedTime(t0).TotalMicroseconds;
            }
            Array.Sort(times);
            Emit($"{name}.single_p50_us", Percentile(times, 0.50));
            Emit($"{name}.single_p90_us", Percentile(times, 0.90));
            Emit($"{name}.single_p99_us", Percentile(times, 0.99));
            Emit($"{name}.single_p999_us", Percentile(times, 0.999));

            // Batch-1000 throughput of scoring alone, on rows encoded beforehand (as ONNX Runtime is given int64 codes
            // it does not have to encode; onnx-latency), then of raw-text encoding plus scoring (what a service pays).
            var warm = Math.Min(batches, 5);
            var encoded = new RowBatch[Math.Min(batches, (rows.Count + batch.Capacity - 1) / batch.Capacity)];
            for (var e = 0; e < encoded.Length; e++)
            {
                encoded[e] = scorer.CreateBatch(batch.Capacity);
                Fill(encoded[e], columns, rows, e * batch.Capacity);
            }
            var scored = 0L;
            var clock = new Stopwatch();
            for (var b = -warm; b < batches; b++)
            {
                if (b == 0)
                {
                    clock.Start();
                }
                var eb = encoded[(b + encoded.Length * warm) % encoded.Length];
                scorer.Score(eb, probabilities.AsSpan(0, eb.Count), head);
                scored += b >= 0 ? eb.Count : 0;
            }
            clock.Stop();
            Emit($"{name}.batch1000_rows_per_s", scored / clock.Elapsed.TotalSeconds);
            if (TrainBenchmark.Arg(args, "--profile") is not null)
            {
                // Where batch scoring's time goes: the matrix products (their share and rate) against the rest.
                Profile.Reset();
                Profile.Enabled = true;
                var profiled = Stopwatch.StartNew();
                for (var b = 0; b < batches; b++)
                {
                    var eb = encoded[b % encoded.Length];
                    scorer.Score(eb, probabilities.AsSpan(0, eb.Count), head);
                }
                profiled.Stop();
                Profile.Enabled = false;
                var gemmSeconds = (double)Profile.GemmTicks / Stopwatch.Frequency;
                Emit($"{name}.batch1000_gemm_share", gemmSeconds / profiled.Elapsed.TotalSeconds);
                Emit($"{name}.batch1000_gemm_gflops", Profile.GemmFlops / gemmSeconds / 1e9);
                // The same for single rows: their products are matrix-vector ones, bound by reading the weights.
                Profile.Reset();
                Profile.Enabled = true;
                profiled.Restart();
                for (var i = 0; i < Math.Min(iterations, 5000); i++)
                {
                    ScoreRaw(scorer, single, columns, rows[i % rows.Count], one, head);
                }
                profiled.Stop();
                Profile.Enabled = false;
                gemmSeconds = (double)Profile.GemmTicks / Stopwatch.Frequency;
                Emit($"{name}.single_gemm_share", gemmSeconds / profiled.Elapsed.TotalSeconds);
                Emit($"{name}.single_gemm_gbytes_per_s", Profile.GemmFlops / 2 * sizeof(float) / gemmSeconds / 1e9);
            }

            scored = 0L;
            clock.Reset();
            var encodeClock = new Stopwatch();
            for (var b = -warm; b < batches; b++)
            {
                var start = (int)((long)Math.Max(b, 0) * batch.Capacity % rows.Count);
                if (b == 0)
                {
                    clock.Start();
                }
                encodeClock.Start();
                var count = Fill(batch, columns, rows, start);
                encodeClock.Stop();
                scorer.Score(batch, probabilities.AsSpan(0, count), head);
                if (b >= 0)
                {
                    scored += count;
                }
                else
                {
                    encodeClock.Reset();
                }
            }
            clock.Stop();
            Emit($"{name}.batch1000_with_encoding_rows_per_s", scored / clock.Elapsed.TotalSeconds);
            Emit($"{name}.batch1000_encoding_ms", encodeClock.Elapsed.TotalMilliseconds / Math.Max(batches, 1));
            if (head is null && TrainBenchmark.Arg(args, "--onnx") is { } onnx)
            {
                var singleBlock = TrainBenchmark.Arg(args, "--ab-rows") is { } ar ? int.Parse(ar, CultureInfo.InvariantCulture) : 2000;
                var batchBlock = TrainBenchmark.Arg(args, "--ab-batches") is { } ab ? int.Parse(ab, CultureInfo.InvariantCulture) : 100;
                if (singleBlock < 1 || batchBlock < 1)
                {
                    Console.Error.WriteLine("--ab-rows and --ab-batches must be at least 1.");
                    return 2;
                }
                Interleaved(scorer, onnx, dataPath, columns, rows, encoded, iterations, batches, singleBlock, batchBlock);
            }
        }
        return 0;
    }

    /// <summary>One row from its raw text, as a service would score a request: fill the batch, then score it.</summary>
    private static void ScoreRaw(Scorer scorer, RowBatch single, string[] columns, string[] row, float[] one, int? head)
    {
        single.Clear();
        var slot = single.AddRow();
        for (var c = 0; c < columns.Length; c++)
        {
            single.Set(slot, columns[c], row[c].AsSpan());
        }
        scorer.Score(single, one, head);
    }

    /// <summary>
    /// FsdNet's scorer and ONNX Runtime (same threads) on the same rows, alternating in blocks (singleBlock single
    /// rows, batchBlock batches, a fraction of a second each), so that both see the same machine from one block to
    /// the next (this VM's speed drifts by tens of percent within minutes): single rows (FsdNet filled from raw text
    /// as above, ONNX Runtime given the row's int64 codes) and batches of 1000 pre-encoded rows. Blocks, not single
    /// calls, because a service runs one of the two: alternating call by call, each runtime found its weights evicted
    /// by the other's (both p99s 20-50% higher), and at two threads FsdNet's batches ran 0.55x of their speed alone,
    /// slowed by ONNX Runtime's intra-op threads for up to about 100 ms after its runs (blocks of 5 batches: 0.58x,
    /// 25: 0.87x, 100: 1.00x, one run). Prints ab.* lines and the two ratios.
    /// </summary>
    private static void Interleaved(Scorer scorer, string onnx, string dataPath, string[] columns, List<string[]> rows,
        RowBatch[] encoded, int iterations, int batches, int singleBlock, int batchBlock)
    {
        var map = scorer.Bundle.FeatureMap;
        var (codes, values, n) = OnnxLatencyBenchmark.ReadRows(map, dataPath, Math.Min(rows.Count, 10_000));
        int c = map.CategoricalCount, m = map.NumericCount;
        using var options = new Microsoft.ML.OnnxRuntime.SessionOptions
        {
            IntraOpNumThreads = Workers.ThreadCount,
            InterOpNumThreads = 1,
            ExecutionMode = Microsoft.ML.OnnxRuntime.ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = Microsoft.ML.OnnxRuntime.GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        using var session = new Microsoft.ML.OnnxRuntime.InferenceSession(onnx, options);
        using var runOptions = new Microsoft.ML.OnnxRuntime.RunOptions();
        var cat1 = new long[c];
        var num1 = new float[m];
        var out1 = new float[1];
        var single = scorer.CreateBatch(1);
        var one = new float[1];
        var fsd = new double[iterations];
        var ort = new double[iterations];
        using (var ortSingle = new OnnxLatencyBenchmark.Binding(session, cat1, num1, out1, 1, c, m))
        {
            var warm = Math.Min(iterations, 2000);
            for (var start = -warm; start < iterations; start += singleBlock)
            {
                var end = Math.Min(start + singleBlock, iterations);
                for (var i = start; i < end; i++)
                {
                    var r = (i + (n * 4)) % n;
                    var t0 = Stopwatch.GetTimestamp();
                    ScoreRaw(scorer, single, columns, rows[r], one, null);
                    if (i >= 0)
                    {
                        fsd[i] = (Stopwatch.GetTimestamp() - t0) * 1e6 / Stopwatch.Frequency;
                    }
                }
                for (var i = start; i < end; i++)
                {
                    var r = (i + (n * 4)) % n;
                    var t1 = Stopwatch.GetTimestamp();
                    Array.Copy(codes, (long)r * c, cat1, 0, c);
                    Array.Copy(values, (long)r * m, num1, 0, m);
                    ortSingle.Run(session, runOptions);
                    if (i >= 0)
                    {
                        ort[i] = (Stopwatch.GetTimestamp() - t1) * 1e6 / Stopwatch.Frequency;
                    }
                }
            }
        }
        Array.Sort(fsd);
        Array.Sort(ort);
        Emit("ab.fsdnet_single_p50_us", Percentile(fsd, 0.50));
        Emit("ab.fsdnet_single_p99_us", Percentile(fsd, 0.99));
        Emit("ab.onnx_single_p50_us", Percentile(ort, 0.50));
        Emit("ab.onnx_single_p99_us", Percentile(ort, 0.99));

        const int Batch = 1000;
        var (catB, numB) = OnnxLatencyBenchmark.RepeatRows(codes, values, n, c, m, Batch);
        var outB = new float[Batch];
        var probabilities = new float[Batch];
        long fsdTicks = 0, ortTicks = 0, fsdRows = 0, ortRows = 0;
        using (var ortBatch = new OnnxLatencyBenchmark.Binding(session, catB, numB, outB, Batch, c, m))
        {
            for (var start = -batchBlock; start < batches; start += batchBlock)
            {
                var end = Math.Min(start + batchBlock, batches);
                for (var b = start; b < end; b++)
                {
                    var eb = encoded[(b + (encoded.Length * 5)) % encoded.Length];
                    var t0 = Stopwatch.GetTimestamp();
                    scorer.Score(eb, probabilities.AsSpan(0, eb.Count));
                    if (b >= 0)
                    {
                        (fsdTicks, fsdRows) = (fsdTicks + (Stopwatch.GetTimestamp() - t0), fsdRows + eb.Count);
                    }
                }
                for (var b = start; b < end; b++)
                {
                    var t1 = Stopwatch.GetTimestamp();
                    ortBatch.Run(session, runOptions);
                    if (b >= 0)
                    {
                        (ortTicks, ortRows) = (ortTicks + (Stopwatch.GetTimestamp() - t1), ortRows + Batch);
                    }
                }
            }
        }
        var fsdRate = fsdRows / ((double)fsdTicks / Stopwatch.Frequency);
        var ortRate = ortRows / ((double)ortTicks / Stopwatch.Frequency);
        Emit("ab.fsdnet_batch1000_rows_per_s", fsdRate);
        Emit("ab.onnx_batch1000_rows_per_s", ortRate);
        Emit("ab.single_p99_onnx_over_fsdnet", Percentile(ort, 0.99) / Percentile(fsd, 0.99));
        Emit("ab.batch1000_fsdnet_over_onnx", fsdRate / ortRate);
    }

    private static double Percentile(double[] sorted, double q) =>
        sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];

    private static void Emit(string key, object value) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{key} {(value is double d ? d.ToString("G6", CultureInfo.InvariantCulture) : value)}"));

    /// <summary>Fills the batch with up to its capacity rows from <paramref name="start"/> (wrapping); returns the count.</summary>
    private static int Fill(RowBatch batch, string[] columns, List<string[]> rows, int start)
    {
        batch.Clear();
        var count = Math.Min(batch.Capacity, rows.Count - start);
        for (var i = 0; i < count; i++)
        {
            var row = rows[start + i];
            var slot = batch.AddRow();
            for (var c = 0; c < columns.Length; c++)
            {
                batch.Set(slot, columns[c], row[c].AsSpan());
            }
        }
        return count;
    }

    /// <summary>The raw rows: input column names, each row's text per column, and the labels (0/1).</summary>
    private static (string[] Columns, List<string[]> Rows, float[] Labels) ReadRaw(FeatureMap map, string path, int maxRows)
    {
        using var stream = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase)
            ? (Stream)new GZipStream(File.OpenRead(path), CompressionMode.Decompress)
            : File.OpenRead(path);
        using var reader = new StreamReader(stream);
        var rows = new List<string[]>();
        var labels = new List<float>();
        string[] columns;
        int labelIndex;
        var libFm = map.Format == DataFormat.LibFm;
        if (libFm || map.SourceColumns is not null)
        {
            var all = map.SourceColumns ?? throw new InvalidOperationException("libFM data without source columns.");
            labelIndex = 0;
            columns = [.. all.Skip(1)];
        }
        else
        {
            var header = (reader.ReadLine() ?? "").Split(map.Separator);
            labelIndex = Array.IndexOf(header, map.LabelName);
            columns = [.. header.Where(h => h != map.LabelName)];
        }
        while (rows.Count < maxRows && reader.ReadLine() is { } line)
        {
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }
            var items = libFm ? line.Split(' ', StringSplitOptions.RemoveEmptyEntries) : line.Split(map.Separator);
            var label = labelIndex >= 0 ? items[labelIndex] : "0";
            labels.Add(label is "1" or "1.0" ? 1f : 0f);
            var values = new string[columns.Length];
            var c = 0;
            for (var i = 0; i < items.Length && c < columns.Length; i++)
            {
                if (i == labelIndex)
                {
                    continue;
                }
                var v = items[i];
                values[c++] = libFm && v.IndexOf(':') is var colon and > 0 ? v[..colon] : v;
            }
            for (; c < columns.Length; c++)
            {
                values[c] = "";
            }
            rows.Add(values);
        }
        return (columns, rows, [.. labels]);
    }
}
