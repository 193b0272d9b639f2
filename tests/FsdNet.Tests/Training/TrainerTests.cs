using System.Globalization;
using FsdNet.Data;
using FsdNet.Layers;
using FsdNet.Models;
using FsdNet.Serving;
using FsdNet.Tensors;
using FsdNet.Tests.Data;
using FsdNet.Training;
using Xunit;

namespace FsdNet.Tests.Training;

/// <summary>The FuxiCTR-style trainer on a small synthetic data set the test writes.</summary>
public sealed class TrainerTests : IDisposable
{
    private readonly TempDir tmp = new();

    public void Dispose() => tmp.Dispose();

    /// <summary>Clicks depend on an interaction of fields a and b (and weakly on c); 3 splits.</summary>
    private PreparedData MakeData(int trainRows = 3000, bool singleClassValid = false)
    {
        var rng = new Rng(42);
        tmp.CsvSplits("label,a,b,c", (split, _) =>
        {
            int a = rng.NextInt(12), b = rng.NextInt(9), c = rng.NextInt(5);
            var p = ((a + b) % 3 == 0 ? 0.85 : 0.1) + (c == 0 ? 0.05 : 0);
            var label = rng.NextDouble() < p ? 1 : 0;
            return string.Create(CultureInfo.InvariantCulture, $"{(singleClassValid && split == "valid" ? 0 : label)},a{a},b{b},c{c}");
        }, trainRows, 800, 800);
        return Helpers.PrepareYaml(tmp, """
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
    }

    private static ModelConfig Config(string extra = "") => ModelConfig.Parse($$"""
        Base:
            model: FSDNet
            embedding_dim: 8
            parallel_dnn_hidden_units: [32, 32]
            num_cross_layers: 2
            batch_norm: True
            net_dropout: 0.1
            batch_size: 256
            learning_rate: 1.e-2
            embedding_regularizer: 1.e-4
            choice: 2
            loss_coefficient: 0.9
            Temp: 1.3
            fea_coefficient: 0.01
            seed: 7
            epochs: 6
            early_stop_patience: 10
            monitor: {'AUC': 1, 'logloss': -1}
        exp:
            {{extra}}
        """, "test", "exp");

    private static ModelConfig Set(ModelConfig cfg, params (string Key, string Value)[] values) =>
        cfg.With(values.ToDictionary(v => v.Key, v => v.Value));

    private static (Trainer Trainer, CtrModel Model) Build(PreparedData data, ModelConfig cfg)
    {
        var options = TrainerOptions.From(cfg);
        var model = ModelRegistry.Create(ModelInputs.Schema(data.FeatureMap, cfg), cfg, new Rng((ulong)options.Seed));
        return (new Trainer(model, options), model);
    }

    [Fact]
    public void Fsdnet_learns_the_interaction_and_restores_the_best_epoch()
    {
        using var data = MakeData();
        var (trainer, _) = Build(data, Config());
        var result = trainer.Fit(data.Train, data.Valid!);
        Assert.Equal(6, result.History.Count);
        var test = trainer.Evaluate(data.Test!);
        Assert.True(test["AUC"] > 0.85, $"test AUC {test["AUC"]}");
        // The weights in place at the end are the best epoch's: validating again gives the best monitor value.
        var valid = trainer.Evaluate(data.Valid!, ["AUC", "logloss"]);
        Assert.Equal(result.BestMonitor, valid["AUC"] - valid["logloss"], 1e-9);
        Assert.Equal(result.History.Max(h => h.Monitor), result.BestMonitor, 1e-12);
    }

    [Fact]
    public void A_resumed_run_ends_with_the_same_parameters_as_an_uninterrupted_one()
    {
        using var data = MakeData(1500);
        var full = Build(data, Config());
        full.Trainer.Fit(data.Train, data.Valid!);

        var ckpt = tmp.Sub("ckpt.fsdc");
        var first = Build(data, Config().With(new Dictionary<string, string> { ["epochs"] = "3" }));
        first.Trainer.Fit(data.Train, data.Valid!, ckpt);   // "killed" after epoch 3: only the checkpoint survives
        var resumed = Build(data, Config());                 // a fresh process: new model, new optimizer
        var result = resumed.Trainer.Fit(data.Train, data.Valid!, ckpt, resume: true);

        Assert.Equal(6, result.History.Count);
        var a = full.Model.State().ToList();
        var b = resumed.Model.State().ToList();
        for (var i = 0; i < a.Count; i++)
        {
            Assert.True(a[i].Value.Span.SequenceEqual(b[i].Value.Span), $"{a[i].Name} differs after resume");
        }
    }

    /// <summary>
    /// checkpoint_every_steps: a run killed inside an epoch (here between two checkpoints, so the steps since the last
    /// one are lost and redone) and resumed by a fresh trainer ends bit-identical to an uninterrupted run: the same
    /// rows next (shuffled order), the same dropout draws, the same optimizer state, the same pending train loss; with
    /// validation inside epochs too (eval_steps), and with lazy embedding updates.
    /// </summary>
    [Theory]
    [InlineData(null, false)]
    [InlineData(4, false)]
    [InlineData(null, true)]
    public void A_run_killed_mid_epoch_resumes_bit_identical(int? evalSteps, bool lazyEmbeddingUpdates)
    {
        using var data = MakeData(1500);
        var cfg = Config(evalSteps is { } e ? $"eval_steps: {e}" : "").With(new Dictionary<string, string>
        {
            ["epochs"] = "3",
            ["lazy_embedding_updates"] = lazyEmbeddingUpdates ? "true" : "false",
        });
        var full = Build(data, cfg);
        var fullResult = full.Trainer.Fit(data.Train, data.Valid!);

        var ckpt = tmp.Sub($"mid-{evalSteps}.fsdc");
        var every = Set(cfg, ("checkpoint_every_steps", "2"));
        var killed = Build(data, every);
        var killer = new Killer(epoch: 1, step: 5);
        var k = new Trainer(killed.Model, TrainerOptions.From(every), killer);
        Assert.Throws<OperationCanceledException>(() => k.Fit(data.Train, data.Valid!, ckpt));

        var messages = new List<string>();
        var resumed = Build(data, every);
        var r = new Trainer(resumed.Model, TrainerOptions.From(every), new Messages(messages));
        var result = r.Fit(data.Train, data.Valid!, ckpt, resume: true);

        Assert.Contains(messages, m => m.Contains("in epoch 2 after step 4 of 6", StringComparison.Ordinal));
        var a = full.Model.State().ToList();
        var b = resumed.Model.State().ToList();
        for (var i = 0; i < a.Count; i++)
        {
            Assert.True(a[i].Value.Span.SequenceEqual(b[i].Value.Span), $"{a[i].Name} differs after a mid-epoch resume");
        }
        Assert.Equal(fullResult.History.Select(h => (h.Epoch, h.Step, h.TrainLoss, h.Monitor)), result.History.Select(h => (h.Epoch, h.Step, h.TrainLoss, h.Monitor)));
    }

    /// <summary>
    /// A cancellation token stops the run after the current step with a checkpoint of that step (no
    /// checkpoint_every_steps needed), and a resumed run ends bit-identical to one never stopped.
    /// </summary>
    [Fact]
    public void A_cancelled_run_checkpoints_its_step_and_resumes_bit_identical()
    {
        using var data = MakeData(1500);
        var cfg = Set(Config(), ("epochs", "3"));
        var full = Build(data, cfg);
        full.Trainer.Fit(data.Train, data.Valid!);

        var ckpt = tmp.Sub("cancelled.fsdc");
        using var cts = new CancellationTokenSource();
        var messages = new List<string>();
        var stopped = Build(data, cfg);
        var t = new Trainer(stopped.Model, TrainerOptions.From(cfg), new CancelAt(cts, epoch: 1, step: 3, messages));
        Assert.Throws<OperationCanceledException>(() => t.Fit(data.Train, data.Valid!, ckpt, cancellationToken: cts.Token));
        Assert.Contains(messages, m => m.Contains("Cancelled in epoch 2 after step 3 of 6; checkpoint written", StringComparison.Ordinal));

        var resumedMessages = new List<string>();
        var resumed = Build(data, cfg);
        new Trainer(resumed.Model, TrainerOptions.From(cfg), new Messages(resumedMessages)).Fit(data.Train, data.Valid!, ckpt, resume: true);
        Assert.Contains(resumedMessages, m => m.Contains("in epoch 2 after step 3 of 6", StringComparison.Ordinal));
        foreach (var ((name, a), (_, b)) in full.Model.State().Zip(resumed.Model.State()))
        {
            Assert.True(a.Span.SequenceEqual(b.Span), $"{name} differs after a cancel and resume");
        }
    }

    private sealed class CancelAt(CancellationTokenSource cts, int epoch, long step, List<string> messages) : ITrainingObserver
    {
        public void OnStep(int e, long s, long stepsPerEpoch, double runningLoss, double samplesPerSecond)
        {
            if (e == epoch && s == step)
            {
                cts.Cancel();
            }
        }

        public void OnMessage(string message) => messages.Add(message);
    }

    /// <summary>Stops a run (as kill -9 would, without unwinding anything the trainer could save) at one step.</summary>
    private sealed class Killer(int epoch, long step) : ITrainingObserver
    {
        public void OnStep(int e, long s, long stepsPerEpoch, double runningLoss, double samplesPerSecond)
        {
            if (e == epoch && s == step)
            {
                throw new OperationCanceledException("killed");
            }
        }
    }

    /// <summary>Validation and test passes report their progress after every batch, ending at the split's row count.</summary>
    [Fact]
    public void Scoring_passes_report_progress_per_batch()
    {
        using var data = MakeData(600);
        var cfg = Set(Config(), ("epochs", "1"));
        var seen = new List<(string Split, long Done, long Total)>();
        var model = ModelRegistry.Create(ModelInputs.Schema(data.FeatureMap, cfg), cfg, new Rng(7));
        var trainer = new Trainer(model, TrainerOptions.From(cfg), new ScoringRecorder(seen));
        trainer.Fit(data.Train, data.Valid!);
        trainer.Evaluate(data.Test!, split: "test");
        Assert.Equal([256L, 512, 768, 800, 256, 512, 768, 800], seen.Select(s => s.Done));
        Assert.Equal(["valid", "valid", "valid", "valid", "test", "test", "test", "test"], seen.Select(s => s.Split));
        Assert.All(seen, s => Assert.Equal(800, s.Total));
    }

    private sealed class ScoringRecorder(List<(string, long, long)> into) : ITrainingObserver
    {
        public void OnScoring(string split, long rowsDone, long totalRows, double rowsPerSecond)
        {
            Assert.True(rowsPerSecond > 0);
            into.Add((split, rowsDone, totalRows));
        }
    }

    [Fact]
    public void Plateau_monitor_decays_the_learning_rate_on_every_miss_and_stops_after_patience()
    {
        var o = new TrainerOptions { MonitorMode = "max", EarlyStopPatience = 2 };
        var m = new PlateauMonitor(o);
        var lr = 1e-3;
        Assert.True(m.Observe(0.90));
        Assert.False(m.Observe(0.90 + 5e-7));    // within min_delta: not an improvement
        lr = m.NextLearningRate(lr, false);
        Assert.Equal(1e-4, lr, 1e-15);
        Assert.True(m.Observe(0.91));             // improvement resets the count; lr is not restored
        Assert.Equal(1e-4, m.NextLearningRate(lr, true), 1e-15);
        Assert.False(m.Observe(0.905));
        Assert.False(m.ShouldStop);
        Assert.False(m.Observe(0.909));
        Assert.True(m.ShouldStop);
        Assert.Equal(1e-6, m.NextLearningRate(1.5e-6, false), 1e-15);   // floor

        var min = new PlateauMonitor(new TrainerOptions { MonitorMode = "min" });
        Assert.True(min.Observe(0.5));
        Assert.True(min.Observe(0.4));
        Assert.False(min.Observe(0.45));
        Assert.Equal(0.4 - 0.1, min.Value(new Dictionary<string, double> { ["AUC"] = 0.4, ["logloss"] = 0.1 }) - 0.1, 1e-12);
    }

    [Fact]
    public void Early_stopping_ends_training_and_keeps_the_best_weights()
    {
        using var data = MakeData(1500);
        // A huge learning rate makes validation get worse quickly.
        var cfg = Config().With(new Dictionary<string, string> { ["early_stop_patience"] = "1", ["epochs"] = "30", ["learning_rate"] = "0.05" });
        var (trainer, _) = Build(data, cfg);
        var result = trainer.Fit(data.Train, data.Valid!);
        Assert.True(result.EarlyStopped);
        Assert.True(result.History.Count < 30);
        Assert.False(result.History[^1].Improved);
        Assert.True(result.History[^1].LearningRate < 0.05);
    }

    [Fact]
    public void Saved_model_reloads_and_predicts_identically_and_damage_is_detected()
    {
        using var data = MakeData(1000);
        var cfg = Config().With(new Dictionary<string, string> { ["epochs"] = "2" });
        var (trainer, model) = Build(data, cfg);
        trainer.Fit(data.Train, data.Valid!);
        var run = tmp.Sub("run");
        ModelBundle.Save(run, model, data.FeatureMap, cfg);
        var bundle = ModelBundle.Load(run);
        var before = trainer.Predict(data.Test!).Predictions;
        var after = Predictor.PredictAll(bundle.Model, new FsdNet.Autodiff.Graph(), data.Test!, 100).Predictions;
        Assert.Equal(before, after);

        var file = Path.Combine(run, ModelBundle.ModelFile);
        var bytes = File.ReadAllBytes(file);
        File.WriteAllBytes(file, bytes[..(bytes.Length / 2)]);
        var ex = Assert.Throws<ModelFileException>(() => ModelBundle.Load(run));
        Assert.Contains(file, ex.Message);
        Assert.Contains("truncated or corrupt", ex.Message);
        bytes[100] ^= 1;
        File.WriteAllBytes(file, bytes);
        Assert.Contains("checksum", Assert.Throws<ModelFileException>(() => ModelBundle.Load(run)).Message);
        File.WriteAllText(file, "not a model");
        Assert.Contains("not an FsdNet model", Assert.Throws<ModelFileException>(() => ModelBundle.Load(run)).Message);
    }

    [Fact]
    public void A_checkpoint_from_another_seed_is_refused()
    {
        using var data = MakeData(600);
        var ckpt = tmp.Sub("seed.fsdc");
        Build(data, Config().With(new Dictionary<string, string> { ["epochs"] = "1" })).Trainer.Fit(data.Train, data.Valid!, ckpt);
        var other = Build(data, Config().With(new Dictionary<string, string> { ["seed"] = "8" }));
        var ex = Assert.Throws<ModelFileException>(() => other.Trainer.Fit(data.Train, data.Valid!, ckpt, resume: true));
        Assert.Contains("seed 7", ex.Message);
    }

    [Fact]
    public void A_resumed_sgd_run_with_momentum_ends_like_an_uninterrupted_one()
    {
        using var data = MakeData(1200);
        var cfg = Set(Config(), ("optimizer", "SGD"), ("optimizer_params", "{momentum: 0.9, nesterov: true}"), ("learning_rate", "0.05"), ("epochs", "4"));
        var full = Build(data, cfg);
        full.Trainer.Fit(data.Train, data.Valid!);
        Assert.Equal("SGD", full.Trainer.Optimizer.Name);

        var ckpt = tmp.Sub("sgd.fsdc");
        Build(data, Set(cfg, ("epochs", "2"))).Trainer.Fit(data.Train, data.Valid!, ckpt);
        var resumed = Build(data, cfg);
        var result = resumed.Trainer.Fit(data.Train, data.Valid!, ckpt, resume: true);
        Assert.Equal(4, result.History.Count);
        var a = full.Model.State().ToList();
        var b = resumed.Model.State().ToList();
        for (var i = 0; i < a.Count; i++)
        {
            Assert.True(a[i].Value.Span.SequenceEqual(b[i].Value.Span), $"{a[i].Name} differs after resume");
        }
        // Resuming with another optimizer is refused, naming both.
        var adam = Build(data, Set(Config(), ("epochs", "4")));
        var ex = Assert.Throws<ModelFileException>(() => adam.Trainer.Fit(data.Train, data.Valid!, ckpt, resume: true));
        Assert.Contains("saved with optimizer SGD, this run uses Adam", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_x_epochs_validates_every_n_epochs_or_a_fraction_of_each()
    {
        using var data = MakeData(1200);   // 1200 rows / 256 = 5 steps per epoch
        var (every2, _) = Build(data, Set(Config(), ("every_x_epochs", "2"), ("epochs", "5")));
        var r = every2.Fit(data.Train, data.Valid!);
        Assert.Equal([2, 4, 5], r.History.Select(h => h.Epoch));          // every 2nd epoch and the last
        Assert.Equal([10L, 20L, 25L], r.History.Select(h => h.Step));

        var (half, _) = Build(data, Set(Config(), ("every_x_epochs", "0.5"), ("epochs", "2")));
        r = half.Fit(data.Train, data.Valid!);
        Assert.Equal([3L, 5L, 8L, 10L], r.History.Select(h => h.Step));   // ceil(0.5 * 5) = 3 steps in, and each epoch's end

        // FuxiCTR 1.x counts patience in epochs: with x = 0.5, patience 2 allows 4 validations without improvement.
        var m = new PlateauMonitor(new TrainerOptions { EarlyStopPatience = 2, EveryXEpochs = 0.5 });
        m.Observe(1);
        for (var i = 0; i < 3; i++)
        {
            m.Observe(0.5);
            Assert.False(m.ShouldStop);
        }
        m.Observe(0.5);
        Assert.True(m.ShouldStop);
    }

    [Fact]
    public void Save_best_only_false_keeps_the_last_validations_weights()
    {
        using var data = MakeData(1200);
        var (trainer, _) = Build(data, Set(Config(), ("save_best_only", "False"), ("early_stop_patience", "1"), ("epochs", "30"), ("learning_rate", "0.05")));
        var result = trainer.Fit(data.Train, data.Valid!);
        var valid = trainer.Evaluate(data.Valid!, ["AUC", "logloss"]);
        Assert.Equal(result.History[^1].Monitor, valid["AUC"] - valid["logloss"], 1e-9);
        Assert.Contains(result.History, h => h.Monitor > result.History[^1].Monitor);   // the last was not the best
    }

    [Fact]
    public void A_single_class_validation_split_warns_once_or_is_refused_when_only_auc_is_monitored()
    {
        using var data = MakeData(1200, singleClassValid: true);
        var messages = new List<string>();
        var cfg = Set(Config(), ("epochs", "3"));   // monitor {AUC: 1, logloss: -1}
        var options = TrainerOptions.From(cfg);
        var model = ModelRegistry.Create(ModelInputs.Schema(data.FeatureMap, cfg), cfg, new Rng(7));
        var result = new Trainer(model, options, new Messages(messages)).Fit(data.Train, data.Valid!);
        Assert.Single(messages, m => m.Contains("single class (all 800 labels are 0)", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.Contains("the monitor follows logloss only", StringComparison.Ordinal));
        Assert.All(result.History, h => Assert.True(double.IsNaN(h.Valid["AUC"])));
        Assert.All(result.History, h => Assert.Equal(-h.Valid["logloss"], h.Monitor, 1e-12));   // not NaN, not a silent miss

        var aucOnly = Set(Config(), ("monitor", "AUC"));
        var (trainer, _) = Build(data, aucOnly);
        var ex = Assert.Throws<DataConfigException>(() => trainer.Fit(data.Train, data.Valid!));
        Assert.Contains("AUC is undefined there", ex.Message, StringComparison.Ordinal);
        Assert.Contains("monitor: logloss, monitor_mode: min", ex.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => new PlateauMonitor(new TrainerOptions()).Observe(double.NaN));
    }

    [Fact]
    public void L1_regularisers_add_sign_gradients_and_their_penalty()
    {
        var p = new FsdNet.Autodiff.Parameter("w", new Shape(11));
        float[] w = [1.5f, -2f, 0f, 0.25f, -0.5f, 3f, -1f, 0f, 2f, -4f, 0.5f];
        p.CopyFrom(w);
        var penalty = Regularizer.ApplyL1([p], 0.1);
        Assert.Equal(0.1 * w.Sum(Math.Abs), penalty, 1e-9);
        Assert.Equal(w.Select(x => x > 0 ? 0.1f : x < 0 ? -0.1f : 0f), p.GradSpan.ToArray());
        Assert.Equal(0.05, Regularizer.ApplyL1([p], 0.05) / w.Sum(Math.Abs), 1e-9);
        Assert.Equal(w.Select(x => x > 0 ? 0.15f : x < 0 ? -0.15f : 0f), p.GradSpan.ToArray());   // adds to the gradient

        var o = TrainerOptions.From(Set(Config(), ("embedding_regularizer", "l1_l2(1.e-3, 2e-3)"), ("net_regularizer", "l1(0.5)")));
        Assert.Equal((1e-3, 2e-3, 0.5, 0.0), (o.EmbeddingRegularizerL1, o.EmbeddingRegularizer, o.NetRegularizerL1, o.NetRegularizer));
    }

    private sealed class Messages(List<string> into) : ITrainingObserver
    {
        public void OnMessage(string message) => into.Add(message);
    }
}
