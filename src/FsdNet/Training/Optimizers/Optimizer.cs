using FsdNet.Autodiff;

namespace FsdNet.Training;

/// <summary>
/// The common part of the optimizers (torch.optim's update rules): the parameters, a settable learning rate (decayed
/// on plateau by the trainer), <see cref="ZeroGrad"/>, <see cref="Step"/>, and the per-parameter state buffers that
/// checkpoints save and <see cref="Restore"/> puts back, so a resumed run continues exactly. All buffers are allocated
/// up front: a step allocates no managed memory. A parameter with no gradient in a step is updated with a zero
/// gradient (PyTorch 1.x's zero_grad fills gradients with zeros).
/// </summary>
internal abstract class Optimizer
{
    private readonly Parameter[] parameters;
    private readonly (string Name, float[][] Values)[] buffers;
    private int rowOffset;
    private int rowLength;

    protected Optimizer(IEnumerable<Parameter> parameters, double learningRate, params string[] bufferNames)
    {
        this.parameters = [.. parameters];
        if (!(learningRate > 0) || !double.IsFinite(learningRate))
        {
            throw new ArgumentOutOfRangeException(nameof(learningRate), learningRate, "the learning rate must be a positive number");
        }
        LearningRate = learningRate;
        buffers = [.. bufferNames.Select(n => (n, this.parameters.Select(p => new float[p.Length]).ToArray()))];
    }

    /// <summary>The torch.optim class name (Adam, AdamW, SGD, Adagrad, RMSprop).</summary>
    public abstract string Name { get; }

    /// <summary>The learning rate for the next step (settable per step, e.g. for decay on plateau).</summary>
    public double LearningRate { get; set; }

    /// <summary>Steps taken so far.</summary>
    public long StepCount { get; private set; }

    public IReadOnlyList<Parameter> Parameters => parameters;

    /// <summary>The state buffers, one array per parameter each (e.g. Adam's m and v), for checkpoints.</summary>
    public IReadOnlyList<(string Name, float[][] Values)> State => buffers;

    /// <summary>Marks every gradient as zero (no memory traffic).</summary>
    public void ZeroGrad()
    {
        foreach (var p in parameters)
        {
            p.ZeroGrad();
        }
    }

    /// <summary>One update of every parameter from its gradient.</summary>
    public void Step()
    {
        StepCount++;
        BeginStep();
        for (var i = 0; i < parameters.Length; i++)
        {
            var p = parameters[i];
            if (p.SparseGrad)
            {
                // Lazy embedding updates: only the rows with a gradient this step move (and their state).
                StepRows(i, p);
                continue;
            }
            (rowOffset, rowLength) = (0, p.Length);
            Update(i, p.Span, p.HasGrad ? p.GradSpan : AcceptsMissingGrad ? default : p.LiveGrad());
        }
    }

    private void StepRows(int index, Parameter p)
    {
        rowLength = p.Shape.Last;
        foreach (var row in p.TouchedRowList)
        {
            rowOffset = row * rowLength;
            Update(index, p.Row(row), p.Grad!.Row(row));
        }
    }

    /// <summary>Restores buffers saved from <see cref="State"/> (by name) and the step count.</summary>
    public void Restore(IReadOnlyDictionary<string, float[][]> saved, long step)
    {
        foreach (var (name, values) in buffers)
        {
            if (!saved.TryGetValue(name, out var from) || from.Length != values.Length)
            {
                throw new ArgumentException(
                    $"{Name} state '{name}' is missing or has {(from?.Length ?? 0)} tensors; the model has {values.Length} parameters.");
            }
            for (var i = 0; i < values.Length; i++)
            {
                if (from[i].Length != values[i].Length)
                {
                    throw new ArgumentException($"{Name} state '{name}' for parameter {parameters[i].Name} has the wrong size.");
                }
                from[i].CopyTo(values[i], 0);
            }
        }
        StepCount = step;
    }

    /// <summary>
    /// The buffer <paramref name="index"/> (in constructor order) of parameter <paramref name="param"/>, over the
    /// elements the current <see cref="Update"/> call is given (the whole parameter, or one row of a lazily updated table).
    /// </summary>
    protected Span<float> Buffer(int index, int param) => buffers[index].Values[param].AsSpan(rowOffset, rowLength);

    /// <summary>Called once per step after <see cref="StepCount"/> is incremented (bias corrections and the like).</summary>
    protected virtual void BeginStep()
    {
    }

    /// <summary>
    /// Whether <see cref="Update"/> handles an empty gradient span itself (as zeros); otherwise a parameter without a
    /// gradient gets a zero-filled one first.
    /// </summary>
    protected virtual bool AcceptsMissingGrad => false;

    /// <summary>
    /// Updates parameter <paramref name="index"/> (or a row of it, see <see cref="Buffer"/>); <paramref name="grad"/>
    /// is empty when it has no gradient (= zeros).
    /// </summary>
    protected abstract void Update(int index, Span<float> param, ReadOnlySpan<float> grad);

    /// <summary>Parameter validation for the constructors, in torch's terms.</summary>
    protected static void Require(bool ok, string name, double value, string rule)
    {
        if (!ok)
        {
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be {rule}");
        }
    }
}
