using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using FsdNet.Tensors;

namespace FsdNet.Bench;

/// <summary>
/// <c>gemm</c> mode: times FsdNet's <see cref="Sgemm"/> against OpenBLAS <c>cblas_sgemm</c> (loaded from
/// libopenblas.so.0 when present) with 2 threads each, on the dense-layer shapes of the CTR models, in the three
/// forms training uses: NN (dX = dY W), NT (Y = X W^T) and TN (dW = dY^T X).
/// </summary>
public static unsafe class GemmBenchmark
{
    private static int Threads = 2;
    private static bool useMin;
    private static bool useCpuTime;
    private static byte[]? coldBuffer;

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Sec;
        public long Nsec;
    }

    [DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, out TimeSpec ts);

    /// <summary>Seconds of CPU time used by the calling thread (tuning aid for single-threaded runs on a busy machine).</summary>
    private static double ThreadCpuSeconds()
    {
        _ = ClockGetTime(3, out var ts); // CLOCK_THREAD_CPUTIME_ID
        return ts.Sec + ts.Nsec * 1e-9;
    }

    private static readonly (int M, int K, int N)[] DefaultShapes =
    [
        (10000, 160, 400),
        (10000, 400, 400),
        (4096, 624, 624),
        (2048, 2048, 2048),
    ];

    private static readonly string[] DefaultForms = ["NN", "NT", "TN"];

    /// <summary>
    /// The weight gradients of training as they really are (dW = dY^T X: m = out, k = the batch, n = in, form TN),
    /// which the default shapes' TN form (same m, k, n as the forward) does not show: Criteo's 624-wide cross layer at
    /// batch 4,096, a 400-wide DNN layer at batch 10,000, and xDeepFM's CIN convolution (k = batch x embedding dim).
    /// </summary>
    private static readonly (int M, int K, int N)[] DefaultWeightGradients =
    [
        (624, 4096, 624),
        (400, 10000, 400),
        (64, 100000, 100),
    ];

    public static int Run(string[] args)
    {
        var reps = 11;
        var gemm = GemmSettings.Default;
        var shapes = new List<(int M, int K, int N)>();
        var forms = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--reps":
                    reps = int.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                case "--shape":
                    var parts = args[++i].Split('x');
                    shapes.Add((int.Parse(parts[0], CultureInfo.InvariantCulture), int.Parse(parts[1], CultureInfo.InvariantCulture),
                        int.Parse(parts[2], CultureInfo.InvariantCulture)));
                    break;
                case "--threads":
                    Threads = int.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                case "--form":
                    forms.Add(args[++i].ToUpperInvariant());
                    break;
                // Tuning knobs (internal to FsdNet).
                case "--pfr":
                    gemm = gemm with { PrefetchRows = int.Parse(args[++i], CultureInfo.InvariantCulture) };
                    break;
                case "--ppt":
                    gemm = gemm with { PartsPerThread = int.Parse(args[++i], CultureInfo.InvariantCulture) };
                    break;
                case "--shared":
                    gemm = gemm with { SharedPackLimit = long.Parse(args[++i], CultureInfo.InvariantCulture) };
                    break;
                case "--tng":
                    gemm = gemm with { TnGroup = int.Parse(args[++i], CultureInfo.InvariantCulture) };
                    break;
                case "--kinner":
                    gemm = gemm with { KInnerFloats = long.Parse(args[++i], CultureInfo.InvariantCulture) };
                    break;
                case "--kc":
                    gemm = gemm with { KC = int.Parse(args[++i], CultureInfo.InvariantCulture) };
                    break;
                case "--mc":
                    gemm = gemm with { MC = int.Parse(args[++i], CultureInfo.InvariantCulture) };
                    break;
                case "--nc":
                    gemm = gemm with { NC = int.Parse(args[++i], CultureInfo.InvariantCulture) };
                    break;
                case "--cpu":
                    useCpuTime = true;
                    break;
                case "--min":
                    useMin = true;
                    break;
                case "--pack-a":
                    // Pack A also where the kernel could read a non-transposed A in place (A/B runs of GemmSettings.DirectA).
                    gemm = gemm with { DirectA = false };
                    break;
                case "--cold":
                    // Training's operands come from memory (a weight gradient reads activations written long before):
                    // write 64 MiB before every timed call so neither side finds A or B in the caches.
                    coldBuffer = new byte[64 << 20];
                    break;
                case "--isa":
                    gemm = gemm with { Isa = Enum.Parse<SgemmIsa>(args[++i], ignoreCase: true) };
                    break;
                default:
                    Console.Error.WriteLine($"gemm: unknown option '{args[i]}'");
                    return 2;
            }
        }
        // Without --shape and --form: the default shapes in the three forms, then the weight-gradient shapes in TN.
        var runs = new List<((int M, int K, int N) Shape, string Form)>();
        foreach (var shape in shapes.Count > 0 ? shapes : [.. DefaultShapes])
        {
            runs.AddRange((forms.Count > 0 ? forms : [.. DefaultForms]).Select(f => (shape, f)));
        }
        if (shapes.Count == 0 && forms.Count == 0)
        {
            runs.AddRange(DefaultWeightGradients.Select(shape => (shape, "TN")));
        }

        EngineSettings.Default = EngineSettings.Default with { Threads = Threads, Gemm = gemm };
        var blas = OpenBlas.TryLoad();
        Console.WriteLine($"FsdNet Sgemm: isa={Sgemm.Isa} KC={Sgemm.KC} MC={Sgemm.MC} NC={Sgemm.NC}, {Threads} threads");
        if (blas is null)
        {
            Console.WriteLine("OpenBLAS: libopenblas.so.0 not found; timing FsdNet only (no comparison).");
        }
        else
        {
            blas.SetThreads(Threads);
            Console.WriteLine($"OpenBLAS: {blas.Config} (core: {blas.CoreName}), {Threads} threads; "
                + $"OPENBLAS_CORETYPE={Environment.GetEnvironmentVariable("OPENBLAS_CORETYPE") ?? "(unset)"}");
        }
        Console.WriteLine($"{(useMin ? "best" : "median")} of {reps} timed runs after warm-up, "
            + $"{(useCpuTime ? "calling-thread CPU time" : "wall time")}{(coldBuffer is null ? "" : ", caches flushed (64 MiB written) before each call")}; GFLOP/s = 2*m*k*n / time");
        Console.WriteLine();
        Console.WriteLine($"| {"shape (m x k x n)",-18} | form | FsdNet GFLOP/s | OpenBLAS GFLOP/s | ratio | max rel err |");
        Console.WriteLine("|--------------------|------|---------------:|-----------------:|------:|------------:|");

        var minRatio = double.MaxValue;
        var failed = false;
        foreach (var ((m, k, n), form) in runs)
        {
            var transA = form[0] == 'T';
            var transB = form[1] == 'T';
            var a = Random(m * k, 1);
            var b = Random(k * n, 2);
            var c1 = new float[m * n];
            var c2 = new float[m * n];
            int lda = transA ? m : k, ldb = transB ? k : n, ldc = n;
            var flops = 2.0 * m * n * k;
            fixed (float* pa = a)
            fixed (float* pb = b)
            fixed (float* p1 = c1)
            fixed (float* p2 = c2)
            {
                float* aa = pa, bb = pb, cc1 = p1, cc2 = p2;
                void Fsd() => Sgemm.Multiply(transA, transB, m, n, k, 1f, aa, lda, bb, ldb, 0f, cc1, ldc);
                Fsd();
                double err = double.NaN;
                Action? ob = null;
                if (blas is not null)
                {
                    ob = () => blas.Sgemm(transA, transB, m, n, k, 1f, aa, lda, bb, ldb, 0f, cc2, ldc);
                    ob();
                    err = MaxRelError(c1, c2);
                    if (!(err < 1e-4))
                    {
                        failed = true;
                    }
                }
                var (tf, to) = TimeBoth(Fsd, ob, flops, reps);
                var gf = flops / tf / 1e9;
                var shape = $"{m}x{k}x{n}";
                if (ob is null)
                {
                    Console.WriteLine($"| {shape,-18} | {form,-4} | {gf,14:F1} | {"-",16} | {"-",5} | {"-",11} |");
                    continue;
                }
                var go = flops / to / 1e9;
                var ratio = gf / go;
                minRatio = Math.Min(minRatio, ratio);
                Console.WriteLine($"| {shape,-18} | {form,-4} | {gf,14:F1} | {go,16:F1} | {ratio,5:F2} | {err,11:E1} |");
            }
        }
        Console.WriteLine();
        if (failed)
        {
            Console.WriteLine("ERROR: FsdNet and OpenBLAS results disagree (max rel err >= 1e-4).");
        }
        Console.WriteLine(blas is null
            ? "gemm min ratio vs OpenBLAS: n/a (OpenBLAS not found)"
            : string.Create(CultureInfo.InvariantCulture, $"gemm min ratio vs OpenBLAS: {minRatio:F2}"));
        return failed ? 1 : 0;
    }

    /// <summary>Warm-up, then alternating timed runs of both (so background load hits both alike); medians in seconds.</summary>
    private static (double Fsd, double Blas) TimeBoth(Action fsd, Action? blas, double flops, int reps)
    {
        // Warm-up: at least ~0.3 s or 3 calls of each, so tiering/thread start-up are done.
        var sw = Stopwatch.StartNew();
        for (var i = 0; i < 3 || sw.Elapsed.TotalSeconds < 0.3; i++)
        {
            fsd();
            blas?.Invoke();
        }
        var tf = new double[reps];
        var to = new double[reps];
        for (var r = 0; r < reps; r++)
        {
            ParkBlasThreads(blas);
            tf[r] = Seconds(fsd, flops);
            to[r] = blas is null ? 0 : Seconds(blas, flops);
        }
        Array.Sort(tf);
        Array.Sort(to);
        return useMin ? (tf[0], to[0]) : (tf[reps / 2], to[reps / 2]);
    }

    /// <summary>
    /// OpenBLAS's threads keep spinning (with sched_yield) for about 2^28 cycles after a call before they sleep
    /// (THREAD_TIMEOUT in its blas_server.c). On 2 cores that spinning took CPU from the FsdNet call timed right after
    /// it: whole best-of-7 series came out at half speed while the other half ran at full speed. Wait until they
    /// sleep before timing FsdNet (OpenBLAS's own calls are not affected: FsdNet's workers block on a semaphore).
    /// </summary>
    private static void ParkBlasThreads(Action? blas)
    {
        if (blas is not null)
        {
            Thread.Sleep(250);
        }
    }

    /// <summary>Time per call, repeating small problems so one sample lasts at least ~20 ms.</summary>
    private static double Seconds(Action f, double flops)
    {
        var inner = Math.Max(1, (int)(2e9 / flops));
        if (coldBuffer is { } flush)
        {
            var total = 0.0;
            for (var i = 0; i < inner; i++)
            {
                flush.AsSpan().Fill((byte)i);
                var c0 = useCpuTime ? ThreadCpuSeconds() : 0;
                var t = Stopwatch.GetTimestamp();
                f();
                total += useCpuTime ? ThreadCpuSeconds() - c0 : Stopwatch.GetElapsedTime(t).TotalSeconds;
            }
            return total / inner;
        }
        if (useCpuTime)
        {
            var c0 = ThreadCpuSeconds();
            for (var i = 0; i < inner; i++)
            {
                f();
            }
            return (ThreadCpuSeconds() - c0) / inner;
        }
        var t0 = Stopwatch.GetTimestamp();
        for (var i = 0; i < inner; i++)
        {
            f();
        }
        return Stopwatch.GetElapsedTime(t0).TotalSeconds / inner;
    }

    private static float[] Random(int count, int seed)
    {
        var rng = new Random(seed);
        var x = new float[count];
        for (var i = 0; i < x.Length; i++)
        {
            x[i] = (float)(rng.NextDouble() * 2 - 1);
        }
        return x;
    }

    private static double MaxRelError(float[] x, float[] reference)
    {
        double maxRef = 0, maxDiff = 0;
        for (var i = 0; i < x.Length; i++)
        {
            maxRef = Math.Max(maxRef, Math.Abs((double)reference[i]));
            maxDiff = Math.Max(maxDiff, Math.Abs((double)x[i] - reference[i]));
            if (float.IsNaN(x[i]) != float.IsNaN(reference[i]))
            {
                return double.PositiveInfinity;
            }
        }
        return maxRef == 0 ? maxDiff : maxDiff / maxRef;
    }

    /// <summary>Minimal binding to OpenBLAS, resolved at run time so the bench still runs without it.</summary>
    private sealed class OpenBlas
    {
        private const int RowMajor = 101, NoTrans = 111, Trans = 112;
        private readonly delegate* unmanaged[Cdecl]<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void> sgemm;
        private readonly delegate* unmanaged[Cdecl]<int, void> setThreads;

        private OpenBlas(nint lib)
        {
            sgemm = (delegate* unmanaged[Cdecl]<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void>)
                NativeLibrary.GetExport(lib, "cblas_sgemm");
            setThreads = (delegate* unmanaged[Cdecl]<int, void>)NativeLibrary.GetExport(lib, "openblas_set_num_threads");
            CoreName = GetString(lib, "openblas_get_corename");
            Config = GetString(lib, "openblas_get_config");
        }

        public string CoreName { get; }

        public string Config { get; }

        public static OpenBlas? TryLoad()
        {
            foreach (var name in new[] { "libopenblas.so.0", "/usr/lib/x86_64-linux-gnu/libopenblas.so.0", "libopenblas.so" })
            {
                if (NativeLibrary.TryLoad(name, out var lib))
                {
                    return new OpenBlas(lib);
                }
            }
            return null;
        }

        public void SetThreads(int n) => setThreads(n);

        public void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha, float* a, int lda, float* b, int ldb,
            float beta, float* c, int ldc) =>
            sgemm(RowMajor, transA ? Trans : NoTrans, transB ? Trans : NoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);

        private static string GetString(nint lib, string export)
        {
            if (!NativeLibrary.TryGetExport(lib, export, out var f))
            {
                return "?";
            }
            var p = ((delegate* unmanaged[Cdecl]<nint>)f)();
            return Marshal.PtrToStringUTF8(p)?.Trim() ?? "?";
        }
    }
}
