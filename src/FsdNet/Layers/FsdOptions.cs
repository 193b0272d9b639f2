using FsdNet.Training;

namespace FsdNet.Layers;

/// <summary>
/// The FSD module's settings, one home for all of them: the self-distillation objective (<see cref="Distillation"/>:
/// choice, loss_coefficient, fea_coefficient, Temp, soft_loss, detach_teacher, the official FSDNet code's names and
/// defaults), which head scores (score_head; null: the mean of all heads' probabilities) and whether students whose
/// fused width differs from the teacher's get a learned projection for the hint loss (hint_projection, FsdNet's
/// addition: the paper compares fused features of equal width only). Every model that takes the module reads them
/// with <see cref="From"/>, FSDNet included.
/// </summary>
internal sealed record FsdOptions(DistillationOptions Distillation, int? ScoreHead = null, bool HintProjection = false)
{
    /// <summary>The official FSDNet constructor's defaults.</summary>
    public static FsdOptions Default { get; } = new(new DistillationOptions());

    /// <summary>Reads the module's keys from an experiment config.</summary>
    public static FsdOptions From(ModelConfig cfg)
    {
        var d = new DistillationOptions();
        var soft = cfg.GetString("soft_loss") ?? d.Soft.ToString();
        var distillation = new DistillationOptions(
            cfg.GetInt("choice", d.Choice),
            cfg.GetDouble("loss_coefficient", d.LossCoefficient),
            cfg.GetDouble("fea_coefficient", d.FeaCoefficient),
            cfg.GetDouble("Temp", d.Temperature),
            soft.ToLowerInvariant() switch
            {
                "official" => SoftLoss.Official,
                "paper" => SoftLoss.Paper,
                _ => throw new ConfigException($"{cfg.Source} [{cfg.ExpId}]: soft_loss must be 'official' or 'paper', got '{soft}'."),
            },
            cfg.GetBool("detach_teacher", d.DetachTeacher));
        return new FsdOptions(distillation, cfg.GetNullableInt("score_head"), cfg.GetBool("hint_projection", false));
    }

    /// <summary>The FSD options when the config turns the module on (<c>fsd: true</c>), else null.</summary>
    public static FsdOptions? FromIfOn(ModelConfig cfg) => cfg.GetBool("fsd", false) ? From(cfg) : null;
}
