using FsdNet.Autodiff;
using FsdNet.Layers;
using FsdNet.Tensors;
using FsdNet.Training;

namespace FsdNet.Models;

/// <summary>MaskNet's two architectures (FuxiCTR's model_type).</summary>
internal enum MaskNetType
{
    SerialMaskNet,
    ParallelMaskNet,
}

/// <summary>MaskNet's keys, named and defaulted as FuxiCTR's model_zoo/MaskNet constructor.</summary>
internal sealed record MaskNetOptions
{
    [ConfigKey("embedding_dim", Min = 1)]
    public int EmbeddingDim { get; init; } = 10;

    [ConfigKey("dnn_hidden_units")]
    public IReadOnlyList<int> DnnHiddenUnits { get; init; } = [64, 64, 64];

    [ConfigKey("dnn_hidden_activations")]
    public Activation DnnHiddenActivations { get; init; } = Activation.Relu;

    [ConfigKey("model_type")]
    public MaskNetType ModelType { get; init; } = MaskNetType.SerialMaskNet;

    [ConfigKey("parallel_num_blocks", Min = 1)]
    public int ParallelNumBlocks { get; init; } = 1;

    [ConfigKey("parallel_block_dim", Min = 1)]
    public int ParallelBlockDim { get; init; } = 64;

    [ConfigKey("reduction_ratio", Min = 0, MinExclusive = true)]
    public double ReductionRatio { get; init; } = 1;

    [ConfigKey("net_dropout", Min = 0)]
    public float NetDropout { get; init; }

    [ConfigKey("emb_layernorm")]
    public bool EmbLayerNorm { get; init; } = true;

    [ConfigKey("net_layernorm")]
    public bool NetLayerNorm { get; init; } = true;

    public static MaskNetOptions From(ModelConfig cfg) => OptionsBinder.Bind<MaskNetOptions>(cfg);

    /// <summary>FuxiCTR's model_type names.</summary>
    public static MaskNetType ParseType(string name) => name switch
    {
        "SerialMaskNet" => MaskNetType.SerialMaskNet,
        "ParallelMaskNet" => MaskNetType.ParallelMaskNet,
        _ => throw new ArgumentException($"model_type must be SerialMaskNet or ParallelMaskNet, got '{name}'."),
    };
}

/// <summary>
/// MaskNet (Wang et al., DLP-KDD 2021; FuxiCTR's model_zoo/MaskNet). v_emb is the flattened field embeddings, v_hidden
/// the same with each field LayerNorm-ed (emb_layernorm, "emb_norm.{i}") or v_emb itself. SerialMaskNet: mask blocks
/// in a chain (input width F*d, then dnn_hidden_units), each masked by v_emb, then "mask_net.fc". ParallelMaskNet:
/// parallel_num_blocks blocks of width parallel_block_dim on v_hidden, concatenated, then an MLP ("mask_net.dnn",
/// dnn_hidden_units, no batch norm) to one logit. Not FSD-capable (no two parallel layer-wise towers).
/// </summary>
internal sealed class MaskNetModel : CtrModel
{
    private readonly FeatureEmbedding embedding;
    private readonly MaskBlock[] blocks;
    private readonly Linear? fc;
    private readonly MlpBlock? dnn;
    private readonly Parameter[]? normWeights;
    private readonly Parameter[]? normBiases;
    private readonly Tensor? ones, zeros;
    private readonly MaskNetType type;
    private readonly int fields, dim;

    public MaskNetModel(InputSchema schema, MaskNetOptions options, Rng rng, bool loadPretrained = true)
        : base(schema)
    {
        embedding = AddChild("embedding", new FeatureEmbedding(schema, options.EmbeddingDim, rng, loadPretrained));
        dim = embedding.UniformDim ?? throw new ArgumentException("MaskNet needs every field embedded with the same dim (emb_layernorm normalises each field); remove the per-field embedding_dim.");
        fields = schema.Fields.Count;
        type = options.ModelType;
        var x0 = embedding.OutFeatures;
        var net = AddChild("mask_net", new Parts());
        if (type == MaskNetType.SerialMaskNet)
        {
            var units = options.DnnHiddenUnits;
            blocks = new MaskBlock[units.Count];
            var width = x0;
            for (var i = 0; i < units.Count; i++)
            {
                blocks[i] = net.Add($"mask_blocks.{i}", new MaskBlock(x0, width, units[i], options.DnnHiddenActivations, options.ReductionRatio, options.NetDropout, options.NetLayerNorm, rng));
                width = units[i];
            }
            fc = net.Add("fc", new Linear(width, 1, rng));
        }
        else
        {
            blocks = new MaskBlock[options.ParallelNumBlocks];
            for (var i = 0; i < blocks.Length; i++)
            {
                blocks[i] = net.Add($"mask_blocks.{i}", new MaskBlock(x0, x0, options.ParallelBlockDim, options.DnnHiddenActivations, options.ReductionRatio, options.NetDropout, options.NetLayerNorm, rng));
            }
            dnn = net.Add("dnn", new MlpBlock(options.ParallelBlockDim * blocks.Length, options.DnnHiddenUnits, options.DnnHiddenActivations, options.NetDropout, false, rng, outputDim: 1));
        }
        if (options.EmbLayerNorm)
        {
            var norms = AddChild("emb_norm", new Parts());
            normWeights = new Parameter[fields];
            normBiases = new Parameter[fields];
            for (var i = 0; i < fields; i++)
            {
                var ln = norms.Add(i.ToString(System.Globalization.CultureInfo.InvariantCulture), new LayerNorm(dim));
                (normWeights[i], normBiases[i]) = (ln.Weight, ln.Bias);
            }
            ones = new Tensor(dim);
            ones.Span.Fill(1f);
            zeros = new Tensor(dim);
        }
    }

    public override string ModelName => "MaskNet";

    protected override Tensor Logit(Graph g, in ModelInput x)
    {
        var emb = embedding.Forward(g, x);
        var hidden = normWeights is null ? emb : FieldNorm(g, emb);
        if (type == MaskNetType.SerialMaskNet)
        {
            var v = hidden;
            foreach (var block in blocks)
            {
                v = block.Forward(g, emb, v);
            }
            return fc!.Forward(g, v);
        }
        var outs = g.TensorList(blocks.Length);
        for (var i = 0; i < blocks.Length; i++)
        {
            outs[i] = blocks[i].Forward(g, emb, hidden);
        }
        return dnn!.Forward(g, outs.Length == 1 ? outs[0] : g.Concat(1, outs));
    }

    /// <summary>
    /// Every field's embedding LayerNorm-ed with its own weight and bias: one normalisation over all [B*F, d] rows, then
    /// the fields' weights and biases (concatenated to [F*d]) applied row-wise.
    /// </summary>
    private Tensor FieldNorm(Graph g, Tensor emb)
    {
        var rows = emb.Shape.D0;
        var normed = g.Reshape(g.LayerNorm(g.Reshape(emb, new Shape(rows * fields, dim)), ones!, zeros!), new Shape(rows, fields * dim));
        return g.AddRow(g.MulRow(normed, g.Concat(0, normWeights!)), g.Concat(0, normBiases!));
    }

    /// <summary>A named container (FuxiCTR's nn.ModuleList / submodule) for children.</summary>
    private sealed class Parts : Module
    {
        public T Add<T>(string name, T child)
            where T : Module => AddChild(name, child);
    }
}
