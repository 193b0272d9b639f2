namespace FsdNet.Data;

/// <summary>
/// One mini-batch, reused across calls (allocated once by <see cref="BatchLoader.CreateBatch"/>). Arrays have the
/// loader's full batch capacity; only the first <see cref="Size"/> rows are valid.
/// </summary>
internal sealed class Batch
{
    /// <summary>Rows in this batch (the last batch may be smaller).</summary>
    public int Size;

    /// <summary>Size x CategoricalCount codes, row-major, field order = FeatureMap order.</summary>
    public int[] Categorical = [];

    /// <summary>Size x NumericCount values (after fill_na/normaliser).</summary>
    public float[] Numeric = [];

    /// <summary>Size x (sum of max_len) codes, 0 = padding (mask for mean pooling = code != 0).</summary>
    public int[] Sequence = [];

    /// <summary>Size x EmbeddingWidth floats: the vectors of <c>type: embedding</c> features, row-major.</summary>
    public float[] Embedding = [];

    /// <summary>Size labels, 0f/1f.</summary>
    public float[] Labels = [];

    /// <summary>Size group ids (meta column) or empty.</summary>
    public long[] GroupIds = [];

    /// <summary>Row numbers (in the split) of the batch rows, e.g. to write predictions in file order.</summary>
    public long[] RowIds = [];

    public int CategoricalCount;
    public int NumericCount;

    /// <summary>
    /// Data-parallel training: this batch is rows [SliceStart, SliceStart + Size) of a global batch of
    /// <see cref="GlobalSize"/> rows (one process: 0 and Size).
    /// </summary>
    internal int SliceStart;

    internal int GlobalSize;
    public int SequenceWidth;
    public int EmbeddingWidth;
}

/// <summary>Options of a <see cref="BatchLoader"/>.</summary>
internal sealed record BatchLoaderOptions
{
    public int BatchSize { get; init; } = 10000;

    /// <summary>Shuffle rows each epoch with a permutation drawn from Seed + epoch.</summary>
    public bool Shuffle { get; init; }

    public int Seed { get; init; }

    public bool DropLast { get; init; }

    /// <summary>
    /// Data-parallel training: this rank's index and the number of ranks. Each global batch (of
    /// <see cref="BatchSize"/> rows, from the one permutation every rank draws) is split into contiguous, nearly equal
    /// slices and the loader returns this rank's slice.
    /// </summary>
    internal (int Rank, int Ranks) Slice { get; init; } = (0, 1);

    /// <summary>Only rows [Start, Start + Count) of the split, in order (a rank's part of a scoring pass); null: all rows.</summary>
    internal (long Start, long Count)? Rows { get; init; }
}

/// <summary>
/// Produces batches from an <see cref="EncodedDataset"/> without per-batch allocation. Call
/// <see cref="StartEpoch"/> then <see cref="Next"/> until it returns false.
/// </summary>
internal sealed unsafe class BatchLoader
{
    private readonly EncodedDataset data;
    private readonly int[] perm;
    private readonly int[] seqLens;
    private readonly int[] embDims;
    private readonly long first;
    private readonly long rowCount;
    private long cursor;

    public BatchLoader(EncodedDataset data, BatchLoaderOptions? options = null)
    {
        this.data = data;
        Options = options ?? new BatchLoaderOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(Options.BatchSize, 1);
        if (data.RowCount > int.MaxValue)
        {
            throw new NotSupportedException("more than 2^31 rows in one split");
        }
        if (Options.Rows is { } range && (Options.Shuffle || range.Start < 0 || range.Count < 0 || range.Start + range.Count > data.RowCount))
        {
            throw new ArgumentException($"a row range {range} of a split of {data.RowCount} rows, without shuffling");
        }
        if (Options.Slice.Ranks < 1 || Options.Slice.Rank < 0 || Options.Slice.Rank >= Options.Slice.Ranks)
        {
            throw new ArgumentException($"slice {Options.Slice.Rank} of {Options.Slice.Ranks}");
        }
        (first, rowCount) = Options.Rows ?? (0, data.RowCount);
        perm = Options.Shuffle ? new int[data.RowCount] : [];
        seqLens = [.. data.SequenceLengths];
        embDims = [.. data.EmbeddingDims];
        StartEpoch(0);
    }

    public BatchLoaderOptions Options { get; }

    public EncodedDataset Dataset => data;

    /// <summary>Batches per epoch.</summary>
    public long BatchCount => Options.DropLast ? rowCount / Options.BatchSize : (rowCount + Options.BatchSize - 1) / Options.BatchSize;

