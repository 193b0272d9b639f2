using FsdNet.Tensors;

namespace FsdNet.Autodiff;

/// <summary>
/// A reverse-mode autodiff tape with pooled storage. Each training step calls <see cref="Reset"/>, runs the
/// forward ops (each records a node when one of its inputs needs a gradient), then <see cref="Backward"/>.
/// Intermediate tensors, their gradients and the nodes are pooled and handed out in the same order every step,
/// so a steady-state step allocates nothing on the managed heap.
/// A graph is used by one thread at a time; concurrent inference uses one graph per thread.
/// </summary>
internal sealed partial class Graph
{
    private readonly List<Tensor> pool = [];
    private readonly List<Op> tape = [];
    private readonly List<List<Op>> opPools = [];
    private int[] opCursors = [];
    private readonly List<float[]> freeGrads = [];
    private readonly RangeJob job = new();
    private int tensorCursor;
    private int nodeCount;

    /// <summary>Training mode: batch statistics in BatchNorm, dropout active.</summary>
    public bool Training { get; set; } = true;

    /// <summary>Whether ops record nodes for <see cref="Backward"/> (off for evaluation and serving).</summary>
    public bool GradEnabled { get; set; } = true;

    /// <summary>Random numbers for dropout masks.</summary>
    public Rng Random { get; set; } = new(0);

    /// <summary>
    /// Data-parallel training: where this process's rows start in the global batch (dropout masks are keyed by the
    /// global row, so each rank draws the masks one process would draw for its rows), the global batch's rows, and
    /// the ranks BatchNorm's batch statistics and their gradients are summed over (synchronised BatchNorm). Null and
    /// 0 in one process.
    /// </summary>
    internal int RowOffset { get; set; }

    internal int GlobalRows { get; set; }

    internal Distributed.Communicator? BatchSync { get; set; }

    /// <summary>
    /// Row-sharded embedding tables of a distributed run: the input layers read this step's remapped codes through it
    /// (null: tables are whole).
    /// </summary>
    internal Distributed.RowShardedTables? ShardedTables { get; set; }

    /// <summary>Told after each backward node (null: nobody listens): data-parallel gradient buckets go out from there.</summary>
    internal IBackwardListener? BackwardListener { get; set; }

    /// <summary>The nodes on the tape this step.</summary>
    internal int TapeLength => nodeCount;

    // The node whose backward runs now (stamped on the gradients it writes, Tensor.GradNode).
    private int backwardNode;

    /// <summary>Whether BatchNorm's batch statistics span several ranks in this step.</summary>
    private bool SyncBatchNorm => BatchSync is { Size: > 1 } && Training;

    /// <summary>Pooled tensors handed out so far (for tests of the pooling).</summary>
    public int PooledTensorCount => pool.Count;

    /// <summary>Starts a new step: every pooled tensor and node becomes free again.</summary>
    public void Reset()
    {
        tensorCursor = 0;
        nodeCount = 0;
        Array.Clear(opCursors);
        fieldCallCursor = 0;
        listCursor = 0;
    }

    /// <summary>A pooled tensor of the given shape (contents undefined).</summary>
    public Tensor Scratch(Shape shape) => Acquire(shape, false);

    /// <summary>A pooled tensor holding a copy of <paramref name="values"/>, not requiring gradient (inputs, labels).</summary>
    public Tensor Constant(Shape shape, ReadOnlySpan<float> values)
    {
        var t = Acquire(shape, false);
        t.CopyFrom(values);
        Trace?.Add(TraceKind.Constant, t, [], payload: values.ToArray());
        return t;
    }

