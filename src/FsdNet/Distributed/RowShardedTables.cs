using FsdNet.Autodiff;
using FsdNet.Layers;
using FsdNet.Tensors;

namespace FsdNet.Distributed;

/// <summary>How the embedding tables of a distributed run are laid out over the ranks (<c>embedding_sharding</c>).</summary>
internal enum EmbeddingSharding
{
    /// <summary>Row-shard the tables a global batch cannot touch whole (more rows than its lookups); replicate the rest.</summary>
    Auto,

    /// <summary>Every rank holds every table; their gradients are summed with the dense layers'.</summary>
    Replicate,

    /// <summary>Row-shard every trainable lookup table with at least one row per rank.</summary>
    Row,
}

/// <summary>
/// Row-sharded embedding tables (TorchRec's row-wise sharding): rank r of R owns the rows of ids i with i mod R = r,
/// stored as its local rows i div R, with their optimizer state. The model's table <see cref="Parameter"/> becomes a
/// small working table holding just the rows a step looks up (row 0: padding, zero); the input layers read remapped
/// codes through <see cref="Graph.ShardedTables"/>, so the models run unchanged. A step (every rank, in lockstep):
/// <list type="number">
/// <item><see cref="Exchange"/>: the distinct ids of this rank's rows go to their owners (all-to-all of counts, then of
/// ids), the owners answer with the rows (all-to-all of rows), and the codes are rewritten to working-table rows;</item>
/// <item>forward and backward run on the working tables;</item>
/// <item><see cref="ReduceGradients"/>: the working tables' gradient rows go back to their owners (all-to-all), which
/// sum them in rank order into their shard's dense gradient, as one process's table gradient summed over the ranks.</item>
/// </list>
/// The trainer then regularises, clips and steps the shards (<see cref="Shards"/>) in place of the tables: dense Adam
/// on every owned row, exactly as one process steps its whole table. Scoring runs the same exchange without gradients.
/// </summary>
internal sealed class RowShardedTables
{
    private readonly Communicator comm;
    private readonly Table[] tables;
    private readonly Layer[] layers;
    private readonly int ranks;
    // Per (peer, table), peer-major: ids this rank asks each owner for, and ids each peer asks this rank for.
    private readonly int[] askCounts;
    private readonly int[] askedCounts;
    private readonly int[] sendIds;
    // What other ranks ask this rank for: sized by what they asked so far (an owner could be asked for up to ranks x
    // a working table's rows, which at 64 ranks would be hundreds of MB held for a worst case that does not come).
    private int[] receivedIds = [];
    private readonly int[] idsPerPeer;
    private readonly int[] idsFromPeer;
    private readonly int[] floatsPerPeer;
    private readonly int[] floatsFromPeer;
    private float[] ownerRows = [];          // rows an owner sends (or gradients it receives), peer-major
    private readonly float[] workRows;       // rows a rank receives (or gradients it sends), owner-major

    private RowShardedTables(Communicator comm, Table[] tables, Layer[] layers, int batchRows)
    {
        this.comm = comm;
        this.tables = tables;
        this.layers = layers;
        ranks = comm.Size;
        ShardedNames = tables.ToDictionary(x => x.Name, x => (x.Vocab, x.Dim), StringComparer.Ordinal);
        var t = tables.Length;
        askCounts = new int[ranks * t];
        askedCounts = new int[ranks * t];
        var maxIds = tables.Sum(x => x.Capacity - 1);
        sendIds = new int[maxIds];
        idsPerPeer = new int[ranks];
        idsFromPeer = new int[ranks];
        floatsPerPeer = new int[ranks];
        floatsFromPeer = new int[ranks];
        var maxFloats = tables.Sum(x => (long)(x.Capacity - 1) * x.Dim);
        workRows = new float[checked((int)maxFloats)];
        foreach (var layer in layers)
        {
            layer.Allocate(batchRows);
        }
    }

    /// <summary>The shards, in the order of the tables they stand for: what the optimizer, regulariser and clipping step.</summary>
    public IReadOnlyList<Parameter> Shards => [.. tables.Select(x => x.Shard)];

    /// <summary>The shard that stands for a model table (its working table), or null when the table is replicated.</summary>
    public Parameter? ShardOf(Parameter table) => Array.Find(tables, x => ReferenceEquals(x.Work, table))?.Shard;

    /// <summary>The model tables held as shards, by their state name (the name a model file and a checkpoint use).</summary>
    public IReadOnlyDictionary<string, (int Rows, int Dim)> ShardedNames { get; }

