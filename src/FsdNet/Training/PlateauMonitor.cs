namespace FsdNet.Training;

/// <summary>
/// FuxiCTR's checkpoint_and_earlystop: a validation value improves when it beats the best by at least
/// <c>min_delta</c> (ties do not count); each non-improving validation counts towards the patience and, with
/// reduce_lr_on_plateau, multiplies the learning rate by the decay factor (not below the floor).
/// </summary>
public sealed class PlateauMonitor(TrainerOptions options)
{
    public double Best { get; set; } = options.MonitorMode == "max" ? double.NegativeInfinity : double.PositiveInfinity;

    /// <summary>Consecutive non-improving validations.</summary>
    public int StoppingSteps { get; set; }

    public bool ShouldStop => StoppingSteps >= options.EarlyStopPatience;

    /// <summary>The weighted sum of the monitored metrics.</summary>
    public double Value(IReadOnlyDictionary<string, double> metrics) =>
        options.Monitor.Sum(kv => metrics.GetValueOrDefault(kv.Key) * kv.Value);

    /// <summary>Records a validation value; returns whether it improved.</summary>
    public bool Observe(double value)
    {
        var improved = options.MonitorMode == "max" ? value >= Best + options.MinDelta : value <= Best - options.MinDelta;
        if (improved)
        {
            Best = value;
            StoppingSteps = 0;
        }
        else
        {
            StoppingSteps++;
        }
        return improved;
    }

    /// <summary>The learning rate after a validation that did or did not improve.</summary>
    public double NextLearningRate(double lr, bool improved) =>
        improved || !options.ReduceLrOnPlateau ? lr : Math.Max(lr * options.LrDecayFactor, options.MinLearningRate);
}