    /// <summary>
    /// Back-propagates from a scalar <paramref name="loss"/> (seeded with <paramref name="seed"/>, normally 1).
    /// Gradients accumulate into <see cref="Parameter"/>s (call ZeroGrad first) and are computed only for tensors
    /// that require them.
    /// </summary>
    public void Backward(Tensor loss, float seed = 1f)
    {
        if (loss.Length != 1)
        {
            throw new ArgumentException($"Backward needs a scalar loss, got shape {loss.Shape}.");
        }
        if (!loss.RequiresGrad)
        {
            throw new InvalidOperationException("The loss does not depend on any tensor that requires a gradient.");
        }
        EnsureGrad(loss).Span[0] = seed;
        loss.GradLive = true;
        var listener = BackwardListener;
        for (var i = nodeCount - 1; i >= 0; i--)
        {
            var node = tape[i];
            if (node.Out.GradLive)
            {
                backwardNode = i;
                if (Profile.Enabled)
                {
                    var start = System.Diagnostics.Stopwatch.GetTimestamp();
                    node.Backward(this);
                    Profile.OpBackward(node.GetType(), start);
                }
                else
                {
                    node.Backward(this);
                }
            }
            // Only this node reads its output's gradient (every consumer of the output came later on the tape and
            // has already written into it), so the buffer can serve a gradient further down the tape.
            ReleaseGrad(node.Out);
            listener?.Done(i);
        }
    }

    /// <summary>
    /// A gradient buffer for an intermediate tensor: the smallest free one that fits, else a new one. The tape
    /// requests and releases buffers in the same order every step, so after the first step nothing is allocated,
    /// and gradients of the whole graph need only about as much memory as the widest part of it at once.
    /// </summary>
    private float[] TakeGradBuffer(int length)
    {
        var best = -1;
        for (var i = 0; i < freeGrads.Count; i++)
        {
            if (freeGrads[i].Length >= length && (best < 0 || freeGrads[i].Length < freeGrads[best].Length))
            {
                best = i;
            }
        }
        if (best < 0)
        {
            return GC.AllocateArray<float>(Math.Max(length, 1), pinned: true);
        }
        var buffer = freeGrads[best];
        freeGrads[best] = freeGrads[^1];
        freeGrads.RemoveAt(freeGrads.Count - 1);
        return buffer;
    }

    private void ReleaseGrad(Tensor t)
    {
        if (t.Grad is { } grad && t.Pooled && grad.Array.Length > 0)
        {
            freeGrads.Add(grad.Surrender());
            t.GradLive = false;
        }
    }

    internal Tensor Acquire(Shape shape, bool requiresGrad)
    {
        if (tensorCursor == pool.Count)
        {
            pool.Add(new Tensor(shape) { Pooled = true });
        }
        var t = pool[tensorCursor++];
        t.Reset(shape);
        t.RequiresGrad = requiresGrad;
        DropGrad(t);
        return t;
    }

    /// <summary>A pooled tensor that will view another's storage: its own buffer is not grown for the shape.</summary>
    internal Tensor AcquireView(Tensor source, Shape shape, bool requiresGrad)
    {
        if (tensorCursor == pool.Count)
        {
            pool.Add(new Tensor(new Shape(1)) { Pooled = true });
        }
        var t = pool[tensorCursor++];
        t.ViewOf(source, shape);
        t.RequiresGrad = requiresGrad;
        DropGrad(t);
        return t;
    }

    /// <summary>A tensor for an op's output: requires grad iff recording and an input does.</summary>
    private Tensor Output(Shape shape, bool track) => Acquire(shape, track);

    private bool Tracks(Tensor a) => GradEnabled && a.RequiresGrad;

    private bool Tracks(Tensor a, Tensor b) => GradEnabled && (a.RequiresGrad || b.RequiresGrad);

    private bool Tracks(Tensor a, Tensor? b, Tensor? c) =>
        GradEnabled && (a.RequiresGrad || (b?.RequiresGrad ?? false) || (c?.RequiresGrad ?? false));

    /// <summary>
    /// Records an op on the tape: a pooled node of type <typeparamref name="T"/> (reused every step, in the same
    /// order) whose output is <paramref name="output"/>; the caller sets the node's inputs and attributes.
    /// </summary>
    private T Record<T>(Tensor output)
        where T : Op, new()
    {
        var id = OpId<T>.Value;
        if (id >= opCursors.Length)
        {
            Array.Resize(ref opCursors, id + 1);
            while (opPools.Count <= id)
            {
                opPools.Add([]);
            }
        }
        var pool = opPools[id];
        if (opCursors[id] == pool.Count)
        {
            pool.Add(new T());
        }
        var node = (T)pool[opCursors[id]++];
        node.Out = output;
        if (Profile.Enabled)
        {
            Profile.OpRecorded(typeof(T));
        }
        if (nodeCount == tape.Count)
        {
            tape.Add(node);
        }
        else
        {
            tape[nodeCount] = node;
        }
        nodeCount++;
        return node;
    }

