using FsdNet.Data;
using FsdNet.Layers;
using FsdNet.Models;
using FsdNet.Tensors;
using FsdNet.Training;

namespace FsdNet.Tests.Support;

/// <summary>
/// Managed bytes a steady-state training step of a model allocates: a batch of categorical codes, warm-up steps
/// (until tiered compilation settles), then <c>steps</c> steps. What the step's threads allocate is counted exactly:
/// the calling thread's own count, plus the worker threads' counts that <see cref="Workers.WorkerAllocatedBytes"/>
/// records (the process-wide count would include the runtime's and the test host's threads, which allocate a little
/// all the time, more so on a loaded machine).
/// </summary>
internal static class StepAllocation
{
    /// <summary>Three categorical fields with vocabularies 6, 5 and 4 (the zoo parity tests' schema).</summary>
    public static InputSchema Schema { get; } = InputSchema.Categorical(("f0", 6), ("f1", 5), ("f2", 4));

    /// <summary>Asserts that the steps allocate nothing, neither on this thread nor on the engine's worker threads.</summary>
    public static void AssertNone(CtrModel model)
    {
        var (thread, workers) = PerStep(model);
        Xunit.Assert.True(thread == 0 && workers == 0, $"{model.ModelName}: {thread:F1} bytes per step on the calling thread, {workers:F1} on the worker threads");
    }

    /// <summary>
    /// Bytes per step allocated on the calling thread (all windows), and on the engine's worker threads (the least
    /// window: a worker's first run of a kernel may still be tiered up by the JIT).
    /// </summary>
    public static (double Thread, double Total) PerStep(CtrModel model, int rows = 4096, int threads = 2, int steps = 10, int windows = 5)
    {
        var before = Workers.ThreadCount;
        try
        {
            Workers.ThreadCount = threads;
            var fields = model.Schema.CategoricalCount;
            var codes = new int[rows * fields];
            var labels = new float[rows];
            var rng = new Rng(5);
            for (var i = 0; i < codes.Length; i++)
            {
                codes[i] = rng.NextInt(model.Schema.Fields[i % fields].VocabSize);
            }
            for (var r = 0; r < rows; r++)
            {
                labels[r] = rng.NextInt(2);
            }
            var batch = new Batch { Size = rows, Categorical = codes, CategoricalCount = fields, Labels = labels };
            var trainer = new Trainer(model, new TrainerOptions { LearningRate = 1e-3 });
            for (var s = 0; s < 40; s++)
            {
                trainer.TrainStep(batch);
            }
            var startThread = GC.GetAllocatedBytesForCurrentThread();
            var least = long.MaxValue;
            for (var w = 0; w < windows; w++)
            {
                var start = Workers.WorkerAllocatedBytes();
                for (var s = 0; s < steps; s++)
                {
                    trainer.TrainStep(batch);
                }
                least = Math.Min(least, Workers.WorkerAllocatedBytes() - start);
            }
            var thread = GC.GetAllocatedBytesForCurrentThread() - startThread;
            return (thread / (double)(steps * windows), least / (double)steps);
        }
        finally
        {
            Workers.ThreadCount = before;
        }
    }
}
