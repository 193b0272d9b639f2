using FsdNet.Data;
using FsdNet.Layers;
using FsdNet.Models;
using FsdNet.Tensors;
using FsdNet.Tests.Support;
using FsdNet.Training;
using Xunit;

namespace FsdNet.Tests.Models;

/// <summary>
/// Steady-state training steps of xDeepFM, AutoInt and MaskNet allocate no managed bytes on any thread (worker threads
/// included: GC.GetTotalAllocatedBytes), with rows enough for the parallel kernels to split.
/// </summary>
[Collection(ThreadingCollection.Name)]
public class XDeepFmAutoIntMaskNetAllocationTests
{
    private static void AssertSteadyStateAllocatesNothing(CtrModel model, int fields)
    {
        const int rows = 3000;
        var rng = new Rng(5);
        var codes = new int[rows * fields];
        var labels = new float[rows];
        for (var i = 0; i < codes.Length; i++)
        {
            codes[i] = rng.NextInt(6);
        }
        for (var i = 0; i < rows; i++)
        {
            labels[i] = rng.NextInt(2);
        }
        var batch = new Batch { Size = rows, Categorical = codes, CategoricalCount = fields, Labels = labels };
        var old = Workers.ThreadCount;
        try
        {
            Workers.ThreadCount = 2;
            var trainer = new Trainer(model, new TrainerOptions { LearningRate = 1e-3 });
            for (var i = 0; i < 5; i++)
            {
                trainer.TrainStep(batch);
            }
            // The calling thread (which runs parts of every parallel kernel too) and the worker threads allocate
            // nothing (the workers' count is the least of three windows: a worker may still be tiering up a kernel).
            var least = long.MaxValue;
            for (var window = 0; window < 3; window++)
            {
                var mine = GC.GetAllocatedBytesForCurrentThread();
                var before = Workers.WorkerAllocatedBytes();
                for (var i = 0; i < 10; i++)
                {
                    trainer.TrainStep(batch);
                }
                Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - mine);
                least = Math.Min(least, Workers.WorkerAllocatedBytes() - before);
            }
            Assert.True(least == 0, $"{least} bytes allocated in 10 steps on the worker threads");

        }
        finally
        {
            Workers.ThreadCount = old;
        }
    }

    private static InputSchema Schema(int fields) =>
        InputSchema.Categorical([.. Enumerable.Range(0, fields).Select(i => ($"f{i}", 6))]);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void XDeepFm(bool fsd) => AssertSteadyStateAllocatesNothing(new XDeepFmModel(Schema(5), new XDeepFmOptions
    {
        EmbeddingDim = 8, CinHiddenUnits = [16, 16], DnnHiddenUnits = [32, 32], BatchNorm = true,
        Fsd = fsd ? new FsdOptions(new DistillationOptions(2, 0.9, 0.01, 1.3)) : null,
    }, new Rng(1)), 5);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void AutoInt(bool fsd) => AssertSteadyStateAllocatesNothing(new AutoIntModel(Schema(5), new AutoIntOptions
    {
        EmbeddingDim = 8, AttentionDim = 16, NumHeads = 2, AttentionLayers = 2, LayerNorm = true, UseScale = true, UseWide = true,
        DnnHiddenUnits = [32, 32], BatchNorm = true,
        Fsd = fsd ? new FsdOptions(new DistillationOptions(2, 0.9, 0.01, 1.3), HintProjection: true) : null,
    }, new Rng(1)), 5);
}