    /// <summary>A pooled tensor handed out again: a gradient buffer it still holds (backward not run) goes back.</summary>
    private void DropGrad(Tensor t)
    {
        if (t.Grad is { } grad && grad.Array.Length > 0)
        {
            freeGrads.Add(grad.Surrender());
        }
        t.GradLive = false;
    }

    /// <summary>The gradient tensor of <paramref name="t"/>, with storage: recycled buffers for pooled intermediates.</summary>
    private Tensor EnsureGrad(Tensor t)
    {
        if (!t.Pooled)
        {
            return t.Grad ??= new Tensor(t.Shape);
        }
        t.Grad ??= new Tensor(new Shape(1));
        if (t.Grad.Array.Length == 0 || !t.GradLive)
        {
            if (t.Grad.Array.Length > 0)
            {
                freeGrads.Add(t.Grad.Surrender());
            }
            t.Grad.Adopt(TakeGradBuffer(t.Length), t.Shape);
        }
        return t.Grad;
    }

    /// <summary>
    /// The gradient buffer of <paramref name="t"/> for writing; <paramref name="fresh"/> says it holds no value yet
    /// this step, so the caller must overwrite rather than accumulate.
    /// </summary>
    private Span<float> GradFor(Tensor t, out bool fresh)
    {
        var g = EnsureGrad(t);
        // A dense write to a row-sparse table: its untouched rows become zeros, and the step's gradient dense.
        t.Touched?.MakeAll(g.Span, t.GradLive);
        fresh = !t.GradLive;
        t.GradLive = true;
        t.GradNode = backwardNode;
        return g.Span;
    }

    /// <summary>
    /// For fused ops writing several gradients in one pass: when <paramref name="t"/> needs a gradient, makes its buffer
    /// ready and sets <paramref name="bit"/> in <paramref name="want"/>, and in <paramref name="fresh"/> when the buffer
    /// must be overwritten rather than added to.
    /// </summary>
    private void ClaimGrad(Tensor t, int bit, ref int want, ref int fresh)
    {
        if (!t.RequiresGrad)
        {
            return;
        }
        GradFor(t, out var f);
        want |= bit;
        fresh |= f ? bit : 0;
    }

    /// <summary>Adds (or writes, when fresh) <paramref name="dy"/> into the gradient of <paramref name="t"/> if it needs one.</summary>
    private void Pass(Tensor t, ReadOnlySpan<float> dy)
    {
        if (!t.RequiresGrad)
        {
            return;
        }
        var g = GradFor(t, out var fresh);
        Elementwise(fresh ? Ew.Copy : Ew.AddInto, g, dy, default);
    }

    /// <summary>grad(t) (+)= dy * other.</summary>
    private void AccumulateProduct(Tensor t, ReadOnlySpan<float> dy, ReadOnlySpan<float> other)
    {
        var g = GradFor(t, out var fresh);
        Elementwise(Ew.MulAdd, g, dy, other, fresh: fresh);
    }

    private static void CheckSame(string op, Tensor a, Tensor b)
    {
        if (a.Shape != b.Shape)
        {
            throw new ArgumentException($"{op}: shapes differ: {a.Shape} vs {b.Shape}.");
        }
    }
}

/// <summary>
/// A recorded op: its output and what its backward pass needs. Each op lives in its own file under Ops/, holding its
/// forward (a Graph method), this node type and its backward; the tape and pooling are shared.
/// </summary>
internal abstract class Op
{
    public Tensor Out = null!;

    /// <summary>Adds this op's contribution to the gradients of its inputs from <c>Out.Grad</c>.</summary>
    public abstract void Backward(Graph g);
}

/// <summary>Told by <see cref="Graph.Backward"/> as it goes down the tape.</summary>
internal interface IBackwardListener
{
    /// <summary>The nodes from <paramref name="node"/> up have run their backward: no gradient they write changes again this pass.</summary>
    void Done(int node);
}

/// <summary>A small dense id per op type, for the graph's per-type node pools.</summary>
internal static class OpId
{
    private static int next = -1;

    public static int Next() => Interlocked.Increment(ref next);
}

internal static class OpId<T>
    where T : Op
{
    public static readonly int Value = OpId.Next();
}
