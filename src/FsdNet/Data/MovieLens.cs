using System.Globalization;
using System.Text;

namespace FsdNet.Data;

/// <summary>
/// Turns GroupLens's raw MovieLens-1M files (ratings.dat and users.dat, '::'-separated, as `fsdnet data download
/// movielens1m` unpacks them) into the CSV splits the <c>ml-1m</c> preset reads: columns
/// UserID, Gender, Age, Occupation, MovieID, Label, with Label 1 for rating &gt; 3 and 0 for rating &lt; 3 (ratings of 3
/// are dropped, as in the FSDNet paper), split 8:1:1 at random with a fixed seed. FuxiCTR's ML-1M CSVs (already
/// holding these columns) are used as they are when present.
/// </summary>
internal static class MovieLens
{
    public const int SplitSeed = 2023;

    /// <summary>
    /// Makes sure <c>train.csv</c>, <c>valid.csv</c> and <c>test.csv</c> exist for <paramref name="config"/>: when they
    /// are missing but raw ratings.dat/users.dat sit in its folder, writes them (beside the raw files when that folder
    /// is writable, else under <paramref name="fallbackDir"/>) and points the config there.
    /// </summary>
    public static void EnsureSplits(DatasetConfig config, string fallbackDir, Action<string> log)
    {
        var dir = config.BaseDir ?? throw new DataConfigException("ml-1m: no data folder");
        if (File.Exists(Path.Combine(dir, "train.csv")))
        {
            return;
        }
        var ratings = Path.Combine(dir, "ratings.dat");
        var users = Path.Combine(dir, "users.dat");
        if (!File.Exists(ratings) || !File.Exists(users))
        {
            throw new FileNotFoundException(
                $"ml-1m: neither train.csv nor the raw ratings.dat + users.dat are in {dir}. Put FuxiCTR's ML-1M CSVs " +
                "(train.csv, valid.csv, test.csv) or GroupLens's ml-1m files there, or run `fsdnet data download movielens1m`.");
        }
        var outDir = DataPipeline.IsWritable(dir) ? dir : fallbackDir;
        if (!File.Exists(Path.Combine(outDir, "train.csv")))
        {
            log($"ml-1m: converting {ratings} to train/valid/test CSV in {outDir}");
            Convert(ratings, users, outDir, SplitSeed);
        }
        config.BaseDir = outDir;
    }

    /// <summary>Writes the labelled 8:1:1 splits from raw ratings.dat + users.dat.</summary>
    public static (int Train, int Valid, int Test, int DroppedThrees) Convert(string ratingsPath, string usersPath, string outDir, int seed)
    {
        var users = new Dictionary<string, (string Gender, string Age, string Occupation)>(StringComparer.Ordinal);
        var lineNo = 0;
        foreach (var line in File.ReadLines(usersPath))
        {
            lineNo++;
            if (line.Length == 0)
            {
                continue;
            }
            var f = line.Split("::");
            if (f.Length < 4)
            {
                throw new DataFormatException(usersPath, lineNo, null, $"expected UserID::Gender::Age::Occupation::Zip, got {f.Length} fields");
            }
            users[f[0]] = (f[1], f[2], f[3]);
        }
        var rows = new List<string>();
        var dropped = 0;
        lineNo = 0;
        foreach (var line in File.ReadLines(ratingsPath))
        {
            lineNo++;
            if (line.Length == 0)
            {
                continue;
            }
            var f = line.Split("::");
            if (f.Length < 3 || !int.TryParse(f[2], NumberStyles.Integer, CultureInfo.InvariantCulture, out var rating) || rating is < 1 or > 5)
            {
                throw new DataFormatException(ratingsPath, lineNo, "Rating", $"expected UserID::MovieID::Rating(1-5)::Timestamp, got '{line}'");
            }
            if (!users.TryGetValue(f[0], out var u))
            {
                throw new DataFormatException(ratingsPath, lineNo, "UserID", $"user {f[0]} is not in {Path.GetFileName(usersPath)}");
            }
            if (rating == 3)
            {
                dropped++;
                continue;
            }
            rows.Add($"{f[0]},{u.Gender},{u.Age},{u.Occupation},{f[1]},{(rating > 3 ? 1 : 0)}");
        }
        var order = Enumerable.Range(0, rows.Count).ToArray();
        new Tensors.Rng((ulong)seed).Shuffle(order);
        var nTrain = (int)(rows.Count * 0.8);
        var nValid = (int)(rows.Count * 0.1);
        Directory.CreateDirectory(outDir);
        void Write(string name, int from, int to)
        {
            var tmp = Path.Combine(outDir, name + ".tmp");
            using (var w = new StreamWriter(tmp, false, new UTF8Encoding(false)))
            {
                w.Write("UserID,Gender,Age,Occupation,MovieID,Label\n");
                for (var i = from; i < to; i++)
                {
                    w.Write(rows[order[i]]);
                    w.Write('\n');
                }
            }
            File.Move(tmp, Path.Combine(outDir, name), overwrite: true);
        }
        Write("valid.csv", nTrain, nTrain + nValid);
        Write("test.csv", nTrain + nValid, rows.Count);
        Write("train.csv", 0, nTrain);   // last: its presence marks a finished conversion
        return (nTrain, nValid, rows.Count - nTrain - nValid, dropped);
    }
}
