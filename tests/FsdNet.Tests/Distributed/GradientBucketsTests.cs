using FsdNet.Autodiff;
using FsdNet.Distributed;
using FsdNet.Tensors;
using FsdNet.Training;
using Xunit;

namespace FsdNet.Tests.Distributed;

/// <summary>
/// The schedule of the gradient buckets (which parameters go together, when each leaves during backward, and the check
/// that catches a graph whose gradients become final elsewhere), in one process: its ordered sum of one rank is the
/// identity, so what reaches the parameters must be their own gradients, bit for bit. The MPI tests run the buckets
/// over two ranks (tests/FsdNet.MpiRank "buckets").
/// </summary>
public sealed class GradientBucketsTests
{
    private static readonly Parameter W1 = Param("w1", 0.5f), W2 = Param("w2", -1.25f), B = Param("b", 0.75f);

    private static Parameter Param(string name, float scale)
    {
        var p = new Parameter(name, new Shape(3, 4));
        for (var i = 0; i < p.Length; i++)
        {
            p.Span[i] = scale * (i - 5.5f) / 7;
        }
        return p;
    }

    /// <summary>loss = sum(((x * first) * second) + b): 4 nodes, <paramref name="first"/> final at node 0.</summary>
    private static void Step(Graph g, GradientBuckets buckets, Parameter first, Parameter second, out bool armed)
    {
        g.Reset();
        foreach (var p in new[] { W1, W2, B })
        {
            p.ZeroGrad();
        }
        var x = g.Constant(new Shape(3, 4), Enumerable.Range(0, 12).Select(i => 1f + (i * 0.25f)).ToArray());
        var loss = g.Sum(g.Add(g.Mul(g.Mul(x, first), second), B));
        armed = buckets.Arm(g);
        g.Backward(loss);
    }

    [Fact]
    public void Buckets_learn_when_gradients_become_final_leave_during_backward_and_give_back_the_gradients_bitwise()
    {
        var g = new Graph();
        var buckets = new GradientBuckets(Communicator.Single, [W1, W2, B], capacity: 12);
        g.BackwardListener = buckets;
        Step(g, buckets, W1, W2, out var armed);
        Assert.False(armed);   // nothing learnt yet: the first step is summed in one buffer
        buckets.Learn(g);
        Assert.Equal(3, buckets.Count);   // 12 floats each: one parameter a bucket

        for (var step = 0; step < 3; step++)
        {
            Step(g, buckets, W1, W2, out armed);
            Assert.True(armed);
            var own = new[] { W1, W2, B }.Select(p => p.GradSpan.ToArray()).ToArray();
            Assert.True(buckets.Finish());
            foreach (var p in new[] { W1, W2, B })
            {
                p.GradSpan.Clear();
            }
            buckets.WriteBack();
            Assert.Equal(own[0], W1.GradSpan.ToArray());
            Assert.Equal(own[1], W2.GradSpan.ToArray());
            Assert.Equal(own[2], B.GradSpan.ToArray());
        }
        // b (node 2) and w2 (node 1) leave before the pass reaches node 0; w1 at node 0, when the pass ends.
        Assert.Equal(2 * 3, buckets.StartedDuringBackward);
        Assert.Equal(0, buckets.Relearnt);
    }

    [Fact]
    public void A_bucket_is_as_large_as_its_capacity_allows_and_holds_at_least_one_parameter()
    {
        var g = new Graph();
        var big = new GradientBuckets(Communicator.Single, [W1, W2, B], capacity: 24);
        g.BackwardListener = big;
        Step(g, big, W1, W2, out _);
        big.Learn(g);
        Assert.Equal(2, big.Count);   // {b, w2} then {w1}
        var tiny = new GradientBuckets(Communicator.Single, [W1, W2, B], capacity: 5);
        g.BackwardListener = tiny;
        Step(g, tiny, W1, W2, out _);
        tiny.Learn(g);
        Assert.Equal(3, tiny.Count);
    }

    [Fact]
    public void A_step_whose_gradients_become_final_elsewhere_on_a_tape_of_the_same_length_is_caught_and_learnt_again()
    {
        var g = new Graph();
        var buckets = new GradientBuckets(Communicator.Single, [W1, W2, B], capacity: 12);
        g.BackwardListener = buckets;
        Step(g, buckets, W1, W2, out _);
        buckets.Learn(g);
        // The same four nodes with the two weights swapped: w2's bucket leaves after node 1, before w2's gradient is
        // written (node 0 now). The sums must not be taken.
        Step(g, buckets, W2, W1, out var armed);
        Assert.True(armed);
        Assert.False(buckets.Finish());
        buckets.Learn(g);
        Assert.Equal(1, buckets.Relearnt);
        Step(g, buckets, W2, W1, out armed);
        Assert.True(armed);
        Assert.True(buckets.Finish());
        // A tape of another length is not armed at all.
        g.Reset();
        var x = g.Constant(new Shape(3, 4), new float[12]);
        var loss = g.Sum(g.Mul(x, W1));
        Assert.False(buckets.Arm(g));
        g.Backward(loss);
    }

    [Fact]
    public void The_config_key_gives_the_bucket_size_in_megabytes_and_refuses_a_negative_one()
    {
        static TrainerOptions Options(string value) => TrainerOptions.From(ModelConfig.Parse($"exp:\n  model: DNN\n  gradient_bucket_mb: {value}\n", "test.yaml", "exp"));
        Assert.Equal(1 << 18, TrainerOptions.From(ModelConfig.Parse("exp:\n  model: DNN\n", "test.yaml", "exp")).GradientBucketFloats);
        Assert.Equal(1 << 17, Options("0.5").GradientBucketFloats);
        Assert.Equal(0, Options("0").GradientBucketFloats);
        var e = Assert.Throws<ConfigException>(() => Options("-1"));
        Assert.Contains("gradient_bucket_mb", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_capacity_nothing_is_learnt_or_armed()
    {
        var g = new Graph();
        var buckets = new GradientBuckets(Communicator.Single, [W1, W2, B], capacity: 0);
        g.BackwardListener = buckets;
        Step(g, buckets, W1, W2, out _);
        buckets.Learn(g);
        Step(g, buckets, W1, W2, out var armed);
        Assert.False(armed);
        Assert.Equal(0, buckets.Count);
    }
}
