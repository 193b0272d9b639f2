using FsdNet.Serving;
using FsdNet.Tests.Data;

namespace FsdNet.Tests.Server;

/// <summary>Bundle files for reload tests: the fixture's model, and the same model with other scores.</summary>
internal static class ModelFiles
{
    /// <summary>The fixture's model as a bundle (A) and the same model with every bias moved by <paramref name="shift"/> (B).</summary>
    public static (string A, string B) Pair(ServerFixture f, TempDir tmp, float shift = 0.25f)
    {
        var a = tmp.Sub("a.fsdb");
        BundleFile.Export(f.RunDir, a);
        var other = ModelBundle.Load(f.RunDir);
        foreach (var (_, t) in other.Model.State().Where(p => p.Name.EndsWith(".bias", StringComparison.Ordinal)))
        {
            foreach (ref var v in t.Span)
            {
                v += shift;
            }
        }
        var runB = tmp.Sub("run-b");
        ModelBundle.Save(runB, other.Model, other.FeatureMap, other.Config);
        var b = tmp.Sub("b.fsdb");
        BundleFile.Export(runB, b);
        return (a, b);
    }

    /// <summary>Copies <paramref name="from"/> over <paramref name="to"/> atomically (temp file + rename), as a deployment should.</summary>
    public static void Deploy(string from, string to)
    {
        var temp = to + ".incoming";
        File.Copy(from, temp, overwrite: true);
        File.Move(temp, to, overwrite: true);
    }
}
