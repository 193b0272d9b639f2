using System.CommandLine;

namespace FsdNet.Cli;

/// <summary>The registry of subcommands; each command lives in its own file.</summary>
internal static class Commands
{
    public static IEnumerable<Command> All()
    {
        // One line per command file.
        yield return DataCommand.Create();
        yield return TrainCommand.Create();
    }
}
