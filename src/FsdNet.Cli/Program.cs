using FsdNet.Cli;

return Commands.Root().Parse(args).Invoke();
