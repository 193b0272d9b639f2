using System.Collections;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using FsdNet.Autodiff;
using FsdNet.Data;
using FsdNet.Layers;
using FsdNet.Models;
using FsdNet.Tensors;

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

    /// <summary>
    /// Threads one scoring call computes with (null: the process default, all cores). The scorer's own setting: a
    /// training run or another scorer in the process keeps its own. Large batches gain from more; a service scoring
    /// single rows from many request threads usually wants 1.
    /// </summary>
    public int? Threads { get; init; }
}

/// <summary>One raw input column a scorer reads, as named in the training data.</summary>
public sealed record ScorerInput(string Name, FeatureType Type, string Dtype, int MaxLen);

/// <summary>How often a feature's value was unseen (scored as OOV) or missing (scored as its fill value).</summary>
public sealed record FeatureCounts(string Feature, long Oov, long Missing);

/// <summary>
/// Thread-safe in-process scoring of a trained model: rows by raw column name with values as in the training data
/// (strings, numbers, sequences), encoded with the model's fitted feature map exactly as training encoded them
/// (<see cref="FeatureMap.EncodeRow(Func{string, string?}, Span{int}, Span{float}, Span{int}, Span{float}, out long)"/>).
/// Any number of threads may score at once (one <see cref="RowBatch"/> per thread). Unseen categories go to OOV
/// and missing features to their fill value; both are counted per feature (<see cref="Counts"/>). Values are
/// encoded into the batch as they are set, and steady-state scoring allocates nothing.
/// </summary>
public sealed class Scorer
{
    private readonly ModelBundle bundle;
    private readonly CtrModel model;
    private readonly Dictionary<string, int> inputIndex;
    private readonly HashSet<string> ignored;
    private readonly Graph?[] graphs;
    private readonly RowBatch?[] singles;
    private readonly long[] oov;
    private readonly long[] missing;
    private readonly bool anyMissingError;

    private Scorer(ModelBundle bundle, ScorerOptions options)
    {
        this.bundle = bundle;
        Options = options;
        engine = options.Threads is { } t ? new EngineSettings { Threads = t } : null;
        var map = bundle.FeatureMap;
        if (map.FuxiEncoded)
        {
            throw map.RawInputError(bundle.SourcePath);
        }
        Map = map;
        Inputs = [.. map.Features.Where(f => f.Type != FeatureType.Meta).GroupBy(f => f.SourceName)
            .Select(g => new ScorerInput(g.Key, g.First().Type, g.First().Dtype, g.First().MaxLen))];
        inputIndex = Inputs.Select((c, i) => (c.Name, i)).ToDictionary(t => t.Name, t => t.i, StringComparer.Ordinal);
        ignored = new HashSet<string>(map.Features.Where(f => f.Type == FeatureType.Meta).Select(f => f.SourceName), StringComparer.Ordinal)
        {
            map.LabelName,
        };
        Features = [.. map.Features.Where(f => f.Type != FeatureType.Meta).Select((f, k) => new ScoredFeature(f, k))];
        ColumnFeatures = [.. Inputs.Select(c => Features.Where(f => f.Info.SourceName == c.Name).ToArray())];
        anyMissingError = Features.Any(f => f.Codec.MissingProblem is not null);
        oov = new long[Features.Length];
        missing = new long[Features.Length];
        HeadCount = bundle.Model is FsdCapableModel { HeadCount: { } h } ? h : null;
        var slots = Math.Max(4, 2 * Environment.ProcessorCount);
        graphs = new Graph?[slots];
        singles = new RowBatch?[slots];
        model = bundle.Model;
        var fold = options.FoldBatchNorm && model.Modules().OfType<DenseLayer>().Any(d => d.Norm is not null);
        // Fold BatchNorm, split the FSD heads and pack the weights in a copy: the bundle's model stays as it was (it may be scored
        // unfolded, saved or exported).
        var copy = bundle.InferenceCopy(fold, out var folded);
        FoldedBatchNorms = folded;
        foreach (var fsd in copy.Modules().OfType<FusionSelfDistillation>())
        {
            fsd.SplitHeadsForServing();
        }
        model = copy;
        // The copy's weights are constant from here: pack each layer's weight for Sgemm once, not on every call.
        foreach (var linear in model.Modules().OfType<Linear>().Where(l => l.OutFeatures > Sgemm.SmallDim))
        {
            linear.Weight.Packed = Sgemm.Prepack(linear.Weight);
        }
    }

