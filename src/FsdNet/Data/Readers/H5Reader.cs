namespace FsdNet.Data;

/// <summary>FuxiCTR 2.0.x's encoded HDF5 (PureHDF): one dataset a feature and the label.</summary>
internal sealed class H5Reader : IArrayReader
{
    public static readonly H5Reader Instance = new();

    public string Extension => ".h5";

    public ArrayFile Open(string path) => new ArrayFile { Path = path, Names = H5Arrays.Names(path), Read = n => H5Arrays.Read(path, n) };
}
