using FsdNet.Autodiff;
using FsdNet.Tensors;

namespace FsdNet.Layers;

/// <summary>
/// FuxiCTR's BilinearInteractionV2 (FiBiNET): for every field pair (i, j), i &lt; j, (e_i W) * e_j with one W
/// (field_all, [D, D]), one per left field (field_each, [F, D, D]) or one per pair (field_interaction,
/// [F(F-1)/2, D, D]); [rows, F, D] to [rows, F(F-1)/2, D]. The weight "bilinear_W" is Xavier-normal with torch's fans
/// for its shape. One fused op (<see cref="Graph.BilinearPairs"/>).
/// </summary>
internal sealed class BilinearInteraction : Module
{
    public BilinearInteraction(int numFields, int embeddingDim, BilinearType type, Rng rng)
    {
        if (numFields < 2)
        {
            throw new ArgumentException($"bilinear interactions need at least 2 fields, the input has {numFields}.");
        }
        Type = type;
        Pairs = numFields * (numFields - 1) / 2;
        var d = embeddingDim;
        var shape = type switch
        {
            BilinearType.FieldAll => new Shape(d, d),
            BilinearType.FieldEach => new Shape(numFields, d, d),
            _ => new Shape(Pairs, d, d),
        };
        Weight = AddParameter("bilinear_W", shape);
        // torch's xavier_normal_: fan_in = size(1) * receptive field, fan_out = size(0) * receptive field.
        var (fanIn, fanOut) = shape.Rank == 2 ? (d, d) : (d * d, shape.D0 * d);
        rng.FillNormal(Weight.Span, 0, Math.Sqrt(2.0 / (fanIn + fanOut)));
    }

    public BilinearType Type { get; }

    /// <summary>Number of field pairs.</summary>
    public int Pairs { get; }

    public Parameter Weight { get; }

    /// <summary>Parses FuxiCTR's bilinear_type.</summary>
    public static BilinearType ParseType(string name) => name.Trim().ToLowerInvariant() switch
    {
        "field_all" => BilinearType.FieldAll,
        "field_each" => BilinearType.FieldEach,
        "field_interaction" => BilinearType.FieldInteraction,
        _ => throw new ArgumentException($"bilinear_type '{name}' is not one of field_all, field_each, field_interaction."),
    };

    /// <param name="fields">Field embeddings [rows, F, D].</param>
    public Tensor Forward(Graph g, Tensor fields) => g.BilinearPairs(fields, Weight, Type);
}
