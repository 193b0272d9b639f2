using System.CommandLine;

namespace FsdNet.Cli;

/// <summary>The registry of subcommands; each command lives in its own file.</summary>
internal static class Commands
{
    /// <summary>
    /// The <c>fsdnet</c> root command with every subcommand. A plain <see cref="Command"/> named <c>fsdnet</c> (with
    /// --help and --version added) rather than a RootCommand, whose name is the executable's (FsdNet.Cli under
    /// <c>dotnet run</c>), so help and usage always say <c>fsdnet</c>.
    /// </summary>
    public static Command Root()
    {
        var root = new Command("fsdnet", "fsdnet: FSDNet and classic CTR models on a managed .NET engine.")
        {
            new System.CommandLine.Help.HelpOption(),
            new VersionOption(),
        };
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
        yield return ExperimentCommand.Create();
        yield return TuneCommand.Create();
        yield return EvaluateCommand.CreateEvaluate();
        yield return EvaluateCommand.CreatePredict();
        yield return ExportCommand.Create();
        yield return ServeCommand.Create();
    }
}
