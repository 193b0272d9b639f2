namespace FsdNet.Data;

/// <summary>Which end of a sequence <c>max_len</c> keeps (FuxiCTR's <c>padding</c>).</summary>
public enum SequencePadding
{
    /// <summary><c>post</c>: keep the first max_len tokens, pad at the end (FuxiCTR's default).</summary>
    Post,

    /// <summary><c>pre</c>: keep the last max_len tokens, pad at the front.</summary>
    Pre,
}

/// <summary>How a numeric feature is scaled (FuxiCTR's <c>normalizer</c>), fitted on the train split.</summary>
public enum Scaler
{
    /// <summary>No normaliser: the value as read.</summary>
    None,

    /// <summary>(v - mean) / std, the population std as sklearn's; a zero std divides by 1.</summary>
    StandardScaler,

    /// <summary>(v - min) / (max - min); a zero range divides by 1.</summary>
    MinMaxScaler,
}

/// <summary>
/// The names of the encoding options as FuxiCTR's configs and FsdNet's feature_map.json write them, and their enums:
/// the one place where those strings are read or written.
/// </summary>
internal static class EncodingNames
{
    public const string ConvertToBucket = "convert_to_bucket";

    /// <summary>A feature's <c>type</c> as FuxiCTR writes it (lower case); null when it is none of them.</summary>
    public static FeatureType? TypeOf(string text) => text switch
    {
        "categorical" => FeatureType.Categorical,
        "numeric" => FeatureType.Numeric,
        "sequence" => FeatureType.Sequence,
        "meta" => FeatureType.Meta,
        "embedding" => FeatureType.Embedding,
        _ => null,
    };

    public const string TypeNames = "categorical, numeric, sequence, meta, embedding";

    public static string Name(SequencePadding p) => p == SequencePadding.Pre ? "pre" : "post";

    public static SequencePadding? Padding(string? text) => text switch
    {
        null or "post" => SequencePadding.Post,
        "pre" => SequencePadding.Pre,
        _ => null,
    };

    /// <summary>null for <see cref="Scaler.None"/> (the key is absent).</summary>
    public static string? Name(Scaler s) => s switch
    {
        Scaler.StandardScaler => "StandardScaler",
        Scaler.MinMaxScaler => "MinMaxScaler",
        _ => null,
    };

    public static Scaler? ScalerOf(string? text) => text switch
    {
        null => Scaler.None,
        "StandardScaler" => Scaler.StandardScaler,
        "MinMaxScaler" => Scaler.MinMaxScaler,
        _ => null,
    };

    /// <summary>The names of a scaler's two fitted parameters in feature_map.json.</summary>
    public static (string A, string B) ParameterNames(Scaler s) => s == Scaler.StandardScaler ? ("mean", "std") : ("min", "max");
}
