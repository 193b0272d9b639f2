namespace FsdNet.Training;

/// <summary>
/// FuxiCTR's checkpoint_and_earlystop: a validation value improves when it beats the best by at least
/// <c>min_delta</c> (ties do not count); each non-improving validation counts towards the patience and, with
/// reduce_lr_on_plateau, multiplies the learning rate by the decay factor (not below the floor).
/// </summary>
internal sealed class PlateauMonitor(TrainerOptions options)
{
    public double Best { get; set; } = options.MonitorMode == "max" ? double.NegativeInfinity : double.PositiveInfinity;

    /// <summary>Consecutive non-improving validations.</summary>
    public int StoppingSteps { get; set; }

    /// <summary>
    /// Patience is counted in validations (FuxiCTR 2.x), or in epochs with FuxiCTR 1.x's every_x_epochs (each
    /// validation then stands for x epochs).
    /// </summary>
    public bool ShouldStop => StoppingSteps * (options.EveryXEpochs ?? 1) >= options.EarlyStopPatience;

    /// <summary>
    /// The weighted sum of the monitored metrics. Undefined (NaN) metrics, such as AUC on a single-class split, are
    /// left out rather than making the whole value NaN.
    /// </summary>
    public double Value(IReadOnlyDictionary<string, double> metrics)
    {
        var sum = 0.0;
        foreach (var (name, weight) in options.Monitor)
        {
            var m = metrics.GetValueOrDefault(name);
            if (!double.IsNaN(m))
            {
                sum += m * weight;
            }
        }
        return sum;
    }

    /// <summary>Records a validation value; returns whether it improved. A NaN value is refused (it would count as a miss).</summary>
    public bool Observe(double value)
    {
        if (double.IsNaN(value))
        {
            throw new InvalidOperationException("the monitored value is undefined (NaN); the monitor cannot tell whether the model improved.");
        }
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