    /// <summary>Allocates a batch with the loader's capacity (do this once).</summary>
    public Batch CreateBatch()
    {
        var b = Options.BatchSize;
        return new Batch
        {
            Categorical = new int[b * data.CategoricalCount],
            Numeric = new float[b * data.NumericCount],
            Sequence = new int[b * data.SequenceWidth],
            Embedding = new float[b * data.EmbeddingWidth],
            Labels = new float[b],
            GroupIds = data.HasGroupIds ? new long[b] : [],
            RowIds = new long[b],
            CategoricalCount = data.CategoricalCount,
            NumericCount = data.NumericCount,
            SequenceWidth = data.SequenceWidth,
            EmbeddingWidth = data.EmbeddingWidth,
        };
    }

    /// <summary>Rewinds; when shuffling, redraws the permutation from Seed + epoch (reproducible).</summary>
    public void StartEpoch(int epoch)
    {
        cursor = 0;
        if (!Options.Shuffle)
        {
            return;
        }
        for (var i = 0; i < perm.Length; i++)
        {
            perm[i] = i;
        }
        var rng = new SplitMix64((ulong)(uint)Options.Seed * 0x9E3779B97F4A7C15UL + (ulong)(uint)epoch);
        for (var i = perm.Length - 1; i > 0; i--)
        {
            var j = (int)rng.NextBelow((ulong)i + 1);
            (perm[i], perm[j]) = (perm[j], perm[i]);
        }
    }

    /// <summary>Moves past the next <paramref name="batches"/> batches without reading them (a run resumed mid-epoch).</summary>
    public void Skip(long batches)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(batches);
        cursor = Math.Min(rowCount, cursor + (batches * Options.BatchSize));
    }

    /// <summary>Fills <paramref name="batch"/> with the next rows; false when the epoch is done.</summary>
    public bool Next(Batch batch)
    {
        var left = rowCount - cursor;
        var global = (int)Math.Min(Options.BatchSize, left);
        if (global <= 0 || (Options.DropLast && global < Options.BatchSize))
        {
            return false;
        }
        var (rank, ranks) = Options.Slice;
        var (sliceStart, size) = Distributed.Communicator.Part(global, rank, ranks);
        if (global < ranks)
        {
            // Every rank tests the global size, so all of them stop here together rather than one waiting in a collective.
            throw new InvalidOperationException(
                $"a batch of {global} rows cannot be split over {ranks} ranks (the last batch of an epoch, {rowCount} rows in batches of " +
                $"{Options.BatchSize}); use fewer ranks or another batch_size.");
        }
        if (batch.Labels.Length < size || batch.CategoricalCount != data.CategoricalCount || batch.EmbeddingWidth != data.EmbeddingWidth ||
            batch.Embedding.Length < size * data.EmbeddingWidth)
        {
            throw new ArgumentException("batch was not created by this loader (CreateBatch)", nameof(batch));
        }
        batch.Size = size;
        batch.SliceStart = sliceStart;
        batch.GlobalSize = global;
        var layout = data.Layout;
        var labels = (float*)data.Pointer(layout.LabelsOffset);
        var groups = (long*)data.Pointer(layout.GroupOffset);
        int c = layout.Cat, nu = layout.Num, sw = batch.SequenceWidth, ew = batch.EmbeddingWidth;
        var basePtr = (byte*)data.Pointer(0);
        for (var i = 0; i < size; i++)
        {
            var at = cursor + sliceStart + i;
            long r = Options.Shuffle ? perm[at] : first + at;
            batch.RowIds[i] = r;
            batch.Labels[i] = labels[r];
            if (layout.HasGroup)
            {
                batch.GroupIds[i] = groups[r];
            }
            var co = i * c;
            for (var f = 0; f < c; f++)
            {
                batch.Categorical[co + f] = layout.Code(basePtr, f, r);
            }
            for (var f = 0; f < nu; f++)
            {
                batch.Numeric[(i * nu) + f] = ((float*)data.Pointer(layout.NumOffsets[f]))[r];
            }
            var so = i * sw;
            for (var s = 0; s < seqLens.Length; s++)
            {
                var len = seqLens[s];
                new ReadOnlySpan<int>((int*)data.Pointer(layout.SeqOffsets[s]) + (r * len), len).CopyTo(batch.Sequence.AsSpan(so, len));
                so += len;
            }
            var eo = i * ew;
            for (var e = 0; e < embDims.Length; e++)
            {
                var dim = embDims[e];
                new ReadOnlySpan<float>((float*)data.Pointer(layout.EmbOffsets[e]) + (r * dim), dim).CopyTo(batch.Embedding.AsSpan(eo, dim));
                eo += dim;
            }
        }
        cursor += global;
        return true;
    }

    private struct SplitMix64(ulong seed)
    {
        private ulong state = seed;

        public ulong Next()
        {
            var z = state += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }

        public ulong NextBelow(ulong n)
        {
            // Lemire's multiply-shift; bias is negligible for n << 2^64.
            return (ulong)((UInt128)Next() * n >> 64);
        }
    }
}
