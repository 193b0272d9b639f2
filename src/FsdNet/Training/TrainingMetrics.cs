using FsdNet.Metrics;

namespace FsdNet.Training;

/// <summary>Named metrics (FuxiCTR's names) over a whole evaluation set.</summary>
public static class TrainingMetrics
{
    internal static readonly IReadOnlySet<string> Known = new HashSet<string>(StringComparer.Ordinal) { "logloss", "AUC", "gAUC" };

    /// <summary>Computes the requested metrics; gAUC is skipped (with a NaN) when there are no group ids.</summary>
    public static Dictionary<string, double> Compute(IEnumerable<string> names, float[] labels, float[] predictions, long[]? groups)
    {
        var result = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var name in names.Distinct())
        {
            result[name] = name switch
            {
                "logloss" => BinaryMetrics.LogLoss(labels, predictions),
                "AUC" => BinaryMetrics.Auc(labels, predictions),
                "gAUC" => groups is { Length: > 0 } ? BinaryMetrics.GroupAuc(labels, predictions, groups) : double.NaN,
                _ => throw new ArgumentException($"unknown metric '{name}'"),
            };
        }
        return result;
    }
}
