using System.Globalization;
using System.Text.Json;
using FsdNet.Autodiff;
using FsdNet.Tensors;
using FsdNet.Tests.Support;
using FsdNet.Training;
using Xunit;

namespace FsdNet.Tests.Training;

/// <summary>Every optimizer against torch.optim (tools/golden/optim_golden.py), chosen by name through a config.</summary>
public class OptimizerTests
{
    public static TheoryData<string> Cases => new(
        "adam", "adam_betas", "adamw", "adamw_wd", "sgd", "sgd_momentum", "sgd_dampening_wd", "sgd_nesterov",
        "adagrad", "adagrad_decay", "rmsprop", "rmsprop_centered", "rmsprop_momentum");

    /// <summary>The config lines for a golden case: optimizer name in lower case and its kwargs as optimizer_params.</summary>
    private static OptimizerSpec SpecFor(Golden gold)
    {
        var name = gold.Params.GetProperty("optimizer").GetString()!.ToLowerInvariant();
        var args = gold.Params.GetProperty("kwargs").EnumerateObject().Select(p => p.Value.ValueKind switch
        {
            JsonValueKind.Array => $"{p.Name}: [{string.Join(", ", p.Value.EnumerateArray().Select(v => v.GetDouble().ToString("R", CultureInfo.InvariantCulture)))}]",
            JsonValueKind.True or JsonValueKind.False => $"{p.Name}: {p.Value.GetBoolean().ToString().ToLowerInvariant()}",
            _ => $"{p.Name}: {p.Value.GetDouble().ToString("R", CultureInfo.InvariantCulture)}",
        });
        var cfg = ModelConfig.Parse($"exp:\n    optimizer: {name}\n    optimizer_params: {{{string.Join(", ", args)}}}\n", "cfg.yaml", "exp");
        return OptimizerSpec.From(cfg);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Matches_torch_optim_step_by_step(string name)
    {
        var gold = Golden.Load("optim", name + ".json");
        Parameter[] ps = [new("w", new Shape(5, 4)), new("b", new Shape(7))];
        for (var k = 0; k < ps.Length; k++)
        {
            gold.Into($"p{k}_init", ps[k]);
        }
        var opt = SpecFor(gold).Create(ps, gold.Params.GetProperty("lr").GetDouble());
        Assert.Equal(gold.Params.GetProperty("optimizer").GetString(), opt.Name);
        var steps = gold.Params.GetProperty("steps").GetInt32();
        for (var t = 1; t <= steps; t++)
        {
            opt.ZeroGrad();
            for (var k = 0; k < ps.Length; k++)
            {
                var g = gold.Floats($"g{t}_{k}");
                if (g.Any(v => v != 0))
                {
                    g.CopyTo(ps[k].LiveGrad());
                }
                // else: no gradient at all this step, which must act as a zero gradient
            }
            opt.Step();
            for (var k = 0; k < ps.Length; k++)
            {
                // 1e-6 relative; values near zero get 1e-6 absolute (the parameters are of order 1, and torch fuses
                // some multiply-adds, which shows where m's two terms nearly cancel).
                gold.AssertClose($"p{t}_{k}", ps[k].Span, rel: 1e-6, abs: 1e-6);
            }
            if (t == gold.Params.GetProperty("decay_step").GetInt32())
            {
                opt.LearningRate *= 0.1;
            }
        }
    }

    [Fact]
    public void Restored_state_continues_exactly()
    {
        var gold = Golden.Load("optim", "rmsprop_momentum.json");
        (Optimizer Opt, Parameter[] Ps) Make()
        {
            Parameter[] ps = [new("w", new Shape(5, 4)), new("b", new Shape(7))];
            ps[0].CopyFrom(gold.Floats("p0_init"));
            ps[1].CopyFrom(gold.Floats("p1_init"));
            return (SpecFor(gold).Create(ps, 0.01), ps);
        }
        void Step(Optimizer opt, Parameter[] ps, int t)
        {
            opt.ZeroGrad();
            gold.Floats($"g{t}_0").CopyTo(ps[0].LiveGrad());
            gold.Floats($"g{t}_1").CopyTo(ps[1].LiveGrad());
            opt.Step();
        }
        var (a, pa) = Make();
        for (var t = 1; t <= 5; t++)
        {
            Step(a, pa, t);
        }
        var (b, pb) = Make();
        Step(b, pb, 1);
        Step(b, pb, 2);
        var (c, pc) = Make();      // a "new process": copy params and optimizer state over
        pb[0].Span.CopyTo(pc[0].Span);
        pb[1].Span.CopyTo(pc[1].Span);
        c.Restore(b.State.ToDictionary(s => s.Name, s => s.Values.Select(v => v.ToArray()).ToArray()), b.StepCount);
        Assert.Equal(["square_avg", "momentum_buffer", "grad_avg"], c.State.Select(s => s.Name));
        for (var t = 3; t <= 5; t++)
        {
            Step(c, pc, t);
        }
        Assert.True(pa[0].Span.SequenceEqual(pc[0].Span) && pa[1].Span.SequenceEqual(pc[1].Span));
    }

    [Theory]
    [InlineData("optimizer: lbfgs", "'optimizer' must be one of adam, adamw, sgd, adagrad, rmsprop")]
    [InlineData("optimizer: SGD\n    optimizer_params: {betas: [0.9, 0.99]}", "optimizer_params.betas: SGD takes momentum, dampening, nesterov, weight_decay")]
    [InlineData("optimizer: sgd\n    optimizer_params: {nesterov: true}", "nesterov must be used with momentum > 0 and dampening 0")]
    [InlineData("optimizer: RMSprop\n    optimizer_params: {momentum: -1}", "momentum must be >= 0, got -1")]
    [InlineData("optimizer: adamw\n    optimizer_params: {betas: [0.9]}", "optimizer_params.betas: must be two numbers")]
    [InlineData("optimizer: adagrad\n    optimizer_params: 3", "'optimizer_params' must be a mapping")]
    public void Bad_optimizer_settings_name_the_key_and_line(string lines, string expected)
    {
        var cfg = ModelConfig.Parse($"exp:\n    model: FSDNet\n    {lines}\n", "cfg.yaml", "exp");
        var ex = Assert.Throws<ConfigException>(() => TrainerOptions.From(cfg));
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
        Assert.Contains("cfg.yaml:", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Names_are_case_insensitive_and_default_to_torch_defaults()
    {
        var spec = TrainerOptions.From(ModelConfig.Parse("exp:\n    optimizer: AdaGrad\n", "c", "exp")).Optimizer;
        var opt = (Adagrad)spec.Create([new Parameter("w", new Shape(3))], 0.5);
        Assert.Equal((0.0, 0.0, 0.0, 1e-10, 0.5), (opt.LrDecay, opt.WeightDecay, opt.InitialAccumulatorValue, opt.Eps, opt.LearningRate));
        Assert.IsType<Adam>(TrainerOptions.From(ModelConfig.Parse("exp:\n    epochs: 1\n", "c", "exp")).Optimizer.Create([], 1e-3));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void A_step_allocates_no_managed_memory(string name)
    {
        var gold = Golden.Load("optim", name + ".json");
        Parameter[] ps = [new("w", new Shape(64, 33)), new("b", new Shape(7))];
        var opt = SpecFor(gold).Create(ps, 0.01);
        ps[0].LiveGrad().Fill(0.5f);
        opt.Step();
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 10; i++)
        {
            opt.ZeroGrad();
            ps[0].LiveGrad().Fill(0.25f);
            opt.Step();
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
