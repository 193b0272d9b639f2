using FsdNet.Data;
using FsdNet.Tests.Support;
using Xunit;

namespace FsdNet.Tests.Data;

public sealed class FrappeTests
{
    [DataFact("frappe")]
    public void Frappe_rows_fields_and_vocabulary_sizes_match_FuxiCTR()
    {
        using var tmp = new TempDir();
        using var data = DataPipeline.Prepare("frappe", SharedData.Root, new DataOptions { CacheDir = tmp.Path });
        Assert.Equal(202_027, data.Train.RowCount);
        Assert.Equal(57_722, data.Valid!.RowCount);
        Assert.Equal(28_860, data.Test!.RowCount);
        var map = data.FeatureMap;
        Assert.Equal(10, map.NumFields);
        var expected = new Dictionary<string, int>
        {
            ["user"] = 942, ["item"] = 4084, ["daytime"] = 9, ["weekday"] = 9, ["isweekend"] = 4,
            ["homework"] = 5, ["cost"] = 4, ["weather"] = 11, ["country"] = 82, ["city"] = 233,
        };
        foreach (var (name, size) in expected)
        {
            Assert.Equal(size, map[name].VocabSize);
        }
        Assert.Equal(5383, map.TotalFeatures);
        // FuxiCTR 2.0.x order on dtype float: ascending token value; daytime indices 5039..5045 -> codes 1..7
        Assert.Equal(Enumerable.Range(5039, 7).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)), map["daytime"].Vocab);
        var users = map["user"].Vocab.Select(v => int.Parse(v, System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(users.Order(), users);
        // the first test row "-1 204:1 4798:1 5041:1 ..." -> label 0, daytime 5041 -> code 3
        Assert.Equal(0f, data.Test!.Labels[0]);
        Assert.Equal(3, data.Test.Categorical(2)[0]);
        Assert.Equal(map["user"].IndexOf("204"), data.Test.Categorical(0)[0]);
        Assert.Equal(67_604, (long)data.Train.Labels.ToArray().Sum());

        // Reuse: second prepare hits the cache and gives the same schema.
        using var again = DataPipeline.Prepare("frappe", SharedData.Root, new DataOptions { CacheDir = tmp.Path });
        Assert.True(again.Reused["train"]);
        Assert.True(again.Reused["valid"]);
        Assert.Equal(map.SchemaHash, again.FeatureMap.SchemaHash);
        Assert.True(data.Train.Categorical(0).SequenceEqual(again.Train.Categorical(0)));
    }
}
