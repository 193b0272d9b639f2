using System.Globalization;
using System.IO.Compression;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;

namespace FsdNet.Data;

/// <summary>What a stored array holds.</summary>
internal enum ArrayKind
{
    Int,
    Float,
    Bool,
    Text,
}

/// <summary>
/// A 1-D or 2-D array read from an npz/npy, HDF5 or Parquet file, widened to long/double (one column at a time, so
/// memory stays at one column): <see cref="Ints"/> for integer and bool data, <see cref="Floats"/> for floating point,
/// <see cref="Texts"/> for strings. Row-major; <see cref="Cols"/> is 1 for 1-D arrays.
/// </summary>
internal sealed class NdArray
{
    public required string Name { get; init; }
    public required ArrayKind Kind { get; init; }
    public required long Rows { get; init; }
    public int Cols { get; init; } = 1;
    public bool Is2D { get; init; }
    public long[]? Ints { get; init; }
    public double[]? Floats { get; init; }
    public string[]? Texts { get; init; }

    /// <summary>The dtype as stored (numpy descr, HDF5 class) for messages.</summary>
    public string Dtype { get; init; } = "";

    public double Float(long i) => Kind == ArrayKind.Float ? Floats![i] : Ints![i];

    /// <summary>Element <paramref name="i"/> as a vocabulary token: integers as digits, floats round-trip, strings as stored.</summary>
    public string Token(long i) => Kind switch
    {
        ArrayKind.Text => Texts![i],
        ArrayKind.Float => Floats![i].ToString("R", CultureInfo.InvariantCulture),
        _ => Ints![i].ToString(CultureInfo.InvariantCulture),
    };
}

/// <summary>numpy <c>.npy</c> / <c>.npz</c> reading (header parsed here; no Python needed).</summary>
internal static partial class Npy
{
    private static readonly byte[] Magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    [GeneratedRegex(@"'descr'\s*:\s*'([^']*)'")]
    private static partial Regex DescrRe();

    [GeneratedRegex(@"'fortran_order'\s*:\s*(True|False)")]
    private static partial Regex FortranRe();

    [GeneratedRegex(@"'shape'\s*:\s*\(([^)]*)\)")]
    private static partial Regex ShapeRe();

    /// <summary>Names of the arrays in an npz file (entry names without <c>.npy</c>).</summary>
    public static List<string> Names(string npzPath)
    {
        using var zip = OpenZip(npzPath);
        return [.. zip.Entries.Where(e => e.FullName.EndsWith(".npy", StringComparison.Ordinal)).Select(e => e.FullName[..^4])];
    }

    /// <summary>Reads array <paramref name="name"/> of an npz file; a missing array is an error naming the file and the arrays present.</summary>
    public static NdArray ReadNpz(string npzPath, string name)
    {
        using var zip = OpenZip(npzPath);
        var entry = zip.GetEntry(name + ".npy")
            ?? throw new DataFormatException(npzPath, 0, name, $"no array '{name}' in the npz file (arrays: {string.Join(", ", zip.Entries.Select(e => e.FullName.Replace(".npy", "", StringComparison.Ordinal)).Take(60))})");
        using var s = entry.Open();
        return Read(s, npzPath, name);
    }

    public static NdArray ReadNpy(string path)
    {
        using var fs = File.OpenRead(path);
        return Read(fs, path, Path.GetFileNameWithoutExtension(path));
    }

