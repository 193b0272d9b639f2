using FsdNet.Tensors;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace FsdNet.Autodiff;

internal sealed partial class Graph
{
    /// <summary>The binary operations that broadcast.</summary>
    private enum Binary : byte
    {
        Add,
        Sub,
        Mul,
        Div,
    }

    /// <summary>a / b elementwise, broadcasting as NumPy/PyTorch (shapes aligned on the right, size-1 axes stretch).</summary>
    public Tensor Div(Tensor a, Tensor b) => Broadcast(Binary.Div, a, b);

    /// <summary>The shape both broadcast to, padded to rank 3 with leading 1s, with each input's strides (0 on stretched axes).</summary>
    private static (Int3 Out, Int3 StrideA, Int3 StrideB, Shape Result) BroadcastPlan(string op, Shape a, Shape b)
    {
        var rank = Math.Max(a.Rank, b.Rank);
        static Int3 Pad(Shape s) => s.Rank switch { 1 => new(1, 1, s.D0), 2 => new(1, s.D0, s.D1), _ => new(s.D0, s.D1, s.D2) };
        var pa = Pad(a);
        var pb = Pad(b);
        var o = default(Int3);
        for (var i = 0; i < 3; i++)
        {
            if (pa[i] != pb[i] && pa[i] != 1 && pb[i] != 1)
            {
                throw new ArgumentException($"{op}: shapes {a} and {b} do not broadcast.");
            }
            o[i] = Math.Max(pa[i], pb[i]);
        }
        static Int3 Strides(Int3 p) => new(p.X == 1 ? 0 : p.Y * p.Z, p.Y == 1 ? 0 : p.Z, p.Z == 1 ? 0 : 1);
        var result = rank switch
        {
            1 => new Shape(o[2]),
            2 => new Shape(o[1], o[2]),
            _ => new Shape(o[0], o[1], o[2]),
        };
        return (o, Strides(pa), Strides(pb), result);
    }

    private BroadcastJob? broadcastJob;

    private Tensor Broadcast(Binary op, Tensor a, Tensor b)
    {
        var (o, sa, sb, shape) = BroadcastPlan(op switch { Binary.Add => "Add", Binary.Sub => "Sub", Binary.Mul => "Mul", _ => "Div" }, a.Shape, b.Shape);
        var track = Tracks(a, b);
        var y = Output(shape, track);
        var job = broadcastJob ??= new BroadcastJob();
        job.Set(op, a, b, o, sa, sb);
        job.Go(BroadcastJob.Pass.Forward, y, null, parallel: true);
        Trace?.Add(op switch { Binary.Add => TraceKind.Add, Binary.Sub => TraceKind.Sub, Binary.Mul => TraceKind.Mul, _ => TraceKind.Div }, y, [a, b]);
        if (track)
        {
            Record<BroadcastOp>(y).Set(op, a, b, o, sa, sb);
        }
        return y;
    }

    /// <summary>Backward of a broadcasting binary op: each input's gradient sums over the axes it was stretched along.</summary>
    private sealed class BroadcastOp : Op
    {
        private Int3 o, sa, sb;
        private Binary op;
        private Tensor a = null!, b = null!;

        public void Set(Binary kind, Tensor x, Tensor z, Int3 outDims, Int3 strideA, Int3 strideB) =>
            (op, a, b, o, sa, sb) = (kind, x, z, outDims, strideA, strideB);

        public override void Backward(Graph g)
        {
            var job = g.broadcastJob ??= new BroadcastJob();
            job.Set(op, a, b, o, sa, sb);
            if (a.RequiresGrad)
            {
                Accumulate(g, job, a, sa, BroadcastJob.Pass.GradA);
            }
            if (b.RequiresGrad)
            {
                Accumulate(g, job, b, sb, BroadcastJob.Pass.GradB);
            }
        }

        private void Accumulate(Graph g, BroadcastJob job, Tensor t, Int3 st, BroadcastJob.Pass pass)
        {
            var gt = g.GradFor(t, out var fresh);
            if (fresh)
            {
                gt.Clear();
            }
            // Rows of the output map to distinct gradient rows unless t was stretched along an outer axis; then they
            // are summed on one thread in row order (deterministic), else split over the workers.
            var disjoint = (st.X != 0 || o.X == 1) && (st.Y != 0 || o.Y == 1);
            job.Go(pass, Out, t.Grad!, disjoint);
        }
    }

    /// <summary>
    /// The row kernels of the broadcasting ops: the output is walked as [O0 x O1] rows of O2 elements, each row a
    /// vector operation (both inner axes contiguous, or one of them a scalar), rows split over the workers.
    /// </summary>
    private sealed class BroadcastJob : ParallelJob
    {
        public enum Pass : byte
        {
            Forward,
            GradA,
            GradB,
        }

        private const int Grain = 1 << 14;
        private Binary op;
        private Pass pass;
        private Int3 o, sa, sb;
        private Tensor a = null!, b = null!, y = null!;
        private Tensor? grad;

        public void Set(Binary kind, Tensor x, Tensor z, Int3 dims, Int3 strideA, Int3 strideB) =>
            (op, a, b, o, sa, sb) = (kind, x, z, dims, strideA, strideB);

