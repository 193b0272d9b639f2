using System.Globalization;
using System.Text;

namespace FsdNet.Data;

/// <summary>Human-readable summaries of prepared data (what <c>fsdnet data inspect</c> prints).</summary>
internal static class DataReport
{
    /// <summary>The text that <c>data inspect</c> prints.</summary>
    public static string Describe(PreparedData data)
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        var map = data.FeatureMap;
        sb.Append(inv, $"dataset {data.Config.DatasetId} ({map.Format}{(map.FuxiEncoded ? ", encoded by FuxiCTR" : "")}), label '{map.LabelName}', min_categr_count {data.Config.MinCategrCount}\n");
        sb.Append(inv, $"cache   {data.CacheDir}\n\n");
        sb.Append(inv, $"{"split",-6} {"rows",12} {"positives",18}  cache\n");
        foreach (var (name, ds) in new[] { ("train", data.Train), ("valid", data.Valid), ("test", data.Test) })
        {
            if (ds is null)
            {
                sb.Append(inv, $"{name,-6} {"-",12}\n");
                continue;
            }
            double pos = 0;
            foreach (var l in ds.Labels)
            {
                pos += l;
            }
            var state = data.Reused.TryGetValue(name, out var reused) && reused ? "reused" : "built";
            var bad = data.BadLines.TryGetValue(name, out var report) && report.Dropped > 0 ? $", {report}" : "";
            if (report is { BlankLines: > 0 })
            {
                bad += string.Create(inv, $", {report.BlankLines} blank line(s) skipped");
            }
            sb.Append(inv, $"{name,-6} {ds.RowCount,12:N0} {pos,10:N0} ({pos / Math.Max(1, ds.RowCount) * 100,5:F1}%)  {state}{bad}\n");
        }
        sb.Append('\n');
        sb.Append(inv, $"{"field",-24} {"type",-12} {"vocab_size",10}  notes\n");
        foreach (var f in map.Features)
        {
            var notes = f.Type switch
            {
                FeatureType.Sequence => $"max_len {f.MaxLen}" + (f.HashBuckets is { } seqBuckets ? $", hashed into {seqBuckets} buckets" : "") + (f.ShareEmbedding is null ? "" : $", shares {f.ShareEmbedding}") + (f.FeatureEncoder is null ? ", no pooling" : ""),
                FeatureType.Embedding => $"pretrain_dim {f.PretrainDim}",
                FeatureType.Categorical when f.HashBuckets is { } hb => $"hashed into {hb} buckets",
                FeatureType.Categorical when f.MaxVocabSize is { } mv && f.Vocab.Count == mv => $"capped at max_vocab_size {mv}",
                FeatureType.Categorical when f.ShareEmbedding is not null => $"shares {f.ShareEmbedding}",
                FeatureType.Categorical when f.PretrainedEmb is not null => $"pretrained {Path.GetFileName(f.PretrainedEmb)} ({f.PretrainUsage}{(f.FreezeEmb ? ", frozen" : "")})",
                FeatureType.Numeric => f.Normalizer == Scaler.None ? "" : $"{f.Normalizer} ({f.NormA:G4}, {f.NormB:G4})",
                FeatureType.Meta => "group id",
                _ => f.Preprocess ?? "",
            };
            var size = f.Type is FeatureType.Meta or FeatureType.Embedding ? "-" : f.VocabSize.ToString("N0", inv);
            sb.Append(inv, $"{f.Name,-24} {f.Type.ToString().ToLowerInvariant(),-12} {size,10}  {notes}\n");
        }
        sb.Append(inv, $"\n{map.NumFields} fields, {map.TotalFeatures:N0} features in all (incl. PAD and OOV); schema {map.SchemaHash[..12]}\n");
        return sb.ToString();
    }
}
