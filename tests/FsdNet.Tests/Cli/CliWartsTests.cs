using FsdNet.Cli;
using FsdNet.Tests.Support;
using Xunit;

namespace FsdNet.Tests.Cli;

/// <summary>The command calls itself fsdnet; --progress auto picks the live bar only on an ANSI terminal outside CI.</summary>
[Collection(ThreadingCollection.Name)]
public sealed class CliWartsTests
{
    [Fact]
    public void Help_and_usage_say_fsdnet()
    {
        var (code, output, _) = CliRunner.Run("--help");
        Assert.Equal(0, code);
        Assert.Contains("Usage:\n  fsdnet [command] [options]", output.Replace("\r\n", "\n", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.DoesNotContain("FsdNet.Cli", output, StringComparison.Ordinal);
        (code, output, _) = CliRunner.Run("train", "--help");
        Assert.Equal(0, code);
        Assert.Contains("fsdnet train [options]", output, StringComparison.Ordinal);
        Assert.Contains("--progress", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("auto", false, "xterm-256color", null, true)]
    [InlineData("auto", false, "tmux-256color", "", true)]
    [InlineData("auto", true, "xterm-256color", null, false)]   // piped or redirected
    [InlineData("auto", false, null, null, false)]              // no TERM: Spectre could not draw, plain lines instead
    [InlineData("auto", false, "dumb", null, false)]
    [InlineData("auto", false, "xterm", "true", false)]         // CI
    [InlineData("bar", true, null, "true", true)]
    [InlineData("plain", false, "xterm", null, false)]
    public void Progress_mode_decision(string mode, bool redirected, string? term, string? ci, bool bar)
    {
        string? Env(string name) => name switch { "TERM" => term, "CI" => ci, _ => null };
        Assert.Equal(bar, CliSupport.UseProgressBar(mode, redirected, Env));
    }

    [Theory]
    [InlineData("auto", false)]   // a rank's pseudo-terminal may end in a log file: plain lines
    [InlineData("bar", true)]
    public void Under_mpirun_auto_progress_is_plain(string mode, bool bar)
    {
        static string? Env(string name) => name switch { "TERM" => "xterm", "OMPI_COMM_WORLD_SIZE" => "2", _ => null };
        Assert.Equal(bar, CliSupport.UseProgressBar(mode, false, Env));
    }

    [Fact]
    public void Unknown_progress_mode_names_the_option()
    {
        var (code, _, err) = CliRunner.Run("train", "--dataset", "frappe", "--progress", "fancy");
        Assert.Equal(CliSupport.UserError, code);
        Assert.Equal("error: --progress must be auto, bar or plain, got 'fancy'.", err.Trim());
    }
}
