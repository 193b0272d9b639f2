using FsdNet.Autodiff;
using FsdNet.Tensors;

namespace FsdNet.Layers;

/// <summary>
/// FuxiCTR's MultiHeadSelfAttention (AutoInt): on fields X [B, F, in], Q = X W_q, K = X W_k, V = X W_v (Linear without
/// bias, in -> attention_dim); per head (attention_dim / num_heads wide) softmax(Q K^T [/ sqrt(head_dim)]) V with
/// dropout on the attention weights; heads concatenated; + the residual X (through W_res when in differs from
/// attention_dim); optional LayerNorm; ReLU. Out [B, F, attention_dim]. The
/// attention itself is one fused op (<see cref="Graph.SelfAttention"/>: per sample and head, no intermediates but the
/// attention weights), heads being column blocks of the projections.
/// </summary>
internal sealed class MultiHeadSelfAttention : Module
{
    private readonly Linear wq, wk, wv;
    private readonly Linear? wres;
    private readonly LayerNorm? norm;

    public MultiHeadSelfAttention(int inputDim, int attentionDim, int numHeads, float dropout, bool useResidual, bool useScale, bool layerNorm, Rng rng)
    {
        if (numHeads < 1 || attentionDim % numHeads != 0)
        {
            throw new ArgumentException($"attention_dim ({attentionDim}) must be a multiple of num_heads ({numHeads}).");
        }
        if (dropout is < 0f or >= 1f)
        {
            throw new ArgumentOutOfRangeException(nameof(dropout), dropout, "net_dropout must be in [0, 1).");
        }
        InputDim = inputDim;
        AttentionDim = attentionDim;
        NumHeads = numHeads;
        HeadDim = attentionDim / numHeads;
        Dropout = dropout;
        UseResidual = useResidual;
        Scale = useScale ? 1f / MathF.Sqrt(HeadDim) : 1f;
        wq = AddChild("W_q", new Linear(inputDim, attentionDim, rng, bias: false));
        wk = AddChild("W_k", new Linear(inputDim, attentionDim, rng, bias: false));
        wv = AddChild("W_v", new Linear(inputDim, attentionDim, rng, bias: false));
        wres = useResidual && inputDim != attentionDim ? AddChild("W_res", new Linear(inputDim, attentionDim, rng, bias: false)) : null;
        norm = layerNorm ? AddChild("layer_norm", new LayerNorm(attentionDim)) : null;
    }

    public int InputDim { get; }

    public int AttentionDim { get; }

    public int NumHeads { get; }

    public int HeadDim { get; }

    public float Dropout { get; }

    public bool UseResidual { get; }

    /// <summary>The factor on the scores: 1 / sqrt(head_dim) with use_scale, else 1.</summary>
    public float Scale { get; }

    /// <param name="x">[B, F, in].</param>
    public Tensor Forward(Graph g, Tensor x)
    {
        var (flat, q, k, v) = Project(g, x);
        return Finish(g, flat, g.SelfAttention(q, k, v, x.Shape.D1, NumHeads, Scale, Dropout), x.Shape.D0, x.Shape.D1);
    }

    /// <summary>
    /// The same layer from the engine's general ops (per head: column slices, <see cref="Graph.BatchMatMul"/>,
    /// softmax, dropout; heads concatenated): the reference the fused <see cref="Graph.SelfAttention"/> is tested against.
    /// </summary>
    internal Tensor ForwardComposed(Graph g, Tensor x)
    {
        int rows = x.Shape.D0, fields = x.Shape.D1;
        var (flat, q, k, v) = Project(g, x);
        var heads = g.TensorList(NumHeads);
        for (var h = 0; h < NumHeads; h++)
        {
            int start = h * HeadDim;
            heads[h] = Head(g, g.Slice(q, start, HeadDim), g.Slice(k, start, HeadDim), g.Slice(v, start, HeadDim), rows, fields);
        }
        return Finish(g, flat, g.Concat(1, heads), rows, fields);
    }

