using FsdNet.Autodiff;
using FsdNet.Layers;
using FsdNet.Models;
using FsdNet.Tensors;
using FsdNet.Tests.Support;
using FsdNet.Training;
using Xunit;

namespace FsdNet.Tests.Models;

/// <summary>A tiny FSDNet against the PyTorch mirror (tools/fsdnet_torch/make_golden.py): forward, every loss term, every gradient.</summary>
public class FsdNetParityTests
{
    private static readonly Golden Gold = Golden.Load("fsdnet", "tiny.json");

    private static (FsdNetModel Model, ModelInput Batch) Build(DistillationOptions distillation)
    {
        var p = Gold.Params;
        var vocab = p.GetProperty("vocab_sizes").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var layers = p.GetProperty("num_layers").GetInt32();
        var hidden = p.GetProperty("hidden_units").GetInt32();
        var model = new FsdNetModel(
            InputSchema.Categorical([.. vocab.Select((v, i) => ($"f{i}", v))]),
            new FsdNetOptions
            {
                EmbeddingDim = p.GetProperty("embedding_dim").GetInt32(),
                ParallelDnnHiddenUnits = [.. Enumerable.Repeat(hidden, layers)],
                NumCrossLayers = layers,
                BatchNorm = true,
                Fsd = new FsdOptions(distillation),
            },
            new Rng(1));
        foreach (var (name, param) in model.NamedParameters())
        {
            Gold.Into(GoldenName(name), param);
            param.ZeroGrad();
        }
        var rows = Gold.ShapeOf("codes")[0];
        return (model, new ModelInput(rows, Gold.Ints("codes"), vocab.Length, Gold.Floats("labels")));
    }

    /// <summary>Our parameter path to the golden file's name.</summary>
    private static string GoldenName(string name) => name.Split('.') switch
    {
        ["embedding", "embedding_layer", var f, "weight"] => $"emb{f[1..]}",
        var parts => FsdNetGoldenNames.Tower(parts) ?? throw new InvalidOperationException($"unmapped parameter {name}"),
    };

    private static DistillationOptions Options(int choice, SoftLoss soft) => new(
        choice,
        Gold.Params.GetProperty("mu").GetDouble(),
        Gold.Params.GetProperty("beta").GetDouble(),
        Gold.Params.GetProperty("tau").GetDouble(),
        soft);

    [Fact]
    public void Forward_fused_features_prediction_and_loss_terms()
    {
        var o = Options(2, SoftLoss.Official);
        var (model, batch) = Build(o);
        var g = new Graph();
        var (logits, fused) = model.Forward(g, batch);
        var pred = model.Predict(g, batch);
        Gold.AssertClose("logits0", logits[0].Span);
        Gold.AssertClose("logits1", logits[1].Span);
        Gold.AssertClose("f0", fused[0].Span);
        Gold.AssertClose("f1", fused[1].Span);
        Gold.AssertClose("y_pred", pred.Span);

        var labels = g.Constant(new Shape(batch.Rows, 1), batch.Labels);
        Tensor[] z = [.. logits];
        Tensor[] f = [.. fused];
        Gold.AssertClose("bce_sum", SelfDistillation.BceSum(g, z, labels).Span);
        Gold.AssertClose("soft_paper", SelfDistillation.SoftPaper(g, z, o).Span);
        Gold.AssertClose("soft_official", SelfDistillation.SoftOfficial(g, z, o).Span);
        Gold.AssertClose("hint", SelfDistillation.Hint(g, f, false).Span);
    }

    [Theory]
    [InlineData(0, nameof(SoftLoss.Paper), "c0_paper_")]
    [InlineData(0, nameof(SoftLoss.Official), "c0_official_")]
    [InlineData(1, nameof(SoftLoss.Official), "c1_")]
    [InlineData(2, nameof(SoftLoss.Paper), "c2_paper_")]
    [InlineData(2, nameof(SoftLoss.Official), "c2_official_")]
    public void Loss_and_every_parameter_gradient(int choice, string softLoss, string prefix)
    {
        var soft = Enum.Parse<SoftLoss>(softLoss);
        var (model, batch) = Build(Options(choice, soft));
        var g = new Graph();
        var loss = model.Loss(g, batch);
        Gold.AssertClose(prefix + "loss", loss.Span);
        g.Backward(loss);
        foreach (var (name, param) in model.NamedParameters())
        {
            Gold.AssertClose($"{prefix}d{GoldenName(name)}", param.GradSpan);
        }
        var bn = model.State().Where(s => s.Name.Contains("running", StringComparison.Ordinal)).ToDictionary(s => s.Name, s => s.Value);
        Gold.AssertClose("running_mean0", bn["dnn.0.batch_norm.running_mean"].Span);
        Gold.AssertClose("running_var1", bn["dnn.1.batch_norm.running_var"].Span);
    }

    [Fact]
    public void Parameter_count_on_frappe_is_the_official_count_minus_the_unused_fc_layer()
    {
        int[] vocab = [942, 4084, 9, 9, 4, 5, 4, 11, 82, 233];
        var model = new FsdNetModel(InputSchema.Categorical([.. vocab.Select((v, i) => ($"f{i}", v))]), new FsdNetOptions { BatchNorm = true }, new Rng(1));
        Assert.Equal(552_691, model.ParameterCount());
    }

    [Fact]
    public void Mismatched_layer_counts_are_a_clear_config_error()
    {
        var ex = Assert.Throws<ArgumentException>(() => new FsdNetModel(
            InputSchema.Categorical(("a", 5)), new FsdNetOptions { NumCrossLayers = 2, ParallelDnnHiddenUnits = [400, 400, 400] }, new Rng(1)));
        Assert.Contains("num_cross_layers (2) must equal", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => new FsdNetModel(
            InputSchema.Categorical(("a", 5)), new FsdNetOptions { ParallelDnnHiddenUnits = [400, 200, 400] }, new Rng(1)));
        Assert.Contains("must be equal", ex.Message);
    }

    [Fact]
    public void Detached_teacher_gets_no_gradient_from_the_soft_and_hint_terms()
    {
        var o = Options(2, SoftLoss.Paper) with { DetachTeacher = true };
        var (model, batch) = Build(o);
        var g = new Graph();
        var (z, f) = model.Forward(g, batch);
        var distill = g.Add(SelfDistillation.SoftPaper(g, z, o), SelfDistillation.Hint(g, f, true));
        g.Backward(distill);
        var teacherHead = model.NamedParameters().Single(p => p.Name == "heads.1.weight").Value;
        var studentHead = model.NamedParameters().Single(p => p.Name == "heads.0.weight").Value;
        Assert.False(teacherHead.HasGrad);
        Assert.True(studentHead.HasGrad);
    }
}