    /// <summary>Ids this rank has asked other ranks for, over every exchange so far (its own rows are not sent).</summary>
    public long RemoteIdsAsked { get; private set; }

    /// <summary>Ids other ranks have asked this rank for, over every exchange so far.</summary>
    public long RemoteIdsServed { get; private set; }

    /// <summary>The elements of the sharded tables (whole), for the log.</summary>
    public long TableElements => tables.Sum(t => (long)t.Vocab * t.Dim);

    /// <summary>The working tables: their gradients are this step's and are zeroed with the step's.</summary>
    public void ZeroWorkGradients()
    {
        foreach (var t in tables)
        {
            t.Work.ZeroGrad();
        }
    }

    /// <summary>
    /// Which of <paramref name="model"/>'s lookup tables <paramref name="mode"/> shards over <paramref name="comm"/>'s
    /// ranks; null when none (one process, <c>replicate</c>, or no table large enough). The chosen tables are split at
    /// once: each rank keeps its rows of the table every rank initialised alike from the seed.
    /// </summary>
    /// <param name="batchRows">The most rows one exchange serves: the training batch_size (a rank's scoring batch).</param>
    /// <param name="stateNames">The model's state names of its tensors (to name the shards as the tables are named).</param>
    public static RowShardedTables? Create(
        IEnumerable<FeatureEmbedding> embeddingLayers, Communicator comm, EmbeddingSharding mode, int batchRows, IReadOnlyList<(string Name, Tensor Value)> stateNames)
    {
        if (comm.Size == 1 || mode == EmbeddingSharding.Replicate)
        {
            return null;
        }
        var tables = new List<Table>();
        var layers = new List<Layer>();
        foreach (var layer in embeddingLayers)
        {
            var mine = new List<(Table Table, Reader Reader)>();
            foreach (var (param, codes, sequences) in layer.LookupTables())
            {
                var lookups = codes.Length + sequences.Sum(s => s.Length);
                if (!Chosen(mode, param.Shape.D0, lookups, batchRows, comm.Size) || !param.RequiresGrad)
                {
                    continue;
                }
                var name = stateNames.First(s => ReferenceEquals(s.Value, param)).Name;
                var table = new Table(param, name, comm, (int)Math.Min(param.Shape.D0 - 1L, (long)batchRows * lookups) + 1, tables.Count);
                tables.Add(table);
                mine.Add((table, new Reader(codes, sequences)));
            }
            if (mine.Count > 0)
            {
                layers.Add(new Layer(layer, [.. mine.Select(m => m.Table)], [.. mine.Select(m => m.Reader)]));
            }
        }
        if (tables.Count == 0)
        {
            return null;
        }
        return new RowShardedTables(comm, [.. tables], [.. layers], batchRows);
    }

    /// <summary>
    /// The schema a model to be trained over <paramref name="comm"/>'s ranks is built on: its lookup tables deferred
    /// (<see cref="InputSchema.DeferredTables"/>) when tables may be row-sharded, so each rank draws only the rows it
    /// keeps; the trainer draws the tables it does not shard whole.
    /// </summary>
    public static InputSchema ForTraining(InputSchema schema, EmbeddingSharding mode, Communicator comm) =>
        schema.WithDeferredTables(comm.Size > 1 && mode != EmbeddingSharding.Replicate);

    /// <summary>
    /// <c>auto</c>'s rule: shard a table when it has more rows than a global batch looks up in it (batch rows x fields
    /// and tokens reading it). Then a step's exchange (about 4 + 8 x dim bytes per distinct id looked up elsewhere) is
    /// smaller than a replicated table's all-reduce (about 8 x dim bytes per row), and the table is where the memory
    /// is. <c>row</c> shards every table with at least one row per rank.
    /// </summary>
    internal static bool Chosen(EmbeddingSharding mode, int rows, int lookupsPerRow, int batchRows, int ranks) => mode switch
    {
        EmbeddingSharding.Row => rows >= ranks,
        EmbeddingSharding.Auto => rows >= ranks && rows > (long)batchRows * lookupsPerRow,
        _ => false,
    };

