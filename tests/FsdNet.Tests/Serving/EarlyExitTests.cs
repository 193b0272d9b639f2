using FsdNet.Autodiff;
using FsdNet.Layers;
using FsdNet.Models;
using FsdNet.Tensors;
using FsdNet.Tests.Support;
using FsdNet.Training;
using Xunit;

namespace FsdNet.Tests.Serving;

/// <summary>Early exit: head k of every FSD-capable model computes only layers 0..k, and gives the full forward pass's head k.</summary>
public sealed class EarlyExitTests
{
    public static TheoryData<string> Models() => new()
    {
        "model: FSDNet\n    parallel_dnn_hidden_units: [6, 6, 6]\n    num_cross_layers: 3\n    batch_norm: true\n",
        "model: DCNv2\n    model_structure: parallel\n    fsd: true\n    parallel_dnn_hidden_units: [6, 5, 4]\n    num_cross_layers: 3\n    choice: 0\n",
        "model: DCN\n    fsd: true\n    dnn_hidden_units: [6, 5, 4]\n    num_cross_layers: 3\n    choice: 0\n",
        "model: xDeepFM\n    fsd: true\n    cin_hidden_units: [4, 4, 4]\n    dnn_hidden_units: [6, 5, 4]\n    choice: 0\n",
        "model: AutoInt\n    fsd: true\n    attention_layers: 3\n    dnn_hidden_units: [6, 5, 4]\n    use_wide: true\n    choice: 0\n",
        "model: FinalMLP\n    fsd: true\n    mlp1_hidden_units: [8, 4, 4]\n    mlp2_hidden_units: [6, 2, 2]\n    choice: 0\n",
        "model: GDCNP\n    fsd: true\n    dnn_hidden_units: [4, 4, 4]\n    crossing_layers: 3\n    choice: 0\n",
        "model: EDCN\n    fsd: true\n    num_cross_layers: 3\n    choice: 0\n",
    };

    [Theory]
    [MemberData(nameof(Models))]
    public void Head_k_by_early_exit_is_the_full_passes_head_k_and_costs_less(string yaml)
    {
        var cfg = ModelConfig.Parse($"e:\n    embedding_dim: 3\n    {yaml}", "m.yaml", "e");
        var model = (FsdCapableModel)ModelRegistry.Create(StepAllocation.Schema, cfg, new Rng(11));
        Assert.Equal(3, model.HeadCount);
        var rng = new Rng(2);
        var rows = 9;
        var codes = new int[rows * 3];
        for (var i = 0; i < codes.Length; i++)
        {
            codes[i] = rng.NextInt(StepAllocation.Schema.Fields[i % 3].VocabSize);
        }
        var x = new ModelInput(rows, codes, 3);
        var full = new Graph { Training = false, GradEnabled = false };
        var logits = model.Heads(full, x).Logits;
        var fullHeads = logits.Select(l => full.Sigmoid(l).ToArray()).ToArray();
        var fullCost = full.PooledTensorCount;
        var costs = new int[3];
        for (var k = 0; k < 3; k++)
        {
            var g = new Graph { Training = false, GradEnabled = false };
            var p = model.PredictHead(g, x, k).ToArray();
            costs[k] = g.PooledTensorCount;
            for (var i = 0; i < rows; i++)
            {
                Assert.True(Math.Abs(p[i] - fullHeads[k][i]) <= 1e-7, $"{cfg.Model} head {k} row {i}: {p[i]} vs {fullHeads[k][i]}");
            }
        }
        Assert.True(costs[0] < costs[1] && costs[1] < costs[2], $"{cfg.Model}: pooled tensors per head {string.Join(", ", costs)}");
        Assert.True(costs[2] <= fullCost + 1, $"{cfg.Model}: the last head {costs[2]} vs the full pass {fullCost}");
        // the prediction (mean of heads) is unchanged by early exit's plumbing
        var pg = new Graph { Training = false, GradEnabled = false };
        var mean = model.Predict(pg, x).ToArray();
        for (var i = 0; i < rows; i++)
        {
            Assert.True(Math.Abs(mean[i] - fullHeads.Average(h => h[i])) <= 1e-6);
        }
    }
}
