namespace FsdNet.Tests.Support;

/// <summary>
/// The golden names of tools/fsdnet_torch/make_golden.py for FSDNet's towers and heads, from our parameter path split
/// at '.': cross_W{i} / cross_b{i}, dnn_W{i} / dnn_b{i}, bn_gamma{i} / bn_beta{i}, head_W{i} / head_b{i}; null for any
/// other path (the embeddings, whose names each golden file sets).
/// </summary>
internal static class FsdNetGoldenNames
{
    public static string? Tower(string[] parts) => parts switch
    {
        ["cross", "cross_layers", var i, "weight"] => $"cross_W{i}",
        ["cross", "cross_layers", var i, "bias"] => $"cross_b{i}",
        ["dnn", var i, "linear", "weight"] => $"dnn_W{i}",
        ["dnn", var i, "linear", "bias"] => $"dnn_b{i}",
        ["dnn", var i, "batch_norm", "weight"] => $"bn_gamma{i}",
        ["dnn", var i, "batch_norm", "bias"] => $"bn_beta{i}",
        ["heads", var i, "weight"] => $"head_W{i}",
        ["heads", var i, "bias"] => $"head_b{i}",
        _ => null,
    };
}
