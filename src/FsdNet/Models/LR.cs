using FsdNet.Autodiff;
using FsdNet.Layers;
using FsdNet.Tensors;

namespace FsdNet.Models;

/// <summary>Logistic regression (FuxiCTR's model_zoo/LR): y = sigmoid(sum of the features' weights + bias).</summary>
internal sealed class LrModel : CtrModel
{
    private readonly LogisticRegression lr;

    public LrModel(InputSchema schema, Rng rng)
    {
        Schema = schema;
        lr = AddChild("lr_layer", new LogisticRegression(schema, rng));
    }

    public override string ModelName => "LR";

    public override InputSchema Schema { get; }

    public override Tensor Predict(Graph g, in ModelInput x) => g.Sigmoid(lr.Forward(g, x));

    public override Tensor Loss(Graph g, in ModelInput x) => g.BceWithLogits(lr.Forward(g, x), Labels(g, x));
}
