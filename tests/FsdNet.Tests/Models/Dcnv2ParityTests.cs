using FsdNet.Autodiff;
using FsdNet.Layers;
using FsdNet.Models;
using FsdNet.Tensors;
using FsdNet.Tests.Support;
using FsdNet.Training;
using Xunit;

namespace FsdNet.Tests.Models;

/// <summary>DCNv2 in every model_structure against a PyTorch mirror of FuxiCTR's definition (tools/zoo_torch/dcnv2_golden.py).</summary>
public class Dcnv2ParityTests
{
    private static readonly Golden Gold = Golden.Load("zoo", "dcnv2.json");

    [Theory]
    [InlineData("crossnet_only", nameof(Dcnv2Structure.CrossNetOnly))]
    [InlineData("stacked", nameof(Dcnv2Structure.Stacked))]
    [InlineData("parallel", nameof(Dcnv2Structure.Parallel))]
    [InlineData("stacked_parallel", nameof(Dcnv2Structure.StackedParallel))]
    public void Forward_loss_and_every_gradient_match_pytorch(string name, string structureName)
    {
        var structure = Enum.Parse<Dcnv2Structure>(structureName);
        var model = new Dcnv2Model(InputSchema.Categorical(("f0", 6), ("f1", 5), ("f2", 4)), new Dcnv2Options
        {
            Structure = structure,
            EmbeddingDim = 3,
            NumCrossLayers = 2,
            StackedDnnHiddenUnits = [7, 5],
            ParallelDnnHiddenUnits = [6, 4],
            BatchNorm = true,
        }, new Rng(1));
        ModelParity.Check(Gold, name, model, new ModelInput(8, Gold.Ints("codes"), 3, Gold.Floats("labels")));
    }

    [Fact]
    public void Fsd_needs_the_parallel_structure_with_one_dnn_layer_per_cross_layer()
    {
        var schema = InputSchema.Categorical(("f0", 6));
        var fsd = new FsdOptions(new DistillationOptions(2, 0.9, 0.01, 1.3));
        var e = Assert.Throws<ArgumentException>(() => new Dcnv2Model(schema, new Dcnv2Options { Structure = Dcnv2Structure.Stacked, StackedDnnHiddenUnits = [4], Fsd = fsd }, new Rng(1)));
        Assert.Contains("fsd: true needs model_structure: parallel", e.Message);
        e = Assert.Throws<ArgumentException>(() => new Dcnv2Model(schema, new Dcnv2Options { ParallelDnnHiddenUnits = [4, 4], NumCrossLayers = 3, Fsd = fsd }, new Rng(1)));
        Assert.Contains("num_cross_layers (3) must equal", e.Message);
        e = Assert.Throws<ArgumentException>(() => new Dcnv2Model(schema, new Dcnv2Options { ParallelDnnHiddenUnits = [8, 4], NumCrossLayers = 2, Fsd = fsd }, new Rng(1)));
        Assert.Contains("hint_projection: true", e.Message);
        // With the projection the unequal widths train: the hint compares projected student features with the teacher's.
        var model = new Dcnv2Model(schema, new Dcnv2Options { ParallelDnnHiddenUnits = [8, 4], NumCrossLayers = 2, Fsd = fsd with { HintProjection = true } }, new Rng(1));
        Assert.Contains(model.NamedParameters(), p => p.Name == "hint_projections.0.weight");
        var x = new ModelInput(4, [1, 2, 3, 4], 1, [1, 0, 1, 0]);
        var p0 = model.NamedParameters().Single(p => p.Name == "hint_projections.0.weight").Value;
        GradCheck.Check(g => model.Loss(g, x), [p0]);
    }

    private static readonly Golden DcnGold = Golden.Load("zoo", "dcn.json");

    [Theory]
    [InlineData("cross_only", false)]
    [InlineData("with_dnn", true)]
    public void Dcn_forward_loss_and_every_gradient_match_pytorch(string name, bool withDnn)
    {
        var model = new DcnModel(InputSchema.Categorical(("f0", 6), ("f1", 5), ("f2", 4)), new DcnOptions
        {
            EmbeddingDim = 3,
            NumCrossLayers = 2,
            DnnHiddenUnits = withDnn ? [6, 4] : [],
            BatchNorm = true,
        }, new Rng(1));
        ModelParity.Check(DcnGold, name, model, new ModelInput(8, DcnGold.Ints("codes"), 3, DcnGold.Floats("labels")));
    }

    [Fact]
    public void Dcn_with_fsd_fuses_cross_and_dnn_layers_with_correct_gradients()
    {
        var model = new DcnModel(InputSchema.Categorical(("f0", 6), ("f1", 5)), new DcnOptions
        {
            EmbeddingDim = 3,
            NumCrossLayers = 2,
            DnnHiddenUnits = [5, 5],
            Fsd = new FsdOptions(new DistillationOptions(2, 0.8, 0.05, 1.3)),
        }, new Rng(4));
        Assert.Contains(model.NamedParameters(), p => p.Name == "heads.1.weight");
        Assert.DoesNotContain(model.NamedParameters(), p => p.Name.StartsWith("fc.", StringComparison.Ordinal));
        var rng = new Rng(8);
        foreach (var p in model.Parameters())
        {
            rng.FillNormal(p.Span, 0, 0.3);
        }
        var x = new ModelInput(4, [1, 2, 3, 4, 5, 1, 2, 3], 2, [1, 0, 1, 0]);
        GradCheck.Check(g => model.Loss(g, x), [.. model.Parameters()], eps: 1e-3);
    }
}