    private static ZipArchive OpenZip(string path)
    {
        try
        {
            return ZipFile.OpenRead(path);
        }
        catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            throw new DataFormatException(path, 0, null, $"not a readable npz (zip) file: {e.Message}");
        }
    }

    /// <summary>Reads one .npy stream: dtypes &lt;i8 &lt;i4 &lt;f4 &lt;f8 |b1 (and &lt;U for keys), 1-D or 2-D, C order.</summary>
    public static NdArray Read(Stream s, string file, string name)
    {
        try
        {
            Span<byte> pre = stackalloc byte[8];
            s.ReadExactly(pre);
            if (!pre[..6].SequenceEqual(Magic))
            {
                throw new DataFormatException(file, 0, name, "not a numpy .npy array (bad magic)");
            }
            int headerLen;
            if (pre[6] == 1)
            {
                Span<byte> l = stackalloc byte[2];
                s.ReadExactly(l);
                headerLen = BitConverter.ToUInt16(l);
            }
            else if (pre[6] is 2 or 3)
            {
                Span<byte> l = stackalloc byte[4];
                s.ReadExactly(l);
                headerLen = checked((int)BitConverter.ToUInt32(l));
            }
            else
            {
                throw new DataFormatException(file, 0, name, $"npy format version {pre[6]} is not supported");
            }
            var hb = new byte[headerLen];
            s.ReadExactly(hb);
            var header = Encoding.Latin1.GetString(hb);
            var descr = DescrRe().Match(header) is { Success: true } dm ? dm.Groups[1].Value
                : throw new DataFormatException(file, 0, name, "npy header has no 'descr' (an object or structured array?); save plain numeric arrays");
            if (FortranRe().Match(header) is { Success: true } fm && fm.Groups[1].Value == "True")
            {
                throw new DataFormatException(file, 0, name, "npy array is in Fortran order; save it with np.ascontiguousarray(...) (C order)");
            }
            var shapeText = ShapeRe().Match(header) is { Success: true } sm ? sm.Groups[1].Value
                : throw new DataFormatException(file, 0, name, "npy header has no 'shape'");
            var dims = shapeText.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(d => long.Parse(d, CultureInfo.InvariantCulture)).ToArray();
            if (dims.Length is < 1 or > 2)
            {
                throw new DataFormatException(file, 0, name, $"npy array has shape ({shapeText}); only 1-D and 2-D arrays are supported");
            }
            var rows = dims[0];
            var cols = dims.Length == 2 ? checked((int)dims[1]) : 1;
            var n = checked(rows * cols);
            if (descr.StartsWith("<U", StringComparison.Ordinal) && int.TryParse(descr.AsSpan(2), CultureInfo.InvariantCulture, out var width))
            {
                var texts = new string[n];
                var buf = new byte[width * 4];
                for (long i = 0; i < n; i++)
                {
                    s.ReadExactly(buf);
                    var str = Encoding.UTF32.GetString(buf);
                    texts[i] = str.TrimEnd('\0');
                }
                return new NdArray { Name = name, Kind = ArrayKind.Text, Rows = rows, Cols = cols, Is2D = dims.Length == 2, Texts = texts, Dtype = descr };
            }
            switch (descr)
            {
                case "<i8":
                {
                    var a = new long[n];
                    s.ReadExactly(MemoryMarshal.AsBytes(a.AsSpan()));
                    return new NdArray { Name = name, Kind = ArrayKind.Int, Rows = rows, Cols = cols, Is2D = dims.Length == 2, Ints = a, Dtype = descr };
                }
                case "<i4":
                {
                    var a = new int[n];
                    s.ReadExactly(MemoryMarshal.AsBytes(a.AsSpan()));
                    return new NdArray { Name = name, Kind = ArrayKind.Int, Rows = rows, Cols = cols, Is2D = dims.Length == 2, Ints = [.. a.Select(v => (long)v)], Dtype = descr };
                }
                case "|b1":
                {
                    var a = new byte[n];
                    s.ReadExactly(a);
                    return new NdArray { Name = name, Kind = ArrayKind.Bool, Rows = rows, Cols = cols, Is2D = dims.Length == 2, Ints = [.. a.Select(v => v != 0 ? 1L : 0L)], Dtype = descr };
                }
                case "<f8":
                {
                    var a = new double[n];
                    s.ReadExactly(MemoryMarshal.AsBytes(a.AsSpan()));
                    return new NdArray { Name = name, Kind = ArrayKind.Float, Rows = rows, Cols = cols, Is2D = dims.Length == 2, Floats = a, Dtype = descr };
                }
                case "<f4":
                {
                    var a = new float[n];
                    s.ReadExactly(MemoryMarshal.AsBytes(a.AsSpan()));
                    return new NdArray { Name = name, Kind = ArrayKind.Float, Rows = rows, Cols = cols, Is2D = dims.Length == 2, Floats = [.. a.Select(v => (double)v)], Dtype = descr };
                }
                default:
                    throw new DataFormatException(file, 0, name, $"npy dtype '{descr}' is not supported (supported: <i8, <i4, <f4, <f8, |b1, and <U strings for keys)");
            }
        }
        catch (EndOfStreamException)
        {
            throw new DataFormatException(file, 0, name, "npy array is truncated (fewer bytes than its shape says)");
        }
        catch (InvalidDataException e)
        {
            throw new DataFormatException(file, 0, name, $"corrupt npz entry: {e.Message}");
        }
    }
}

/// <summary>HDF5 reading through PureHDF (fully managed): one dataset per name at the file's root.</summary>
internal static class H5Arrays
{
    public static List<string> Names(string path)
    {
        try
        {
            using var f = PureHDF.H5File.OpenRead(path);
            return [.. f.Children().OfType<PureHDF.IH5Dataset>().Select(d => d.Name)];
        }
        catch (Exception e) when (e is not DataFormatException and not OutOfMemoryException)
        {
            throw new DataFormatException(path, 0, null, $"not a readable HDF5 file: {e.Message}");
        }
    }

