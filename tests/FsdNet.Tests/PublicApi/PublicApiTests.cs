using FsdNet.Tests.Support;
using FsdNet.Training;
using PublicApiGenerator;
using Xunit;

namespace FsdNet.Tests.PublicApi;

/// <summary>
/// The library's public surface is what users may rely on: it changes only on purpose. The test renders the public
/// API of FsdNet.dll (PublicApiGenerator, as Sep and ImageSharp do) and compares it with the approved snapshot beside
/// this file. When a change is intended, the test writes <c>FsdNet.received.txt</c> next to the snapshot: review the
/// difference and copy it over <c>FsdNet.approved.txt</c> in the same commit.
/// </summary>
public sealed class PublicApiTests
{
    [Fact]
    public void The_public_api_of_FsdNet_matches_its_approved_snapshot()
    {
        var api = Normalise(typeof(TrainingRun).Assembly.GeneratePublicApi(new ApiGeneratorOptions
        {
            // The assembly attributes list InternalsVisibleTo and build metadata, not API.
            ExcludeAttributes = ["System.Runtime.CompilerServices.InternalsVisibleToAttribute", "System.Runtime.Versioning.TargetFrameworkAttribute",
                "System.Reflection.AssemblyMetadataAttribute"],
        }));
        var folder = Path.Combine(SharedData.RepoRoot, "tests", "FsdNet.Tests", "PublicApi");
        var approvedPath = Path.Combine(folder, "FsdNet.approved.txt");
        var receivedPath = Path.Combine(folder, "FsdNet.received.txt");
        var approved = File.Exists(approvedPath) ? Normalise(File.ReadAllText(approvedPath)) : "";
        if (api == approved)
        {
            File.Delete(receivedPath);
            return;
        }
        File.WriteAllText(receivedPath, api);
        var diff = FirstDifference(approved, api);
        Assert.Fail($"FsdNet's public API differs from {approvedPath} (first difference at line {diff.Line}: approved '{diff.Approved}', now " +
            $"'{diff.Now}'). If the change is intended, review {receivedPath} and copy it over the approved file.");
    }

    private static string Normalise(string text) => text.Replace("\r\n", "\n", StringComparison.Ordinal).TrimEnd() + "\n";

    private static (int Line, string Approved, string Now) FirstDifference(string approved, string now)
    {
        var a = approved.Split('\n');
        var b = now.Split('\n');
        for (var i = 0; i < Math.Max(a.Length, b.Length); i++)
        {
            var x = i < a.Length ? a[i] : "(end)";
            var y = i < b.Length ? b[i] : "(end)";
            if (x != y)
            {
                return (i + 1, x.Trim(), y.Trim());
            }
        }
        return (0, "", "");
    }
}
