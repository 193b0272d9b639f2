namespace FsdNet.Tests.Data;

/// <summary>The two small dataset configs the bad-input tests (ErrorTests, BlankAndQuoteTests) write their files under.</summary>
internal static class BadInputConfigs
{
    public const string CsvYaml = """
        e:
          train_data: train.csv
          feature_cols:
            - {name: c, type: categorical}
            - {name: n, type: numeric}
          label_col: {name: label}
        """;

    public const string LibFmYaml = """
        e:
          data_format: libfm
          train_data: train.libfm
          feature_cols: [{name: [a, b], type: categorical}]
          label_col: {name: label}
        """;
}