    public static NdArray Read(string path, string name)
    {
        PureHDF.VOL.Native.NativeFile f;
        try
        {
            f = PureHDF.H5File.OpenRead(path);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new DataFormatException(path, 0, null, $"not a readable HDF5 file: {e.Message}");
        }
        using (f)
        {
            if (!f.LinkExists(name))
            {
                var names = f.Children().Select(c => c.Name).Take(60);
                throw new DataFormatException(path, 0, name, $"no dataset '{name}' in the HDF5 file (datasets: {string.Join(", ", names)})");
            }
            try
            {
                var ds = PureHDF.IH5GroupExtensions.Dataset(f, name);
                var dims = ds.Space.Dimensions;
                if (dims.Length is < 1 or > 2)
                {
                    throw new DataFormatException(path, 0, name, $"HDF5 dataset has {dims.Length} dimensions; only 1-D and 2-D are supported");
                }
                var rows = (long)dims[0];
                var cols = dims.Length == 2 ? checked((int)dims[1]) : 1;
                var type = ds.Type;
                var is2D = dims.Length == 2;
                var dtype = $"{type.Class}/{type.Size}";
                switch (type.Class)
                {
                    case PureHDF.H5DataTypeClass.FixedPoint:
                    {
                        var signed = type.FixedPoint.IsSigned;
                        long[] a = (type.Size, signed) switch
                        {
                            (8, true) => ds.Read<long[]>(),
                            (4, true) => [.. ds.Read<int[]>().Select(v => (long)v)],
                            (2, true) => [.. ds.Read<short[]>().Select(v => (long)v)],
                            (1, true) => [.. ds.Read<sbyte[]>().Select(v => (long)v)],
                            (8, false) => [.. ds.Read<ulong[]>().Select(v => checked((long)v))],
                            (4, false) => [.. ds.Read<uint[]>().Select(v => (long)v)],
                            (2, false) => [.. ds.Read<ushort[]>().Select(v => (long)v)],
                            (1, false) => [.. ds.Read<byte[]>().Select(v => (long)v)],
                            _ => throw new DataFormatException(path, 0, name, $"HDF5 integer size {type.Size} is not supported"),
                        };
                        return new NdArray { Name = name, Kind = ArrayKind.Int, Rows = rows, Cols = cols, Is2D = is2D, Ints = a, Dtype = dtype };
                    }
                    case PureHDF.H5DataTypeClass.Enumerated:
                    {
                        // h5py writes numpy bool as an enum {FALSE, TRUE} over int8.
                        var a = ds.Read<byte[]>();
                        return new NdArray { Name = name, Kind = ArrayKind.Bool, Rows = rows, Cols = cols, Is2D = is2D, Ints = [.. a.Select(v => v != 0 ? 1L : 0L)], Dtype = dtype };
                    }
                    case PureHDF.H5DataTypeClass.FloatingPoint:
                    {
                        double[] a = type.Size switch
                        {
                            8 => ds.Read<double[]>(),
                            4 => [.. ds.Read<float[]>().Select(v => (double)v)],
                            _ => throw new DataFormatException(path, 0, name, $"HDF5 float size {type.Size} is not supported"),
                        };
                        return new NdArray { Name = name, Kind = ArrayKind.Float, Rows = rows, Cols = cols, Is2D = is2D, Floats = a, Dtype = dtype };
                    }
                    case PureHDF.H5DataTypeClass.String:
                    case PureHDF.H5DataTypeClass.VariableLength:
                    {
                        var a = ds.Read<string[]>();
                        return new NdArray { Name = name, Kind = ArrayKind.Text, Rows = rows, Cols = cols, Is2D = is2D, Texts = [.. a.Select(t => t.TrimEnd('\0'))], Dtype = dtype };
                    }
                    default:
                        throw new DataFormatException(path, 0, name, $"HDF5 dataset type {type.Class} is not supported (integers, floats, bools, strings)");
                }
            }
            catch (Exception e) when (e is not DataFormatException and not OutOfMemoryException)
            {
                throw new DataFormatException(path, 0, name, $"cannot read HDF5 dataset: {e.Message}");
            }
        }
    }
}

/// <summary>Parquet columns as arrays (list columns become 2-D arrays; every list must have the same length).</summary>
internal static class ParquetArrays
{
    public static (List<string> Names, Func<string, NdArray> Read, long Rows) Open(string path)
    {
        var (rows, columns) = ReadRows(path);
        return (columns, name => Column(path, rows, columns, name), rows.Count);
    }

