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
