using System.Text.Json;
using FsdNet.Data;
using FsdNet.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace FsdNet.Tests.Data;

/// <summary>
/// FsdNet's fallback Parquet reader (<see cref="ParquetColumnReader"/>, <see cref="ParquetPageReader"/>): files
/// written byte by byte (data page v1/v2, levels, dictionary, codecs, errors), Parquet.Net-written files read by the
/// page reader directly, and FuxiCTR's tiny_emb files against values decoded independently (tools/golden/tiny_emb_golden.py).
/// </summary>
public sealed class ParquetPageReaderTests(ITestOutputHelper output)
{
    private static readonly double?[]?[] Rows =
    [
        [1.5, -2.25, 3],
        [0.125],
        [4, 5, 6, 7, 8, 9, 10, 11, 12],
        [-0.5, 1e-3],
    ];

    private static (IList<Dictionary<string, object>> Rows, List<string> Columns) ReadWith(TempDir tmp, ParquetTestWriter w, double?[]?[]? rows = null)
    {
        var path = tmp.Sub($"f{Guid.NewGuid():N}.parquet");
        File.WriteAllBytes(path, w.Write(rows ?? Rows));
        return ParquetArrays.ReadRows(path);
    }

    private static void AssertRows(IList<Dictionary<string, object>> got, double?[]?[] want)
    {
        Assert.Equal(want.Length, got.Count);
        for (var i = 0; i < want.Length; i++)
        {
            Assert.Equal((long)i, got[i]["id"]);
            var list = ((System.Collections.IEnumerable)got[i]["vec"]).Cast<object>().Select(Convert.ToDouble);
            Assert.Equal(want[i]!.Select(v => v!.Value), list);
        }
    }

    public static TheoryData<int, bool, bool, bool, int> Variants => new()
    {
        // codec, v2, dictionary, bit-packed levels, rows per page
        { ParquetTestWriter.Uncompressed, true, false, false, int.MaxValue },
        { ParquetTestWriter.Uncompressed, true, false, true, 3 },
        { ParquetTestWriter.Snappy, true, false, false, 2 },
        { ParquetTestWriter.Gzip, true, true, true, int.MaxValue },
        { ParquetTestWriter.Zstd, true, true, false, 1 },
        { ParquetTestWriter.Brotli, true, false, true, int.MaxValue },
        { ParquetTestWriter.Zstd, false, false, true, 2 },
        { ParquetTestWriter.Snappy, false, true, false, int.MaxValue },
    };

    [Theory]
    [MemberData(nameof(Variants))]
    public async Task Reads_list_column_pages(int codec, bool v2, bool dictionary, bool bitPacked, int rowsPerPage)
    {
        using var tmp = new TempDir();
        var w = new ParquetTestWriter { Codec = codec, V2 = v2, Dictionary = dictionary, BitPacked = bitPacked, RowsPerPage = rowsPerPage };
        var (rows, columns) = ReadWith(tmp, w);
        Assert.Equal(["id", "vec"], columns);
        AssertRows(rows, Rows);
        // data page v2 goes through FsdNet's page reader (boxed List<object>), v1 through Parquet.Net itself
        Assert.Equal(v2, rows[0]["vec"] is List<object>);

        // the page reader directly on the list chunk, for both page versions
        var path = tmp.Sub("direct.parquet");
        File.WriteAllBytes(path, w.Write(Rows));
        await using var fs = File.OpenRead(path);
        await using var reader = await Parquet.ParquetReader.CreateAsync(fs, null, leaveStreamOpen: true);
        var meta = reader.Metadata!.RowGroups[0].Columns[1].MetaData!;
        var leaf = ParquetPageReader.ReadChunk(fs, meta, 3, 1, path, "vec");
        Assert.Equal(Rows.SelectMany(r => r!).Select(v => v!.Value), Assert.IsType<double[]>(leaf.Values));
        Assert.Equal(Rows.SelectMany(r => r!.Select((_, k) => k == 0 ? 0 : 1)), leaf.Rep);
        Assert.All(leaf.Def!, d => Assert.Equal(3, d));
    }

