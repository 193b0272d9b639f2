using FsdNet.Metrics;

namespace FsdNet.Training;

/// <summary>Named metrics (FuxiCTR's names) over a whole evaluation set.</summary>
public static class TrainingMetrics
{
    internal static readonly IReadOnlySet<string> Known = new HashSet<string>(StringComparer.Ordinal) { "logloss", "AUC", "gAUC" };

    /// <summary>Refuses a metric name that <see cref="Compute"/> does not know, naming the known ones.</summary>
    internal static void Check(IEnumerable<string> names)
    {
        foreach (var n in names)
        {
            if (!Known.Contains(n))
            {
                throw new ArgumentException($"unknown metric '{n}'; known: {string.Join(", ", Known)}.");
            }
        }
    }

    /// <summary>Computes the requested metrics; gAUC is skipped (with a NaN) when there are no group ids.</summary>
    public static Dictionary<string, double> Compute(IEnumerable<string> names, float[] labels, float[] predictions, long[]? groups)
    {
        var list = names.Distinct().ToList();
        Check(list);
        var result = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var name in list)
        {
            result[name] = name switch
            {
                "logloss" => BinaryMetrics.LogLoss(labels, predictions),
                "AUC" => BinaryMetrics.Auc(labels, predictions),
                "gAUC" => groups is { Length: > 0 } ? BinaryMetrics.GroupAuc(labels, predictions, groups) : double.NaN,
                _ => throw new System.Diagnostics.UnreachableException(name), // Check refused it
            };
        }
        return result;
    }
}