    /// <summary>Loads a bundle file or a run directory.</summary>
    public static Scorer Load(string bundleOrRunDir, ScorerOptions? options = null) =>
        Create(ModelBundle.Load(bundleOrRunDir), options);

    /// <summary>A scorer over a loaded model (the bundle is never changed: BatchNorm is folded into a copy).</summary>
    public static Scorer Create(ModelBundle bundle, ScorerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(bundle);
        return new(bundle, options ?? new ScorerOptions());
    }

    public ScorerOptions Options { get; }

    /// <summary>The scorer's own engine settings (<see cref="ScorerOptions.Threads"/>), null for the process default.</summary>
    private readonly EngineSettings? engine;

    public ModelBundle Bundle => bundle;

    /// <summary>The raw columns a row may give, in feature-map order.</summary>
    public IReadOnlyList<ScorerInput> Inputs { get; }

    /// <summary>Heads of an FSD model (valid <c>head</c> arguments are 0..HeadCount-1), null for a single-head model.</summary>
    public int? HeadCount { get; }

    /// <summary>How many BatchNorm layers were folded into their linear layers at load (0 when none or when folding is off).</summary>
    public int FoldedBatchNorms { get; }

    internal FeatureMap Map { get; }

    /// <summary>The encoded (non-meta) features, in feature-map order; their index is their slot in the counts.</summary>
    internal ScoredFeature[] Features { get; }

    /// <summary>Per input column (as <see cref="Inputs"/>): the features that read it (several with copy_from).</summary>
    internal ScoredFeature[][] ColumnFeatures { get; }

    /// <summary>A reusable batch of up to <paramref name="capacity"/> rows for this scorer.</summary>
    public RowBatch CreateBatch(int capacity) => new(this, capacity);

    /// <summary>Per feature: OOV and missing counts since load (a snapshot; counting is lock-free).</summary>
    public IReadOnlyList<FeatureCounts> Counts() =>
        [.. Features.Select((f, i) => new FeatureCounts(f.Info.Name, Interlocked.Read(ref oov[i]), Interlocked.Read(ref missing[i])))];

    /// <summary>The input column index of a name; -1 for the label and meta columns (accepted, ignored).</summary>
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
        var n = batch.Count;
        if (n == 0)
        {
            return;
        }
        var f = Features.Length;
        var state = batch.State;
        if (anyMissingError)
        {
            // A missing value with no usable fill value (an embedding vector, a numeric fill_na that is not a number).
            for (var r = 0; r < n; r++)
            {
                for (var k = 0; k < f; k++)
                {
                    if (state[(r * f) + k] == RowBatch.Missing && Features[k].Codec.MissingProblem is { } problem)
                    {
                        throw new ScoringException(r, Features[k].Info.SourceName, problem);
                    }
                }
            }
        }
        for (var r = 0; r < n; r++)
        {
            var row = state.AsSpan(r * f, f);
            for (var k = 0; k < row.Length; k++)
            {
                switch (row[k])
                {
                    case RowBatch.Oov:
                        Interlocked.Increment(ref oov[k]);
                        break;
                    case RowBatch.Missing:
                        Interlocked.Increment(ref missing[k]);
                        break;
                }
            }
        }
        var g = TakeGraph();
        using var scope = EngineSettings.Use(engine);
        try
        {
            g.Reset();
            var map = Map;
            var input = new ModelInput(n, batch.Cat, map.CategoricalCount, null, batch.Num, map.NumericCount, batch.Seq, map.SequenceWidth, batch.Emb, map.EmbeddingWidth);
            var p = head is { } hh ? ((FsdCapableModel)model).PredictHead(g, input, hh) : model.Predict(g, input);
            p.Span[..n].CopyTo(probabilities);
        }
        finally
        {
            ReturnGraph(g);
        }
        for (var r = 0; r < n; r++)
        {
            if (!float.IsFinite(probabilities[r]))
            {
                // Finite inputs the network cannot take (a numeric value of 1e28 where training saw 0..10): never a silent NaN.
                throw new ScoringException(r, null, "the model's output is not a number for this row (a numeric value far outside the training data's range?).");
            }
        }
    }

    /// <summary>
    /// The click probability of one row given as column name to raw value (string, number, bool, a list of strings
    /// for a sequence, a list of numbers for an embedding vector, a <see cref="JsonElement"/> of those, or null for
    /// missing). A convenience: the typed <see cref="RowBatch"/> path allocates nothing, this one a little.
    /// </summary>
    public float Score(IReadOnlyDictionary<string, object?> row, int? head = null)
    {
        ArgumentNullException.ThrowIfNull(row);
        var batch = TakeSingle();
        try
        {
            batch.Clear();
            var r = batch.AddRow();
            foreach (var (k, v) in row)
            {
                batch.Set(r, k, v);
            }
            Span<float> p = stackalloc float[1];
            Score(batch, p, head);
            return p[0];
        }
        finally
        {
            Return(singles, batch);
        }
    }

    private Graph TakeGraph() => Take(graphs) ?? new Graph { Training = false, GradEnabled = false };

    private void ReturnGraph(Graph g) => Return(graphs, g);

    private RowBatch TakeSingle() => Take(singles) ?? new RowBatch(this, 1);

    /// <summary>A pooled object from a lock-free slot array (null when every slot is empty).</summary>
    private static T? Take<T>(T?[] slots)
        where T : class
    {
        var start = Environment.CurrentManagedThreadId;
        for (var i = 0; i < slots.Length; i++)
        {
            var j = (int)((uint)(start + i) % (uint)slots.Length);
            if (Volatile.Read(ref slots[j]) is not null && Interlocked.Exchange(ref slots[j], null) is { } t)
            {
                return t;
            }
        }
        return null;
    }

    private static void Return<T>(T?[] slots, T item)
        where T : class
    {
        var start = Environment.CurrentManagedThreadId;
        for (var i = 0; i < slots.Length; i++)
        {
            var j = (int)((uint)(start + i) % (uint)slots.Length);
            if (Interlocked.CompareExchange(ref slots[j], item, null) is null)
            {
                return;
            }
        }
        // every slot full: more threads than slots at once; this one is left to the GC
    }
}

