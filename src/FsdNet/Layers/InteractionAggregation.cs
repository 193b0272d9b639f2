using FsdNet.Autodiff;
using FsdNet.Tensors;

namespace FsdNet.Layers;

/// <summary>
/// FinalMLP's InteractionAggregation (FuxiCTR, output_dim 1): the two towers' outputs x [rows, X] and y [rows, Y] give
/// one logit w_x x + w_y y + sum over heads h of x_h^T W_h y_h, x and y split into num_heads equal parts and
/// W_h [X/H, Y/H] read from "w_xy" [H·(X/H)·(Y/H), 1] (Xavier-normal, as FuxiCTR's nn.init.xavier_normal_).
/// </summary>
internal sealed class InteractionAggregation : Module
{
    private readonly Linear wx;
    private readonly Linear wy;
    private readonly Parameter wxy;

    public InteractionAggregation(int xDim, int yDim, int numHeads, Rng rng)
    {
        if (numHeads < 1 || xDim % numHeads != 0 || yDim % numHeads != 0)
        {
            throw new ArgumentException($"num_heads ({numHeads}) must divide both towers' output widths ({xDim} and {yDim}).");
        }
        Heads = numHeads;
        (HeadX, HeadY) = (xDim / numHeads, yDim / numHeads);
        wx = AddChild("w_x", new Linear(xDim, 1, rng));
        wy = AddChild("w_y", new Linear(yDim, 1, rng));
        wxy = AddParameter("w_xy", new Shape(numHeads * HeadX * HeadY, 1));
        Init.XavierNormal(wxy, rng);
    }

    public int Heads { get; }

    public int HeadX { get; }

    public int HeadY { get; }

    /// <summary>The logit [rows, 1].</summary>
    public Tensor Forward(Graph g, Tensor x, Tensor y)
    {
        var rows = x.Shape.D0;
        var linear = g.Add(wx.Forward(g, x), wy.Forward(g, y));
        Tensor xw;
        if (Heads == 1)
        {
            xw = g.MatMul(x, g.Reshape(wxy, new Shape(HeadX, HeadY)));
        }
        else
        {
            // [H, rows, X/H] x [H, X/H, Y/H], back to [rows, H·(Y/H)] in y's head layout.
            var heads = g.Transpose(g.Reshape(x, new Shape(rows, Heads, HeadX)), 0, 1);
            var prod = g.BatchMatMul(heads, g.Reshape(wxy, new Shape(Heads, HeadX, HeadY)));
            xw = g.Reshape(g.Transpose(prod, 0, 1), new Shape(rows, Heads * HeadY));
        }
        return g.Add(linear, g.SumLast(g.Mul(xw, y)));
    }
}
