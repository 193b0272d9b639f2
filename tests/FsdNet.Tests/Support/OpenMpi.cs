using Xunit;

namespace FsdNet.Tests.Support;

/// <summary>
/// Runs a program on several ranks with Open MPI's mpirun (tests of the distributed path). CI installs Open MPI
/// (.ci/run); where it is absent the tests that need it are skipped with a message saying so.
/// </summary>
public static class OpenMpiRunner
{
    /// <summary>The program each rank runs in the MPI tests (tests/FsdNet.MpiRank).</summary>
    public static string RankDll { get; } = Path.Combine(AppContext.BaseDirectory, "FsdNet.MpiRank.dll");

    public static string? Mpirun { get; } = (Environment.GetEnvironmentVariable("PATH") ?? "")
        .Split(':', StringSplitOptions.RemoveEmptyEntries)
        .Select(d => Path.Combine(d, "mpirun"))
        .FirstOrDefault(File.Exists);

    /// <summary>Why MPI tests cannot run here, or null when they can.</summary>
    public static string? Missing =>
        Mpirun is null ? "needs Open MPI's mpirun (Debian: apt install openmpi-bin; .ci/run installs it)"
        : !LibraryLoads()
            ? "needs Open MPI's libmpi.so.40 (Debian: apt install openmpi-bin)"
            : null;

    /// <summary>mpirun -np <paramref name="ranks"/> dotnet <paramref name="args"/> (as root too, oversubscribing the cores).</summary>
    public static Task<(int Code, string Out, string Err)> RunAsync(int ranks, IEnumerable<string> args, TimeSpan timeout)
    {
        var env = new Dictionary<string, string>
        {
            ["OMPI_ALLOW_RUN_AS_ROOT"] = "1",
            ["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1",
            ["OMPI_MCA_rmaps_base_oversubscribe"] = "1",
        };
        return CliRunner.RunProcessAsync(Mpirun!, ["-np", ranks.ToString(System.Globalization.CultureInfo.InvariantCulture), "dotnet", .. args], environment: env, timeout: timeout);
    }

    private static bool LibraryLoads()
    {
        if (!System.Runtime.InteropServices.NativeLibrary.TryLoad("libmpi.so.40", out var h))
        {
            return false;
        }
        System.Runtime.InteropServices.NativeLibrary.Free(h);
        return true;
    }
}

/// <summary>A fact that needs Open MPI: skipped, with a message saying what to install, without it.</summary>
public sealed class MpiFactAttribute : FactAttribute
{
    public MpiFactAttribute(string? dataset = null)
    {
        Skip = OpenMpiRunner.Missing
               ?? (dataset is not null && !SharedData.Has(dataset)
                   ? $"needs the '{dataset}' data set in {SharedData.Dir(dataset)} (absent; set FSDNET_DATA to another folder holding it)"
                   : null);
    }
}