    [Fact]
    public async Task Parquet_net_alone_cannot_read_a_v2_list_column()
    {
        // the reason for the fallback: if a later Parquet.Net reads these files, the fallback is simply not used
        using var tmp = new TempDir();
        var path = tmp.Sub("v2.parquet");
        File.WriteAllBytes(path, new ParquetTestWriter().Write(Rows));
        await using var fs = File.OpenRead(path);
        var pn = await Assert.ThrowsAsync<InvalidDataException>(() => Parquet.Serialization.ParquetSerializer.DeserializeUntypedAsync(fs));
        Assert.IsType<NotImplementedException>(pn.InnerException);
        // a v1 file from the same writer is read by Parquet.Net itself, with the same rows
        var v1 = tmp.Sub("v1.parquet");
        File.WriteAllBytes(v1, new ParquetTestWriter { V2 = false }.Write(Rows));
        await using var fs1 = File.OpenRead(v1);
        var res = await Parquet.Serialization.ParquetSerializer.DeserializeUntypedAsync(fs1);
        Assert.Equal(Rows.Length, res.Data.Count);
        var third = ((System.Collections.IEnumerable)res.Data[2]["vec"]).Cast<object>().Select(Convert.ToDouble);
        Assert.Equal(Rows[2]!.Select(v => v!.Value), third);
    }

    [Fact]
    public void Float_items_and_empty_lists()
    {
        using var tmp = new TempDir();
        double?[]?[] rows = [[0.25f, -1], [], [3.5f]];
        var (got, _) = ReadWith(tmp, new ParquetTestWriter { FloatItems = true, Codec = ParquetTestWriter.Zstd }, rows);
        Assert.Equal(3, got.Count);
        Assert.Equal(new object[] { 0.25f, -1f }, Assert.IsType<List<object>>(got[0]["vec"]));
        Assert.Empty(Assert.IsType<List<object>>(got[1]["vec"]));
        Assert.Equal(new object[] { 3.5f }, Assert.IsType<List<object>>(got[2]["vec"]));
    }

    [Fact]
    public void Null_list_and_null_item_are_errors_naming_the_row()
    {
        using var tmp = new TempDir();
        var path = tmp.Sub("nulls.parquet");
        File.WriteAllBytes(path, new ParquetTestWriter().Write([[1.0], null, [2.0]]));
        var e = Assert.Throws<DataFormatException>(() => ParquetArrays.ReadRows(path));
        Assert.Equal($"{path}:2: field 'vec': Parquet: null list (line = row number)", e.Message);

        File.WriteAllBytes(path, new ParquetTestWriter { Codec = ParquetTestWriter.Snappy }.Write([[1.0], [2.0], [3.0, null]]));
        e = Assert.Throws<DataFormatException>(() => ParquetArrays.ReadRows(path));
        Assert.Equal($"{path}:3: field 'vec': Parquet: null item at list position 2 (line = row number)", e.Message);
    }

