using FsdNet.Training;

namespace FsdNet.Tests.Support;

/// <summary>A run reporter that prints nothing (tests that train through <see cref="TrainingRun"/>).</summary>
internal sealed class QuietReporter : IRunReporter
{
    public void Message(string line)
    {
    }

    public T Run<T>(Func<T> training) => training();

    public void OnEvaluation(EpochRecord record)
    {
    }

    public void Complete(TrainResult result, IReadOnlyDictionary<string, double>? test)
    {
    }

    public void Dispose()
    {
    }
}
