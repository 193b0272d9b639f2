using FsdNet.Tensors;

namespace FsdNet.Layers;

/// <summary>Weight initialisers (FuxiCTR defaults), all drawing from one seeded <see cref="Rng"/>.</summary>
internal static class Init
{
    /// <summary>Xavier (Glorot) normal for a [out, in] weight: std = sqrt(2 / (in + out)).</summary>
    public static void XavierNormal(Tensor weight, Rng rng)
    {
        var fanOut = weight.Shape.D0;
        var fanIn = weight.Shape.Last;
        rng.FillNormal(weight.Span, 0, Math.Sqrt(2.0 / (fanIn + fanOut)));
    }

    /// <summary>Normal(0, std) for an embedding table, with the padding row 0 set to zero.</summary>
    public static void Embedding(Tensor table, Rng rng, double std = 1e-4)
    {
        rng.FillNormal(table.Span, 0, std);
        table.Row(0).Clear();
    }
}