/// <summary>One encoded feature of a scorer: its codec (the rules, shared with training) and its slot in the counts and batch state.</summary>
internal sealed class ScoredFeature(FeatureInfo info, int index)
{
    public FeatureInfo Info { get; } = info;

    public FeatureCodec Codec { get; } = info.Codec;

    /// <summary>Position among the scorer's features (the counts' and the batch state's slot).</summary>
    public int Index { get; } = index;

    public FeatureType Type => Info.Type;
}

/// <summary>
/// Rows for a <see cref="Scorer"/>, filled column by column with raw values and reused between calls
/// (<see cref="Clear"/>). Values are encoded as they are set, into arrays allocated once, so filling and scoring a
/// batch allocates nothing. A column left unset (or set to null, "" or an empty list) is missing and gets its fill
/// value. Not thread-safe: one batch per thread.
/// </summary>
public sealed class RowBatch
{
    internal const byte Value = 0;
    internal const byte Oov = 1;
    internal const byte Missing = 2;

    private readonly ScoredFeature[] features;
    private readonly ScoredFeature[][] columnFeatures;
    private readonly int catWidth, numWidth, seqWidth, embWidth;

    internal RowBatch(Scorer owner, int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Owner = owner;
        Capacity = capacity;
        features = owner.Features;
        columnFeatures = owner.ColumnFeatures;
        var map = owner.Map;
        (catWidth, numWidth, seqWidth, embWidth) = (map.CategoricalCount, map.NumericCount, map.SequenceWidth, map.EmbeddingWidth);
        Cat = new int[capacity * catWidth];
        Num = new float[capacity * numWidth];
        Seq = new int[capacity * seqWidth];
        Emb = new float[capacity * embWidth];
        State = new byte[capacity * features.Length];
    }

    internal Scorer Owner { get; }

    internal int[] Cat { get; }

    internal float[] Num { get; }

    internal int[] Seq { get; }

    internal float[] Emb { get; }

    /// <summary>Per row and feature: <see cref="Value"/>, <see cref="Oov"/> or <see cref="Missing"/>.</summary>
    internal byte[] State { get; }

    public int Capacity { get; }

    public int Count { get; private set; }

    /// <summary>Empties the batch.</summary>
    public void Clear() => Count = 0;

