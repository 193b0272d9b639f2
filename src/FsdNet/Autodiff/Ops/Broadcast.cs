using FsdNet.Tensors;

namespace FsdNet.Autodiff;

public sealed partial class Graph
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

    private Tensor Broadcast(Binary op, Tensor a, Tensor b)
    {
        var (o, sa, sb, shape) = BroadcastPlan(op switch { Binary.Add => "Add", Binary.Sub => "Sub", Binary.Mul => "Mul", _ => "Div" }, a.Shape, b.Shape);
        var track = Tracks(a, b);
        var y = Output(shape, track);
        Span<float> ys = y.Span, av = a.Span, bv = b.Span;
        var k = 0;
        for (var i = 0; i < o[0]; i++)
        {
            for (var j = 0; j < o[1]; j++)
            {
                int ia = (i * sa[0]) + (j * sa[1]), ib = (i * sb[0]) + (j * sb[1]);
                for (var c = 0; c < o[2]; c++, k++)
                {
                    float x = av[ia + (c * sa[2])], z = bv[ib + (c * sb[2])];
                    ys[k] = op switch
                    {
                        Binary.Add => x + z,
                        Binary.Sub => x - z,
                        Binary.Mul => x * z,
                        _ => x / z,
                    };
                }
            }
        }
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
            var dy = Out.Grad!.Span;
            if (a.RequiresGrad)
            {
                Accumulate(g, a, sa, sb, forA: true, dy);
            }
            if (b.RequiresGrad)
            {
                Accumulate(g, b, sb, sa, forA: false, dy);
            }
        }

        private void Accumulate(Graph g, Tensor t, Int3 st, Int3 so, bool forA, ReadOnlySpan<float> dy)
        {
            var gt = g.GradFor(t, out var fresh);
            if (fresh)
            {
                gt.Clear();
            }
            var other = (forA ? b : a).Span;
            var self = t.Span;
            var k = 0;
            for (var i = 0; i < o[0]; i++)
            {
                for (var j = 0; j < o[1]; j++)
                {
                    int it = (i * st[0]) + (j * st[1]), io = (i * so[0]) + (j * so[1]);
                    for (var c = 0; c < o[2]; c++, k++)
                    {
                        var x = it + (c * st[2]);
                        var z = other[io + (c * so[2])];
                        gt[x] += op switch
                        {
                            Binary.Add => dy[k],
                            Binary.Sub => forA ? dy[k] : -dy[k],
                            Binary.Mul => dy[k] * z,
                            // y = a / b: dy/da = 1 / b, dy/db = -a / b^2 (here z is a, self is b)
                            _ => forA ? dy[k] / z : -dy[k] * z / (self[x] * self[x]),
                        };
                    }
                }
            }
        }
    }
}
