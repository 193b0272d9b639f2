namespace FsdNet.Data;

/// <summary>The raw Criteo TSV without a header: label, I1..I13, C1..C26, tab-separated.</summary>
internal sealed class CriteoTsvReader : DelimitedTextReader
{
    public static readonly CriteoTsvReader Instance = new();

    protected override bool Headerless => true;
}