    /// <summary>Adds a row with every value missing and returns its index.</summary>
    public int AddRow()
    {
        if (Count == Capacity)
        {
            throw new InvalidOperationException($"the batch is full ({Capacity} rows).");
        }
        var r = Count++;
        foreach (var f in features)
        {
            SetMissing(r, f);
        }
        return r;
    }

    /// <summary>The features a column feeds (none for the label and meta columns), checking the row.</summary>
    private ScoredFeature[] Column(int row, string column)
    {
        ArgumentNullException.ThrowIfNull(column);
        if ((uint)row >= (uint)Count)
        {
            throw new ArgumentOutOfRangeException(nameof(row), row, $"the batch has {Count} rows.");
        }
        var i = Owner.InputIndexOf(row, column);
        return i < 0 ? [] : columnFeatures[i];
    }

    /// <summary>A raw text value (categorical token, number as text, or a splitter-joined sequence); null or "" = missing.</summary>
    public void Set(int row, string column, string? value) => Set(row, column, value.AsSpan());

    /// <summary>A raw text value without a string (e.g. a slice of a request buffer); empty = missing.</summary>
    public void Set(int row, string column, ReadOnlySpan<char> value)
    {
        foreach (var f in Column(row, column))
        {
            if (value.IsEmpty)
            {
                SetMissing(row, f);
            }
            else
            {
                SetText(row, f, value);
            }
        }
    }

    /// <summary>A numeric value (numeric feature, or a number-typed categorical; other features read its invariant text).</summary>
    public void Set(int row, string column, double value)
    {
        foreach (var f in Column(row, column))
        {
            SetNumber(row, f, value);
        }
    }

    /// <summary>A sequence value as its tokens (null tokens are empty); an empty list = missing. A one-element list also sets a single-valued feature.</summary>
    public void Set(int row, string column, ReadOnlySpan<string> tokens)
    {
        foreach (var f in Column(row, column))
        {
            if (tokens.IsEmpty)
            {
                SetMissing(row, f);
                continue;
            }
            switch (f.Type)
            {
                case FeatureType.Sequence:
                    SetTokens(row, f, tokens);
                    break;
                case FeatureType.Embedding:
                {
                    var dst = EmbeddingSlots(row, f, tokens.Length);
                    for (var i = 0; i < tokens.Length; i++)
                    {
                        dst[i] = EmbeddingValue(row, f, i, tokens[i].AsSpan());
                    }
                    State[(row * features.Length) + f.Index] = Value;
                    break;
                }
                default:
                    if (tokens.Length != 1)
                    {
                        throw new ScoringException(row, column, $"a list of {tokens.Length} values for a {f.Type.ToString().ToLowerInvariant()} feature (one value expected).");
                    }
                    if (string.IsNullOrEmpty(tokens[0]))
                    {
                        SetMissing(row, f);
                    }
                    else
                    {
                        SetText(row, f, tokens[0]);
                    }
                    break;
            }
        }
    }

    /// <summary>An embedding feature's vector (pretrain_dim values); an empty vector = missing. A one-element vector also sets a single number.</summary>
    public void Set(int row, string column, ReadOnlySpan<float> vector) => SetVector(row, column, vector);

    /// <summary>An embedding feature's vector as doubles (converted to float as training does).</summary>
    public void Set(int row, string column, ReadOnlySpan<double> vector) => SetVector(row, column, vector);

