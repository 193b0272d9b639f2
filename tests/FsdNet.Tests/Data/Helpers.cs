using FsdNet.Data;

namespace FsdNet.Tests.Data;

internal static class Helpers
{
    /// <summary>Prepares a config written as YAML into <paramref name="tmp"/>.</summary>
    public static PreparedData PrepareYaml(TempDir tmp, string yaml, DataOptions? options = null)
    {
        var cfgPath = tmp.File("dataset_config.yaml", yaml);
        var cfg = DatasetConfigLoader.Load(cfgPath);
        return DataPipeline.Prepare(cfg, (options ?? new DataOptions()) with { CacheDir = tmp.Sub("cache") });
    }

    /// <summary>Rows of a split as tuples read through the batch loader (no shuffle).</summary>
    public static List<(float Label, int[] Cat, float[] Num, int[] Seq, long Group)> Rows(EncodedDataset ds)
    {
        var loader = new BatchLoader(ds, new BatchLoaderOptions { BatchSize = 7 });
        var b = loader.CreateBatch();
        var rows = new List<(float, int[], float[], int[], long)>();
        while (loader.Next(b))
        {
            for (var i = 0; i < b.Size; i++)
            {
                rows.Add((b.Labels[i],
                    b.Categorical.AsSpan(i * b.CategoricalCount, b.CategoricalCount).ToArray(),
                    b.Numeric.AsSpan(i * b.NumericCount, b.NumericCount).ToArray(),
                    b.Sequence.AsSpan(i * b.SequenceWidth, b.SequenceWidth).ToArray(),
                    b.GroupIds.Length > 0 ? b.GroupIds[i] : 0));
            }
        }
        return rows;
    }
}
