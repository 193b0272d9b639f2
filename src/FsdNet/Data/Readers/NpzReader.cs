namespace FsdNet.Data;

/// <summary>FuxiCTR 2.3's encoded numpy <c>.npz</c>: one array a feature and the label.</summary>
internal sealed class NpzReader : IArrayReader
{
    public static readonly NpzReader Instance = new();

    public string Extension => ".npz";

    public ArrayFile Open(string path) => new ArrayFile { Path = path, Names = Npy.Names(path), Read = n => Npy.ReadNpz(path, n) };
}
