using FsdNet.Tests.Data;
using FsdNet.Tests.Support;
using Xunit;

namespace FsdNet.Tests.Server;

/// <summary><c>fsdnet serve</c>'s failures before it listens: one <c>error:</c> line and exit code 2, as every command.</summary>
[Collection(ThreadingCollection.Name)]
public sealed class ServeCommandTests
{
    [Fact]
    public void A_missing_or_damaged_model_is_a_clear_error()
    {
        using var tmp = new TempDir();
        var (code, _, err) = CliRunner.Run("serve", "--model", tmp.Sub("nothing-here"), "--port", "0");
        Assert.Equal(2, code);
        Assert.StartsWith("error: ", err, StringComparison.Ordinal);
        Assert.Contains("nothing-here", err, StringComparison.Ordinal);
        var bad = tmp.File("model.fsdm", "not a model");
        (code, _, err) = CliRunner.Run("serve", "--model", bad, "--port", "0");
        Assert.Equal(2, code);
        Assert.StartsWith($"error: {bad}", err, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", err, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--max-rows", "0", "--max-rows must be at least 1")]
    [InlineData("--max-body-bytes", "1", "--max-body-bytes must be in")]
    [InlineData("--port", "70000", "--port must be in [0, 65535]")]
    [InlineData("--host", "not-an-address", "--host must be an IP address")]
    [InlineData("--shutdown-timeout", "-1", "--shutdown-timeout must be in")]
    [InlineData("--threads", "0", "--threads must be at least 1")]
    public void Bad_options_are_clear_errors(string option, string value, string message)
    {
        using var tmp = new TempDir();
        var (code, _, err) = CliRunner.Run("serve", "--model", tmp.Path, option, value);
        Assert.Equal(2, code);
        Assert.Contains(message, err, StringComparison.Ordinal);
    }
}
