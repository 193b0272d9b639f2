using FsdNet.Autodiff;
using FsdNet.Layers;
using FsdNet.Tensors;

namespace FsdNet.Models;

/// <summary>Logistic regression (FuxiCTR's model_zoo/LR): y = sigmoid(sum of the features' weights + bias).</summary>
internal sealed class LrModel : CtrModel
{
    private readonly LogisticRegression lr;

    public LrModel(InputSchema schema, Rng rng)
        : base(schema)
    {
        lr = AddChild("lr_layer", new LogisticRegression(schema, rng));
    }

    public override string ModelName => "LR";

    protected override Tensor Logit(Graph g, in ModelInput x) => lr.Forward(g, x);
}
