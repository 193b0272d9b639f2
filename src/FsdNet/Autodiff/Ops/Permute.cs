using FsdNet.Tensors;

namespace FsdNet.Autodiff;

internal sealed partial class Graph
{
    /// <summary>Swaps two axes (a copy, as torch.transpose(x, a, b).contiguous()).</summary>
    public Tensor Transpose(Tensor x, int axisA, int axisB)
    {
        var rank = x.Shape.Rank;
        Span<int> order = [0, 1, 2];
        order = order[..rank];
        axisA = axisA < 0 ? axisA + rank : axisA;
        axisB = axisB < 0 ? axisB + rank : axisB;
        if ((uint)axisA >= (uint)rank || (uint)axisB >= (uint)rank)
        {
            throw new ArgumentOutOfRangeException(nameof(axisA), $"Transpose: axes ({axisA}, {axisB}) of a rank-{rank} shape {x.Shape}.");
        }
        (order[axisA], order[axisB]) = (order[axisB], order[axisA]);
        return Permute(x, order);
    }

    /// <summary>Reorders the axes (a copy, as torch.permute(x, order).contiguous()): output axis i is input axis order[i].</summary>
    public Tensor Permute(Tensor x, params ReadOnlySpan<int> order)
    {
        var s = x.Shape;
        var seen = 0;
        foreach (var a in order)
        {
            seen |= a >= 0 && a < s.Rank ? 1 << a : 8;
        }
        if (order.Length != s.Rank || seen != (1 << s.Rank) - 1)
        {
            throw new ArgumentException($"Permute: ({string.Join(", ", order.ToArray())}) is not a permutation of the axes of {s}.");
        }
        var shape = order.Length switch
        {
            1 => s,
            2 => new Shape(s[order[0]], s[order[1]]),
            _ => new Shape(s[order[0]], s[order[1]], s[order[2]]),
        };
        var track = Tracks(x);
        var y = Output(shape, track);
        var (d, st) = PermutedStrides(s, order);
        Gather3(x.Span, y.Span, d, st, accumulate: false);
        Trace?.Add(TraceKind.Permute, y, [x], payload: order.ToArray());
        if (track)
        {
            Record<PermuteOp>(y).Set(x, d, st);
        }
        return y;
    }

    /// <summary>Output dims padded to 3 and, for each, the stride of that axis in the input.</summary>
    private static (Int3 Dims, Int3 Strides) PermutedStrides(Shape s, ReadOnlySpan<int> order)
    {
        var rank = s.Rank;
        Span<int> inStride = stackalloc int[rank];
        var acc = 1;
        for (var i = rank - 1; i >= 0; i--)
        {
            inStride[i] = acc;
            acc *= s[i];
        }
        Int3 d = new(1, 1, 1), st = default;
        for (var i = 0; i < rank; i++)
        {
            d[3 - rank + i] = s[order[i]];
            st[3 - rank + i] = inStride[order[i]];
        }
        return (d, st);
    }

    /// <summary>y[k] = x[strided index of k] over a [d0, d1, d2] walk (or the scatter-add back when accumulating into x).</summary>
    private static void Gather3(Span<float> x, Span<float> y, Int3 d, Int3 st, bool accumulate)
    {
        var k = 0;
        for (var i = 0; i < d[0]; i++)
        {
            for (var j = 0; j < d[1]; j++)
            {
                var b = (i * st[0]) + (j * st[1]);
                for (var c = 0; c < d[2]; c++, k++)
                {
                    if (accumulate)
                    {
                        x[b + (c * st[2])] += y[k];
                    }
                    else
                    {
                        y[k] = x[b + (c * st[2])];
                    }
                }
            }
        }
    }

    private sealed class PermuteOp : Op
    {
        private Int3 d, st;
        private Tensor x = null!;

        public void Set(Tensor input, Int3 dims, Int3 strides) => (x, d, st) = (input, dims, strides);

        public override void Backward(Graph g)
        {
            var gx = g.GradFor(x, out var fresh);
            if (fresh)
            {
                gx.Clear();
            }
            Gather3(gx, Out.Grad!.Span, d, st, accumulate: true);
        }
    }
}
