namespace FsdNet.Data;

/// <summary>
/// One mini-batch, reused across calls (allocated once by <see cref="BatchLoader.CreateBatch"/>). Arrays have the
/// loader's full batch capacity; only the first <see cref="Size"/> rows are valid.
/// </summary>
public sealed class Batch
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
    public int SequenceWidth;
    public int EmbeddingWidth;
}

/// <summary>Options of a <see cref="BatchLoader"/>.</summary>
public sealed record BatchLoaderOptions
{
    public int BatchSize { get; init; } = 10000;

    /// <summary>Shuffle rows each epoch with a permutation drawn from Seed + epoch.</summary>
    public bool Shuffle { get; init; }

    public int Seed { get; init; }

    public bool DropLast { get; init; }
}

/// <summary>
/// Produces batches from an <see cref="EncodedDataset"/> without per-batch allocation. Call
/// <see cref="StartEpoch"/> then <see cref="Next"/> until it returns false.
/// </summary>
public sealed unsafe class BatchLoader
{
    private readonly EncodedDataset data;
    private readonly int[] perm;
    private readonly int[] seqLens;
    private readonly int[] embDims;
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
        perm = Options.Shuffle ? new int[data.RowCount] : [];
        seqLens = [.. data.SequenceLengths];
        embDims = [.. data.EmbeddingDims];
        StartEpoch(0);
    }

    public BatchLoaderOptions Options { get; }

    public EncodedDataset Dataset => data;

    /// <summary>Batches per epoch.</summary>
    public long BatchCount => Options.DropLast ? data.RowCount / Options.BatchSize : (data.RowCount + Options.BatchSize - 1) / Options.BatchSize;

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
        cursor = Math.Min(data.RowCount, cursor + (batches * Options.BatchSize));
    }

    /// <summary>Fills <paramref name="batch"/> with the next rows; false when the epoch is done.</summary>
    public bool Next(Batch batch)
    {
        var left = data.RowCount - cursor;
        var size = (int)Math.Min(Options.BatchSize, left);
        if (size <= 0 || (Options.DropLast && size < Options.BatchSize))
        {
            return false;
        }
        if (batch.Labels.Length < size || batch.CategoricalCount != data.CategoricalCount || batch.EmbeddingWidth != data.EmbeddingWidth ||
            batch.Embedding.Length < size * data.EmbeddingWidth)
        {
            throw new ArgumentException("batch was not created by this loader (CreateBatch)", nameof(batch));
        }
        batch.Size = size;
        var layout = data.Layout;
        var labels = (float*)data.Pointer(layout.LabelsOffset);
        var groups = (long*)data.Pointer(layout.GroupOffset);
        int c = layout.Cat, nu = layout.Num, sw = batch.SequenceWidth, ew = batch.EmbeddingWidth;
        var basePtr = (byte*)data.Pointer(0);
        for (var i = 0; i < size; i++)
        {
            long r = Options.Shuffle ? perm[cursor + i] : cursor + i;
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
        cursor += size;
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
