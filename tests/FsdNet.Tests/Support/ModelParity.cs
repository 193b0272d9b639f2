using FsdNet.Autodiff;
using FsdNet.Layers;
using FsdNet.Models;

namespace FsdNet.Tests.Support;

/// <summary>
/// The shared shape of a model parity test: load a golden file's parameters (named "&lt;case&gt;:&lt;parameter path&gt;")
/// into the model, then compare the prediction, the loss and every parameter's gradient with PyTorch's.
/// </summary>
internal static class ModelParity
{
    public static void Check(Golden gold, string name, CtrModel model, ModelInput x, double gradAbs = 1e-6)
    {
        foreach (var (n, p) in model.NamedParameters())
        {
            gold.Into($"{name}:{n}", p);
            p.ZeroGrad();
        }
        var g = new Graph();
        gold.AssertClose($"{name}:y_pred", model.Predict(g, x).Span);
        g.Reset();
        var loss = model.Loss(g, x);
        gold.AssertClose($"{name}:loss", loss.Span);
        g.Backward(loss);
        foreach (var (n, p) in model.NamedParameters())
        {
            gold.AssertClose($"{name}:d{n}", p.GradSpan, abs: gradAbs);
        }
    }
}
