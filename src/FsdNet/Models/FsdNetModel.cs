using FsdNet.Autodiff;
using FsdNet.Data;
using FsdNet.Layers;
using FsdNet.Tensors;
using FsdNet.Training;

namespace FsdNet.Models;

/// <summary>FSDNet's hyper-parameters, named as in the official model_config.yaml.</summary>
public sealed record FsdNetOptions
{
    public int EmbeddingDim { get; init; } = 16;

    /// <summary>parallel_dnn_hidden_units: one width per layer, all equal, as many as num_cross_layers.</summary>
    public IReadOnlyList<int> ParallelDnnHiddenUnits { get; init; } = [400, 400, 400];

    public Activation DnnActivations { get; init; } = Activation.Relu;

    public int NumCrossLayers { get; init; } = 3;

    public float NetDropout { get; init; }

    public bool BatchNorm { get; init; } = true;

    public DistillationOptions Distillation { get; init; } = new();

    /// <summary>Score with one head only (0-based; the last is the teacher) instead of the mean of all heads.</summary>
    public int? ScoreHead { get; init; }

    public void Validate()
    {
        var units = ParallelDnnHiddenUnits;
        if (units.Count != NumCrossLayers)
        {
            throw new ArgumentException(
                $"FSDNet fuses cross layer i with DNN layer i, so num_cross_layers ({NumCrossLayers}) must equal the number of " +
                $"parallel_dnn_hidden_units ({units.Count}: [{string.Join(", ", units)}]).");
        }
        if (units.Count < 2)
        {
            throw new ArgumentException($"FSDNet needs at least 2 layers (a teacher and a student), got {units.Count}.");
        }
        if (units.Any(u => u != units[0]))
        {
            throw new ArgumentException(
                $"FSDNet's hint loss compares fused features of every layer, so all parallel_dnn_hidden_units must be equal, got [{string.Join(", ", units)}].");
        }
        if (ScoreHead is { } h && (h < 0 || h >= units.Count))
        {
            throw new ArgumentException($"score_head {h} is not a head index in [0, {units.Count - 1}].");
        }
        Distillation.Validate();
    }
}

/// <summary>
/// FSDNet (Sang et al., arXiv 2411.07508). A cross network (explicit interactions) and a deep network (implicit
/// interactions) run in parallel on the field embeddings x0; at every layer i their outputs are fused,
/// f_i = [c_i ; d_i], and head i turns f_i into a logit z_i. The deepest head teaches the shallower ones
/// (<see cref="SelfDistillation"/>); the prediction is the mean of the heads' probabilities.
/// </summary>
public sealed class FsdNetModel : CtrModel
{
    private readonly FeatureEmbedding embedding;
    private readonly CrossNetV2 cross;
    private readonly DenseLayer[] dnn;
    private readonly Linear[] heads;
    private readonly Tensor[] logits;
    private readonly Tensor[] fused;

    public FsdNetModel(IReadOnlyList<FieldSpec> fields, FsdNetOptions options, Rng rng)
    {
        options.Validate();
        Options = options;
        var layers = options.NumCrossLayers;
        embedding = AddChild("embedding", new FeatureEmbedding(fields, options.EmbeddingDim, rng));
        var x0 = embedding.OutFeatures;
        cross = AddChild("cross", new CrossNetV2(x0, layers, rng));
        dnn = new DenseLayer[layers];
        heads = new Linear[layers];
        var width = x0;
        for (var i = 0; i < layers; i++)
        {
            var h = options.ParallelDnnHiddenUnits[i];
            dnn[i] = AddChild($"dnn.{i}", new DenseLayer(width, h, options.DnnActivations, options.NetDropout, options.BatchNorm, rng));
            width = h;
        }
        for (var i = 0; i < layers; i++)
        {
            heads[i] = AddChild($"heads.{i}", new Linear(x0 + options.ParallelDnnHiddenUnits[i], 1, rng));
        }
        logits = new Tensor[layers];
        fused = new Tensor[layers];
    }

    public override string ModelName => "FSDNet";

    public FsdNetOptions Options { get; }

    public override Tensor Predict(Graph g, Batch batch)
    {
        Forward(g, batch);
        if (Options.ScoreHead is { } h)
        {
            return g.Sigmoid(logits[h]);
        }
        var sum = g.Sigmoid(logits[0]);
        for (var i = 1; i < logits.Length; i++)
        {
            sum = g.Add(sum, g.Sigmoid(logits[i]));
        }
        return g.Affine(sum, 1f / logits.Length);
    }

    public override Tensor Loss(Graph g, Batch batch)
    {
        Forward(g, batch);
        return SelfDistillation.Loss(g, logits, fused, Labels(g, batch), Options.Distillation);
    }

    /// <summary>The logit of each head and the fused features of each layer from the last forward pass.</summary>
    public (IReadOnlyList<Tensor> Logits, IReadOnlyList<Tensor> Fused) LastForward => (logits, fused);

    private void Forward(Graph g, Batch batch)
    {
        var x0 = embedding.Forward(g, batch);
        Tensor c = x0, d = x0;
        for (var i = 0; i < dnn.Length; i++)
        {
            c = cross.Layer(g, i, x0, c);
            d = dnn[i].Forward(g, d);
            fused[i] = g.Concat(c, d);
            logits[i] = heads[i].Forward(g, fused[i]);
        }
    }
}
