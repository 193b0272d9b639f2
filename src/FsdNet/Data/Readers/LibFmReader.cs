namespace FsdNet.Data;

/// <summary>libFM/libSVM: <c>label idx:val ...</c> separated by spaces, fields by position (the config's feature_cols); labels 1/0 or 1/-1.</summary>
internal sealed class LibFmReader : DelimitedTextReader
{
    public static readonly LibFmReader Instance = new();

    protected override bool Headerless => true;
}