    /// <summary>
    /// All rows of a Parquet file as column name → value (lists as enumerables). Parquet.Net's row deserializer first;
    /// when it fails (e.g. a list column in data page v2), the file is read column by column
    /// (<see cref="ParquetColumnReader"/>), with FsdNet's page reader for the chunks Parquet.Net cannot decode.
    /// </summary>
    internal static (IList<Dictionary<string, object>> Rows, List<string> Columns) ReadRows(string path)
    {
        try
        {
            using var fs = File.OpenRead(path);
            var res = Parquet.Serialization.ParquetSerializer.DeserializeUntypedAsync(fs).GetAwaiter().GetResult();
            return (res.Data, [.. res.Schema.Fields.Select(f => f.Name)]);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException)
        {
            throw new DataFormatException(path, 0, null, ReadError(e));
        }
        catch (Exception e) when (ParquetColumnReader.IsParquetNetError(e))
        {
            return ParquetColumnReader.Read(path, e);
        }
    }

    /// <summary>The message for a Parquet file Parquet.Net cannot read, with the cause and what to do.</summary>
    internal static string ReadError(Exception e)
    {
        var inner = e;
        while (inner.InnerException is not null)
        {
            inner = inner.InnerException;
        }
        var msg = $"not a readable Parquet file: {e.Message}";
        if (inner != e)
        {
            msg += $" ({inner.Message})";
        }
        return msg;
    }

    private static NdArray Column(string path, IList<Dictionary<string, object>> rows, List<string> columns, string name)
    {
        if (!columns.Contains(name))
        {
            throw new DataFormatException(path, 0, name, $"no column '{name}' in the Parquet file (columns: {string.Join(", ", columns.Take(60))})");
        }
        var n = rows.Count;
        var first = rows.Select(r => r.GetValueOrDefault(name)).FirstOrDefault(v => v is not null);
        if (first is System.Collections.IEnumerable and not string)
        {
            int? width = null;
            var ints = new List<long>();
            var floats = new List<double>();
            var isFloat = false;
            for (var i = 0; i < n; i++)
            {
                var items = (rows[i].GetValueOrDefault(name) as System.Collections.IEnumerable)?.Cast<object?>().ToList() ?? [];
                width ??= items.Count;
                if (items.Count != width)
                {
                    throw new DataFormatException(path, i + 1, name, $"list has {items.Count} values, row 1 has {width} (line = row number)");
                }
                foreach (var v in items)
                {
                    switch (v)
                    {
                        case float f: isFloat = true; floats.Add(f); break;
                        case double d: isFloat = true; floats.Add(d); break;
                        case null: throw new DataFormatException(path, i + 1, name, "null inside a list (line = row number)");
                        default: ints.Add(Convert.ToInt64(v, CultureInfo.InvariantCulture)); floats.Add(Convert.ToDouble(v, CultureInfo.InvariantCulture)); break;
                    }
                }
            }
            return isFloat
                ? new NdArray { Name = name, Kind = ArrayKind.Float, Rows = n, Cols = width ?? 0, Is2D = true, Floats = [.. floats], Dtype = "list<float>" }
                : new NdArray { Name = name, Kind = ArrayKind.Int, Rows = n, Cols = width ?? 0, Is2D = true, Ints = [.. ints], Dtype = "list<int>" };
        }
        switch (first)
        {
            case float or double:
            {
                var a = new double[n];
                for (var i = 0; i < n; i++)
                {
                    a[i] = rows[i].GetValueOrDefault(name) is { } v ? Convert.ToDouble(v, CultureInfo.InvariantCulture) : double.NaN;
                }
                return new NdArray { Name = name, Kind = ArrayKind.Float, Rows = n, Floats = a, Dtype = first.GetType().Name };
            }
            case string:
                return new NdArray { Name = name, Kind = ArrayKind.Text, Rows = n, Texts = [.. rows.Select(r => r.GetValueOrDefault(name)?.ToString() ?? "")], Dtype = "string" };
            default:
            {
                var a = new long[n];
                for (var i = 0; i < n; i++)
                {
                    var v = rows[i].GetValueOrDefault(name) ?? throw new DataFormatException(path, i + 1, name, "null value in an encoded column (line = row number)");
                    a[i] = v is bool b ? (b ? 1 : 0) : Convert.ToInt64(v, CultureInfo.InvariantCulture);
                }
                return new NdArray { Name = name, Kind = ArrayKind.Int, Rows = n, Ints = a, Dtype = first?.GetType().Name ?? "int" };
            }
        }
    }
}
