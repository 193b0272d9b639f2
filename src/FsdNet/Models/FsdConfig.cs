using FsdNet.Layers;
using FsdNet.Training;

namespace FsdNet.Models;

/// <summary>
/// The FSD module's keys, read the same way for every model that takes it (<c>fsd: true</c>): choice,
/// loss_coefficient, fea_coefficient, Temp (the official FSDNet code's names), soft_loss, detach_teacher, score_head,
/// hint_projection. Defaults are <see cref="DistillationOptions"/>'s (the official FSDNet constructor's).
/// </summary>
internal static class FsdConfig
{
    public static FsdOptions Read(ModelConfig cfg)
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
    public static FsdOptions? ReadIfOn(ModelConfig cfg) => cfg.GetBool("fsd", false) ? Read(cfg) : null;
}
