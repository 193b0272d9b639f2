using System.Globalization;
using FsdNet.Autodiff;
using FsdNet.Data;
using FsdNet.Models;
using FsdNet.Tensors;
using FsdNet.Tests.Data;
using FsdNet.Training;
using Xunit;

namespace FsdNet.Tests.Training;

/// <summary>
/// lazy_embedding_updates: row-sparse embedding gradients and optimizer steps over the touched rows only. Where the
/// two must agree they agree bit for bit (rows updated in every step, and every network weight); where they must
/// differ (rows a step did not touch) they differ in the documented way.
/// </summary>
public sealed class LazyEmbeddingTests : IDisposable
{
    private readonly TempDir tmp = new();

    public void Dispose() => tmp.Dispose();

    /// <summary>
    /// Every batch of 256 holds every code of the three small fields, so every trained row is touched in every step:
    /// lazy Adam must then end bit-identical to dense Adam everywhere except the OOV rows (never looked up in
    /// training), which the dense step moves through the embedding regularizer and the lazy one leaves alone.
    /// </summary>
    [Fact]
    public void Rows_touched_every_step_train_exactly_as_dense_adam_and_untouched_rows_stay()
    {
        var rng = new Rng(5);
        tmp.CsvSplits("label,a,b,c", (_, _) =>
        {
            int a = rng.NextInt(6), b = rng.NextInt(5), c = rng.NextInt(4);
            var label = rng.NextDouble() < ((a + b) % 3 == 0 ? 0.8 : 0.15) ? 1 : 0;
            return string.Create(CultureInfo.InvariantCulture, $"{label},a{a},b{b},c{c}");
        }, 1024, 300, 300);
        using var data = Helpers.PrepareYaml(tmp, """
            synth:
              data_format: csv
              train_data: train.csv
              valid_data: valid.csv
              test_data: test.csv
              min_categr_count: 1
              feature_cols:
                - {name: [a, b, c], active: True, dtype: str, type: categorical}
              label_col: {name: label, dtype: float}
            """);
        var dense = Train(data, lazy: false);
        var lazy = Train(data, lazy: true);

        var oovChecked = 0;
        foreach (var ((name, d), (_, l)) in dense.State().Zip(lazy.State()))
        {
            var isTable = name.Contains("embedding_layer", StringComparison.Ordinal) && d.Shape.Rank == 2;
            if (!isTable)
            {
                Assert.True(d.Span.SequenceEqual(l.Span), $"{name}: a network weight differs between dense and lazy updates");
                continue;
            }
            var width = d.Shape.Last;
            var oov = d.Shape.D0 - 1;
            for (var r = 0; r < d.Shape.D0; r++)
            {
                var dr = d.Span.Slice(r * width, width);
                var lr = l.Span.Slice(r * width, width);
                if (r == oov)
                {
                    // Dense: lambda * W decays the never-seen OOV row every step; lazy: it keeps its initial value.
                    Assert.False(dr.SequenceEqual(lr), $"{name}: the OOV row should differ (dense decays it)");
                    oovChecked++;
                }
                else
                {
                    Assert.True(dr.SequenceEqual(lr), $"{name}: row {r}, touched in every step, differs");
                }
            }
        }
        Assert.True(oovChecked >= 3, $"only {oovChecked} OOV rows checked");
    }

    private CtrModel Train(PreparedData data, bool lazy)
    {
        var cfg = ModelConfig.Parse($$"""
            Base:
                model: FSDNet
                embedding_dim: 4
                parallel_dnn_hidden_units: [16, 16]
                num_cross_layers: 2
                batch_size: 256
                learning_rate: 1.e-2
                embedding_regularizer: 1.e-3
                net_regularizer: 1.e-4
                max_gradient_norm: 1000
                seed: 3
                epochs: 3
                early_stop_patience: 10
                lazy_embedding_updates: {{(lazy ? "true" : "false")}}
            exp: {}
            """, "test", "exp");
        var options = TrainerOptions.From(cfg);
        Assert.Equal(lazy, options.LazyEmbeddingUpdates);
        var model = ModelRegistry.Create(ModelInputs.Schema(data.FeatureMap, cfg), cfg, new Rng(3));
        new Trainer(model, options).Fit(data.Train, data.Valid!);
        return model;
    }