    [Fact]
    public void Unsupported_codec_and_encoding_are_named()
    {
        using var tmp = new TempDir();
        var path = tmp.Sub("lzo.parquet");
        File.WriteAllBytes(path, new ParquetTestWriter { Codec = ParquetTestWriter.Lzo }.Write(Rows));
        var e = Assert.Throws<DataFormatException>(() => ParquetArrays.ReadRows(path));
        // Parquet.Net cannot read LZO either, so the first column already reaches the page reader
        Assert.Equal($"{path}: field 'id': Parquet: page 0 at file offset 4: compression codec LZO is not supported by FsdNet's page reader (UNCOMPRESSED, SNAPPY, GZIP, ZSTD, BROTLI)", e.Message);

        File.WriteAllBytes(path, new ParquetTestWriter { ValueEncoding = ParquetTestWriter.DeltaBinaryPacked }.Write(Rows));
        e = Assert.Throws<DataFormatException>(() => ParquetArrays.ReadRows(path));
        Assert.Contains("field 'vec': Parquet: page 0 at file offset ", e.Message, StringComparison.Ordinal);
        Assert.EndsWith(": value encoding DELTA_BINARY_PACKED is not supported by FsdNet's page reader (PLAIN, PLAIN_DICTIONARY, RLE_DICTIONARY)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Truncated_file_is_a_clear_error()
    {
        using var tmp = new TempDir();
        var path = tmp.Sub("cut.parquet");
        File.WriteAllBytes(path, new ParquetTestWriter().Write(Rows)[..40]);
        var e = Assert.Throws<DataFormatException>(() => ParquetArrays.ReadRows(path));
        Assert.StartsWith($"{path}: not a readable Parquet file: ", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(Parquet.CompressionMethod.None)]
    [InlineData(Parquet.CompressionMethod.Snappy)]
    [InlineData(Parquet.CompressionMethod.Gzip)]
    [InlineData(Parquet.CompressionMethod.Zstd)]
    public async Task Page_reader_agrees_with_parquet_net_on_its_own_files(Parquet.CompressionMethod method)
    {
        using var tmp = new TempDir();
        var path = tmp.Sub("pn.parquet");
        var rows = Enumerable.Range(0, 300).Select(i => new Dictionary<string, object>
        {
            ["f"] = (float)(i * 0.5 - 3),
            ["d"] = i % 7 == 0 ? null! : Math.Sin(i),
            ["n"] = (long)(i % 5),
            ["v"] = Enumerable.Range(0, i % 4 + 1).Select(k => (double)(i + k) / 8).ToArray(),
        }).ToList();
        var schema = new Parquet.Schema.ParquetSchema(
            new Parquet.Schema.DataField<float>("f"),
            new Parquet.Schema.DataField<double?>("d"),
            new Parquet.Schema.DataField<long>("n"),
            new Parquet.Schema.ListField("v", new Parquet.Schema.DataField<double>("element")));
        await using (var fs = File.Create(path))
        {
            await Parquet.Serialization.ParquetSerializer.SerializeUntypedAsync(
                rows.Select(r => (IDictionary<string, object?>)r.ToDictionary(kv => kv.Key, kv => (object?)kv.Value)).ToList(), schema, fs, new Parquet.ParquetOptions { CompressionMethod = method });
        }
        await using var file = File.OpenRead(path);
        await using var reader = await Parquet.ParquetReader.CreateAsync(file, null, leaveStreamOpen: true);
        var fields = reader.Schema.GetDataFields();
        var chunks = reader.Metadata!.RowGroups[0].Columns;
        var read = 0;
        foreach (var (field, chunk) in fields.Zip(chunks))
        {
            var leaf = ParquetPageReader.ReadChunk(file, chunk.MetaData!, field.MaxDefinitionLevel, field.MaxRepetitionLevel, path, field.Name);
            using var rgr = reader.OpenRowGroupReader(0);
            var total = (int)chunk.MetaData!.NumValues;
            var def = field.MaxDefinitionLevel > 0 ? new int[total] : null;
            var rep = field.MaxRepetitionLevel > 0 ? new int[total] : null;
            Assert.Equal(total, leaf.Count);
            Assert.Equal(def is null, leaf.Def is null);
            Assert.Equal(rep is null, leaf.Rep is null);
            if (leaf.Values is float[] fv)
            {
                var want = new float[total];
                await rgr.ReadRawAsync(field, want.AsMemory(), def?.AsMemory(), rep?.AsMemory());
                Assert.Equal(want[..fv.Length], fv);
            }
            else if (leaf.Values is double[] dv)
            {
                var want = new double[total];
                await rgr.ReadRawAsync(field, want.AsMemory(), def?.AsMemory(), rep?.AsMemory());
                Assert.Equal(want[..dv.Length], dv);
            }
            else
            {
                var want = new long[total];
                await rgr.ReadRawAsync(field, want.AsMemory(), def?.AsMemory(), rep?.AsMemory());
                Assert.Equal(want, Assert.IsType<long[]>(leaf.Values));
            }
            Assert.Equal(def, leaf.Def);
            Assert.Equal(rep, leaf.Rep);
            read++;
        }
        Assert.Equal(4, read);
        var nulls = rows.Count(r => r["d"] is null);
        Assert.Equal(300 - nulls, ParquetPageReader.ReadChunk(file, chunks[1].MetaData!, 1, 0, path, "d").Values.Length);
    }

    [Fact]
    public void Hybrid_decoder_mixes_runs_and_bit_packing()
    {
        int[] levels = [0, 1, 1, 1, 2, 3, 3, 0, 2, 1, 0, 0, 0, 3];
        byte[] data = [.. ParquetTestWriter.Hybrid(levels[..5], 2, bitPacked: false), .. ParquetTestWriter.Hybrid(levels[5..], 2, bitPacked: true)];
        var dest = new int[levels.Length];
        ParquetPageReader.Hybrid(data, 2, dest, "f", "c", "page 0", "level");
        Assert.Equal(levels, dest);
        var e = Assert.Throws<DataFormatException>(() => ParquetPageReader.Hybrid(data.AsSpan(0, 2), 2, new int[levels.Length], "f", "c", "page 0", "level"));
        Assert.Equal("f: field 'c': Parquet: page 0: levels end after 1 of 14 values", e.Message);
        e = Assert.Throws<DataFormatException>(() => ParquetPageReader.Hybrid(data.AsSpan(0, 3), 2, new int[levels.Length], "f", "c", "page 0", "level"));
        Assert.Equal("f: field 'c': Parquet: page 0: level run cut short", e.Message);
    }

    private static JsonElement Golden(string split) =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Golden", "fuxictr", "tiny_emb.json"))).RootElement.GetProperty(split);

    [FuxiCtrFact]
    public async Task Fuxictr_tiny_emb_matches_independently_decoded_values()
    {
        foreach (var split in new[] { "train", "valid", "test" })
        {
            var path = Path.Combine(FuxiCtrCheckout.Data("tiny_emb"), split + ".parquet");
            await using (var fs = File.OpenRead(path))
            {
                // Parquet.Net 6.1 alone fails on feat3 (data page v2 with repetition levels)
                var pn = await Assert.ThrowsAsync<InvalidDataException>(() => Parquet.Serialization.ParquetSerializer.DeserializeUntypedAsync(fs));
        Assert.IsType<NotImplementedException>(pn.InnerException);
            }
            var g = Golden(split);
            var (rows, columns) = ParquetArrays.ReadRows(path);
            Assert.Equal(["feat1", "feat2", "feat3", "label"], columns);
            var n = g.GetProperty("rows").GetInt32();
            Assert.Equal(n, rows.Count);
            var f1 = g.GetProperty("feat1").EnumerateArray().Select(e => (float)e.GetDouble()).ToArray();
            var f2 = g.GetProperty("feat2").EnumerateArray().Select(e => (float)e.GetDouble()).ToArray();
            var label = g.GetProperty("label").EnumerateArray().Select(e => e.GetDouble()).ToArray();
            var sums = g.GetProperty("feat3_row_sums").EnumerateArray().Select(e => e.GetDouble()).ToArray();
            for (var i = 0; i < n; i++)
            {
                Assert.Equal(f1[i], (float)rows[i]["feat1"]);
                Assert.Equal(f2[i], (float)rows[i]["feat2"]);
                Assert.Equal(label[i], (double)rows[i]["label"]);
                var vec = Assert.IsType<List<object>>(rows[i]["feat3"]).Cast<double>().ToArray();
                Assert.Equal(96, vec.Length);
                Assert.Equal(sums[i], vec.Sum(), 9);
            }
            var firsts = g.GetProperty("feat3_first_rows").EnumerateArray().ToArray();
            for (var r = 0; r < firsts.Length; r++)
            {
                Assert.Equal(firsts[r].EnumerateArray().Select(e => e.GetDouble()), ((List<object>)rows[r]["feat3"]).Cast<double>());
            }
            Assert.Equal(g.GetProperty("feat3_last_row").EnumerateArray().Select(e => e.GetDouble()), ((List<object>)rows[n - 1]["feat3"]).Cast<double>());
            output.WriteLine($"{split}: {n} rows, feat3[0][0..3] = {string.Join(", ", ((List<object>)rows[0]["feat3"]).Take(3))}");
        }
    }

    [FuxiCtrFact]
    public async Task Fuxictr_tiny_emb_feat3_levels()
    {
        var path = Path.Combine(FuxiCtrCheckout.Data("tiny_emb"), "train.parquet");
        await using var fs = File.OpenRead(path);
        await using var reader = await Parquet.ParquetReader.CreateAsync(fs, null, leaveStreamOpen: true);
        var chunk = reader.Metadata!.RowGroups[0].Columns[2].MetaData!;
        Assert.Equal(["feat3", "list", "item"], chunk.PathInSchema);
        Assert.Equal(Parquet.Meta.CompressionCodec.ZSTD, chunk.Codec);
        var leaf = ParquetPageReader.ReadChunk(fs, chunk, 3, 1, path, "feat3");
        Assert.Equal(9600, leaf.Count);
        Assert.All(leaf.Def!, d => Assert.Equal(3, d));
        Assert.Equal(100, leaf.Rep!.Count(r => r == 0));
        Assert.Equal(Enumerable.Range(0, 9600).Select(k => k % 96 == 0 ? 0 : 1), leaf.Rep);
    }
}
