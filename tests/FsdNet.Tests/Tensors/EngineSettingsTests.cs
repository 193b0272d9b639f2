using FsdNet.Serving;
using FsdNet.Tensors;
using FsdNet.Tests.Data;
using FsdNet.Tests.Serving;
using FsdNet.Tests.Support;
using FsdNet.Training;
using Xunit;

namespace FsdNet.Tests.Tensors;

/// <summary>
/// Engine settings belong to the computation, not the process: a scope sets the parts kernels plan, the worker
/// threads run a region's parts under its opener's settings, and two threads with different settings never see each
/// other's. These tests leave the process default alone, so they run alongside the others.
/// </summary>
public sealed class EngineSettingsTests
{
    /// <summary>Records, for each part, the thread count current on the thread that ran it.</summary>
    private sealed class Probe : ParallelJob
    {
        public readonly int[] Seen = new int[16];
        public readonly int[] SeenKc = new int[16];

        public override void Execute(int part, int parts)
        {
            Seen[part] = EngineSettings.Current.Threads;
            SeenKc[part] = Sgemm.KC;
            Thread.SpinWait(200);
        }
    }

    [Fact]
    public void A_scope_sets_the_parts_kernels_plan_nests_and_restores()
    {
        var job = new RangeJob();
        var outside = job.Plan(1 << 20, 1);
        Assert.Equal(EngineSettings.Default.Threads, outside);
        using (new EngineSettings { Threads = 3 }.Enter())
        {
            Assert.Equal(3, job.Plan(1 << 20, 1));
            Assert.Equal(3, Workers.ThreadCount);
            using (new EngineSettings { Threads = 1 }.Enter())
            {
                Assert.Equal(1, job.PlanRows(4096, 4096, 1));
            }
            Assert.Equal(3, job.PlanRows(4096, 4096, 1));
            using (EngineSettings.Use(null))
            {
                Assert.Equal(3, job.Plan(1 << 20, 1));   // Use(null) keeps the current settings
            }
        }
        Assert.Equal(outside, job.Plan(1 << 20, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new EngineSettings { Threads = 0 });
        // SGEMM's knobs are settings too: another instruction path or cache block in a scope, the process's outside.
        using (new EngineSettings { Gemm = GemmSettings.Default with { Isa = SgemmIsa.Scalar, KC = 64 } }.Enter())
        {
            Assert.Equal((SgemmIsa.Scalar, 64), (Sgemm.Isa, Sgemm.KC));
        }
        Assert.Equal((Sgemm.Detected, GemmSettings.Default.KC), (Sgemm.Isa, Sgemm.KC));
        if (!Sgemm.IsSupported(SgemmIsa.Avx512))
        {
            Assert.Throws<PlatformNotSupportedException>(() => GemmSettings.Default with { Isa = SgemmIsa.Avx512 });
        }
    }

    [Fact]
    public void Two_threads_compute_with_their_own_settings_at_once()
    {
        var failures = new List<string>();
        void Work(int threads)
        {
            using var scope = new EngineSettings { Threads = threads, Gemm = GemmSettings.Default with { KC = 64 * threads } }.Enter();
            var job = new RangeJob();
            for (var i = 0; i < 2000; i++)
            {
                var parts = job.Plan(1 << 20, 1);
                var probe = new Probe();
                Workers.Run(probe, 4);
                // Every part, on whichever thread ran it (a worker or this one), saw this thread's settings.
                if (parts != threads || probe.Seen.Take(4).Any(s => s != threads) || probe.SeenKc.Take(4).Any(k => k != 64 * threads))
                {
                    lock (failures)
                    {
                        failures.Add($"threads {threads}, iteration {i}: planned {parts} parts, parts saw [{string.Join(", ", probe.Seen.Take(4))}], KC [{string.Join(", ", probe.SeenKc.Take(4))}]");
                    }
                    return;
                }
            }
        }
        var a = new Thread(() => Work(1));
        var b = new Thread(() => Work(2));
        var c = new Thread(() => Work(3));
        a.Start();
        b.Start();
        c.Start();
        a.Join();
        b.Join();
        c.Join();
        Assert.Empty(failures);
    }
}

/// <summary>A training run's and a scorer's own thread counts against the process default (which these tests change).</summary>
[Collection(ThreadingCollection.Name)]
public sealed class EngineSettingsRunTests(ScorerTests.Toy fixture) : IClassFixture<ScorerTests.Toy>
{
    [Fact]
    public void A_run_with_its_own_threads_matches_a_process_set_to_that_count_and_leaves_the_default()
    {
        var before = Workers.ThreadCount;
        using var tmp = new TempDir();
        ToyConfig.Write(tmp.Path);
        var config = Path.Combine(tmp.Path, "config");
        try
        {
            Workers.ThreadCount = 1;
            var reference = TrainingRun.Execute(new RunSpec { ConfigDir = config, ExpId = "FSDNet_toy", RunDir = tmp.Sub("a") });
            Workers.ThreadCount = 2;
            var reporter = new QuietReporter();
            var own = TrainingRun.Execute(new RunSpec { ConfigDir = config, ExpId = "FSDNet_toy", RunDir = tmp.Sub("b"), Threads = 1 }, _ => reporter);
            Assert.Equal(2, Workers.ThreadCount);
            Assert.Equal(reference.Training.History.Select(e => e.TrainLoss), own.Training.History.Select(e => e.TrainLoss));
            Assert.Equal(reference.Test["AUC"], own.Test["AUC"]);
            Assert.Contains(reporter.Messages, m => m.Contains("parameters, 1 threads", StringComparison.Ordinal));
        }
        finally
        {
            Workers.ThreadCount = before;
        }
    }

    [Fact]
    public void A_scorer_with_its_own_threads_scores_as_the_default_with_that_count_while_another_scores_too()
    {
        var before = Workers.ThreadCount;
        var toy = fixture.Value;
        var rows = toy.TestRows();
        try
        {
            Workers.ThreadCount = 1;
            var reference = ServingToy.ScoreAll(Scorer.Load(toy.RunDir), rows);
            Workers.ThreadCount = 2;
            var one = Scorer.Load(toy.RunDir, new ScorerOptions { Threads = 1 });
            var two = Scorer.Load(toy.RunDir, new ScorerOptions { Threads = 2 });
            float[]? fromTwo = null;
            var other = new Thread(() => fromTwo = ServingToy.ScoreAll(two, rows));
            other.Start();
            var fromOne = ServingToy.ScoreAll(one, rows);
            other.Join();
            Assert.Equal(reference, fromOne);
            Assert.Equal(ServingToy.ScoreAll(Scorer.Load(toy.RunDir), rows), fromTwo);
            Assert.Equal(2, Workers.ThreadCount);
        }
        finally
        {
            Workers.ThreadCount = before;
        }
    }
}