    /// <summary>The fields [B, F, in] as rows [B*F, in] and their projections Q, K, V [B*F, attention_dim].</summary>
    private (Tensor Flat, Tensor Q, Tensor K, Tensor V) Project(Graph g, Tensor x)
    {
        var flat = g.Reshape(x, new Shape(x.Shape.D0 * x.Shape.D1, InputDim));
        return (flat, wq.Forward(g, flat), wk.Forward(g, flat), wv.Forward(g, flat));
    }

    /// <summary>Residual, layer norm and ReLU on the heads' output [B*F, attention_dim]; out [B, F, attention_dim].</summary>
    private Tensor Finish(Graph g, Tensor flat, Tensor output, int rows, int fields)
    {
        if (UseResidual)
        {
            output = g.Add(output, wres is null ? flat : wres.Forward(g, flat));
        }
        if (norm is not null)
        {
            output = norm.Forward(g, output);
        }
        return g.Reshape(g.Relu(output), new Shape(rows, fields, AttentionDim));
    }

    /// <summary>One head on [B*F, head_dim] projections: softmax(q k^T * scale) v, as [B*F, head_dim].</summary>
    private Tensor Head(Graph g, Tensor q, Tensor k, Tensor v, int rows, int fields)
    {
        var shape = new Shape(rows, fields, HeadDim);
        var scores = g.BatchMatMul(g.Reshape(q, shape), g.Reshape(k, shape), transB: true);
        if (Scale != 1f)
        {
            scores = g.Affine(scores, Scale);
        }
        var attention = g.Dropout(g.Softmax(scores), Dropout);
        var o = g.BatchMatMul(attention, g.Reshape(v, shape));
        return g.Reshape(o, new Shape(rows * fields, HeadDim));
    }
}

/// <summary>
/// AutoInt's stack of <see cref="MultiHeadSelfAttention"/> layers (children "0", "1", ...; the first reads the
/// embedding dim, the others attention_dim) as a layer-wise tower on the flat field embeddings x0 [B, F*d]: layer i's
/// output is its [B, F, attention_dim] result flattened to [B, F*attention_dim] (a view).
/// </summary>
internal sealed class SelfAttentionTower : Module, ILayerwiseTower
{
    private readonly MultiHeadSelfAttention[] layers;

    public SelfAttentionTower(int numFields, int embeddingDim, int numLayers, int attentionDim, int numHeads, float dropout, bool useResidual, bool useScale, bool layerNorm, Rng rng)
    {
        NumFields = numFields;
        layers = new MultiHeadSelfAttention[numLayers];
        for (var i = 0; i < numLayers; i++)
        {
            layers[i] = AddChild(i.ToString(System.Globalization.CultureInfo.InvariantCulture),
                new MultiHeadSelfAttention(i == 0 ? embeddingDim : attentionDim, attentionDim, numHeads, dropout, useResidual, useScale, layerNorm, rng));
        }
        OutFeatures = numFields * (numLayers == 0 ? embeddingDim : attentionDim);
    }

    public int NumFields { get; }

    /// <summary>F * attention_dim (F * embedding_dim without layers).</summary>
    public int OutFeatures { get; }

    public int LayerCount => layers.Length;

    public int LayerWidth(int i) => NumFields * layers[i].AttentionDim;

    public Tensor Step(Graph g, int i, Tensor x0, Tensor previous)
    {
        var rows = previous.Shape.D0;
        var y = layers[i].Forward(g, g.Reshape(previous, new Shape(rows, NumFields, layers[i].InputDim)));
        return g.Reshape(y, new Shape(rows, LayerWidth(i)));
    }

    public Tensor Forward(Graph g, Tensor x0)
    {
        var x = x0;
        for (var i = 0; i < layers.Length; i++)
        {
            x = Step(g, i, x0, x);
        }
        return x;
    }
}