    /// <summary>
    /// Fetches the rows <paramref name="input"/> looks up from their owners into the working tables and rewrites its
    /// codes for the input layers. Every rank calls it for every step and scoring batch, in lockstep; a rank with no
    /// rows this round passes null (it still answers its peers).
    /// </summary>
    public void Exchange(ModelInput? input)
    {
        var x = input ?? default;
        var rows = input is null ? 0 : x.Rows;
        Array.Clear(askCounts);
        foreach (var layer in layers)
        {
            for (var k = 0; k < layer.Tables.Length; k++)
            {
                layer.Tables[k].Collect(x, rows, layer.Readers[k]);
            }
        }
        foreach (var t in tables)
        {
            t.CountOwners(askCounts, tables.Length);
        }
        // Where each (owner, table) block starts in the send buffer, and which working row each id lands in.
        var offset = 0;
        for (var peer = 0; peer < ranks; peer++)
        {
            foreach (var t in tables)
            {
                t.BlockStart[peer] = offset;
                offset += askCounts[(peer * tables.Length) + t.Index];
            }
        }
        foreach (var t in tables)
        {
            t.Place(sendIds, askCounts, tables.Length);
        }
        Span<int> perPeerT = stackalloc int[ranks];
        perPeerT.Fill(tables.Length);
        comm.AllToAllV<int>(askCounts, perPeerT, askedCounts, perPeerT);
        for (var peer = 0; peer < ranks; peer++)
        {
            var (ids, floats) = (0, 0);
            var (asked, askedFloats) = (0, 0);
            foreach (var t in tables)
            {
                var mine = askCounts[(peer * tables.Length) + t.Index];
                var theirs = askedCounts[(peer * tables.Length) + t.Index];
                (ids, floats) = (ids + mine, floats + (mine * t.Dim));
                (asked, askedFloats) = (asked + theirs, askedFloats + (theirs * t.Dim));
            }
            (idsPerPeer[peer], floatsPerPeer[peer]) = (ids, floats);
            (idsFromPeer[peer], floatsFromPeer[peer]) = (asked, askedFloats);
            if (peer != comm.Rank)
            {
                RemoteIdsAsked += ids;
                RemoteIdsServed += asked;
            }
        }
        var (askedIds, askedRowFloats) = (0, 0);
        for (var peer = 0; peer < ranks; peer++)
        {
            (askedIds, askedRowFloats) = (askedIds + idsFromPeer[peer], askedRowFloats + floatsFromPeer[peer]);
        }
        if (receivedIds.Length < askedIds || ownerRows.Length < askedRowFloats)
        {
            // Grown with a margin, so the sizes a run settles into allocate nothing per step.
            receivedIds = new int[Math.Max(receivedIds.Length, askedIds + (askedIds / 4))];
            ownerRows = new float[Math.Max(ownerRows.Length, askedRowFloats + (askedRowFloats / 4))];
        }
        comm.AllToAllV<int>(sendIds.AsSpan(0, offset), idsPerPeer, receivedIds, idsFromPeer);
        // As owner: the asked rows, peer by peer, table by table, in the order asked.
        var id = 0;
        var f = 0;
        for (var peer = 0; peer < ranks; peer++)
        {
            foreach (var t in tables)
            {
                var n = askedCounts[(peer * tables.Length) + t.Index];
                for (var k = 0; k < n; k++, id++, f += t.Dim)
                {
                    t.Shard.Row(t.LocalRow(receivedIds[id], peer)).CopyTo(ownerRows.AsSpan(f, t.Dim));
                }
            }
        }
        comm.AllToAllV<float>(ownerRows.AsSpan(0, f), floatsFromPeer, workRows, floatsPerPeer);
        f = 0;
        for (var peer = 0; peer < ranks; peer++)
        {
            foreach (var t in tables)
            {
                var n = askCounts[(peer * tables.Length) + t.Index];
                var first = t.FirstWorkRow(peer);
                for (var k = 0; k < n; k++, f += t.Dim)
                {
                    workRows.AsSpan(f, t.Dim).CopyTo(t.Work.Row(first + k));
                }
            }
        }
        foreach (var layer in layers)
        {
            layer.Remap(x, rows);
        }
    }