    /// <summary>
    /// A value of any supported CLR type: string, a number, bool (1/0), a list of strings (sequence), a list of numbers
    /// (embedding vector), a <see cref="JsonElement"/> holding one of those, or null (missing).
    /// </summary>
    public void Set(int row, string column, object? value)
    {
        switch (value)
        {
            case null:
                Set(row, column, ReadOnlySpan<char>.Empty);
                break;
            case string s:
                Set(row, column, s.AsSpan());
                break;
            case double d:
                Set(row, column, d);
                break;
            case float or int or long or decimal or short or byte or uint or ulong or ushort or sbyte:
                Set(row, column, Convert.ToDouble(value, CultureInfo.InvariantCulture));
                break;
            case bool b:
                Set(row, column, b ? 1.0 : 0.0);
                break;
            case string[] tokens:
                Set(row, column, (ReadOnlySpan<string>)tokens);
                break;
            case List<string> list:
                Set(row, column, (ReadOnlySpan<string>)CollectionsMarshal.AsSpan(list));
                break;
            case float[] fv:
                Set(row, column, (ReadOnlySpan<float>)fv);
                break;
            case double[] dv:
                Set(row, column, (ReadOnlySpan<double>)dv);
                break;
            case JsonElement e:
                SetJson(row, column, e);
                break;
            case IEnumerable<string> strings:
                Set(row, column, (ReadOnlySpan<string>)strings.ToArray());
                break;
            case IEnumerable<double> doubles:
                Set(row, column, (ReadOnlySpan<double>)doubles.ToArray());
                break;
            case IEnumerable<float> floats:
                Set(row, column, (ReadOnlySpan<float>)floats.ToArray());
                break;
            case IEnumerable list:
                SetList(row, column, list.Cast<object?>().ToArray());
                break;
            default:
                _ = Column(row, column); // an unknown column is reported as such first
                throw new ScoringException(row, column, $"a value of type {value.GetType().Name} is not supported (string, number, bool, list of strings or numbers, or null).");
        }
    }

