using FsdNet.Data;
using FsdNet.Layers;
using FsdNet.Models;
using FsdNet.Tensors;
using FsdNet.Tests.Support;
using FsdNet.Training;
using Xunit;

namespace FsdNet.Tests.Models;

/// <summary>
/// Steady-state training steps of xDeepFM, AutoInt and MaskNet allocate no managed bytes, on two threads with rows
/// enough for the parallel kernels to split.
/// </summary>
[Collection(ThreadingCollection.Name)]
public class XDeepFmAutoIntMaskNetAllocationTests
{
    private static void AssertSteadyStateAllocatesNothing(CtrModel model, int fields)
    {
        const int rows = 1500;
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
            // The calling thread runs parts of every parallel kernel too, so a kernel that allocated would show here.
            // The whole process (GetTotalAllocatedBytes(true), worker threads included) is not asserted: the test
            // host's own threads allocate a little all the time (measured 40-300 bytes a step, also for DCN and with
            // one thread), which made such a bound flaky under the full suite.
            var mine = GC.GetAllocatedBytesForCurrentThread();
            for (var i = 0; i < 10; i++)
            {
                trainer.TrainStep(batch);
            }
            Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - mine);
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

    [Theory]
    [InlineData(MaskNetType.SerialMaskNet)]
    [InlineData(MaskNetType.ParallelMaskNet)]
    public void MaskNet(MaskNetType type) => AssertSteadyStateAllocatesNothing(new MaskNetModel(Schema(5), new MaskNetOptions
    {
        EmbeddingDim = 8, ModelType = type, ParallelNumBlocks = 2, ParallelBlockDim = 16, DnnHiddenUnits = [32, 32],
    }, new Rng(1)), 5);
}