    /// <summary>
    /// Sends the working tables' gradient rows to their owners, which sum them over the ranks in rank order into their
    /// shards' gradients: dense (every owned row, zero where no rank looked it up), or with lazy updates only the rows
    /// some rank looked up (the rows one process would touch).
    /// </summary>
    public void ReduceGradients()
    {
        var f = 0;
        for (var peer = 0; peer < ranks; peer++)
        {
            foreach (var t in tables)
            {
                var n = askCounts[(peer * tables.Length) + t.Index];
                var first = t.FirstWorkRow(peer);
                for (var k = 0; k < n; k++, f += t.Dim)
                {
                    var into = workRows.AsSpan(f, t.Dim);
                    if (t.Work.HasGrad)
                    {
                        t.Work.Grad!.Row(first + k).CopyTo(into);
                    }
                    else
                    {
                        into.Clear();
                    }
                }
            }
        }
        comm.AllToAllV<float>(workRows.AsSpan(0, f), floatsPerPeer, ownerRows, floatsFromPeer);
        foreach (var t in tables)
        {
            t.Shard.ZeroGrad();
            if (t.Shard.Touched is null)
            {
                t.Shard.LiveGrad();
            }
            else
            {
                t.Shard.GradLive = true;   // lazy updates: the rows any rank asked for, each cleared when first touched
            }
        }
        var id = 0;
        f = 0;
        for (var peer = 0; peer < ranks; peer++)
        {
            foreach (var t in tables)
            {
                var n = askedCounts[(peer * tables.Length) + t.Index];
                for (var k = 0; k < n; k++, id++, f += t.Dim)
                {
                    var row = t.LocalRow(receivedIds[id], peer);
                    var g = t.Shard.Touched is { } touched ? touched.Touch(t.Shard.Grad!.Span, row) : t.Shard.Grad!.Row(row);
                    System.Numerics.Tensors.TensorPrimitives.Add(g, ownerRows.AsSpan(f, t.Dim), g);
                }
            }
        }
    }

    /// <summary>The codes <paramref name="layer"/> reads this step: remapped when it reads a sharded table, else <paramref name="x"/>.</summary>
    public ModelInput Local(FeatureEmbedding layer, in ModelInput x)
    {
        foreach (var l in layers)
        {
            if (ReferenceEquals(l.Embedding, layer))
            {
                return l.Input.Rows == x.Rows ? l.Input : throw new InvalidOperationException(
                    $"the input layer reads {x.Rows} rows, the sharded tables' exchange was for {l.Input.Rows}.");
            }
        }
        return x;
    }

    /// <summary>
    /// Puts the whole tables back into the model: on every rank (every rank gathers every shard), or on
    /// <paramref name="root"/> alone (the others send their shards and keep their working tables). The end of
    /// training, before the model is saved. The shards stay as they are.
    /// </summary>
    public void Assemble(int? root = null)
    {
        foreach (var t in tables)
        {
            var counts = new int[ranks];
            for (var r = 0; r < ranks; r++)
            {
                counts[r] = OwnedRows(t.Vocab, r, ranks) * t.Dim;
            }
            var here = root is not { } owner || owner == comm.Rank;
            var all = new float[here ? (long)t.Vocab * t.Dim : 0];
            if (root is { } to)
            {
                comm.GatherV<float>(t.Shard.Span, all, counts, to);
            }
            else
            {
                comm.AllGatherV<float>(t.Shard.Span, all, counts);
            }
            if (!here)
            {
                continue;
            }
            var full = GC.AllocateArray<float>(all.Length, pinned: true);
            var at = 0;
            for (var r = 0; r < ranks; r++)
            {
                for (var i = r; i < t.Vocab; i += ranks, at += t.Dim)
                {
                    all.AsSpan(at, t.Dim).CopyTo(full.AsSpan(i * t.Dim, t.Dim));
                }
            }
            t.Work.Reallocate(full, new Shape(t.Vocab, t.Dim));
        }
    }

    /// <summary>The rows rank <paramref name="rank"/> of <paramref name="ranks"/> owns of a table of <paramref name="vocab"/> rows: ids rank, rank + ranks, ...</summary>
    public static int OwnedRows(int vocab, int rank, int ranks) => rank >= vocab ? 0 : ((vocab - rank - 1) / ranks) + 1;

    /// <summary>
    /// Rank <paramref name="rank"/> of <paramref name="ranks"/>'s rows of a [<paramref name="vocab"/>, <paramref name="dim"/>]
    /// table held in another layout: <paramref name="sources"/> are the rows of source rank q of Q (ids q, q + Q, ...),
    /// one source of 0 of 1 for a whole table. A resume on another number of ranks (or in one process) re-partitions so.
    /// </summary>
    public static float[] Repartition(IReadOnlyList<(float[] Rows, int Rank, int Ranks)> sources, int vocab, int dim, int rank, int ranks)
    {
        var target = new float[(long)OwnedRows(vocab, rank, ranks) * dim];
        foreach (var (rows, q, count) in sources)
        {
            RepartitionInto(target, rows, q, count, vocab, dim, rank, ranks);
        }
        return target;
    }

