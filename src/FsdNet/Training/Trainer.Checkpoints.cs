using System.Globalization;
using System.Text.Json;
using FsdNet.Autodiff;
using FsdNet.Distributed;
using FsdNet.Serving;
using FsdNet.Tensors;

namespace FsdNet.Training;

/// <summary>
/// Checkpoints: one file (atomic, checksummed) with the parameters, the optimizer state, the best weights and where the
/// run stands. With row-sharded tables each rank also writes its rows of those tables (with their optimizer state and
/// best weights) to a shard file, <c>&lt;checkpoint&gt;.&lt;step&gt;.rank&lt;r&gt;of&lt;R&gt;</c>, before rank 0 writes the file,
/// which names them: the file is the manifest, so a run killed between the two resumes from the previous checkpoint,
/// whose shards are deleted only once the new file is in place. A resume reads whichever layout the checkpoint has
/// and keeps the rows this rank owns now, so it works on any number of ranks, sharded or not.
/// </summary>
internal sealed partial class Trainer
{
    // The shard files the newest checkpoint names (deleted once a newer checkpoint replaces it).
    private string[] lastShardFiles = [];

    /// <summary>
    /// What a checkpoint holds besides the tensors. <see cref="Step"/> 0: written at the end of <see cref="Epoch"/>; else
    /// inside it, after that many steps, with the dropout generator's state. <see cref="Running"/> and
    /// <see cref="RunningSteps"/>: the train-loss average not yet reported (validation may come mid-epoch or later).
    /// </summary>
    private sealed record CheckpointState(
        int Epoch, double Best, int BestEpoch, int StoppingSteps, long TotalSteps, bool Stopped, IReadOnlyList<EpochRecord> History, float[][]? BestState)
    {
        public long Step { get; init; }

        public double Running { get; init; }

        public int RunningSteps { get; init; }

        public ulong[]? RandomState { get; init; }
    }

    /// <summary>Whether state entry <paramref name="i"/> / optimizer parameter <paramref name="i"/> is a shard of this rank.</summary>
    private bool ShardedState(int i) => sharded is not null && sharded.ShardedNames.ContainsKey(state[i].Name);

    private bool ShardedParameter(int i) => sharded is not null && shardParams.Contains(optimizer.Parameters[i]);

    /// <summary>The checkpoint's tensors in one file's layout: the shards' (<paramref name="shards"/>) or the rest.</summary>
    private List<(string, Tensor)> CheckpointTensors(CheckpointState s, bool shards)
    {
        var tensors = new List<(string, Tensor)>();
        for (var i = 0; i < state.Length; i++)
        {
            if (ShardedState(i) == shards)
            {
                tensors.Add(("model." + state[i].Name, state[i].Value));
            }
        }
        var prefix = optimizer.Name.ToLowerInvariant();
        foreach (var (name, values) in optimizer.State)
        {
            for (var i = 0; i < values.Length; i++)
            {
                if (ShardedParameter(i) == shards)
                {
                    tensors.Add(($"{prefix}.{name}.{i}", Wrap(values[i])));
                }
            }
        }
        if (s.BestState is not null)
        {
            for (var i = 0; i < state.Length; i++)
            {
                if (ShardedState(i) == shards)
                {
                    tensors.Add(("best." + state[i].Name, Wrap(s.BestState[i])));
                }
            }
        }
        return tensors;
    }

