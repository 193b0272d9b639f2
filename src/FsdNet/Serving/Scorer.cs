using FsdNet.Autodiff;
using FsdNet.Data;
using FsdNet.Layers;
using FsdNet.Models;

namespace FsdNet.Serving;

/// <summary>A request row or field the scorer cannot use; <see cref="Row"/> and <see cref="Field"/> say which.</summary>
public sealed class ScoringException(int? row, string? field, string problem)
    : Exception((row is { } r ? $"row {r}" : "") + (field is null ? "" : (row is null ? "" : ", ") + $"field '{field}'") +
                (row is null && field is null ? "" : ": ") + problem)
{
    /// <summary>0-based row of the request, when the problem is in one row.</summary>
    public int? Row { get; } = row;

    /// <summary>The raw column (feature) at fault, when there is one.</summary>
    public string? Field { get; } = field;

    public string Problem { get; } = problem;
}

/// <summary>Settings of a <see cref="Scorer"/>.</summary>
public sealed record ScorerOptions
{
    /// <summary>Fold BatchNorm into the preceding linear layers at load time (scores agree with unfolded within 1e-6).</summary>
    public bool FoldBatchNorm { get; init; } = true;
}

/// <summary>One raw input column a scorer reads, as named in the training data.</summary>
public sealed record ScorerInput(string Name, FeatureType Type, string Dtype, int MaxLen);

/// <summary>How often a feature's value was unseen (scored as OOV) or missing (scored as its fill value).</summary>
public sealed record FeatureCounts(string Feature, long Oov, long Missing);

/// <summary>
/// Thread-safe in-process scoring of a trained model: rows by raw column name with values as in the training data
/// (strings, numbers, sequences), encoded with the model's fitted feature map. Any number of threads may score at
/// once. Unseen categories go to OOV and missing features to their fill value; both are counted (<see cref="Counts"/>).
/// </summary>
public sealed class Scorer
{
    private readonly ModelBundle bundle;
    private readonly Dictionary<string, int> inputIndex;
    private readonly HashSet<string> ignored;
    private readonly System.Collections.Concurrent.ConcurrentBag<Graph> graphs = [];
    private readonly long[] oov;
    private readonly long[] missing;
    private readonly string[] countedFeatures;

    private Scorer(ModelBundle bundle, ScorerOptions options)
    {
        this.bundle = bundle;
        Options = options;
        var map = bundle.FeatureMap;
        Inputs = [.. map.Features.Where(f => f.Type != FeatureType.Meta).GroupBy(f => f.SourceName)
            .Select(g => new ScorerInput(g.Key, g.First().Type, g.First().Dtype, g.First().MaxLen))];
        inputIndex = Inputs.Select((c, i) => (c.Name, i)).ToDictionary(t => t.Name, t => t.i, StringComparer.Ordinal);
        ignored = new HashSet<string>(map.Features.Where(f => f.Type == FeatureType.Meta).Select(f => f.SourceName), StringComparer.Ordinal)
        {
            map.LabelName,
        };
        countedFeatures = [.. map.Features.Where(f => f.Type != FeatureType.Meta).Select(f => f.Name)];
        oov = new long[countedFeatures.Length];
        missing = new long[countedFeatures.Length];
        HeadCount = bundle.Model is FsdCapableModel { HeadCount: { } h } ? h : null;
    }

    /// <summary>Loads a bundle file or a run directory.</summary>
    public static Scorer Load(string bundleOrRunDir, ScorerOptions? options = null) =>
        Create(ModelBundle.Load(bundleOrRunDir), options);

    /// <summary>A scorer over a loaded model.</summary>
    public static Scorer Create(ModelBundle bundle, ScorerOptions? options = null) => new(bundle, options ?? new ScorerOptions());

    public ScorerOptions Options { get; }

    public ModelBundle Bundle => bundle;

    /// <summary>The raw columns a row may give, in feature-map order.</summary>
    public IReadOnlyList<ScorerInput> Inputs { get; }

    /// <summary>Heads of an FSD model (valid <c>head</c> arguments are 0..HeadCount-1), null for a single-head model.</summary>
    public int? HeadCount { get; }

    /// <summary>A reusable batch of up to <paramref name="capacity"/> rows for this scorer.</summary>
    public RowBatch CreateBatch(int capacity) => new(this, capacity);

    /// <summary>Per feature: OOV and missing counts since load.</summary>
    public IReadOnlyList<FeatureCounts> Counts() =>
        [.. countedFeatures.Select((f, i) => new FeatureCounts(f, Interlocked.Read(ref oov[i]), Interlocked.Read(ref missing[i])))];

    internal int InputIndexOf(int? row, string name) =>
        inputIndex.TryGetValue(name, out var i) ? i
        : ignored.Contains(name) ? -1
        : throw new ScoringException(row, name, $"not an input of this model (inputs: {string.Join(", ", Inputs.Select(c => c.Name))}).");