        /// <summary>Runs one pass: forward into <paramref name="output"/>, or a gradient from output.Grad into <paramref name="target"/>.</summary>
        public void Go(Pass kind, Tensor output, Tensor? target, bool parallel)
        {
            (pass, y, grad) = (kind, output, target);
            var rows = o.X * o.Y;
            var parts = parallel ? (int)Math.Clamp((long)rows * o.Z / Grain, 1, Math.Min(rows, Workers.ThreadCount)) : 1;
            Workers.Run(this, parts);
            y = null!;
            grad = null;
        }

        public override void Execute(int part, int parts)
        {
            var (start, end) = RangeJob.Split(o.X * o.Y, part, parts);
            var n = o.Z;
            ReadOnlySpan<float> av = a.Span, bv = b.Span;
            for (var r = start; r < end; r++)
            {
                int i = r / o.Y, j = r - (i * o.Y);
                int ia = (i * sa.X) + (j * sa.Y), ib = (i * sb.X) + (j * sb.Y);
                var ys = y.Span.Slice(r * n, n);
                if (pass == Pass.Forward)
                {
                    ForwardRow(op, sa.Z == 0 ? av.Slice(ia, 1) : av.Slice(ia, n), sb.Z == 0 ? bv.Slice(ib, 1) : bv.Slice(ib, n), ys);
                }
                else
                {
                    var dy = y.Grad!.Span.Slice(r * n, n);
                    var forA = pass == Pass.GradA;
                    var (it, st) = forA ? (ia, sa.Z) : (ib, sb.Z);
                    var (io, so) = forA ? (ib, sb.Z) : (ia, sa.Z);
                    var self = (forA ? av : bv).Slice(it, st == 0 ? 1 : n);
                    var other = (forA ? bv : av).Slice(io, so == 0 ? 1 : n);
                    GradRow(op, forA, dy, self, other, grad!.Span.Slice(it, st == 0 ? 1 : n));
                }
            }
        }

        /// <summary>y = a op b for one row; an operand of length 1 (with y longer) is a scalar.</summary>
        private static void ForwardRow(Binary op, ReadOnlySpan<float> x, ReadOnlySpan<float> z, Span<float> y)
        {
            bool xs = x.Length == 1 && y.Length > 1, zs = z.Length == 1 && y.Length > 1;
            switch (op)
            {
                case Binary.Add when xs: TensorPrimitives.Add(z, x[0], y); break;
                case Binary.Add when zs: TensorPrimitives.Add(x, z[0], y); break;
                case Binary.Add: TensorPrimitives.Add(x, z, y); break;
                case Binary.Sub when xs: TensorPrimitives.Subtract(x[0], z, y); break;
                case Binary.Sub when zs: TensorPrimitives.Subtract(x, z[0], y); break;
                case Binary.Sub: TensorPrimitives.Subtract(x, z, y); break;
                case Binary.Mul when xs: TensorPrimitives.Multiply(z, x[0], y); break;
                case Binary.Mul when zs: TensorPrimitives.Multiply(x, z[0], y); break;
                case Binary.Mul: TensorPrimitives.Multiply(x, z, y); break;
                case Binary.Div when xs: TensorPrimitives.Divide(x[0], z, y); break;
                case Binary.Div when zs: TensorPrimitives.Divide(x, z[0], y); break;
                default: TensorPrimitives.Divide(x, z, y); break;
            }
        }

        /// <summary>
        /// g (+)= d(a op b)/d(self) * dy for one row. A gradient target of length 1 (dy longer) sums the row: the
        /// operand was stretched along the inner axis.
        /// </summary>
        private static void GradRow(Binary op, bool forA, ReadOnlySpan<float> dy, ReadOnlySpan<float> self, ReadOnlySpan<float> other, Span<float> g)
        {
            var n = dy.Length;
            bool gs = g.Length == 1 && n > 1, os = other.Length == 1 && n > 1;
            switch (op)
            {
                case Binary.Add:
                case Binary.Sub when forA:
                    if (gs)
                    {
                        g[0] += TensorPrimitives.Sum(dy);
                    }
                    else
                    {
                        TensorPrimitives.Add(g, dy, g);
                    }
                    return;
                case Binary.Sub:
                    if (gs)
                    {
                        g[0] -= TensorPrimitives.Sum(dy);
                    }
                    else
                    {
                        TensorPrimitives.Subtract(g, dy, g);
                    }
                    return;
                case Binary.Mul:
                    if (gs)
                    {
                        g[0] += os ? other[0] * TensorPrimitives.Sum(dy) : TensorPrimitives.Dot(dy, other);
                    }
                    else if (os)
                    {
                        TensorPrimitives.MultiplyAdd(dy, other[0], g, g);
                    }
                    else
                    {
                        TensorPrimitives.FusedMultiplyAdd(dy, other, g, g);
                    }
                    return;
                default:
                    // y = a / b: dy/da = 1 / b, dy/db = -a / b^2 (for b, other is a and self is b).
                    for (var c = 0; c < n; c++)
                    {
                        var z = other[os ? 0 : c];
                        var k = gs ? 0 : c;
                        g[k] += forA ? dy[c] / z : -dy[c] * z / (self[k] * self[k]);
                    }
                    return;
            }
        }
    }
}
