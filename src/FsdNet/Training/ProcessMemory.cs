using System.Globalization;

namespace FsdNet.Training;

/// <summary>This process's memory as Linux reports it in /proc/self/status (NaN elsewhere).</summary>
internal static class ProcessMemory
{
    /// <summary>Peak resident set size (VmHWM) in MiB: the process's own memory plus the mapped cache pages it touched.</summary>
    public static double PeakRssMiB() => Field("VmHWM:");

    private static double Field(string name)
    {
        const string status = "/proc/self/status";
        if (!File.Exists(status))
        {
            return double.NaN;
        }
        foreach (var line in File.ReadLines(status))
        {
            if (line.StartsWith(name, StringComparison.Ordinal))
            {
                return long.Parse(line[name.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024.0;
            }
        }
        return double.NaN;
    }
}
