using FsdNet.Autodiff;
using FsdNet.Data;
using FsdNet.Models;

namespace FsdNet.Serving;

/// <summary>Batched inference over an encoded split (evaluation mode: running BatchNorm statistics, no dropout).</summary>
internal static class Predictor
{
    public static (float[] Predictions, float[] Labels, long[]? Groups) PredictAll(
        CtrModel model, Graph graph, EncodedDataset data, int batchSize, Action<long, long, double>? progress = null) =>
        PredictAll(model, graph, data, batchSize, progress, null);

    /// <summary>
    /// As above, over rows [Start, Start + Count) of the split only (a rank's part of a distributed pass).
    /// <paramref name="beforeBatch"/> runs before each batch and, with null, for each of the rounds up to
    /// <paramref name="rounds"/> that this part has no batch for (ranks that exchange table rows in lockstep).
    /// </summary>
    internal static (float[] Predictions, float[] Labels, long[]? Groups) PredictAll(
        CtrModel model, Graph graph, EncodedDataset data, int batchSize, Action<long, long, double>? progress, (long Start, long Count)? rows,
        Action<Batch?>? beforeBatch = null, int rounds = 0)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        graph.Training = false;
        graph.GradEnabled = false;
        var loader = new BatchLoader(data, new BatchLoaderOptions { BatchSize = batchSize, Shuffle = false, Rows = rows });
        var batch = loader.CreateBatch();
        var n = checked((int)(rows?.Count ?? data.RowCount));
        var predictions = new float[n];
        var labels = new float[n];
        var groups = data.HasGroupIds ? new long[n] : null;
        var offset = 0;
        loader.StartEpoch(0);
        var round = 0;
        for (; loader.Next(batch); round++)
        {
            beforeBatch?.Invoke(batch);
            graph.Reset();
            var p = model.Predict(graph, batch.Input());
            p.Span.CopyTo(predictions.AsSpan(offset, batch.Size));
            batch.Labels.AsSpan(0, batch.Size).CopyTo(labels.AsSpan(offset));
            if (groups is not null)
            {
                batch.GroupIds.AsSpan(0, batch.Size).CopyTo(groups.AsSpan(offset));
            }
            offset += batch.Size;
            progress?.Invoke(offset, n, offset / Math.Max(clock.Elapsed.TotalSeconds, 1e-9));
        }
        for (; round < rounds; round++)
        {
            beforeBatch?.Invoke(null);
        }
        data.ReleasePages();
        return (predictions, labels, groups);
    }
}
