using FsdNet.Tensors;

namespace FsdNet.Autodiff;

/// <summary>
/// A reverse-mode autodiff tape with pooled storage. Each training step calls <see cref="Reset"/>, runs the
/// forward ops (each records a node when one of its inputs needs a gradient), then <see cref="Backward"/>.
/// Intermediate tensors, their gradients and the nodes are pooled and handed out in the same order every step,
/// so a steady-state step allocates nothing on the managed heap.
/// A graph is used by one thread at a time; concurrent inference uses one graph per thread.
/// </summary>
public sealed partial class Graph
{
    private readonly List<Tensor> pool = [];
    private readonly List<Node> nodes = [];
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

    /// <summary>Pooled tensors handed out so far (for tests of the pooling).</summary>
    public int PooledTensorCount => pool.Count;

    /// <summary>Starts a new step: every pooled tensor and node becomes free again.</summary>
    public void Reset()
    {
        tensorCursor = 0;
        nodeCount = 0;
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
        for (var i = nodeCount - 1; i >= 0; i--)
        {
            var node = nodes[i];
            if (node.Out.GradLive)
            {
                BackwardNode(node);
            }
            // Only this node reads its output's gradient (every consumer of the output came later on the tape and
            // has already written into it), so the buffer can serve a gradient further down the tape.
            ReleaseGrad(node.Out);
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

    private Node Record(OpKind op, Tensor output, Tensor? a = null, Tensor? b = null, Tensor? c = null)
    {
        if (nodeCount == nodes.Count)
        {
            nodes.Add(new Node());
        }
        var n = nodes[nodeCount++];
        n.Op = op;
        n.Out = output;
        n.A = a;
        n.B = b;
        n.C = c;
        n.D = null;
        n.E = null;
        n.Obj = null;
        n.Obj2 = null;
        n.I0 = n.I1 = n.I2 = 0;
        n.F0 = n.F1 = 0;
        n.Flag0 = n.Flag1 = false;
        return n;
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
        fresh = !t.GradLive;
        t.GradLive = true;
        return g.Span;
    }

    private static void CheckSame(string op, Tensor a, Tensor b)
    {
        if (a.Shape != b.Shape)
        {
            throw new ArgumentException($"{op}: shapes differ: {a.Shape} vs {b.Shape}.");
        }
    }

    private void BackwardNode(Node n)
    {
        switch (n.Op)
        {
            case OpKind.MatMul: MatMulBackward(n); break;
            case OpKind.Linear: LinearBackward(n); break;
            case OpKind.BatchMatMul: BatchMatMulBackward(n); break;
            case OpKind.Add: AddBackward(n); break;
            case OpKind.Sub: SubBackward(n); break;
            case OpKind.Mul: MulBackward(n); break;
            case OpKind.AddRow: AddRowBackward(n); break;
            case OpKind.MulRow: MulRowBackward(n); break;
            case OpKind.Affine: AffineBackward(n); break;
            case OpKind.Concat: ConcatBackward(n); break;
            case OpKind.Slice: SliceBackward(n); break;
            case OpKind.Reshape: ReshapeBackward(n); break;
            case OpKind.Sum: SumBackward(n); break;
            case OpKind.SumLast: SumLastBackward(n); break;
            case OpKind.Relu: UnaryBackward(n, Ew.ReluBack, fromInput: false); break;
            case OpKind.Sigmoid: UnaryBackward(n, Ew.SigmoidBack, fromInput: false); break;
            case OpKind.Tanh: UnaryBackward(n, Ew.TanhBack, fromInput: false); break;
            case OpKind.LogSigmoid: UnaryBackward(n, Ew.LogSigmoidBack, fromInput: true); break;
            case OpKind.Softmax: SoftmaxBackward(n); break;
            case OpKind.BceWithLogits: BceWithLogitsBackward(n); break;
            case OpKind.FieldEmbedding: FieldEmbeddingBackward(n); break;
            case OpKind.BatchNorm: BatchNormBackward(n); break;
            case OpKind.LayerNorm: LayerNormBackward(n); break;
            case OpKind.Dropout: DropoutBackward(n); break;
            case OpKind.Mse: MseBackward(n); break;
            default: throw new InvalidOperationException($"No backward for {n.Op}.");
        }
    }
}

internal enum OpKind
{
    MatMul,
    Linear,
    BatchMatMul,
    Add,
    Sub,
    Mul,
    AddRow,
    MulRow,
    Affine,
    Concat,
    Slice,
    Reshape,
    Sum,
    SumLast,
    Relu,
    Sigmoid,
    Tanh,
    LogSigmoid,
    Softmax,
    BceWithLogits,
    FieldEmbedding,
    BatchNorm,
    LayerNorm,
    Dropout,
    Mse,
}

/// <summary>One recorded op: its kind, output, inputs, saved tensors and scalar arguments.</summary>
internal sealed class Node
{
    public OpKind Op;
    public Tensor Out = null!;
    public Tensor? A;
    public Tensor? B;
    public Tensor? C;
    public Tensor? D;
    public Tensor? E;
    public object? Obj;
    public object? Obj2;
    public int I0;
    public int I1;
    public int I2;
    public float F0;
    public float F1;
    public bool Flag0;
    public bool Flag1;
}
