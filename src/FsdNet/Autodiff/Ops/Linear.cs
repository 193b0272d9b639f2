using FsdNet.Tensors;

namespace FsdNet.Autodiff;

internal sealed partial class Graph
{
    /// <summary>
    /// A fully connected layer over the last axis: y = x W^T + b, with x [..., in], W [out, in], b [out] (optional).
    /// </summary>
    public Tensor Linear(Tensor x, Tensor w, Tensor? b)
    {
        var inF = x.Shape.Last;
        if (w.Shape.Rank != 2 || w.Shape.D1 != inF)
        {
            throw new ArgumentException($"Linear: weight {w.Shape} does not fit input {x.Shape} (expected [out, {inF}]).");
        }
        var outF = w.Shape.D0;
        if (b is not null && (b.Shape.Rank != 1 || b.Shape.D0 != outF))
        {
            throw new ArgumentException($"Linear: bias {b.Shape} does not fit weight {w.Shape} (expected [{outF}]).");
        }
        var rows = x.Shape.Rows;
        var shape = x.Shape.Rank switch
        {
            1 => new Shape(outF),
            2 => new Shape(x.Shape.D0, outF),
            _ => new Shape(x.Shape.D0, x.Shape.D1, outF),
        };
        var track = Tracks(x, w, b);
        if (w.Packed is not null)
        {
            return PackedLinear(x, w, b, shape, relu: false, track);
        }
        var y = Output(shape, track);
        if (b is not null)
        {
            FillRows(y, b);
        }
        GemmRaw(false, true, rows, outF, inF, x, w, y, beta: b is null ? 0f : 1f);
        Trace?.Add(TraceKind.Linear, y, [x, w, b]);
        if (track)
        {
            Record<LinearOp>(y).Set(x, w, b);
        }
        return y;
    }

    /// <summary>
    /// max(x W^T + b, 0) when scoring with a packed weight (a dense layer whose BatchNorm was folded): one pass over
    /// the output, the same values as <see cref="Linear"/> followed by <see cref="Relu"/>. Null when the weight is not
    /// packed (the caller runs the two ops).
    /// </summary>
    internal Tensor? PackedLinearRelu(Tensor x, Tensor w, Tensor? b)
    {
        if (w.Packed is null || w.Shape.Rank != 2 || w.Shape.D1 != x.Shape.Last || x.Shape.Rank != 2)
        {
            return null;
        }
        if (b is not null && (b.Shape.Rank != 1 || b.Shape.D0 != w.Shape.D0))
        {
            return null;
        }
        return PackedLinear(x, w, b, new Shape(x.Shape.D0, w.Shape.D0), relu: true, Tracks(x, w, b));
    }

    private Tensor PackedLinear(Tensor x, Tensor w, Tensor? b, Shape shape, bool relu, bool track)
    {
        if (Training || track)
        {
            throw new InvalidOperationException($"Linear: weight {w.Name ?? w.Shape.ToString()} is packed for scoring and cannot train.");
        }
        var y = Output(shape, track: false);
        unsafe
        {
            Sgemm.Multiply(false, x.Shape.Rows, x.Pointer, x.Shape.Last, w.Packed!, b is null ? null : b.Pointer, relu, y.Pointer, w.Shape.D0);
        }
        Trace?.Add(TraceKind.Linear, y, [x, w, b], [relu ? 1 : 0]);
        return y;
    }

    private sealed class LinearOp : Op
    {
        private Tensor x = null!, w = null!;
        private Tensor? b;

        public void Set(Tensor input, Tensor weight, Tensor? bias) => (x, w, b) = (input, weight, bias);

        public override void Backward(Graph g)
        {
            var dy = Out.Grad!;
            var rows = x.Shape.Rows;
            var inF = x.Shape.Last;
            var outF = w.Shape.D0;
            if (x.RequiresGrad)
            {
                g.GradFor(x, out var fresh);
                Gemm(false, false, rows, inF, outF, dy, w, x.Grad!, fresh);
            }
            if (w.RequiresGrad)
            {
                g.GradFor(w, out var fresh);
                Gemm(true, false, outF, inF, rows, dy, x, w.Grad!, fresh);
            }
            if (b is { RequiresGrad: true })
            {
                var db = g.GradFor(b, out var fresh);
                g.ColumnSum(dy, rows, outF, db, fresh);
            }
        }
    }
}