    /// <summary>
    /// Lazy Adam on a table [4, 2] over three steps: row 1 is touched in every step, row 2 in steps 1 and 3, row 3 in
    /// step 2 only. A touched row follows Adam's rule with the global step's bias corrections from its own moments,
    /// which stand still while it is not touched (reference in double); row 1 equals dense Adam bit for bit.
    /// </summary>
    [Fact]
    public void Lazy_adam_updates_the_touched_rows_with_their_own_moments()
    {
        float[] init = [0.5f, -0.25f, 1f, 2f, -1f, 0.75f, 0.1f, -0.3f];
        var lazy = new Parameter("t", new Shape(4, 2), ParameterKind.Embedding);
        var dense = new Parameter("t", new Shape(4, 2), ParameterKind.Embedding);
        lazy.CopyFrom(init);
        dense.CopyFrom(init);
        lazy.EnableRowSparseGrad();
        var lazyAdam = new Adam([lazy], learningRate: 0.1);
        var denseAdam = new Adam([dense], learningRate: 0.1);
        int[][] touched = [[1, 2], [3, 1], [2, 1]];
        double[] p = [.. init], m = new double[8], v = new double[8];
        for (var step = 1; step <= 3; step++)
        {
            lazyAdam.ZeroGrad();
            denseAdam.ZeroGrad();
            var dg = dense.LiveGrad();
            dg.Clear();
            foreach (var row in touched[step - 1])
            {
                float[] g = [0.3f * row - (0.2f * step), 0.05f * step * step];
                lazy.GradLive = true;
                g.CopyTo(lazy.Touched!.Touch(lazy.GradSpan, row));
                g.CopyTo(dg.Slice(row * 2, 2));
                for (var j = 0; j < 2; j++)
                {
                    var i = (row * 2) + j;
                    m[i] = (0.9 * m[i]) + (0.1 * g[j]);
                    v[i] = (0.999 * v[i]) + (0.001 * g[j] * g[j]);
                    p[i] -= 0.1 / (1 - Math.Pow(0.9, step)) * m[i] / ((Math.Sqrt(v[i]) / Math.Sqrt(1 - Math.Pow(0.999, step))) + 1e-8);
                }
            }
            Assert.Equal(touched[step - 1].Length, lazy.TouchedRowList.Length);
            lazyAdam.Step();
            denseAdam.Step();
        }
        for (var i = 0; i < 8; i++)
        {
            Assert.Equal(p[i], lazy.Span[i], 1e-5);
        }
        Assert.Equal(init[..2], lazy.Span[..2].ToArray());                           // row 0 never touched
        Assert.True(dense.Span.Slice(2, 2).SequenceEqual(lazy.Span.Slice(2, 2)));    // row 1: every step, bit for bit
        Assert.False(dense.Span.Slice(4, 2).SequenceEqual(lazy.Span.Slice(4, 2)));   // row 2: dense moved it in step 2 too
        Assert.Equal(0f, lazyAdam.State[0].Values[0][0]);                            // row 0's moments never written
    }

    /// <summary>
    /// A table read by a lookup and also by a dense op in the same step (a projection, a penalty term) gets its full
    /// dense gradient whatever the order of the two in backward: the lookup's rows plus 2 * table everywhere.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_dense_write_to_a_row_sparse_table_makes_its_gradient_dense(bool lookupFirst)
    {
        var expected = Gradient(sparse: false, lookupFirst);
        var actual = Gradient(sparse: true, lookupFirst);
        Assert.Equal(expected, actual);
        for (var r = 0; r < 6; r++)
        {
            Assert.NotEqual(0f, actual[r * 3]);
        }
    }

    private static float[] Gradient(bool sparse, bool lookupFirst)
    {
        var table = new Parameter("t", new Shape(6, 3), ParameterKind.Embedding);
        table.CopyFrom([.. Enumerable.Range(0, 18).Select(i => 0.1f * (i - 7))]);
        if (sparse)
        {
            table.EnableRowSparseGrad();
        }
        var g = new Graph();
        for (var round = 0; round < 2; round++)
        {
            // Two steps: the second starts from a gradient buffer holding the first step's values.
            g.Reset();
            table.ZeroGrad();
            var lookup = g.Sum(g.Embedding([table], [1, 4, 4, 2], 4));
            var square = g.Sum(g.Mul(table, table));
            var loss = lookupFirst ? g.Add(square, lookup) : g.Add(lookup, square);
            g.Backward(loss);
        }
        Assert.False(table.SparseGrad);
        return table.GradSpan.ToArray();
    }

    /// <summary>The regularizer on a row-sparse table: penalty and gradient on the touched rows only.</summary>
    [Fact]
    public void The_embedding_regularizer_sees_only_the_touched_rows_of_a_lazy_table()
    {
        var table = new Parameter("t", new Shape(3, 2), ParameterKind.Embedding);
        table.CopyFrom([1f, 2f, 3f, 4f, 5f, 6f]);
        table.EnableRowSparseGrad();
        table.ZeroGrad();
        table.GradLive = true;
        table.Touched!.Touch(table.GradSpan, 2)[0] = 0.5f;
        var penalty = Regularizer.ApplyL2([table], 0.1);
        Assert.Equal(0.1 / 2 * (25 + 36), penalty, 1e-6);
        Assert.Equal([0.5f + 0.5f, 0.6f], table.GradSpan[4..].ToArray());
        Assert.Equal(1, table.TouchedRowList.Length);
        Assert.Equal(Math.Sqrt((1.0 * 1) + (0.6 * 0.6)), GradClip.ClipGradNorm([table], 100), 1e-6);
    }
}
