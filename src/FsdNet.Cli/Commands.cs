using System.CommandLine;

namespace FsdNet.Cli;

/// <summary>The registry of subcommands; each command lives in its own file.</summary>
internal static class Commands
{
    /// <summary>The <c>fsdnet</c> root command with every subcommand.</summary>
    public static RootCommand Root()
    {
        var root = new RootCommand("fsdnet: FSDNet and classic CTR models on a managed .NET engine.");
        foreach (var command in All())
        {
            root.Subcommands.Add(command);
        }
        return root;
    }

    public static IEnumerable<Command> All()
    {
        // One line per command file.
        yield return DataCommand.Create();
        yield return TrainCommand.Create();
        yield return EvaluateCommand.CreateEvaluate();
        yield return EvaluateCommand.CreatePredict();
    }
}
