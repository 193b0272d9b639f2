using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using FsdNet.Tensors;

namespace FsdNet.Autodiff;

internal sealed partial class Graph
{
    /// <summary>x + r, with the row vector r [C] added to every row of x [..., C].</summary>
    public Tensor AddRow(Tensor x, Tensor r) => RowBroadcast(x, r, Ew.Add, "AddRow");

    /// <summary>x * r, with the row vector r [C] multiplied into every row of x [..., C].</summary>
    public Tensor MulRow(Tensor x, Tensor r) => RowBroadcast(x, r, Ew.Mul, "MulRow");

    /// <summary>y[i, :] = op(x[i, :], r) for every row, split over threads by rows.</summary>
    private unsafe Tensor RowBroadcast(Tensor x, Tensor r, Ew op, string name)
    {
        if (r.Shape.Rank != 1 || r.Shape.D0 != x.Shape.Last)
        {
            throw new ArgumentException($"{name}: row vector {r.Shape} does not fit {x.Shape} (expected [{x.Shape.Last}]).");
        }
        var track = Tracks(x, r);
        var y = Output(x.Shape, track);
        job.PlanRows(x.Shape.Rows, x.Shape.Last, ElementGrain);
        (job.A, job.B, job.C) = (x, r, y);
        job.I0 = (int)op;
        job.Run(&RowBroadcastPart);
        Trace?.Add(op == Ew.Add ? TraceKind.Add : TraceKind.Mul, y, [x, r]);
        if (track)
        {
            Record<RowBroadcastOp>(y).Set(x, r, op);
        }
        return y;
    }

    private static void RowBroadcastPart(RangeJob j, int part, int start, int end)
    {
        var r = j.B!.Span;
        for (var i = start; i < end; i++)
        {
            Apply((Ew)j.I0, j.C!.Row(i), j.A!.Row(i), r, 0, 0, true);
        }
    }

    private sealed class RowBroadcastOp : Op
    {
        private Tensor x = null!, r = null!;
        private Ew op;

        public void Set(Tensor input, Tensor row, Ew kind) => (x, r, op) = (input, row, kind);

        public override void Backward(Graph g)
        {
            var dy = Out.Grad!;
            var rows = x.Shape.Rows;
            if (op == Ew.Add)
            {
                g.Pass(x, dy.Span);
                if (r.RequiresGrad)
                {
                    var gr = g.GradFor(r, out var fresh);
                    g.ColumnSum(dy, rows, dy.Shape.Last, gr, fresh);
                }
                return;
            }
            if (x.RequiresGrad)
            {
                g.GradFor(x, out var fresh);
                var rs = r.Span;
                for (var i = 0; i < rows; i++)
                {
                    var gi = x.Grad!.Row(i);
                    if (fresh)
                    {
                        TensorPrimitives.Multiply(dy.Row(i), rs, gi);
                    }
                    else
                    {
                        TensorPrimitives.MultiplyAdd(dy.Row(i), rs, gi, gi);
                    }
                }
            }
            if (r.RequiresGrad)
            {
                var prod = g.Scratch(x.Shape);
                g.Elementwise(Ew.Mul, prod.Span, dy.Span, x.Span);
                var gr = g.GradFor(r, out var fresh);
                g.ColumnSum(prod, rows, x.Shape.Last, gr, fresh);
            }
        }
    }
}
