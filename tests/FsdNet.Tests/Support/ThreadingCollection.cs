using Xunit;

namespace FsdNet.Tests.Support;

/// <summary>
/// Tests that change <c>Workers.ThreadCount</c> (a process-wide setting) or measure allocations run in this
/// collection, one at a time and never alongside other collections.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ThreadingCollection
{
    public const string Name = "Threading";
}
