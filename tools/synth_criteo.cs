// Synthetic Criteo-format data for SCALE tests only (throughput, memory) - never for quality claims.
// Raw Criteo layout: label \t I1..I13 \t C1..C26, no header, empty = missing.
// Categories are Zipf-like (P(rank r) ~ 1/r, sampled as floor((K+1)^u) - 1) over the per-column cardinalities of the
// Criteo Kaggle training set, scaled to the requested row count; tokens are 8-hex hashes like the real data.
// Usage: dotnet run tools/synth_criteo.cs -- --rows 10000000 --seed 1 --out /tmp/criteo_10m.txt
//        dotnet run tools/synth_criteo.cs -- --rows 45840617 --seed 1 --split-dir /data/criteo
// --split-dir writes train.txt, valid.txt and test.txt in Criteo_x4's 8:1:1 split (36,672,493 / 4,584,062 / 4,584,062
// rows at full size; valid and test get rows / 10 rounded each, train the rest), one stream of rows cut in that order.
// --cardinality-rows N draws the large columns' categories as for an N-row file (a slice with full-size tables).
using System.Globalization;
using System.Text;

var rows = 1_000_000L;
var seed = 1UL;
string? output = null;
string? splitDir = null;
long? cardinalityRows = null;
for (var i = 0; i < args.Length - 1; i++)
{
    switch (args[i])
    {
        case "--rows": rows = long.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--seed": seed = ulong.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--out": output = args[++i]; break;
        case "--split-dir": splitDir = args[++i]; break;
        case "--cardinality-rows": cardinalityRows = long.Parse(args[++i], CultureInfo.InvariantCulture); break;
        default: break;
    }
}
if ((output is null) == (splitDir is null))
{
    Console.Error.WriteLine("usage: dotnet run tools/synth_criteo.cs -- --rows N --seed S (--out FILE | --split-dir DIR)");
    return 2;
}
var tenth = (rows + 5) / 10;
(string Path, long Rows)[] parts = splitDir is null
    ? [(output!, rows)]
    : [(Path.Combine(splitDir, "train.txt"), rows - (2 * tenth)), (Path.Combine(splitDir, "valid.txt"), tenth), (Path.Combine(splitDir, "test.txt"), tenth)];
if (splitDir is not null)
{
    Directory.CreateDirectory(splitDir);
}
var started = System.Diagnostics.Stopwatch.StartNew();

// Cardinalities of C1..C26 in the Criteo Kaggle train set (45.8M rows); large ones scale with rows.
long[] fullCard = [1460, 583, 10131227, 2202608, 305, 24, 12517, 633, 3, 93145, 5683, 8351593, 3194, 27, 14992, 5461306, 10, 5652, 2173, 4, 7046547, 18, 15, 286181, 105, 142572];
double[] catMissing = [0, 0, 0.03, 0.03, 0, 0.12, 0, 0, 0, 0.03, 0, 0.03, 0, 0, 0, 0.03, 0, 0, 0.44, 0.44, 0.03, 0.76, 0, 0.03, 0.44, 0.44];
double[] intMissing = [0.45, 0, 0.21, 0.22, 0.03, 0.22, 0.04, 0, 0.04, 0.45, 0.04, 0.77, 0.22];
double[] intScale = [3, 100, 20, 7, 18000, 100, 15, 12, 100, 0.6, 2.5, 1, 8];
var card = fullCard.Select(c => Math.Max(2, c > 100_000 ? (long)(c * Math.Min(1.0, (cardinalityRows ?? rows) / 45_840_617.0)) : c)).ToArray();

var rng = new SplitMix(seed);
var buf = new byte[1 << 22];
var pos = 0;
var pos1 = 0L;
var part = 0;
var partEnd = parts[0].Rows;
var fs = new FileStream(parts[0].Path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
for (long r = 0; r < rows; r++)
{
    if (r == partEnd)
    {
        fs.Write(buf, 0, pos);
        pos = 0;
        fs.Dispose();
        part++;
        partEnd += parts[part].Rows;
        fs = new FileStream(parts[part].Path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
    }
    var label = rng.NextDouble() < 0.256 ? '1' : '0';
    if (pos > buf.Length - 1024)
    {
        fs.Write(buf, 0, pos);
        pos = 0;
    }
    buf[pos++] = (byte)label;
    for (var i = 0; i < 13; i++)
    {
        buf[pos++] = (byte)'\t';
        if (rng.NextDouble() < intMissing[i])
        {
            continue;
        }
        // heavy-tailed counts: scale * (exp(2.5 * N(0,1)) - 1), a few negatives in I2 like the real data
        var v = (long)(intScale[i] * (Math.Exp(2.5 * rng.NextGaussian()) - 1) / 4);
        if (i != 1 && v < 0)
        {
            v = 0;
        }
        v.TryFormat(buf.AsSpan(pos), out var w, default, CultureInfo.InvariantCulture);
        pos += w;
    }
    for (var c = 0; c < 26; c++)
    {
        buf[pos++] = (byte)'\t';
        if (rng.NextDouble() < catMissing[c])
        {
            continue;
        }
        var k = card[c];
        var rank = (long)Math.Floor(Math.Exp(rng.NextDouble() * Math.Log(k + 1))) - 1;
        var token = (uint)SplitMix.Mix(((ulong)rank * 0x9E3779B97F4A7C15UL) ^ ((ulong)(c + 1) * 0xD1B54A32D192ED03UL) ^ seed);
        token.TryFormat(buf.AsSpan(pos), out var w, "x8", CultureInfo.InvariantCulture);
        pos += w;
    }
    buf[pos++] = (byte)'\n';
    pos1 += label == '1' ? 1 : 0;
}
fs.Write(buf, 0, pos);
fs.Dispose();
foreach (var (path, n) in parts)
{
    Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"wrote {n:N0} rows to {path}: {new FileInfo(path).Length / 1e6:F0} MB"));
}
Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{rows:N0} rows, {pos1 * 100.0 / rows:F1}% positive, in {started.Elapsed.TotalSeconds:F0} s"));
return 0;

internal struct SplitMix(ulong seed)
{
    private ulong state = seed;

    public static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    public ulong Next() => Mix(state += 0x9E3779B97F4A7C15UL);

    public double NextDouble() => (Next() >> 11) * (1.0 / (1UL << 53));

    public double NextGaussian()
    {
        var u1 = 1.0 - NextDouble();
        var u2 = NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }
}
