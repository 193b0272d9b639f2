namespace FsdNet.Metrics;

/// <summary>
/// Binary-classification metrics as FuxiCTR reports them (sklearn definitions): exact rank-based AUC with ties
/// averaged, logloss with probabilities clipped to [1e-7, 1 - 1e-7], and gAUC.
/// </summary>
public static class BinaryMetrics
{
    /// <summary>The clip FuxiCTR passes to sklearn's log_loss.</summary>
    public const double LogLossEps = 1e-7;

    /// <summary>
    /// Area under the ROC curve (= the probability that a random positive scores above a random negative, ties
    /// counting one half). NaN when the labels hold only one class, where AUC is undefined.
    /// </summary>
    public static double Auc(ReadOnlySpan<float> labels, ReadOnlySpan<float> scores)
    {
        CheckLengths(labels, scores);
        var order = new int[scores.Length];
        for (var i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }
        var keys = scores.ToArray();
        Array.Sort(keys, order);
        return AucSorted(labels, keys, order);
    }

    /// <summary>
    /// Mean binary cross-entropy of probabilities, clipped to [eps, 1 - eps]; computed in double precision.
    /// </summary>
    public static double LogLoss(ReadOnlySpan<float> labels, ReadOnlySpan<float> probabilities, double eps = LogLossEps)
    {
        CheckLengths(labels, probabilities);
        if (labels.Length == 0)
        {
            return double.NaN;
        }
        double sum = 0;
        for (var i = 0; i < labels.Length; i++)
        {
            var p = Math.Clamp((double)probabilities[i], eps, 1 - eps);
            double y = labels[i];
            sum += (y * Math.Log(p)) + ((1 - y) * Math.Log(1 - p));
        }
        return -sum / labels.Length;
    }

    /// <summary>
    /// Group AUC: sum over groups of n_g * AUC_g / sum of n_g, over the groups that hold both classes (others are
    /// skipped, as FuxiCTR does). NaN when no group holds both classes.
    /// </summary>
    public static double GroupAuc(ReadOnlySpan<float> labels, ReadOnlySpan<float> scores, ReadOnlySpan<long> groups)
    {
        CheckLengths(labels, scores);
        if (groups.Length != labels.Length)
        {
            throw new ArgumentException($"gAUC: {groups.Length} group ids for {labels.Length} labels.");
        }
        var n = labels.Length;
        var order = new int[n];
        for (var i = 0; i < n; i++)
        {
            order[i] = i;
        }
        var groupKeys = groups.ToArray();
        Array.Sort(groupKeys, order);
        double weighted = 0;
        long total = 0;
        var subLabels = new float[n];
        var subScores = new float[n];
        var subOrder = new int[n];
        for (var start = 0; start < n;)
        {
            var end = start + 1;
            while (end < n && groupKeys[end] == groupKeys[start])
            {
                end++;
            }
            var size = end - start;
            for (var j = 0; j < size; j++)
            {
                subLabels[j] = labels[order[start + j]];
                subScores[j] = scores[order[start + j]];
                subOrder[j] = j;
            }
            Array.Sort(subScores, subOrder, 0, size);
            var auc = AucSorted(subLabels.AsSpan(0, size), subScores.AsSpan(0, size), subOrder.AsSpan(0, size));
            if (!double.IsNaN(auc))
            {
                weighted += size * auc;
                total += size;
            }
            start = end;
        }
        return total == 0 ? double.NaN : weighted / total;
    }

    /// <summary>AUC from scores sorted ascending (<paramref name="sortedScores"/>) and the label index of each.</summary>
    private static double AucSorted(ReadOnlySpan<float> labels, ReadOnlySpan<float> sortedScores, ReadOnlySpan<int> order)
    {
        long positives = 0;
        double rankSum = 0;
        var n = sortedScores.Length;
        for (var start = 0; start < n;)
        {
            var end = start + 1;
            while (end < n && sortedScores[end] == sortedScores[start])
            {
                end++;
            }
            // Ranks start + 1 .. end share their average.
            var avgRank = (start + 1 + end) / 2.0;
            for (var j = start; j < end; j++)
            {
                var y = labels[order[j]];
                if (y is not (0f or 1f))
                {
                    throw new ArgumentException($"AUC needs labels 0 or 1; label {order[j]} is {y}.");
                }
                if (y == 1f)
                {
                    positives++;
                    rankSum += avgRank;
                }
            }
            start = end;
        }
        long negatives = n - positives;
        if (positives == 0 || negatives == 0)
        {
            return double.NaN;
        }
        return (rankSum - (positives * (positives + 1) / 2.0)) / ((double)positives * negatives);
    }

    private static void CheckLengths(ReadOnlySpan<float> labels, ReadOnlySpan<float> scores)
    {
        if (labels.Length != scores.Length)
        {
            throw new ArgumentException($"Metrics: {labels.Length} labels but {scores.Length} scores.");
        }
        foreach (var s in scores)
        {
            if (float.IsNaN(s))
            {
                throw new ArgumentException("Metrics: a score is NaN (the model diverged?).");
            }
        }
    }
}