    /// <summary>
    /// Copies the rows of source rank <paramref name="q"/> of <paramref name="count"/> that rank <paramref name="rank"/>
    /// of <paramref name="ranks"/> owns into <paramref name="target"/> (its rows): one source at a time, so a resume
    /// never holds more than one shard file besides its own rows.
    /// </summary>
    public static void RepartitionInto(Span<float> target, ReadOnlySpan<float> rows, int q, int count, int vocab, int dim, int rank, int ranks)
    {
        for (long k = 0, id = q; id < vocab; k++, id += count)
        {
            if (id % ranks == rank)
            {
                rows.Slice((int)(k * dim), dim).CopyTo(target.Slice((int)(id / ranks * dim), dim));
            }
        }
    }

    /// <summary>Whether source rank <paramref name="q"/> of <paramref name="count"/> holds any row rank <paramref name="rank"/> of <paramref name="ranks"/> owns (an id q mod count and rank mod ranks exists).</summary>
    public static bool Overlaps(int q, int count, int rank, int ranks) => (q - rank) % (int)System.Numerics.BigInteger.GreatestCommonDivisor(count, ranks) == 0;

    /// <summary>One sharded table: the model's (working) table, this rank's shard, and a step's ids.</summary>
    private sealed class Table
    {
        private readonly int rank;
        private readonly int ranks;
        private int[] codes = [];
        private int distinct;
        private readonly int[] ownerStart;   // first working row (less 1) of each owner's ids

        public Table(Parameter table, string name, Communicator comm, int capacity, int index)
        {
            (rank, ranks) = (comm.Rank, comm.Size);
            Work = table;
            Name = name;
            Vocab = table.Shape.D0;
            Dim = table.Shape.D1;
            Capacity = capacity;
            Index = index;
            Shard = new Parameter(name, new Shape(OwnedRows(Vocab, rank, ranks), Dim), ParameterKind.Embedding);
            if (table.Deferred is { } draw)
            {
                // Drawn a block at a time, keeping this rank's rows: the whole table never exists here.
                var shard = Shard;
                var (me, count) = (rank, ranks);
                draw.Rows(Vocab, Dim, (row, values) =>
                {
                    if (row % count == me)
                    {
                        values.CopyTo(shard.Row(row / count));
                    }
                });
            }
            else
            {
                for (var k = 0; k < Shard.Shape.D0; k++)
                {
                    table.Row(rank + (k * ranks)).CopyTo(Shard.Row(k));
                }
            }
            table.Reallocate(GC.AllocateArray<float>(capacity * Dim, pinned: true), new Shape(capacity, Dim));   // row 0 (padding) stays zero: nothing writes it
            BlockStart = new int[ranks];
            ownerStart = new int[ranks];
            Ids = new int[capacity - 1];
            Slot = new int[capacity - 1];
        }

        public Parameter Work { get; }

        public Parameter Shard { get; }

        public string Name { get; }

        public int Vocab { get; }

        public int Dim { get; }

        public int Capacity { get; }

        public int Index { get; }

        /// <summary>This step's distinct non-zero ids, ascending (the first <c>distinct</c>), and each one's working row.</summary>
        public int[] Ids { get; }

        public int[] Slot { get; }

        /// <summary>Where each owner's block of this table's ids starts in the send buffer.</summary>
        public int[] BlockStart { get; }

        /// <summary>The distinct non-zero ids <paramref name="reader"/>'s columns hold in the first <paramref name="rows"/> rows.</summary>
        public void Collect(in ModelInput x, int rows, Reader reader)
        {
            var need = rows * reader.Lookups;
            if (codes.Length < need)
            {
                codes = new int[need];
            }
            var n = 0;
            for (var r = 0; r < rows; r++)
            {
                foreach (var c in reader.Codes)
                {
                    var code = x.Categorical[(r * x.CategoricalCount) + c];
                    if (code != 0)
                    {
                        codes[n++] = code;
                    }
                }
                foreach (var (start, length) in reader.Sequences)
                {
                    foreach (var code in x.Sequence.AsSpan((r * x.SequenceWidth) + start, length))
                    {
                        if (code != 0)
                        {
                            codes[n++] = code;
                        }
                    }
                }
            }
            Array.Sort(codes, 0, n);
            distinct = 0;
            for (var i = 0; i < n; i++)
            {
                if (distinct == 0 || codes[i] != Ids[distinct - 1])
                {
                    Ids[distinct++] = codes[i];
                }
            }
            if (distinct > 0 && (Ids[distinct - 1] >= Vocab || Ids[0] < 0))
            {
                var bad = Ids[0] < 0 ? Ids[0] : Ids[distinct - 1];
                throw new InvalidOperationException($"table '{Name}' has {Vocab} rows; the batch looks up code {bad}.");
            }
        }

