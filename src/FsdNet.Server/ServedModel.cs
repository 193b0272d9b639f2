using System.Globalization;
using System.Text.Json;
using FsdNet.Serving;

namespace FsdNet.Server;

/// <summary>
/// One model as the server serves it: its scorer, the request parser and row-batch pool built for it, its
/// <c>GET /v1/model</c> body, and which file it came from (SHA-256 and load time). Immutable: a reload builds a new one.
/// </summary>
internal sealed class ServedModel
{
    /// <summary>A scorer the host built itself (its file is hashed here).</summary>
    public ServedModel(Scorer scorer, int maxRows)
        : this(new ScorerHolder.Loaded(scorer, ScorerHolder.FileChecksum(scorer.Bundle.SourcePath), DateTimeOffset.UtcNow), maxRows)
    {
    }

    private ServedModel(ScorerHolder.Loaded loaded, int maxRows)
    {
        var scorer = loaded.Scorer;
        Scorer = scorer;
        Parser = new PredictParser(scorer);
        Pool = new ContextPool(scorer, maxRows);
        ModelName = scorer.Bundle.Model.ModelName;
        ExpId = scorer.Bundle.Config.ExpId;
        Path = scorer.Bundle.SourcePath;
        Checksum = loaded.Checksum;
        LoadedAt = loaded.LoadedAt;
        ModelJson = ServerApp.ModelJson(this);
    }

    public Scorer Scorer { get; }

    public PredictParser Parser { get; }

    public ContextPool Pool { get; }

    public string ModelName { get; }

    public string ExpId { get; }

    /// <summary>The bundle file or the run directory's model.fsdm it was read from.</summary>
    public string Path { get; }

    /// <summary>SHA-256 (hex) of <see cref="Path"/>'s bytes: which model answered, in every response.</summary>
    public string Checksum { get; }

    public DateTimeOffset LoadedAt { get; }

    public byte[] ModelJson { get; }

    /// <summary>
    /// Loads a bundle or run directory and checks it can serve: the bundle's own checksums, the scorer (BatchNorm
    /// folded), and one warm-up row of missing values that must score a finite probability.
    /// </summary>
    public static ServedModel Load(string path, int maxRows) => new(ScorerHolder.Load(path, new ScorerOptions()), maxRows);

    /// <summary>"FSDNet (expid, sha256 1a2b3c4d5e6f)" for log lines.</summary>
    public string Describe() => $"{ModelName} ({ExpId}, sha256 {Checksum[..Math.Min(12, Checksum.Length)]})";

    /// <summary>model, expid, checksum, path and loaded_at, in the object being written.</summary>
    public void WriteIdentity(Utf8JsonWriter w)
    {
        w.WriteString("model", ModelName);
        w.WriteString("expid", ExpId);
        w.WriteString("checksum", Checksum);
        w.WriteString("path", Path);
        w.WriteString("loaded_at", LoadedAt.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture));
    }

}
