using Xunit;
using System.Globalization;
using System.Text.RegularExpressions;
using FsdNet.Tests.Data;
using FsdNet.Tests.Support;

namespace FsdNet.Tests.Distributed;

/// <summary>
/// The distributed path under a real Open MPI job (mpirun, shared memory): the binding's collectives, data-parallel
/// training against one process, a two-rank <c>fsdnet train</c>, and a rank that dies. Each runs in processes of its
/// own (tests/FsdNet.MpiRank or the CLI), so they need no collection; they are skipped without Open MPI.
/// </summary>
public sealed partial class MpiTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(4);

    [MpiFact]
    public async Task Every_collective_matches_what_each_rank_computes_for_all_ranks_on_2_and_3_ranks()
    {
        foreach (var ranks in new[] { 2, 3 })
        {
            var (code, output, err) = await OpenMpiRunner.RunAsync(ranks, [OpenMpiRunner.RankDll, "collectives"], Limit);
            Assert.True(code == 0, $"{ranks} ranks: exit {code}\n{output}\n{err}");
            for (var r = 0; r < ranks; r++)
            {
                Assert.Contains($"ok collectives rank {r} of {ranks} (Open MPI", output, StringComparison.Ordinal);
            }
            Assert.DoesNotContain("FAIL", output, StringComparison.Ordinal);
        }
    }

    [MpiFact("frappe")]
    public async Task Twenty_steps_on_two_ranks_match_one_process_with_dropout_masks_of_the_global_rows()
    {
        // SGD and no BatchNorm keep the comparison well-conditioned (see the BatchNorm test below): what is left is the
        // order of float sums, so every loss and parameter agrees to about 1e-7. Dropout 0.7 is on: a rank that drew
        // its own masks instead of those of its rows' global positions would be off by far more.
        // Both table layouts: replicated, and every table row-sharded over the two ranks.
        using var cache = new TempDir();
        foreach (var layout in new[] { "replicate", "row" })
        {
            var (code, output, err) = await OpenMpiRunner.RunAsync(
                2, [OpenMpiRunner.RankDll, "parity", SharedData.Root, cache.Path, "20", "optimizer=sgd", "batch_norm=False", "embedding_sharding=" + layout], Limit);
            Assert.True(code == 0, $"{layout}: exit {code}\n{output}\n{err}");
            var m = ParityLine().Match(output);
            Assert.True(m.Success, output);
            var lossDiff = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            var paramDiff = double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
            Assert.True(lossDiff < 2e-6, $"{layout}: loss differs by {lossDiff} after 20 steps\n{output}");
            Assert.True(paramDiff < 2e-6, $"{layout}: a parameter differs by {paramDiff} after 20 steps\n{output}");
        }
    }

    [MpiFact("frappe")]
    public async Task Lazy_embedding_updates_on_two_ranks_move_the_rows_one_process_moves()
    {
        // lazy_embedding_updates over 2 ranks (every table row-sharded, each owner moving the rows any rank looked up)
        // against one process with lazy updates: SGD, no BatchNorm, as the parity test. A strong embedding penalty
        // (100, at the preset's lr 0.001) shrinks every row a dense step moves by 10% a step, so the same run against
        // one process with dense updates must be far off: the comparison can tell lazy from dense (measured: 5.7e-7
        // against lazy, 2.4e-4 against dense).
        using var cache = new TempDir();
        string[] sets = ["optimizer=sgd", "batch_norm=False", "lazy_embedding_updates=True", "embedding_regularizer=100"];
        async Task<double> MaxParamDiff(params string[] extra)
        {
            var (code, output, err) = await OpenMpiRunner.RunAsync(2, [OpenMpiRunner.RankDll, "parity", SharedData.Root, cache.Path, "20", .. sets, .. extra], Limit);
            Assert.True(code == 0, $"exit {code}\n{output}\n{err}");
            var m = ParityLine().Match(output);
            Assert.True(m.Success, output);
            Assert.True(extra.Length > 0 || double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) < 2e-6, output);
            return double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
        }
        var lazy = await MaxParamDiff();
        Assert.True(lazy < 2e-6, $"2 ranks with lazy updates are {lazy} from one process with lazy updates after 20 steps");
        var dense = await MaxParamDiff("ref.lazy_embedding_updates=False");
        Assert.True(dense > 1e-5, $"2 ranks with lazy updates are only {dense} from one process with dense updates: the test cannot tell them apart");
    }

    [MpiFact("frappe")]
    public async Task Row_sharded_tables_train_bitwise_as_replicated_ones_while_clipping_is_idle()
    {
        // FSDNet's Frappe preset (Adam, BatchNorm, dropout), 20 steps on two ranks, every table replicated and every
        // table row-sharded. Both sum each embedding gradient in rank order and the rest is the same code, so with the
        // gradient-norm clipping idle the parameters agree bit for bit; only the loss's penalty term is summed in
        // another order. (With clipping active the shards' squared norms are summed in another order too, and Adam
        // amplifies that last-bit difference; see docs/DISTRIBUTED.md.)
        using var cache = new TempDir();
        var (code, output, err) = await OpenMpiRunner.RunAsync(
            2, [OpenMpiRunner.RankDll, "sharding", SharedData.Root, cache.Path, "20", "max_gradient_norm=1e9"], Limit);
        Assert.True(code == 0, $"exit {code}\n{output}\n{err}");
        var m = ShardingLine().Match(output);
        Assert.True(m.Success, output);
        Assert.Equal(m.Groups[4].Value, m.Groups[3].Value);   // every parameter bitwise equal
        Assert.True(double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture) < 1e-6, output);
        Assert.True(int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) == 10, $"Frappe's 10 tables should all be sharded\n{output}");
        // The tables left the all-reduce: the step's bytes are the dense part plus the exchange, less than replicated.
        Assert.True(long.Parse(m.Groups[6].Value, CultureInfo.InvariantCulture) < long.Parse(m.Groups[5].Value, CultureInfo.InvariantCulture), output);
    }

    [MpiFact("frappe")]
    public async Task Gradients_summed_in_buckets_during_backward_train_bitwise_as_one_sum_after_it_on_two_and_three_ranks()
    {
        // FSDNet's Frappe preset (Adam, synchronised BatchNorm whose blocking collectives run between the buckets'),
        // gradient_bucket_mb 0 (one ordered sum after backward), 0.05 (16 buckets, each gathered whole) and 1 (3 buckets,
        // summed by parts): every parameter bit for bit the same, and buckets left before the pass ended.
        using var cache = new TempDir();
        foreach (var (ranks, steps) in new[] { (2, 12), (3, 6) })
        {
            var (code, output, err) = await OpenMpiRunner.RunAsync(
                ranks, [OpenMpiRunner.RankDll, "buckets", SharedData.Root, cache.Path, steps.ToString(CultureInfo.InvariantCulture)], Limit);
            Assert.True(code == 0, $"{ranks} ranks: exit {code}\n{output}\n{err}");
            var lines = BucketsLine().Matches(output);
            Assert.True(lines.Count == 3 * ranks, $"{ranks} ranks: expected {3 * ranks} result lines\n{output}\n{err}");
            foreach (Match m in lines)
            {
                var (mb, count, early, relearnt) = (m.Groups[2].Value, int.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture),
                    long.Parse(m.Groups[4].Value, CultureInfo.InvariantCulture), m.Groups[5].Value);
                Assert.True(m.Groups[6].Value == m.Groups[7].Value, $"{ranks} ranks, gradient_bucket_mb {mb}: not every parameter bitwise as with one sum\n{output}");
                Assert.True(relearnt == "0", $"the schedule was learnt again\n{output}");
                if (mb == "0")
                {
                    Assert.True(count == 0 && early == 0, output);
                    continue;
                }
                Assert.True(count >= (mb == "1" ? 2 : 10), $"gradient_bucket_mb {mb}: {count} buckets\n{output}");
                Assert.True(early >= steps - 1, $"gradient_bucket_mb {mb}: {early} buckets left during backward in {steps} steps\n{output}");
            }
        }
    }

    [MpiFact("frappe")]
    public async Task Synchronised_batchnorm_gives_one_process_gradients_within_the_noise_of_summation_order()
    {
        // FSDNet's Frappe preset (BatchNorm in every MLP layer, dropout off so the halves-swapped run draws the same
        // masks): one step's gradients over two ranks against one process, each parameter within 4x what merely
        // swapping the batch's halves in one process changes. BatchNorm with per-rank statistics misses by far more.
        using var cache = new TempDir();
        var (code, output, err) = await OpenMpiRunner.RunAsync(2, [OpenMpiRunner.RankDll, "grads", SharedData.Root, cache.Path, "net_dropout=0"], Limit);
        Assert.True(code == 0, $"exit {code}\n{output}\n{err}");
        var m = GradsLine().Match(output);
        Assert.True(m.Success, output);
        Assert.True(double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) <= 1, $"a gradient is off by more than the noise floor\n{output}");
    }

    [MpiFact("frappe")]
    public async Task Fsdnet_train_on_two_ranks_writes_one_run_and_ends_where_one_process_does()
    {
        using var tmp = new TempDir();
        string[] train = ["train", "--dataset", "frappe", "--data-root", SharedData.Root, "--cache-dir", Path.Combine(tmp.Path, "cache"), "--epochs", "1", "--progress", "plain"];
        var two = Path.Combine(tmp.Path, "two");
        var (code, output, err) = await OpenMpiRunner.RunAsync(2, [CliRunner.CliDll, .. train, "--run-dir", two], Limit);
        Assert.True(code == 0, $"exit {code}\n{output}\n{err}");
        Assert.Contains("x 2 ranks (Open MPI", output, StringComparison.Ordinal);
        Assert.Contains($"on 1 host ({Environment.MachineName}: ranks 0-1)", output, StringComparison.Ordinal);
        Assert.Single(TestAucLine().Matches(output));   // rank 0 alone reports
        foreach (var file in new[] { "config.yaml", "model.fsdm", "test_metrics.json" })
        {
            Assert.True(File.Exists(Path.Combine(two, file)), $"{file} missing in the run directory");
        }
        var one = Path.Combine(tmp.Path, "one");
        var (code1, output1, err1) = await CliRunner.RunProcessAsync("dotnet", [CliRunner.CliDll, .. train, "--run-dir", one], timeout: Limit);
        Assert.True(code1 == 0, $"exit {code1}\n{output1}\n{err1}");
        var auc2 = double.Parse(TestAucLine().Match(output).Groups[1].Value, CultureInfo.InvariantCulture);
        var auc1 = double.Parse(TestAucLine().Match(output1).Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.True(Math.Abs(auc2 - auc1) < 1e-3, $"one epoch: test AUC {auc2} on two ranks, {auc1} in one process");
    }

    [MpiFact("frappe")]
    public async Task A_row_sharded_fsdnet_train_saves_whole_tables_that_score_the_test_split_as_the_run_reported()
    {
        // Every table row-sharded: the test split is scored in lockstep on the shards, then the tables come whole to
        // rank 0 alone, which saves the model. `fsdnet evaluate` on that model (one process) must give the same numbers.
        using var tmp = new TempDir();
        var dir = Path.Combine(tmp.Path, "run");
        var (code, output, err) = await OpenMpiRunner.RunAsync(2, [CliRunner.CliDll, "train", "--dataset", "frappe", "--data-root", SharedData.Root,
            "--cache-dir", Path.Combine(tmp.Path, "cache"), "--epochs", "1", "--progress", "plain", "--run-dir", dir, "--set", "embedding_sharding=row"], Limit);
        Assert.True(code == 0, $"exit {code}\n{output}\n{err}");
        Assert.Contains("10 table(s) row-sharded over 2 ranks", output, StringComparison.Ordinal);
        var reported = TestAucLine().Match(output);
        Assert.True(reported.Success, output);
        var (code1, output1, err1) = await CliRunner.RunProcessAsync("dotnet",
            [CliRunner.CliDll, "evaluate", "--model", dir, "--data", Path.Combine(SharedData.Root, "frappe", "frappe.test.libfm.gz")], timeout: Limit);
        Assert.True(code1 == 0, $"evaluate: exit {code1}\n{output1}\n{err1}");
        Assert.Contains($"AUC {reported.Groups[1].Value} logloss {reported.Groups[2].Value}", output1, StringComparison.Ordinal);
    }

    [MpiFact("frappe")]
    public async Task A_run_killed_on_two_ranks_resumes_on_one_two_or_three_ranks_to_the_uninterrupted_parameters()
    {
        await KilledAndResumed("replicate");
    }

    [MpiFact("frappe")]
    public async Task A_row_sharded_run_killed_on_two_ranks_resumes_on_one_two_or_three_ranks_from_its_shard_files()
    {
        // Each rank writes its rows of the tables (with their optimizer state) to a shard file that the checkpoint
        // names; a resume re-partitions them: on 3 ranks by id mod 3, in one process into whole tables.
        await KilledAndResumed("row");
    }

    private static async Task KilledAndResumed(string layout)
    {
        // One epoch (21 steps) with a checkpoint every 5: the 2-rank job dies at step 13, so every resume replays
        // steps 11..21 from the step-10 checkpoint. On 2 ranks again the end is bitwise that of the uninterrupted
        // 2-rank run; on 1 or 3 ranks (the rows re-partitioned) it differs only in the order of float sums, as in the
        // parity test (SGD, no BatchNorm keep that difference near 1e-7).
        using var tmp = new TempDir();
        var cache = Path.Combine(tmp.Path, "cache");
        string[] sets = ["optimizer=sgd", "batch_norm=False", "epochs=1", "embedding_sharding=" + layout];
        async Task<float[]> Run(int ranks, string checkpoint, int killStep, string name)
        {
            var output = Path.Combine(tmp.Path, name + ".bin");
            var (code, stdout, err) = await OpenMpiRunner.RunAsync(
                ranks, [OpenMpiRunner.RankDll, "resume", SharedData.Root, cache, checkpoint, killStep.ToString(CultureInfo.InvariantCulture), output, .. sets], Limit);
            Assert.True(code == 0, $"{name}: exit {code}\n{stdout}\n{err}");
            Assert.DoesNotContain("FAIL", stdout, StringComparison.Ordinal);
            if (name.StartsWith("resumed", StringComparison.Ordinal))
            {
                Assert.Contains("in epoch 1 after step 10 of 21", stdout, StringComparison.Ordinal);
            }
            return killStep > 0 ? [] : System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(output)).ToArray();
        }
        var whole2 = await Run(2, Path.Combine(tmp.Path, "whole2.fsdc"), 0, "whole2");
        var whole1 = await Run(1, Path.Combine(tmp.Path, "whole1.fsdc"), 0, "whole1");
        var killed = Path.Combine(tmp.Path, "killed.fsdc");
        await Run(2, killed, 13, "killed");
        Assert.True(File.Exists(killed), "no checkpoint was written before the kill");
        var shards = Directory.GetFiles(tmp.Path).Select(Path.GetFileName).Where(f => f!.StartsWith("killed.fsdc.", StringComparison.Ordinal)).Order().ToArray();
        Assert.Equal(layout == "row" ? ["killed.fsdc.10.rank0of2", "killed.fsdc.10.rank1of2"] : [], shards);   // the step-5 shards were replaced
        foreach (var ranks in new[] { 2, 1, 3 })
        {
            var copy = Path.Combine(tmp.Path, $"resume{ranks}.fsdc");
            File.Copy(killed, copy);
            var resumed = await Run(ranks, copy, 0, $"resumed{ranks}");
            Assert.Equal(whole2.Length, resumed.Length);
            if (ranks == 2)
            {
                Assert.True(whole2.AsSpan().SequenceEqual(resumed), "2 ranks resumed on 2 ranks differ from the uninterrupted 2-rank run");
                continue;
            }
            var worst = 0.0;
            for (var i = 0; i < whole1.Length; i++)
            {
                worst = Math.Max(worst, Math.Abs(resumed[i] - whole1[i]));
            }
            Assert.True(worst < 2e-6, $"resumed on {ranks} ranks: a parameter is {worst} from the uninterrupted one-process run");
        }
        if (layout == "row")
        {
            // A shard file that lacks a tensor the others hold (a mixed-up copy) would leave that tensor's rows zero:
            // the resume must refuse it by name instead.
            var shard = Path.Combine(tmp.Path, shards[1]!);
            var (meta, tensors) = FsdNet.Serving.TensorFile.Read(shard);
            FsdNet.Serving.TensorFile.Write(shard, meta, tensors.Take(tensors.Count - 1));
            var damaged = Path.Combine(tmp.Path, "damaged.fsdc");
            File.Copy(killed, damaged);
            var (code, stdout, err) = await OpenMpiRunner.RunAsync(
                1, [OpenMpiRunner.RankDll, "resume", SharedData.Root, cache, damaged, "0", Path.Combine(tmp.Path, "damaged.bin"), .. sets], Limit);
            Assert.True(code != 0, $"a damaged shard file was accepted\n{stdout}\n{err}");
            Assert.Contains($"{shards[1]}: its tensors differ from those of", stdout + err, StringComparison.Ordinal);
            Assert.Contains($"(tensor '{tensors[^1].Name}')", stdout + err, StringComparison.Ordinal);
        }
    }

    [MpiFact("frappe")]
    public async Task A_rank_that_dies_ends_the_whole_job_with_a_message_instead_of_hanging()
    {
        // An error exit (the process ends MPI with MPI_Abort, not MPI_Finalize, which would wait for its peers) and a
        // kill -9 (mpirun sees the process vanish). Open MPI's message varies with timing: its MPI_ABORT banner, its
        // "exited on signal" notice, or rank 0's MPI_ERRORS_ARE_FATAL report when the peer vanished mid-collective; under
        // load its help system can fail to print the banner, which it reports as an ORTE_ERROR_LOG line instead.
        foreach (var how in new[] { "exit", "kill" })
        {
            using var cache = new TempDir();
            var (code, output, err) = await OpenMpiRunner.RunAsync(
                2, [OpenMpiRunner.RankDll, "exit-after", "2", SharedData.Root, cache.Path, how], TimeSpan.FromMinutes(2));
            Assert.True(code != 0, $"{how}: exit 0\n{output}\n{err}");
            Assert.Contains("rank 1 leaves", output, StringComparison.Ordinal);
            Assert.DoesNotContain("the job went on", output, StringComparison.Ordinal);
            Assert.True(Regex.IsMatch(output + err, "(?i)mpi_abort|exited|non-zero|signal|errors_are_fatal|abort|orte_error_log"), $"{how}: exit {code} without Open MPI's message\n{output}\n{err}");
        }
    }

    [GeneratedRegex(@"ok parity ranks 2 steps 20 threads \d+ max_loss_diff (\S+) max_param_diff (\S+)")]
    private static partial Regex ParityLine();

    [GeneratedRegex(@"ok sharding rank 0 of 2 steps 20 tables (\d+) max_loss_diff (\S+) max_param_diff \S+ bitwise (\d+) of (\d+) bytes_per_step replicated (\d+) sharded (\d+)")]
    private static partial Regex ShardingLine();

    [GeneratedRegex(@"ok buckets rank (\d+) of \d+ mb (\S+) buckets (\d+) started_during_backward (\d+) relearnt (\d+) bitwise (\d+) of (\d+)")]
    private static partial Regex BucketsLine();

    [GeneratedRegex(@"ok grads worst (\S+)")]
    private static partial Regex GradsLine();

    [GeneratedRegex(@"test AUC (\d\.\d+) logloss (\d\.\d+)")]
    private static partial Regex TestAucLine();
}
