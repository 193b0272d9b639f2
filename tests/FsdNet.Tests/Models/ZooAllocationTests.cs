using System.Globalization;
using System.Text;
using FsdNet.Data;
using FsdNet.Models;
using FsdNet.Tensors;
using FsdNet.Tests.Data;
using FsdNet.Tests.Support;
using FsdNet.Training;
using Xunit;
using Xunit.Abstractions;

namespace FsdNet.Tests.Models;

/// <summary>
/// Every model in <see cref="ModelRegistry"/> (so models registered later are covered by name), with the FSD module
/// on and off for the FSD-capable ones: a steady-state training step (forward, backward, both regularisers,
/// clipping, Adam) allocates no managed bytes on any thread.
/// </summary>
[Collection(ThreadingCollection.Name)]
public sealed class ZooAllocationTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDir tmp = new();

    public void Dispose() => tmp.Dispose();

    public static TheoryData<string, bool> Cases()
    {
        var cases = new TheoryData<string, bool>();
        foreach (var name in ModelRegistry.Names)
        {
            cases.Add(name, false);
            if (ModelRegistry.FsdCapable.Contains(name, StringComparer.OrdinalIgnoreCase) && !string.Equals(name, "FSDNet", StringComparison.OrdinalIgnoreCase))
            {
                cases.Add(name, true);
            }
        }
        return cases;
    }

    /// <summary>
    /// A minimal experiment: the model, embedding_dim 4, and two small layers for every layer-count and width key a
    /// zoo model takes (keys a model does not read are only unread; equal counts let FSD fuse the towers).
    /// </summary>
    internal static ModelConfig MinimalConfig(string model, bool fsd) => ModelConfig.Parse($$"""
        exp:
            model: {{model}}
            embedding_dim: 4
            batch_size: 64
            seed: 5
            embedding_regularizer: 1.e-4
            net_regularizer: 1.e-5
            net_dropout: 0.1
            batch_norm: True
            hidden_units: [8, 8]
            dnn_hidden_units: [8, 8]
            parallel_dnn_hidden_units: [8, 8]
            stacked_dnn_hidden_units: [8, 8]
            num_cross_layers: 2
            cin_hidden_units: [8, 8]
            attention_layers: 2
            attention_dim: 8
            afn_hidden_units: [8, 8]
            logarithmic_neurons: 8
            mlp1_hidden_units: [8, 8]
            mlp2_hidden_units: [8, 8]
            fs_hidden_units: [8]
            parallel_block_dim: 8
            fsd: {{(fsd ? "True" : "False")}}
            choice: 2
            loss_coefficient: 0.9
            Temp: 1.3
            fea_coefficient: 0.01
        """, "zoo-alloc", "exp");

    private PreparedData TinyData()
    {
        var rng = new Rng(9);
        var sb = new StringBuilder("label,a,b,c,d,x\n");
        for (var i = 0; i < 2048; i++)
        {
            int a = rng.NextInt(20), b = rng.NextInt(9), c = rng.NextInt(5), d = rng.NextInt(3);
            sb.Append(CultureInfo.InvariantCulture, $"{((a + b) % 3 == 0 ? 1 : 0)},a{a},b{b},c{c},d{d},{rng.NextDouble():F3}\n");
        }
        tmp.File("train.csv", sb.ToString());
        return Helpers.PrepareYaml(tmp, """
            tiny:
              data_format: csv
              train_data: train.csv
              min_categr_count: 1
              feature_cols:
                - {name: [a, b, c, d], active: True, dtype: str, type: categorical}
                - {name: x, active: True, dtype: float, type: numeric}
              label_col: {name: label, dtype: float}
            """);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void A_steady_state_training_step_allocates_nothing(string model, bool fsd)
    {
        var threads = Workers.ThreadCount;
        try
        {
            Workers.ThreadCount = 2;
            using var data = TinyData();
            var cfg = MinimalConfig(model, fsd);
            var options = TrainerOptions.From(cfg);
            var net = ModelRegistry.Create(ModelInputs.Schema(data.FeatureMap, cfg), cfg, new Rng((ulong)options.Seed));
            var trainer = new Trainer(net, options);
            var loader = new BatchLoader(data.Train, new BatchLoaderOptions { BatchSize = options.BatchSize, Shuffle = true, Seed = 3 });
            var batch = loader.CreateBatch();
            // Warm-up past tiered JIT compilation (methods are recompiled after ~30 calls); then a fresh epoch.
            for (var epoch = 0; epoch < 3; epoch++)
            {
                loader.StartEpoch(epoch);
                while (loader.Next(batch))
                {
                    Assert.True(double.IsFinite(trainer.TrainStep(batch)));
                }
            }
            // The training thread's own count plus the engine's worker threads' (Workers.WorkerAllocatedBytes): the
            // process-wide count would include the test host's threads. The least of several windows of 10 steps, as
            // a worker may still be tiering up a kernel in the first ones.
            const int steps = 10;
            var perStep = double.MaxValue;
            for (var window = 0; window < 12; window++)
            {
                loader.StartEpoch(10 + window);
                var before = GC.GetAllocatedBytesForCurrentThread() + Workers.WorkerAllocatedBytes();
                for (var i = 0; i < steps; i++)
                {
                    loader.Next(batch);
                    trainer.TrainStep(batch);
                }
                perStep = Math.Min(perStep, (GC.GetAllocatedBytesForCurrentThread() + Workers.WorkerAllocatedBytes() - before) / (double)steps);
            }
            output.WriteLine($"{model} (fsd {fsd}): {net.ParameterCount():N0} parameters, {perStep:F0} bytes per step");
            Assert.True(perStep == 0, $"{model} (fsd: {fsd}) allocates {perStep:F0} managed bytes per steady-state training step");
        }
        finally
        {
            Workers.ThreadCount = threads;
        }
    }
}
