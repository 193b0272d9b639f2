using FsdNet.Autodiff;
using FsdNet.Layers;
using FsdNet.Models;
using FsdNet.Tensors;
using FsdNet.Training;
using Xunit;

namespace FsdNet.Tests.Models;

/// <summary>Managed bytes per steady-state training step of a model (forward, backward, Adam).</summary>
internal static class ZooStepAllocations
{
    /// <summary>
    /// Asserts that a steady-state step allocates nothing on the stepping thread and (almost) nothing on all threads
    /// together: worker threads are counted through GC.GetTotalAllocatedBytes(true), which also sees the test host's
    /// own background allocations (about 1-2 KB a second), hence the small all-thread slack. The warm-up steps also
    /// cover the JIT's tier-up, which allocates on its own thread. 6000 rows make the elementwise kernels run on the workers.
    /// </summary>
    public static void AssertNone(CtrModel model, int rows = 6000, int warmup = 60, int steps = 20)
    {
        var fields = model.Schema.Fields.Count;
        var codes = new int[rows * fields];
        var labels = new float[rows];
        var data = new Rng(5);
        for (var r = 0; r < rows; r++)
        {
            for (var f = 0; f < fields; f++)
            {
                codes[(r * fields) + f] = 1 + data.NextInt(3);
            }
            labels[r] = data.NextInt(2);
        }
        var x = new ModelInput(rows, codes, fields, labels);
        var adam = new Adam(model.Parameters(), 1e-3);
        var g = new Graph();
        void Step()
        {
            g.Reset();
            adam.ZeroGrad();
            g.Backward(model.Loss(g, x));
            adam.Step();
        }
        for (var i = 0; i < warmup; i++)
        {
            Step();
        }
        var all = GC.GetTotalAllocatedBytes(true);
        var own = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < steps; i++)
        {
            Step();
        }
        var ownPerStep = (GC.GetAllocatedBytesForCurrentThread() - own) / (double)steps;
        var allPerStep = (GC.GetTotalAllocatedBytes(true) - all) / (double)steps;
        Assert.True(ownPerStep == 0, $"{model.ModelName}: {ownPerStep:F1} bytes a step on the training thread");
        Assert.True(allPerStep <= 512, $"{model.ModelName}: {allPerStep:F1} bytes a step on all threads");
    }
}