        public void CountOwners(int[] counts, int tableCount)
        {
            for (var i = 0; i < distinct; i++)
            {
                counts[(Ids[i] % ranks * tableCount) + Index]++;
            }
        }

        /// <summary>
        /// Writes this table's ids into each owner's block and gives every id its working row: owner by owner,
        /// ascending within an owner (a counting sort; <paramref name="counts"/> holds this step's ids per (owner, table)).
        /// </summary>
        public void Place(int[] send, int[] counts, int tableCount)
        {
            Span<int> next = stackalloc int[ranks];
            var row = 1;
            for (var peer = 0; peer < ranks; peer++)
            {
                next[peer] = 0;
                ownerStart[peer] = row;
                row += counts[(peer * tableCount) + Index];
            }
            for (var i = 0; i < distinct; i++)
            {
                var peer = Ids[i] % ranks;
                var k = next[peer]++;
                send[BlockStart[peer] + k] = Ids[i];
                Slot[i] = ownerStart[peer] + k;
            }
        }

        public int FirstWorkRow(int owner) => ownerStart[owner];

        /// <summary>The local row of <paramref name="id"/>, which <paramref name="peer"/> asked this rank, its owner, for.</summary>
        public int LocalRow(int id, int peer)
        {
            if ((uint)id >= (uint)Vocab || id % ranks != rank)
            {
                throw new InvalidOperationException($"rank {peer} asked rank {rank} for row {id} of table '{Name}', which it does not own.");
            }
            return id / ranks;
        }

        /// <summary>The working row of a code (0 stays 0).</summary>
        public int WorkRow(int code) => code == 0 ? 0 : Slot[Array.BinarySearch(Ids, 0, distinct, code)];
    }

    /// <summary>The input columns that index one table: categorical columns and sequence slots (offset, max_len).</summary>
    private sealed record Reader(int[] Codes, (int Start, int Length)[] Sequences)
    {
        public int Lookups { get; } = Codes.Length + Sequences.Sum(s => s.Length);
    }

    /// <summary>An input layer with sharded tables, and the remapped codes it reads this step.</summary>
    private sealed class Layer(FeatureEmbedding embedding, Table[] tables, Reader[] readers)
    {
        private int[] categorical = [];
        private int[] sequence = [];

        public FeatureEmbedding Embedding { get; } = embedding;

        public Table[] Tables { get; } = tables;

        public Reader[] Readers { get; } = readers;

        public ModelInput Input { get; private set; }

        public void Allocate(int batchRows)
        {
            categorical = new int[batchRows * Embedding.Schema.CategoricalCount];
            sequence = new int[batchRows * Embedding.Schema.SequenceWidth];
        }

        public void Remap(in ModelInput x, int rows)
        {
            if (rows == 0)
            {
                Input = default;
                return;
            }
            if (categorical.Length < rows * x.CategoricalCount || sequence.Length < rows * x.SequenceWidth)
            {
                throw new InvalidOperationException($"a batch of {rows} rows is larger than the sharded tables were sized for.");
            }
            x.Categorical.AsSpan(0, rows * x.CategoricalCount).CopyTo(categorical);
            x.Sequence.AsSpan(0, rows * x.SequenceWidth).CopyTo(sequence);
            for (var k = 0; k < Tables.Length; k++)
            {
                var t = Tables[k];
                for (var r = 0; r < rows; r++)
                {
                    foreach (var c in Readers[k].Codes)
                    {
                        ref var code = ref categorical[(r * x.CategoricalCount) + c];
                        code = t.WorkRow(code);
                    }
                    foreach (var (start, length) in Readers[k].Sequences)
                    {
                        foreach (ref var code in sequence.AsSpan((r * x.SequenceWidth) + start, length))
                        {
                            code = t.WorkRow(code);
                        }
                    }
                }
            }
            Input = new ModelInput(rows, categorical, x.CategoricalCount, x.Labels, x.Numeric, x.NumericCount, sequence, x.SequenceWidth, x.Embedding, x.EmbeddingWidth);
        }
    }
}
