using FsdNet.Autodiff;
using FsdNet.Tensors;

namespace FsdNet.Layers;

/// <summary>
/// DCNv2's low-rank mixture of cross experts (FuxiCTR's CrossNetMix, use_low_rank_mixture: True). Layer l with
/// experts e = 1..E: E_e(x_l) = x0 * (U_{l,e} tanh(C_{l,e} tanh(V_{l,e}^T x_l)) + b_l), gate scores
/// G(x_l) = softmax_e(w_e . x_l), x_{l+1} = x_l + sum_e G_e E_e(x_l). U_l, V_l [E, d, r] ("U_list.{l}", "V_list.{l}")
/// and C_l [E, r, r] ("C_list.{l}") are Xavier-normal as torch's xavier_normal_ on those 3-D tensors, b_l [d, 1]
/// ("bias.{l}") zero, and the gates w_e (Linear(d, 1, bias=False), "gating.{e}") are shared by every layer, as in
/// FuxiCTR. Since the gates sum to one, sum_e G_e x0 * (u_e + b) = x0 * (sum_e G_e u_e + b): the experts' up
/// projections run as one [rows, E r] x [E r, d] product of the gated low-rank codes, the down projection as one
/// [rows, d] x [d, E r] product, the E small C products as one batched product.
/// </summary>
internal sealed class CrossNetMix : Module, ILayerwiseTower
{
    private readonly Parameter[] u;
    private readonly Parameter[] v;
    private readonly Parameter[] c;
    private readonly Linear[] gating;
    private readonly Parameter[] bias;

    public CrossNetMix(int inputDim, int numLayers, int lowRank, int numExperts, Rng rng)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(inputDim);
        if (lowRank < 1)
        {
            throw new ArgumentException($"low_rank must be at least 1, got {lowRank}.");
        }
        if (numExperts < 1)
        {
            throw new ArgumentException($"num_experts must be at least 1, got {numExperts}.");
        }
        (InputDim, LowRank, NumExperts) = (inputDim, lowRank, numExperts);
        u = new Parameter[numLayers];
        v = new Parameter[numLayers];
        c = new Parameter[numLayers];
        bias = new Parameter[numLayers];
        // torch's xavier_normal_ on [E, a, b]: fan_in = a * b, fan_out = E * b.
        var stdUv = Math.Sqrt(2.0 / ((inputDim * lowRank) + (numExperts * lowRank)));
        var stdC = Math.Sqrt(2.0 / ((lowRank * lowRank) + (numExperts * lowRank)));
        for (var i = 0; i < numLayers; i++)
        {
            u[i] = AddParameter($"U_list.{i}", new Shape(numExperts, inputDim, lowRank));
            rng.FillNormal(u[i].Span, 0, stdUv);
        }
        for (var i = 0; i < numLayers; i++)
        {
            v[i] = AddParameter($"V_list.{i}", new Shape(numExperts, inputDim, lowRank));
            rng.FillNormal(v[i].Span, 0, stdUv);
        }
        for (var i = 0; i < numLayers; i++)
        {
            c[i] = AddParameter($"C_list.{i}", new Shape(numExperts, lowRank, lowRank));
            rng.FillNormal(c[i].Span, 0, stdC);
        }
        gating = new Linear[numExperts];
        for (var e = 0; e < numExperts; e++)
        {
            gating[e] = AddChild($"gating.{e}", new Linear(inputDim, 1, rng, bias: false));
        }
        for (var i = 0; i < numLayers; i++)
        {
            bias[i] = AddParameter($"bias.{i}", new Shape(inputDim, 1));
        }
    }

    public int InputDim { get; }

    public int LowRank { get; }

    public int NumExperts { get; }

    public int LayerCount => u.Length;

    public int LayerWidth(int i) => InputDim;

    public Tensor Step(Graph g, int i, Tensor x0, Tensor previous)
    {
        int rows = previous.Shape.D0, d = InputDim, r = LowRank, n = NumExperts;
        // Gate scores of every expert: softmax over [rows, E].
        var weights = g.TensorList(n);
        for (var e = 0; e < n; e++)
        {
            weights[e] = gating[e].Weight;
        }
        var gates = g.Softmax(g.Linear(previous, g.Concat(0, weights), null));
        // Low-rank codes of every expert: tanh(x_l V_e) side by side, [rows, E r].
        var vAll = g.Reshape(g.Permute(v[i], 1, 0, 2), new Shape(d, n * r));
        var code = g.Tanh(g.MatMul(previous, vAll));
        // tanh(C_e code_e) per expert as one batched product over [E, rows, r].
        var byExpert = g.Permute(g.Reshape(code, new Shape(rows, n, r)), 1, 0, 2);
        var mixed = g.Tanh(g.BatchMatMul(byExpert, c[i], transB: true));
        // Gate each expert's code, then project back with all U_e at once.
        var gated = g.Mul(g.Permute(mixed, 1, 0, 2), g.Reshape(gates, new Shape(rows, n, 1)));
        var uAll = g.Reshape(g.Permute(u[i], 1, 0, 2), new Shape(d, n * r));
        var up = g.MatMul(g.Reshape(gated, new Shape(rows, n * r)), uAll, transB: true);
        return g.Add(previous, g.Mul(x0, g.AddRow(up, g.Reshape(bias[i], new Shape(d)))));
    }

    public Tensor Forward(Graph g, Tensor x0)
    {
        var x = x0;
        for (var i = 0; i < u.Length; i++)
        {
            x = Step(g, i, x0, x);
        }
        return x;
    }
}
