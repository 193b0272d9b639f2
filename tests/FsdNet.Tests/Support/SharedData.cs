using Xunit;

namespace FsdNet.Tests.Support;

/// <summary>Locates the real data sets in <c>../shared/data</c> beside the repository root.</summary>
public static class SharedData
{
    /// <summary>The repository root (the folder holding FsdNet.sln).</summary>
    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary><c>../shared/data</c> beside the repository root, or the FSDNET_DATA environment variable.</summary>
    public static string Root { get; } =
        Environment.GetEnvironmentVariable("FSDNET_DATA") is { Length: > 0 } env
            ? env
            : Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared", "data"));

    /// <summary>Full path of a data set folder, e.g. <c>Dir("frappe")</c>.</summary>
    public static string Dir(string name) => Path.Combine(Root, name);

    /// <summary>Whether the folder of that data set is present.</summary>
    public static bool Has(string name) => Directory.Exists(Dir(name));

    /// <summary>The folder holding FsdNet.sln above the test binaries (or the working directory); else the working directory.</summary>
    private static string FindRepoRoot()
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Environment.CurrentDirectory })
        {
            var dir = new DirectoryInfo(start);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "FsdNet.sln")))
            {
                dir = dir.Parent;
            }
            if (dir is not null)
            {
                return dir.FullName;
            }
        }
        return Environment.CurrentDirectory;
    }
}

/// <summary>
/// A fact that needs a real data set from <c>../shared/data/&lt;name&gt;</c>; it is skipped, with a message saying
/// where the data should be, when that folder is absent (e.g. on a user's machine).
/// </summary>
public sealed class DataFactAttribute : FactAttribute
{
    public DataFactAttribute(string dataset)
    {
        Dataset = dataset;
        if (!SharedData.Has(dataset))
        {
            Skip = $"needs the '{dataset}' data set in {SharedData.Dir(dataset)} (absent; set FSDNET_DATA to another " +
                   "folder holding it); see ../shared/data/README.md and docs/DATA.md for where to get it.";
        }
    }

    public string Dataset { get; }
}

/// <summary>A theory that needs a real data set (as <see cref="DataFactAttribute"/>): skipped, with the same message, without it.</summary>
public sealed class DataTheoryAttribute : TheoryAttribute
{
    public DataTheoryAttribute(string dataset)
    {
        if (!SharedData.Has(dataset))
        {
            Skip = $"needs the '{dataset}' data set in {SharedData.Dir(dataset)} (absent; set FSDNET_DATA to another " +
                   "folder holding it); see ../shared/data/README.md and docs/DATA.md for where to get it.";
        }
    }
}
