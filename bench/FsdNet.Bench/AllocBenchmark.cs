using System.Globalization;
using FsdNet.Autodiff;
using FsdNet.Layers;
using FsdNet.Tensors;
using FsdNet.Training;

namespace FsdNet.Bench;

/// <summary>
/// Managed bytes allocated per training step of an MLP CTR model in steady state (GC.GetTotalAllocatedBytes over
/// 100 steps, all threads): embedding -> MLP [400, 400, 400] with BatchNorm and dropout -> logit, BCE, L2 on the
/// tables, clipping, Adam. Target: at most 1 KB per step.
/// </summary>
internal static class AllocBenchmark
{
    public static int Run(string[] args)
    {
        var batchSize = int.Parse(TrainBenchmark.Arg(args, "--batch") ?? "10000", CultureInfo.InvariantCulture);
        var steps = int.Parse(TrainBenchmark.Arg(args, "--steps") ?? "100", CultureInfo.InvariantCulture);
        Workers.ThreadCount = int.Parse(TrainBenchmark.Arg(args, "--threads") ?? "2", CultureInfo.InvariantCulture);
        var rng = new Rng(1);
        int[] vocab = [942, 4084, 9, 9, 4, 5, 4, 11, 82, 233];
        var embedding = new FeatureEmbedding(InputSchema.Categorical([.. vocab.Select((v, i) => ($"f{i}", v))]), 16, rng);
        var mlp = new MlpBlock(160, [400, 400, 400], Activation.Relu, 0.5f, batchNorm: true, rng, outputDim: 1);
        Parameter[] tables = [.. embedding.Parameters()];
        Parameter[] all = [.. tables, .. mlp.Parameters()];
        var adam = new Adam(all);
        var graph = new Graph { Random = new Rng(2) };
        var codes = new int[batchSize * vocab.Length];
        var labels = new Tensor(batchSize, 1);
        for (var r = 0; r < batchSize; r++)
        {
            for (var f = 0; f < vocab.Length; f++)
            {
                codes[(r * vocab.Length) + f] = rng.NextInt(vocab[f]);
            }
            labels[r] = rng.NextInt(3) == 0 ? 1 : 0;
        }
        void Step()
        {
            graph.Reset();
            adam.ZeroGrad();
            var loss = graph.BceWithLogits(mlp.Forward(graph, embedding.Forward(graph, new ModelInput(batchSize, codes, vocab.Length))), labels);
            graph.Backward(loss);
            Regularizer.ApplyL2(tables, 0.1);
            GradClip.ClipGradNorm(all, 10);
            adam.Step();
        }
        for (var i = 0; i < 5; i++)
        {
            Step();
        }
        var gen0 = GC.CollectionCount(0);
        var before = GC.GetTotalAllocatedBytes(precise: true);
        for (var i = 0; i < steps; i++)
        {
            Step();
        }
        var perStep = (GC.GetTotalAllocatedBytes(precise: true) - before) / (double)steps;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"MLP training step (batch {batchSize}, {Workers.ThreadCount} threads): {perStep:F1} bytes allocated per step over {steps} steps, {GC.CollectionCount(0) - gen0} gen0 GCs"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"alloc bytes per step: {perStep:F1}"));
        return perStep <= 1024 ? 0 : 1;
    }
}
