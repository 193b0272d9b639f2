using FsdNet.Tensors;
using FsdNet.Tests.Support;
using Xunit;

namespace FsdNet.Tests.Tensors;

[Collection(ThreadingCollection.Name)]
public class WorkersTests
{
    private sealed class Job(int failAt) : ParallelJob
    {
        public int[] Seen = new int[8];

        public override void Execute(int part, int parts)
        {
            Interlocked.Increment(ref Seen[part]);
            if (part == failAt)
            {
                throw new InvalidOperationException($"part {part} failed");
            }
        }
    }

    /// <summary>A job that may only run while its region is open, counting its parts.</summary>
    private sealed class Guarded : ParallelJob
    {
        public volatile bool Open;
        public int Runs;
        public int Violations;

        public override void Execute(int part, int parts)
        {
            if (!Open)
            {
                Interlocked.Increment(ref Violations);
            }
            Interlocked.Increment(ref Runs);
            Thread.SpinWait(part * 20);
        }
    }

    [Fact]
    public void Back_to_back_regions_with_different_jobs_never_run_a_closed_job()
    {
        // Regression: a worker that woke late once ran a part of the next region with the previous region's job.
        var before = Workers.ThreadCount;
        try
        {
            Workers.ThreadCount = 2;
            var jobs = new[] { new Guarded(), new Guarded(), new Guarded() };
            long expected = 0;
            for (var i = 0; i < 30000; i++)
            {
                var job = jobs[i % 3];
                var parts = 2 + (i % 3);
                job.Open = true;
                Workers.Run(job, parts);
                job.Open = false;
                expected += parts;
            }
            Assert.All(jobs, j => Assert.Equal(0, j.Violations));
            Assert.Equal(expected, jobs.Sum(j => (long)j.Runs));
        }
        finally
        {
            Workers.ThreadCount = before;
        }
    }

    private sealed class Nested : ParallelJob
    {
        public readonly Guarded Inner = new() { Open = true };

        public override void Execute(int part, int parts) => Workers.Run(Inner, 3);
    }

    [Fact]
    public void A_part_that_runs_its_own_region_does_not_disturb_the_outer_one()
    {
        var before = Workers.ThreadCount;
        try
        {
            Workers.ThreadCount = 2;
            var outer = new Nested();
            Workers.Run(outer, 4);
            Assert.Equal(12, outer.Inner.Runs);   // 4 outer parts x 3 inner parts, none lost or repeated
            Assert.Equal(0, outer.Inner.Violations);
        }
        finally
        {
            Workers.ThreadCount = before;
        }
    }

    [Fact]
    public void Every_part_runs_once_and_a_failure_reaches_the_caller()
    {
        var before = Workers.ThreadCount;
        try
        {
            Workers.ThreadCount = 2;
            var ok = new Job(-1);
            Workers.Run(ok, 8);
            Assert.All(ok.Seen, n => Assert.Equal(1, n));

            for (var failAt = 0; failAt < 8; failAt++)
            {
                var bad = new Job(failAt);
                var ex = Assert.Throws<InvalidOperationException>(() => Workers.Run(bad, 8));
                Assert.Equal($"part {failAt} failed", ex.Message);
                Assert.All(bad.Seen, n => Assert.Equal(1, n));   // the other parts still ran, and the pool still works
            }
            var after = new Job(-1);
            Workers.Run(after, 8);
            Assert.All(after.Seen, n => Assert.Equal(1, n));
        }
        finally
        {
            Workers.ThreadCount = before;
        }
    }
}
