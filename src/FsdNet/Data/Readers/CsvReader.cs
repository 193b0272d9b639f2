namespace FsdNet.Data;

/// <summary>FuxiCTR's <c>csv</c>: delimited text with a header line (separator from <c>sep</c>: comma, tab for <c>tsv</c>), quotes as RFC 4180.</summary>
internal sealed class CsvReader : DelimitedTextReader
{
    public static readonly CsvReader Instance = new();

    protected override bool Headerless => false;
}