    private void WriteCheckpoint(string path, CheckpointState s)
    {
        string[] shardFiles = [];
        if (sharded is not null)
        {
            shardFiles = [.. Enumerable.Range(0, comm.Size).Select(r => string.Create(CultureInfo.InvariantCulture, $"{Path.GetFileName(path)}.{s.TotalSteps}.rank{r}of{comm.Size}"))];
            var shardMeta = JsonSerializer.Serialize(new Dictionary<string, object?>
            {
                ["format"] = "fsdnet-checkpoint-shard", ["model"] = model.ModelName, ["rank"] = comm.Rank, ["ranks"] = comm.Size, ["total_steps"] = s.TotalSteps,
            }, Json);
            TensorFile.Write(Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, shardFiles[comm.Rank]), shardMeta, CheckpointTensors(s, shards: true));
            comm.Barrier();   // every shard is on disk before the checkpoint names it
        }
        if (comm.IsRoot)
        {
            // Every rank holds the same replicated state; rank 0 writes it.
            var meta = JsonSerializer.Serialize(new Dictionary<string, object?>
            {
                ["format"] = "fsdnet-checkpoint",
                ["model"] = model.ModelName,
                ["epoch"] = s.Epoch,
                ["best"] = s.Best.ToString("R", CultureInfo.InvariantCulture),
                ["best_epoch"] = s.BestEpoch,
                ["stopping_steps"] = s.StoppingSteps,
                ["total_steps"] = s.TotalSteps,
                ["stopped"] = s.Stopped,
                ["lr"] = optimizer.LearningRate.ToString("R", CultureInfo.InvariantCulture),
                ["optimizer"] = optimizer.Name,
                ["optimizer_step"] = optimizer.StepCount,
                ["seed"] = options.Seed,
                ["history"] = s.History,
                ["step"] = s.Step,
                ["running_loss"] = s.Running.ToString("R", CultureInfo.InvariantCulture),
                ["running_steps"] = s.RunningSteps,
                ["random_state"] = s.RandomState?.Select(v => v.ToString(CultureInfo.InvariantCulture)).ToArray(),
                ["shard_files"] = shardFiles.Length > 0 ? shardFiles : null,
            }, Json);
            TensorFile.Write(path, meta, CheckpointTensors(s, shards: false));
        }
        if (sharded is not null)
        {
            comm.Barrier();   // the checkpoint now names the new shards
        }
        // The shards of the checkpoint just replaced: rank 0 deletes them all (a shared run directory), every rank its
        // own (a run directory on each host's disk). Only this checkpoint's: a run resumed from a copy of another
        // checkpoint leaves the shards that copy names alone.
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        foreach (var (old, r) in lastShardFiles.Select((f, r) => (f, r)))
        {
            if (!shardFiles.Contains(old) && (comm.IsRoot || r == comm.Rank) && old.StartsWith(Path.GetFileName(path) + ".", StringComparison.Ordinal))
            {
                try
                {
                    File.Delete(Path.Combine(dir, old));
                }
                catch (IOException)
                {
                    // Another rank deleted it first on a shared file system.
                }
            }
        }
        lastShardFiles = shardFiles;
    }

    private CheckpointState ReadCheckpoint(string path)
    {
        var (meta, tensors) = TensorFile.Read(path);
        var byName = tensors.ToDictionary(t => t.Name, t => t.Value, StringComparer.Ordinal);
        using var doc = JsonDocument.Parse(meta);
        var root = doc.RootElement;
        if (root.GetProperty("format").GetString() != "fsdnet-checkpoint" || root.GetProperty("model").GetString() != model.ModelName)
        {
            throw new ModelFileException($"{path}: not a checkpoint of a {model.ModelName} run.");
        }
        if (root.GetProperty("seed").GetInt32() != options.Seed)
        {
            throw new ModelFileException($"{path}: saved with seed {root.GetProperty("seed").GetInt32()}, this run uses seed {options.Seed}; resume with the same seed.");
        }
        // Where each tensor of this run lives: [rows, dim] of a table (this rank's rows of it when sharded now, rank 0
        // of 1 when whole), dim 0 for any other tensor. A sharded target is the shard itself (state and optimizer hold
        // the shards), named as its table.
        var prefix = optimizer.Name.ToLowerInvariant();
        var layouts = new Dictionary<string, TableLayout>(StringComparer.Ordinal);
        TableLayout Layout(Tensor target, bool shardedNow)
        {
            if (shardedNow)
            {
                var (r, d) = sharded!.ShardedNames[target.Name!];
                return new TableLayout(r, d, comm.Rank, comm.Size);
            }
            return target.Shape.Rank == 2 ? new TableLayout(target.Shape.D0, target.Shape.D1, 0, 1) : new TableLayout(0, 0, 0, 1);
        }
        for (var i = 0; i < state.Length; i++)
        {
            layouts["model." + state[i].Name] = layouts["best." + state[i].Name] = Layout(state[i].Value, ShardedState(i));
        }
        foreach (var (name, values) in optimizer.State)
        {
            for (var i = 0; i < values.Length; i++)
            {
                layouts[$"{prefix}.{name}.{i}"] = Layout(optimizer.Parameters[i], ShardedParameter(i));
            }
        }
        var shards = root.TryGetProperty("shard_files", out var sf) && sf.ValueKind == JsonValueKind.Array
            ? new CheckpointShards(path, [.. sf.EnumerateArray().Select(e => e.GetString()!)], model.ModelName, layouts, comm.Rank)
            : null;
        lastShardFiles = shards?.Files ?? [];

        // A tensor of this rank's layout: the whole tensor, or this rank's rows of a sharded table, from either layout.
        float[] Local(string name, Tensor target, bool shardedNow)
        {
            var (rows, dim, rank, ranks) = layouts[name];
            if (byName.TryGetValue(name, out var whole))
            {
                // Optimizer buffers are saved flat; model and best tensors with their shape.
                var flat = !name.StartsWith("model.", StringComparison.Ordinal);
                var (have, want) = shardedNow ? (whole.Length, (long)rows * dim) : (whole.Length, target.Length);
                if (have != want || (!flat && !shardedNow && whole.Shape != target.Shape) || (!flat && shardedNow && whole.Shape != new Shape(rows, dim)))
                {
                    throw new ModelFileException(
                        $"{path}: tensor '{name}' has shape {whole.Shape}, the model expects {(shardedNow ? new Shape(rows, dim) : target.Shape)}.");
                }
                if (!shardedNow)
                {
                    return whole.ToArray();
                }
                return RowShardedTables.Repartition([(whole.ToArray(), 0, 1)], rows, dim, rank, ranks);
            }
            if (shards is null || dim == 0)
            {
                throw new ModelFileException($"{path}: no tensor '{name}' (the file was saved from a different model or configuration).");
            }
            return shards.Rows(name);
        }

        var expected = state.Length;
        var modelTensors = tensors.Count(t => t.Name.StartsWith("model.", StringComparison.Ordinal)) + (shards?.TableCount ?? 0);
        if (modelTensors != expected)
        {
            throw new ModelFileException($"{path}: holds {modelTensors} tensors, the model has {expected}.");
        }
        for (var i = 0; i < state.Length; i++)
        {
            var values = Local("model." + state[i].Name, state[i].Value, ShardedState(i));
            if (values.Length != state[i].Value.Length)
            {
                throw new ModelFileException($"{path}: tensor 'model.{state[i].Name}' has {values.Length} values, the model expects {state[i].Value.Length}.");
            }
            values.CopyTo(state[i].Value.Span);
        }
        // Checkpoints before optimizer choice existed hold Adam's state under adam_step.
        var savedOptimizer = root.TryGetProperty("optimizer", out var on) ? on.GetString() : "Adam";
        if (savedOptimizer != optimizer.Name)
        {
            throw new ModelFileException($"{path}: saved with optimizer {savedOptimizer}, this run uses {optimizer.Name}; resume with the same optimizer.");
        }
        var saved = new Dictionary<string, float[][]>(StringComparer.Ordinal);
        foreach (var (name, values) in optimizer.State)
        {
            saved[name] = new float[values.Length][];
            for (var i = 0; i < values.Length; i++)
            {
                var key = $"{prefix}.{name}.{i}";
                if (!byName.ContainsKey(key) && shards?.Has(key) != true)
                {
                    throw new ModelFileException($"{path}: optimizer state '{name}' is missing (saved with other optimizer settings?).");
                }
                saved[name][i] = Local(key, optimizer.Parameters[i], ShardedParameter(i));
            }
        }
        var step = root.TryGetProperty("optimizer_step", out var st) ? st.GetInt64() : root.GetProperty("adam_step").GetInt64();
        try
        {
            optimizer.Restore(saved, step);
        }
        catch (ArgumentException e)
        {
            throw new ModelFileException($"{path}: {e.Message}");
        }
        optimizer.LearningRate = double.Parse(root.GetProperty("lr").GetString()!, CultureInfo.InvariantCulture);
        float[][]? bestState = null;
        if (byName.ContainsKey("best." + state[0].Name) || shards?.Has("best." + state[0].Name) == true)
        {
            bestState = new float[state.Length][];
            for (var i = 0; i < state.Length; i++)
            {
                var key = "best." + state[i].Name;
                bestState[i] = byName.ContainsKey(key) || shards?.Has(key) == true
                    ? Local(key, state[i].Value, ShardedState(i))
                    : throw new ModelFileException($"{path}: best weights incomplete.");
            }
        }
        var history = root.GetProperty("history").Deserialize<List<EpochRecord>>(Json) ?? [];
        // Checkpoints before mid-epoch checkpoints existed are all end-of-epoch ones, with nothing pending.
        var epochStep = root.TryGetProperty("step", out var sp) ? sp.GetInt64() : 0;
        ulong[]? random = root.TryGetProperty("random_state", out var rs) && rs.ValueKind == JsonValueKind.Array
            ? [.. rs.EnumerateArray().Select(e => ulong.Parse(e.GetString()!, CultureInfo.InvariantCulture))]
            : null;
        if (epochStep > 0 && random is not { Length: 6 })
        {
            throw new ModelFileException($"{path}: a mid-epoch checkpoint (step {epochStep}) without the dropout generator's state; it is damaged.");
        }
        return new CheckpointState(
            root.GetProperty("epoch").GetInt32(),
            double.Parse(root.GetProperty("best").GetString()!, CultureInfo.InvariantCulture),
            root.GetProperty("best_epoch").GetInt32(),
            root.GetProperty("stopping_steps").GetInt32(),
            root.GetProperty("total_steps").GetInt64(),
            root.GetProperty("stopped").GetBoolean(),
            history,
            bestState)
        {
            Step = epochStep,
            Running = root.TryGetProperty("running_loss", out var rl) ? double.Parse(rl.GetString()!, CultureInfo.InvariantCulture) : 0,
            RunningSteps = root.TryGetProperty("running_steps", out var rn) ? rn.GetInt32() : 0,
            RandomState = random,
        };
    }

    /// <summary>
    /// A tensor over <paramref name="values"/> itself, for writing a checkpoint: no copy (at Criteo size a copy of
    /// Adam's moments and the best weights would be hundreds of MB of garbage at every checkpoint).
    /// </summary>
    private static Tensor Wrap(float[] values)
    {
        var t = new Tensor(1);
        t.Adopt(values, new Shape(values.Length));
        return t;
    }

    /// <summary>Where a tensor of this run lives: [Rows, Dim] table rows of rank Rank of Ranks (Dim 0: not a table).</summary>
    private readonly record struct TableLayout(int Rows, int Dim, int Rank, int Ranks);

    /// <summary>
    /// The shard files a checkpoint names, each holding rank q of Q's rows (ids q, q + Q, ...) of every sharded tensor.
    /// Read once, when first needed, one file at a time: each file's rows that this rank owns now are copied into this
    /// rank's tensors and the file is dropped, and a file holding none of them (on the same rank count, every file but
    /// this rank's own) is not read at all. A resume so holds its own rows and at most one file.
    /// </summary>
    /// <param name="rank">This process's rank: its own file (on the same rank count) is read first.</param>
    private sealed class CheckpointShards(string path, string[] files, string modelName, IReadOnlyDictionary<string, TableLayout> layouts, int rank)
    {
        private Dictionary<string, float[]>? local;
        private int tables;

        public string[] Files { get; } = files;

        public int TableCount
        {
            get
            {
                Load();
                return tables;
            }
        }

        public bool Has(string name) => Load().ContainsKey(name);

        /// <summary>This rank's rows of tensor <paramref name="name"/> (all rows in one process).</summary>
        public float[] Rows(string name) => Load().TryGetValue(name, out var rows)
            ? rows
            : throw new ModelFileException($"{Shard(0)}: no tensor '{name}' (the file was saved from a different model or configuration).");

        private string Shard(int q) => Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, Files[q]);

        private Dictionary<string, float[]> Load()
        {
            if (local is not null)
            {
                return local;
            }
            local = new Dictionary<string, float[]>(StringComparer.Ordinal);
            var count = Files.Length;
            // The layouts this run wants the files' tensors in (learnt from the first file read): a later file sharing
            // no row with any of them is skipped.
            HashSet<(int Rank, int Ranks)>? wanted = null;
            HashSet<string>? names = null;
            var firstFile = "";
            foreach (var q in Enumerable.Range(0, count).OrderBy(q => q != rank % count))
            {
                var file = Shard(q);
                if (!File.Exists(file))
                {
                    throw new ModelFileException(
                        $"{path}: its shard file {file} is missing (a run directory copied without it, or not shared with every host).");
                }
                if (wanted is not null && !wanted.Any(w => RowShardedTables.Overlaps(q, count, w.Rank, w.Ranks)))
                {
                    continue;
                }
                var (meta, tensors) = TensorFile.Read(file);
                using var doc = JsonDocument.Parse(meta);
                var m = doc.RootElement;
                if (m.GetProperty("format").GetString() != "fsdnet-checkpoint-shard" || m.GetProperty("model").GetString() != modelName ||
                    m.GetProperty("rank").GetInt32() != q || m.GetProperty("ranks").GetInt32() != count)
                {
                    throw new ModelFileException($"{file}: not shard {q} of {count} of a {modelName} checkpoint.");
                }
                tables = tensors.Count(t => t.Name.StartsWith("model.", StringComparison.Ordinal));
                // Every file holds the same tensors (a part each): one lacking any would leave its rows silently zero.
                if (names is null)
                {
                    (names, firstFile) = ([.. tensors.Select(t => t.Name)], file);
                }
                else if (!names.SetEquals(tensors.Select(t => t.Name)))
                {
                    var differ = names.Except(tensors.Select(t => t.Name)).Concat(tensors.Select(t => t.Name).Except(names)).First();
                    throw new ModelFileException($"{file}: its tensors differ from those of {firstFile} (tensor '{differ}'); the shard files are not of one checkpoint.");
                }
                wanted ??= [.. tensors.Select(t => layouts.TryGetValue(t.Name, out var l) ? l : default).Where(l => l.Dim > 0).Select(l => (l.Rank, l.Ranks))];
                foreach (var (name, t) in tensors)
                {
                    if (!layouts.TryGetValue(name, out var l) || l.Dim == 0)
                    {
                        local.TryAdd(name, []);   // known to exist; the caller reports the mismatch with its layout
                        continue;
                    }
                    var owned = RowShardedTables.OwnedRows(l.Rows, q, count);
                    if (t.Length != (long)owned * l.Dim)
                    {
                        throw new ModelFileException($"{file}: tensor '{name}' has {t.Length} values; rank {q} of {count} owns {owned} rows of {l.Dim}.");
                    }
                    if (!local.TryGetValue(name, out var target))
                    {
                        local[name] = target = new float[(long)RowShardedTables.OwnedRows(l.Rows, l.Rank, l.Ranks) * l.Dim];
                    }
                    RowShardedTables.RepartitionInto(target, t.Span, q, count, l.Rows, l.Dim, l.Rank, l.Ranks);
                }
            }
            return local;
        }
    }
}
