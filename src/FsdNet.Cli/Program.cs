using System.CommandLine;
using FsdNet.Cli;

var root = new RootCommand("fsdnet: FSDNet and classic CTR models on a managed .NET engine.");
foreach (var command in Commands.All())
{
    root.Subcommands.Add(command);
}
return root.Parse(args).Invoke();
