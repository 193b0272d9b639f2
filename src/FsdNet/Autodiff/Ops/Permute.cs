using FsdNet.Tensors;

namespace FsdNet.Autodiff;

public sealed partial class Graph
{
    /// <summary>Swaps two axes (a copy, as torch.transpose(x, a, b).contiguous()).</summary>
    public Tensor Transpose(Tensor x, int axisA, int axisB)
    {
        var rank = x.Shape.Rank;
        int[] order = [.. Enumerable.Range(0, rank)];
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
    public Tensor Permute(Tensor x, params int[] order)
    {
        var s = x.Shape;
        if (order.Length != s.Rank || order.Distinct().Count() != s.Rank || order.Any(a => a < 0 || a >= s.Rank))
        {
            throw new ArgumentException($"Permute: ({string.Join(", ", order)}) is not a permutation of the axes of {s}.");
        }
        var dims = order.Select(a => s[a]).ToArray();
        var shape = dims.Length switch
        {
            1 => new Shape(dims[0]),
            2 => new Shape(dims[0], dims[1]),
            _ => new Shape(dims[0], dims[1], dims[2]),
        };
        var track = Tracks(x);
        var y = Output(shape, track);
        var (d, st) = PermutedStrides(s, order);
        Gather3(x.Span, y.Span, d, st, accumulate: false);
        if (track)
        {
            Record<PermuteOp>(y).Set(x, d, st);
        }
        return y;
    }

    /// <summary>Output dims padded to 3 and, for each, the stride of that axis in the input.</summary>
    private static (int[] Dims, int[] Strides) PermutedStrides(Shape s, int[] order)
    {
        var rank = s.Rank;
        var inStride = new int[rank];
        var acc = 1;
        for (var i = rank - 1; i >= 0; i--)
        {
            inStride[i] = acc;
            acc *= s[i];
        }
        int[] d = [1, 1, 1], st = [0, 0, 0];
        for (var i = 0; i < rank; i++)
        {
            d[3 - rank + i] = s[order[i]];
            st[3 - rank + i] = inStride[order[i]];
        }
        return (d, st);
    }

    /// <summary>y[k] = x[strided index of k] over a [d0, d1, d2] walk (or the scatter-add back when accumulating into x).</summary>
    private static void Gather3(Span<float> x, Span<float> y, int[] d, int[] st, bool accumulate)
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
        private readonly int[] d = new int[3], st = new int[3];
        private Tensor x = null!;

        public void Set(Tensor input, int[] dims, int[] strides)
        {
            x = input;
            dims.CopyTo(d, 0);
            strides.CopyTo(st, 0);
        }

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
