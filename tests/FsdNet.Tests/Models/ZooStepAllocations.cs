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
    /// Asserts that a steady-state step allocates nothing, neither on the stepping thread nor on the engine's worker
    /// threads (see <see cref="Support.StepAllocation"/>, which measures both exactly).
    /// </summary>
    public static void AssertNone(CtrModel model, int rows = 6000)
    {
        var (thread, workers) = Support.StepAllocation.PerStep(model, rows);
        Assert.True(thread == 0 && workers == 0, $"{model.ModelName}: {thread:F1} bytes a step on the training thread, {workers:F1} on the worker threads");
    }
}
