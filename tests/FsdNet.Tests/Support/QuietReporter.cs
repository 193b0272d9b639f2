using FsdNet.Training;

namespace FsdNet.Tests.Support;

/// <summary>A run reporter that prints nothing (tests that train through <see cref="TrainingRun"/>); it keeps the messages.</summary>
internal sealed class QuietReporter : IRunReporter
{
    public List<string> Messages { get; } = [];

    public void Message(string line) => Messages.Add(line);

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
