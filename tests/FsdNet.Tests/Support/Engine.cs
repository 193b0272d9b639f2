using FsdNet.Tensors;

namespace FsdNet.Tests.Support;

/// <summary>Engine settings for one test: a scope on the test's thread (and the parts it hands to workers), not the process's.</summary>
internal static class Engine
{
    /// <summary>Runs with <paramref name="threads"/> engine threads until disposed; other tests keep theirs.</summary>
    public static EngineSettings.Scope Threads(int threads) => (EngineSettings.Current with { Threads = threads }).Enter();
}
