using Xunit;

namespace FsdNet.Tests.Support;

/// <summary>A FuxiCTR source checkout (for its data/tiny_* sets): $FSDNET_FUXICTR, else /work/ref/reczoo+FuxiCTR.</summary>
public static class FuxiCtrCheckout
{
    public static string? Root { get; } = Find();

    public static string Data(string name) => Path.Combine(Root ?? "", "data", name);

    private static string? Find()
    {
        foreach (var c in new[] { Environment.GetEnvironmentVariable("FSDNET_FUXICTR"), "/work/ref/reczoo+FuxiCTR" })
        {
            if (!string.IsNullOrEmpty(c) && Directory.Exists(Path.Combine(c, "data", "tiny_npz")))
            {
                return c;
            }
        }
        return null;
    }
}

/// <summary>A fact that reads FuxiCTR's own tiny data sets; skipped, with a message, when no checkout is found.</summary>
public sealed class FuxiCtrFactAttribute : FactAttribute
{
    public FuxiCtrFactAttribute()
    {
        if (FuxiCtrCheckout.Root is null)
        {
            Skip = "needs a FuxiCTR source checkout (its data/tiny_npz, tiny_parquet, tiny_seq): set FSDNET_FUXICTR to it " +
                   "(git clone https://github.com/reczoo/FuxiCTR); none found at $FSDNET_FUXICTR or /work/ref/reczoo+FuxiCTR.";
        }
    }
}
