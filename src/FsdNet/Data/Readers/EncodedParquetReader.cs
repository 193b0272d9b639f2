namespace FsdNet.Data;

/// <summary>FuxiCTR 2.3's encoded parquet (parquet without feature_cols): one column a feature and the label, holding codes.</summary>
internal sealed class EncodedParquetReader : IArrayReader
{
    public static readonly EncodedParquetReader Instance = new();

    public string Extension => ".parquet";

    public ArrayFile Open(string path)
    {
        var (names, read, _) = ParquetArrays.Open(path);
        return new ArrayFile { Path = path, Names = names, Read = read };
    }
}
