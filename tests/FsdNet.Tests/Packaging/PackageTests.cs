using System.IO.Compression;
using System.Xml.Linq;
using FsdNet.Serving;
using FsdNet.Tests.Data;
using FsdNet.Tests.Support;
using Xunit;

namespace FsdNet.Tests.Packaging;

/// <summary>
/// The packages as a user gets them: `dotnet pack` of the library, the server integration and the tool into a local
/// folder (outputs apart from the repository's own), their metadata, the tool installed from that folder into a tool
/// path running `fsdnet --version`, a tiny training and a bundle export, and a console project that references the
/// FsdNet package from the folder and scores that bundle. Restores see only the folder and the machine's package
/// cache (as a fallback), so a stale copy of FsdNet in the cache cannot stand in for the package just built.
/// In the non-parallel collection, as the README examples: three Release builds would crowd the MPI and timing tests.
/// </summary>
[Collection(ThreadingCollection.Name)]
public sealed class PackageTests : IDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(6);
    private readonly TempDir tmp = new();

    public void Dispose() => tmp.Dispose();

    [Fact]
    public async Task The_packages_pack_install_and_run_from_a_local_folder()
    {
        var version = typeof(Scorer).Assembly.GetName().Version!.ToString(3);
        var feed = tmp.Sub("feed");
        var artifacts = tmp.Sub("artifacts");
        foreach (var project in new[] { "FsdNet", "FsdNet.Server", "FsdNet.Cli" })
        {
            var csproj = Path.Combine(SharedData.RepoRoot, "src", project, project + ".csproj");
            var pack = await Run("dotnet", ["pack", csproj, "-c", "Release", "--artifacts-path", artifacts, "-o", feed, "-nologo", "-v", "quiet"], tmp.Path);
            Assert.True(pack.Code == 0, $"dotnet pack {project} failed:\n{pack.Out}{pack.Err}");
        }

        // Metadata: one version, a description, the package readme; the library does not pull in ASP.NET Core.
        var library = Nuspec(feed, "FsdNet", version);
        var server = Nuspec(feed, "FsdNet.Server", version);
        var tool = Nuspec(feed, "FsdNet.Cli", version);
        foreach (var (id, spec) in new[] { ("FsdNet", library), ("FsdNet.Server", server), ("FsdNet.Cli", tool) })
        {
            Assert.Equal(id, Meta(spec, "id"));
            Assert.Equal(version, Meta(spec, "version"));
            Assert.Equal("FsdNet contributors", Meta(spec, "authors"));
            Assert.True(Meta(spec, "description").Length > 60, $"{id}: description '{Meta(spec, "description")}'");
            Assert.Equal("PACKAGE.md", Meta(spec, "readme"));
        }
        Assert.DoesNotContain("Microsoft.AspNetCore.App", library.ToString(), StringComparison.Ordinal);
        Assert.Contains(Dependencies(server), d => d.Id == "FsdNet" && d.Version == version);
        Assert.Contains(Dependencies(library), d => d.Id == "Sep");
        Assert.Contains("DotnetTool", tool.ToString(), StringComparison.Ordinal);

        // nuget.config: the local folder only, the machine's package cache as a read-only fallback, a fresh cache.
        var config = Path.Combine(tmp.Path, "nuget.config");
        var cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } p ? p
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        await File.WriteAllTextAsync(config, $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <config><add key="globalPackagesFolder" value="{tmp.Sub("packages")}" /></config>
              <packageSources><clear /><add key="feed" value="{feed}" /></packageSources>
              <fallbackPackageFolders><clear /><add key="cache" value="{cache}" /></fallbackPackageFolders>
            </configuration>
            """);
        var isolated = new Dictionary<string, string> { ["NUGET_PACKAGES"] = tmp.Sub("packages") };

        // The tool: install, --version, a tiny training and a bundle export.
        var tools = tmp.Sub("tools");
        var install = await Run("dotnet", ["tool", "install", "FsdNet.Cli", "--tool-path", tools, "--version", version, "--configfile", config], tmp.Path, isolated);
        Assert.True(install.Code == 0, $"dotnet tool install failed:\n{install.Out}{install.Err}");
        var fsdnet = Path.Combine(tools, "fsdnet");
        var shown = await Run(fsdnet, ["--version"], tmp.Path);
        Assert.True(shown.Code == 0, shown.Err);
        Assert.StartsWith(version, shown.Out.Trim(), StringComparison.Ordinal);
        ToyConfig.Write(tmp.Path);
        var run = tmp.Sub("run");
        var train = await Run(fsdnet, ["train", "--config", tmp.Sub("config"), "--expid", "FSDNet_toy", "--run-dir", run, "--progress", "plain", "--threads", "1"], tmp.Path);
        Assert.True(train.Code == 0, $"fsdnet train (installed tool) failed:\n{train.Out}{train.Err}");
        Assert.Matches(@"test: logloss 0\.\d+ AUC 0\.\d+", train.Out + train.Err);
        var bundle = Path.Combine(tmp.Path, "model.fsdb");
        var export = await Run(fsdnet, ["export", "--model", run, "--format", "bundle", "--output", bundle], tmp.Path);
        Assert.True(export.Code == 0, export.Err);

        // A console project that references the FsdNet package and scores the bundle.
        var sample = Directory.CreateDirectory(tmp.Sub("sample")).FullName;
        File.Copy(config, Path.Combine(sample, "nuget.config"));
        await ConsoleProject.WriteAsync(sample, "Sample", $"""<PackageReference Include="FsdNet" Version="{version}" />""");
        await File.WriteAllTextAsync(Path.Combine(sample, "Program.cs"), """
            using System.Globalization;
            using FsdNet.Serving;

            var scorer = Scorer.Load(args[0]);
            var p = scorer.Score(new Dictionary<string, object?> { ["user_id"] = "u3", ["price"] = 4.5 });
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{ModelBundle.Load(args[0]).ModelName} p={p:F6}"));
            """);
        var build = await Run("dotnet", ["build", sample, "-c", "Release", "-nologo", "-v", "quiet", "-o", Path.Combine(sample, "out")], sample, isolated);
        Assert.True(build.Code == 0, $"the sample project does not build against the FsdNet package:\n{build.Out}{build.Err}");
        Assert.True(File.Exists(Path.Combine(tmp.Path, "packages", "fsdnet", version, $"fsdnet.{version}.nupkg")), "FsdNet did not come from the local folder");
        var scored = await Run("dotnet", [Path.Combine(sample, "out", "Sample.dll"), bundle], sample);
        Assert.True(scored.Code == 0, $"the sample failed:\n{scored.Out}{scored.Err}");
        Assert.Matches(@"^FSDNet p=0\.\d{6}", scored.Out.Trim());
    }

    private static Task<(int Code, string Out, string Err)> Run(string file, string[] args, string dir, IReadOnlyDictionary<string, string>? env = null) =>
        CliRunner.RunProcessAsync(file, args, dir, env, Limit);

    private static XElement Nuspec(string feed, string id, string version)
    {
        var path = Path.Combine(feed, $"{id}.{version}.nupkg");
        Assert.True(File.Exists(path), $"{path} was not packed");
        using var zip = ZipFile.OpenRead(path);
        Assert.NotNull(zip.GetEntry("PACKAGE.md"));
        var entry = zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal));
        using var s = entry.Open();
        return XElement.Load(s);
    }

    private static string Meta(XElement nuspec, string name) =>
        nuspec.Elements().Single(e => e.Name.LocalName == "metadata").Elements().SingleOrDefault(e => e.Name.LocalName == name)?.Value ?? "";

    private static List<(string Id, string Version)> Dependencies(XElement nuspec) =>
        [.. nuspec.Descendants().Where(e => e.Name.LocalName == "dependency")
            .Select(e => ((string)e.Attribute("id")!, ((string?)e.Attribute("version") ?? "").Trim('[', ']')))];
}