    private void SetJson(int row, string column, JsonElement e)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.Null or JsonValueKind.Undefined:
                Set(row, column, ReadOnlySpan<char>.Empty);
                break;
            case JsonValueKind.String:
                Set(row, column, e.GetString());
                break;
            case JsonValueKind.Number:
                Set(row, column, e.GetDouble());
                break;
            case JsonValueKind.True or JsonValueKind.False:
                Set(row, column, e.ValueKind == JsonValueKind.True ? 1.0 : 0.0);
                break;
            case JsonValueKind.Array:
                SetList(row, column, [.. e.EnumerateArray().Select(x => (object?)x)]);
                break;
            default:
                _ = Column(row, column);
                throw new ScoringException(row, column, "a JSON object is not a feature value (string, number, bool, list or null).");
        }
    }

    /// <summary>A list of mixed values: all numbers (a vector) or all strings (tokens).</summary>
    private void SetList(int row, string column, object?[] items)
    {
        static bool IsNumber(object? o) => o is double or float or int or long or decimal or short or byte || o is JsonElement { ValueKind: JsonValueKind.Number };
        static bool IsText(object? o) => o is string || o is JsonElement { ValueKind: JsonValueKind.String };
        if (items.Length > 0 && items.All(IsNumber))
        {
            Set(row, column, (ReadOnlySpan<double>)[.. items.Select(o => o is JsonElement j ? j.GetDouble() : Convert.ToDouble(o, CultureInfo.InvariantCulture))]);
        }
        else if (items.All(IsText))
        {
            Set(row, column, (ReadOnlySpan<string>)[.. items.Select(o => o is JsonElement j ? j.GetString()! : (string)o!)]);
        }
        else
        {
            _ = Column(row, column);
            throw new ScoringException(row, column, "a list must hold only strings (sequence tokens) or only numbers (an embedding vector).");
        }
    }

    private void SetVector<T>(int row, string column, ReadOnlySpan<T> vector)
        where T : struct, System.Numerics.INumberBase<T>
    {
        foreach (var f in Column(row, column))
        {
            if (vector.IsEmpty)
            {
                SetMissing(row, f);
            }
            else if (f.Type == FeatureType.Embedding)
            {
                var dst = EmbeddingSlots(row, f, vector.Length);
                for (var i = 0; i < vector.Length; i++)
                {
                    var v = double.CreateTruncating(vector[i]);
                    if (!double.IsFinite(v))
                    {
                        throw new ScoringException(row, f.Info.SourceName, $"embedding value {i} is not a finite number: '{v.ToString(CultureInfo.InvariantCulture)}'");
                    }
                    dst[i] = (float)v;
                }
                State[(row * features.Length) + f.Index] = Value;
            }
            else if (vector.Length == 1)
            {
                SetNumber(row, f, double.CreateTruncating(vector[0]));
            }
            else
            {
                throw new ScoringException(row, column, $"a list of {vector.Length} numbers for a {f.Type.ToString().ToLowerInvariant()} feature (one value expected).");
            }
        }
    }

    private void SetMissing(int row, ScoredFeature f)
    {
        var info = f.Info;
        switch (f.Type)
        {
            case FeatureType.Categorical:
                Cat[(row * catWidth) + info.TypeIndex] = f.Codec.MissingCode;
                break;
            case FeatureType.Numeric:
                Num[(row * numWidth) + info.TypeIndex] = f.Codec.MissingNumber;
                break;
            case FeatureType.Sequence:
                Seq.AsSpan((row * seqWidth) + info.SequenceOffset, info.MaxLen).Clear();
                break;
            case FeatureType.Embedding:
                Emb.AsSpan((row * embWidth) + info.EmbeddingOffset, info.EmbeddingWidth).Clear();
                break;
        }
        State[(row * features.Length) + f.Index] = Missing;
    }

    private void SetText(int row, ScoredFeature f, ReadOnlySpan<char> text)
    {
        var info = f.Info;
        var state = Value;
        switch (f.Type)
        {
            case FeatureType.Categorical:
            {
                var code = f.Codec.CategoricalCode(text);
                Cat[(row * catWidth) + info.TypeIndex] = code;
                state = code == f.Codec.OovIdx ? Oov : Value;
                break;
            }
            case FeatureType.Numeric:
            {
                if (f.Codec.ParseNumber(text, out var v) is { } problem)
                {
                    throw new ScoringException(row, info.SourceName, problem);
                }
                SetNumber(row, f, v);
                return;
            }
            case FeatureType.Sequence:
                state = EncodeSequence(row, f, new TextTokens(text, info.Splitter));
                break;
            case FeatureType.Embedding:
                if (f.Codec.ParseVector(text, Emb.AsSpan((row * embWidth) + info.EmbeddingOffset, info.EmbeddingWidth)) is { } bad)
                {
                    throw new ScoringException(row, info.SourceName, bad);
                }
                break;
        }
        State[(row * features.Length) + f.Index] = state;
    }

    private void SetNumber(int row, ScoredFeature f, double v)
    {
        var info = f.Info;
        switch (f.Type)
        {
            case FeatureType.Numeric:
                if (!double.IsFinite(v))
                {
                    throw new ScoringException(row, info.SourceName, $"NaN/Inf not allowed: '{v.ToString(CultureInfo.InvariantCulture)}'");
                }
                Num[(row * numWidth) + info.TypeIndex] = f.Codec.Normalize((float)v);
                State[(row * features.Length) + f.Index] = Value;
                break;
            case FeatureType.Categorical when f.Codec.NumberKeyed:
            {
                var code = f.Codec.NumberCode(v);
                Cat[(row * catWidth) + info.TypeIndex] = code;
                State[(row * features.Length) + f.Index] = code == f.Codec.OovIdx ? Oov : Value;
                break;
            }
            default:
            {
                // A string token, a sequence or a one-value vector: the number as training data would write it.
                Span<char> text = stackalloc char[32];
                if (!v.TryFormat(text, out var written, "R", CultureInfo.InvariantCulture))
                {
                    throw new ScoringException(row, info.SourceName, "number too long to format.");
                }
                SetText(row, f, text[..written]);
                break;
            }
        }
    }

    private void SetTokens(int row, ScoredFeature f, ReadOnlySpan<string> tokens) =>
        State[(row * features.Length) + f.Index] = EncodeSequence(row, f, new ListTokens(tokens));

    /// <summary>max_len codes as training encodes them (the feature's codec); the state is OOV when a token was unseen.</summary>
    private byte EncodeSequence<TTokens>(int row, ScoredFeature f, TTokens tokens)
        where TTokens : ITokens, allows ref struct
    {
        var info = f.Info;
        return f.Codec.EncodeSequence(tokens, Seq.AsSpan((row * seqWidth) + info.SequenceOffset, info.MaxLen)) ? Oov : Value;
    }

    private Span<float> EmbeddingSlots(int row, ScoredFeature f, int count)
    {
        var info = f.Info;
        if (count != info.EmbeddingWidth)
        {
            throw new ScoringException(row, info.SourceName, f.Codec.VectorLengthProblem(count));
        }
        return Emb.AsSpan((row * embWidth) + info.EmbeddingOffset, info.EmbeddingWidth);
    }

    private static float EmbeddingValue(int row, ScoredFeature f, int i, ReadOnlySpan<char> text) =>
        FeatureCodec.ParseVectorValue(i, text, out var v) is { } problem ? throw new ScoringException(row, f.Info.SourceName, problem) : v;
}