    /// <summary>Click probabilities of the batch's rows into <paramref name="probabilities"/> (head: one FSD head, null: the model's prediction).</summary>
    public void Score(RowBatch batch, Span<float> probabilities, int? head = null)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.Owner != this)
        {
            throw new ArgumentException("the batch was created by another scorer.", nameof(batch));
        }
        if (probabilities.Length < batch.Count)
        {
            throw new ArgumentException($"{batch.Count} rows need {batch.Count} outputs, got {probabilities.Length}.", nameof(probabilities));
        }
        if (head is { } h && (HeadCount is null || h < 0 || h >= HeadCount))
        {
            throw new ScoringException(null, "head", HeadCount is null ? "this model has one head." : $"head {h} is not in [0, {HeadCount - 1}].");
        }
        if (batch.Count == 0)
        {
            return;
        }
        var map = bundle.FeatureMap;
        var n = batch.Count;
        var cat = new int[n * map.CategoricalCount];
        var num = new float[n * map.NumericCount];
        var seq = new int[n * map.SequenceWidth];
        var emb = new float[n * map.EmbeddingWidth];
        for (var r = 0; r < n; r++)
        {
            var row = r;
            try
            {
                map.EncodeRow(
                    c => inputIndex.TryGetValue(c, out var i) ? batch.Raw(row, i) : null,
                    cat.AsSpan(r * map.CategoricalCount, map.CategoricalCount), num.AsSpan(r * map.NumericCount, map.NumericCount),
                    seq.AsSpan(r * map.SequenceWidth, map.SequenceWidth), emb.AsSpan(r * map.EmbeddingWidth, map.EmbeddingWidth), out _);
            }
            catch (DataFormatException e)
            {
                throw new ScoringException(row, e.Field, e.Problem);
            }
            foreach (var f in map.Features)
            {
                if (f.Type == FeatureType.Meta)
                {
                    continue;
                }
                var k = Array.IndexOf(countedFeatures, f.Name);
                if (batch.Raw(row, inputIndex[f.SourceName]) is null or "")
                {
                    Interlocked.Increment(ref missing[k]);
                }
                else if (f.Type == FeatureType.Categorical && cat[r * map.CategoricalCount + f.TypeIndex] == f.OovIdx)
                {
                    Interlocked.Increment(ref oov[k]);
                }
            }
        }
        if (!graphs.TryTake(out var g))
        {
            g = new Graph { Training = false, GradEnabled = false };
        }
        try
        {
            g.Reset();
            var input = new ModelInput(n, cat, map.CategoricalCount, null, num, map.NumericCount, seq, map.SequenceWidth, emb, map.EmbeddingWidth);
            var p = head is { } hh ? ((FsdCapableModel)bundle.Model).PredictHead(g, input, hh) : bundle.Model.Predict(g, input);
            p.Span[..n].CopyTo(probabilities);
        }
        finally
        {
            graphs.Add(g);
        }
    }

    /// <summary>The click probability of one row given as column name to raw value (string, number, or a list of strings for a sequence).</summary>
    public float Score(IReadOnlyDictionary<string, object?> row, int? head = null)
    {
        var batch = CreateBatch(1);
        var r = batch.AddRow();
        foreach (var (k, v) in row)
        {
            batch.Set(r, k, v);
        }
        Span<float> p = stackalloc float[1];
        Score(batch, p, head);
        return p[0];
    }
}

/// <summary>
/// Rows for a <see cref="Scorer"/>, filled column by column with raw values and reused between calls
/// (<see cref="Clear"/>). Not thread-safe: one batch per thread.
/// </summary>
public sealed class RowBatch
{
    private readonly string?[] raw;
    private readonly int width;

    internal RowBatch(Scorer owner, int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Owner = owner;
        Capacity = capacity;
        width = owner.Inputs.Count;
        raw = new string?[capacity * width];
    }

    internal Scorer Owner { get; }

    public int Capacity { get; }

    public int Count { get; private set; }

    /// <summary>Empties the batch (every value missing again).</summary>
    public void Clear()
    {
        Array.Clear(raw, 0, Count * width);
        Count = 0;
    }

    /// <summary>Adds a row with every value missing and returns its index.</summary>
    public int AddRow() =>
        Count < Capacity ? Count++ : throw new InvalidOperationException($"the batch is full ({Capacity} rows).");

    internal string? Raw(int row, int input) => raw[row * width + input];

    private int Slot(int row, string column)
    {
        if ((uint)row >= (uint)Count)
        {
            throw new ArgumentOutOfRangeException(nameof(row), row, $"the batch has {Count} rows.");
        }
        var i = Owner.InputIndexOf(row, column);
        return i < 0 ? -1 : row * width + i;
    }

    /// <summary>A raw text value (categorical token, number as text, or a splitter-joined sequence); null or "" = missing.</summary>
    public void Set(int row, string column, string? value)
    {
        var s = Slot(row, column);
        if (s >= 0)
        {
            raw[s] = value;
        }
    }

    /// <summary>A numeric value (numeric feature, or a number-typed categorical).</summary>
    public void Set(int row, string column, double value)
    {
        var s = Slot(row, column);
        if (s >= 0)
        {
            raw[s] = value.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
        }
    }

    /// <summary>A sequence value as its tokens.</summary>
    public void Set(int row, string column, ReadOnlySpan<string> tokens)
    {
        var s = Slot(row, column);
        if (s >= 0)
        {
            var input = Owner.Inputs[s % width];
            var splitter = Owner.Bundle.FeatureMap.Features.First(f => f.SourceName == input.Name).Splitter;
            raw[s] = string.Join(splitter, tokens.ToArray());
        }
    }

    /// <summary>A value of any supported CLR type: string, a number, bool, a list of strings (sequence) or null (missing).</summary>
    public void Set(int row, string column, object? value)
    {
        switch (value)
        {
            case null:
                Set(row, column, (string?)null);
                break;
            case string s:
                Set(row, column, s);
                break;
            case double or float or int or long or decimal or short or byte:
                Set(row, column, Convert.ToDouble(value, System.Globalization.CultureInfo.InvariantCulture));
                break;
            case IEnumerable<string> list:
                Set(row, column, (ReadOnlySpan<string>)list.ToArray());
                break;
            default:
                throw new ScoringException(row, column, $"a value of type {value.GetType().Name} is not supported (string, number or list of strings).");
        }
    }
}
