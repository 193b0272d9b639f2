using System.Globalization;
using Parquet;
using Parquet.Meta;
using Parquet.Schema;

namespace FsdNet.Data;

/// <summary>
/// Reads a Parquet file column by column when Parquet.Net's row deserializer fails on it: each column chunk is read
/// by Parquet.Net when it can, else by <see cref="ParquetPageReader"/>. Columns are flat primitives or single-level
/// lists of primitives (a list becomes a <see cref="List{T}"/> of boxed values), as the row deserializer gives them.
/// </summary>
internal static class ParquetColumnReader
{
    /// <summary>A top-level column: its leaf, levels and the definition level at which its list holds an element.</summary>
    private sealed record Column(string Name, string LeafPath, SchemaElement Leaf, int MaxDef, int MaxRep, int ListDef);

    /// <summary>
    /// The rows of <paramref name="path"/> as name → value dictionaries, and the column names.
    /// <paramref name="rowReaderError"/> is what Parquet.Net's row deserializer threw (reported if the file cannot be
    /// opened at all).
    /// </summary>
    public static (IList<Dictionary<string, object>> Rows, List<string> Columns) Read(string path, Exception rowReaderError)
    {
        using var fs = File.OpenRead(path);
        ParquetReader reader;
        try
        {
            reader = ParquetReader.CreateAsync(fs, null, leaveStreamOpen: true).GetAwaiter().GetResult();
        }
        catch (Exception e) when (IsParquetNetError(e))
        {
            throw new DataFormatException(path, 0, null, ParquetArrays.ReadError(rowReaderError));
        }
        try
        {
            var md = reader.Metadata ?? throw new DataFormatException(path, 0, null, ParquetArrays.ReadError(rowReaderError));
            var columns = TopColumns(md.Schema, path);
            var fields = reader.Schema.GetDataFields().ToDictionary(f => string.Join(".", f.Path.ToList()), StringComparer.Ordinal);
            var rows = new List<Dictionary<string, object>>(checked((int)md.NumRows));
            for (var g = 0; g < md.RowGroups.Count; g++)
            {
                var rg = md.RowGroups[g];
                var start = rows.Count;
                var n = checked((int)rg.NumRows);
                for (var i = 0; i < n; i++)
                {
                    rows.Add(new Dictionary<string, object>(columns.Count, StringComparer.Ordinal));
                }
                using var rgr = reader.OpenRowGroupReader(g);
                foreach (var c in columns)
                {
                    var chunk = rg.Columns.FirstOrDefault(cc => cc.MetaData is not null && string.Join(".", cc.MetaData.PathInSchema) == c.LeafPath)
                        ?? throw new DataFormatException(path, 0, c.Name, $"Parquet: row group {g} has no column chunk for '{c.LeafPath}'");
                    var leaf = ReadLeaf(rgr, fields.GetValueOrDefault(c.LeafPath), chunk.MetaData!, c, fs, path);
                    Assemble(leaf, c, rows, start, n, path);
                }
            }
            return (rows, [.. columns.Select(c => c.Name)]);
        }
        finally
        {
            reader.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    internal static bool IsParquetNetError(Exception e) =>
        e is InvalidDataException or InvalidOperationException or NotSupportedException or NotImplementedException
            or ArgumentException or IndexOutOfRangeException or ParquetException or IOException;

    private static ParquetLeaf ReadLeaf(ParquetRowGroupReader rgr, DataField? field, ColumnMetaData meta, Column c, Stream fs, string path)
    {
        Exception? netError = null;
        if (field is not null)
        {
            try
            {
                var leaf = WithParquetNet(rgr, field, meta, c);
                if (leaf is not null)
                {
                    return leaf;
                }
            }
            catch (Exception e) when (IsParquetNetError(e))
            {
                netError = e;
            }
        }
        var conv = c.Leaf.ConvertedType;
        var logical = c.Leaf.LogicalType;
        var plainNumber = (conv is null or ConvertedType.INT_8 or ConvertedType.INT_16 or ConvertedType.INT_32 or ConvertedType.INT_64
                               or ConvertedType.UINT_8 or ConvertedType.UINT_16 or ConvertedType.UINT_32)
                          && (logical is null || logical.INTEGER is not null);
        if (!plainNumber)
        {
            throw new DataFormatException(path, 0, c.Name,
                $"Parquet: Parquet.Net cannot read this column ({netError?.Message ?? "unsupported type"}) and FsdNet's page reader " +
                $"does not decode its logical type ({conv?.ToString() ?? "logical " + LogicalName(logical)})");
        }
        return ParquetPageReader.ReadChunk(fs, meta, c.MaxDef, c.MaxRep, path, c.Name);
    }

    private static string LogicalName(LogicalType? t) =>
        t is null ? "none" : t.GetType().GetProperties().FirstOrDefault(p => p.GetValue(t) is not null)?.Name ?? "unknown";

    /// <summary>Parquet.Net's own raw column read, as a leaf; null when its CLR type is not one handled here.</summary>
    private static ParquetLeaf? WithParquetNet(ParquetRowGroupReader rgr, DataField field, ColumnMetaData meta, Column c)
    {
        var total = checked((int)meta.NumValues);
        if (field.ClrType == typeof(string))
        {
            if (c.MaxRep > 0)
            {
                return null;
            }
            var s = new string?[total];
            rgr.ReadAsync(field, s.AsMemory(), null).AsTask().GetAwaiter().GetResult();
            return new ParquetLeaf { Values = s, Count = total };
        }
        return field.ClrType switch
        {
            var t when t == typeof(float) => Raw<float>(rgr, field, total, c),
            var t when t == typeof(double) => Raw<double>(rgr, field, total, c),
            var t when t == typeof(int) => Raw<int>(rgr, field, total, c),
            var t when t == typeof(long) => Raw<long>(rgr, field, total, c),
            var t when t == typeof(short) => Raw<short>(rgr, field, total, c),
            var t when t == typeof(sbyte) => Raw<sbyte>(rgr, field, total, c),
            var t when t == typeof(byte) => Raw<byte>(rgr, field, total, c),
            var t when t == typeof(ushort) => Raw<ushort>(rgr, field, total, c),
            var t when t == typeof(uint) => Raw<uint>(rgr, field, total, c),
            var t when t == typeof(ulong) => Raw<ulong>(rgr, field, total, c),
            var t when t == typeof(bool) => Raw<bool>(rgr, field, total, c),
            _ => null,
        };
    }

    private static ParquetLeaf Raw<T>(ParquetRowGroupReader rgr, DataField field, int total, Column c) where T : struct
    {
        var values = new T[total];
        var def = c.MaxDef > 0 ? new int[total] : null;
        var rep = c.MaxRep > 0 ? new int[total] : null;
        rgr.ReadRawAsync(field, values.AsMemory(), def?.AsMemory(), rep?.AsMemory()).AsTask().GetAwaiter().GetResult();
        var defined = def is null ? total : def.Count(l => l == c.MaxDef);
        return new ParquetLeaf { Values = defined == total ? values : values[..defined], Def = def, Rep = rep, Count = total };
    }

    /// <summary>Puts a leaf's values into rows [start, start + n): flat values (null where undefined) or lists.</summary>
    private static void Assemble(ParquetLeaf leaf, Column c, List<Dictionary<string, object>> rows, int start, int n, string path)
    {
        var v = 0;
        if (c.MaxRep == 0)
        {
            if (leaf.Count != n)
            {
                throw new DataFormatException(path, 0, c.Name, $"Parquet: column has {leaf.Count} values for {n} rows");
            }
            for (var i = 0; i < n; i++)
            {
                if (leaf.Def is null || leaf.Def[i] == c.MaxDef)
                {
                    if (leaf.Values.GetValue(v++) is { } x)
                    {
                        rows[start + i][c.Name] = x;
                    }
                }
            }
            return;
        }
        var rep = leaf.Rep!;
        var r = -1;
        List<object>? list = null;
        for (var k = 0; k < leaf.Count; k++)
        {
            var d = leaf.Def?[k] ?? c.MaxDef;
            if (rep[k] == 0)
            {
                if (++r >= n)
                {
                    throw new DataFormatException(path, 0, c.Name, $"Parquet: column holds more than the {n} rows of its row group");
                }
                list = [];
                if (d >= c.ListDef - 1)
                {
                    rows[start + r][c.Name] = list;
                }
                else
                {
                    throw new DataFormatException(path, start + r + 1, c.Name, "Parquet: null list (line = row number)");
                }
            }
            if (d >= c.ListDef)
            {
                if (d < c.MaxDef)
                {
                    throw new DataFormatException(path, start + r + 1, c.Name,
                        string.Create(CultureInfo.InvariantCulture, $"Parquet: null item at list position {list!.Count + 1} (line = row number)"));
                }
                list!.Add(leaf.Values.GetValue(v++)!);
            }
        }
        if (r + 1 != n)
        {
            throw new DataFormatException(path, 0, c.Name, $"Parquet: column holds {r + 1} rows, its row group {n}");
        }
    }

    /// <summary>The top-level columns of a footer schema (depth-first list with child counts).</summary>
    private static List<Column> TopColumns(List<SchemaElement> schema, string path)
    {
        var cols = new List<Column>();
        var i = 1;
        var top = schema.Count > 0 ? schema[0].NumChildren ?? 0 : 0;
        for (var t = 0; t < top; t++)
        {
            if (i >= schema.Count)
            {
                throw new DataFormatException(path, 0, null, "Parquet: the footer schema is cut short");
            }
            var name = schema[i].Name;
            var names = new List<string>();
            int def = 0, rep = 0, listDef = 0;
            while (true)
            {
                var e = schema[i++];
                names.Add(e.Name);
                switch (e.RepetitionType)
                {
                    case FieldRepetitionType.OPTIONAL:
                        def++;
                        break;
                    case FieldRepetitionType.REPEATED:
                        def++;
                        rep++;
                        listDef = def;
                        break;
                }
                var children = e.NumChildren ?? 0;
                if (children == 0)
                {
                    if (rep > 1)
                    {
                        throw new DataFormatException(path, 0, name, "Parquet: nested lists are not supported by FsdNet's fallback Parquet reader");
                    }
                    cols.Add(new Column(name, string.Join(".", names), e, def, rep, listDef));
                    break;
                }
                if (children != 1 || i >= schema.Count)
                {
                    throw new DataFormatException(path, 0, name,
                        $"Parquet: a group with {children} fields (struct or map), which FsdNet's fallback Parquet reader does not read " +
                        "(it reads flat columns and lists of numbers)");
                }
            }
        }
        return cols;
    }
}
