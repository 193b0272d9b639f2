using FsdNet.Data;
using FsdNet.Tests.Support;
using Xunit;

namespace FsdNet.Tests.Data;

public sealed class ConfigTests
{
    [Fact]
    public void FuxiCTR_layout_with_several_datasets_and_list_names()
    {
        var cfg = DatasetConfigLoader.Parse("""
            Frappe_x1:
                data_root: ../data/Frappe/
                data_format: csv
                train_data: ../data/Frappe/Frappe_x1/train.csv
                valid_data: ../data/Frappe/Frappe_x1/valid.csv
                test_data: ../data/Frappe/Frappe_x1/test.csv
                min_categr_count: 2
                feature_cols:
                    - {name: [user, item, daytime, weekday, isweekend, homework, cost, weather, country, city],
                       active: True, dtype: float, type: categorical}
                label_col: {name: label, dtype: float}
            Other:
                train_data: x.csv
                feature_cols: [{name: a}]
                label_col: {name: y}
            """, "/tmp/cfg/dataset_config.yaml", "Frappe_x1");
        Assert.Equal("Frappe_x1", cfg.DatasetId);
        Assert.Equal(10, cfg.FeatureCols.Count);
        Assert.Equal("city", cfg.FeatureCols[9].Name);
        Assert.All(cfg.FeatureCols, c => Assert.Equal("float", c.Dtype));
        Assert.Equal(2, cfg.MinCategrCount);
        Assert.Empty(cfg.Warnings);
        var e = Assert.Throws<DataConfigException>(() => DatasetConfigLoader.Parse("a: {train_data: x}\nb: {train_data: y}\n", "f.yaml"));
        Assert.Contains("--dataset-id", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<DataConfigException>(() => DatasetConfigLoader.Parse("a: {train_data: x}\n", "f.yaml", "zzz"));
        Assert.Contains("dataset id 'zzz' not found", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("1e-5", 1e-5)]
    [InlineData("1.e-5", 1e-5)]
    [InlineData("1.E+3", 1e3)]
    [InlineData(".5", 0.5)]
    [InlineData("10", 10)]
    public void Numbers_in_python_spellings(string text, double expected) =>
        Assert.Equal(expected, DatasetConfigLoader.ParseNumber(text)!.Value, 12);

    [Fact]
    public void Min_count_written_as_float_exponent_parses()
    {
        var cfg = DatasetConfigLoader.Parse("train_data: x\nmin_categr_count: 1.e+1\nfeature_cols: [{name: a}]\nlabel_col: {name: y}\n", "f.yaml");
        Assert.Equal(10, cfg.MinCategrCount);
    }

    [Fact]
    public void Unknown_and_legacy_keys_warn_by_name()
    {
        var cfg = DatasetConfigLoader.Parse("""
            d:
              train_data: x.csv
              patience: 3
              workers: 4
              every_x_epochs: 1
              debug: false
              colour: blue
              feature_cols:
                - {name: a, na_value: '', wibble: 1}
              label_col: {name: y}
            """, "f.yaml");
        Assert.Contains(cfg.Warnings, w => w.Contains("unknown key 'colour'", StringComparison.Ordinal));
        Assert.Contains(cfg.Warnings, w => w.Contains("unknown key 'wibble'", StringComparison.Ordinal));
        Assert.Contains(cfg.Warnings, w => w.Contains("legacy key 'patience' is read as 'early_stop_patience'", StringComparison.Ordinal));
        Assert.Contains(cfg.Warnings, w => w.Contains("legacy key 'na_value' is read as 'fill_na'", StringComparison.Ordinal));
        Assert.Equal("3", cfg.Extra["early_stop_patience"]);
        Assert.Equal("4", cfg.Extra["num_workers"]);
        Assert.Equal("1", cfg.Extra["every_x_epochs"]);   // FuxiCTR 1.x's own key, not eval_steps (see TrainerOptions)
        Assert.Equal("false", cfg.Extra["debug_mode"]);
        Assert.Equal("", cfg.FeatureCols[0].FillNa);
    }

    [Theory]
    [InlineData("feature_cols: [{name: a}]\nlabel_col: {name: y}\n", "'train_data'")]
    [InlineData("train_data: x\nfeature_cols: [{name: a}]\n", "'label_col'")]
    [InlineData("train_data: x\nlabel_col: {name: y}\n", "'feature_cols'")]
    [InlineData("train_data: x\nfeature_cols: [{type: categorical}]\nlabel_col: {name: y}\n", "'name'")]
    [InlineData("train_data: x\nfeature_cols: [{name: a}]\nlabel_col: {dtype: float}\n", "'name'")]
    [InlineData("train_data: x\nfeature_cols: [{name: a, type: weird}]\nlabel_col: {name: y}\n", "type 'weird'")]
    [InlineData("train_data: x\nfeature_cols: [{name: a, preprocess: magic}]\nlabel_col: {name: y}\n", "preprocess 'magic'")]
    [InlineData("train_data: x\nfeature_cols: [{name: a}, {name: a}]\nlabel_col: {name: y}\n", "listed twice")]
    [InlineData("train_data: x\nmin_categr_count: abc\nfeature_cols: [{name: a}]\nlabel_col: {name: y}\n", "'min_categr_count' must be a number")]
    [InlineData("train_data: x\nfeature_cols: [{name: a, active: false}]\nlabel_col: {name: y}\n", "no active feature")]
    [InlineData("train_data: [x\n", "invalid YAML")]
    [InlineData("", "empty config")]
    public void Missing_or_bad_keys_are_named(string yaml, string expected)
    {
        var e = Assert.Throws<DataConfigException>(() => DatasetConfigLoader.Parse(yaml, "dataset_config.yaml"));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.Contains("dataset_config.yaml", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_from_folder_and_unknown_preset()
    {
        using var tmp = new TempDir();
        tmp.File("dataset_config.yaml", "mine:\n  train_data: t.csv\n  feature_cols: [{name: a}]\n  label_col: {name: y}\n");
        Assert.Equal("mine", DatasetConfigLoader.Load(tmp.Path, "mine").DatasetId);
        Assert.Equal("mine", DatasetConfigLoader.Load(tmp.Path).DatasetId);
        var e = Assert.Throws<DataConfigException>(() => DatasetConfigLoader.Preset("nope", tmp.Path));
        Assert.Contains("frappe", e.Message, StringComparison.Ordinal);
        Assert.Throws<DataConfigException>(() => DatasetConfigLoader.Load(tmp.Sub("missing.yaml")));
    }

    [Fact]
    public void Cache_root_is_the_requested_folder_or_the_user_cache_never_the_data_root()
    {
        using var tmp = new TempDir();
        Assert.Equal(tmp.Sub("c"), DataPipeline.ResolveCacheRoot(tmp.Sub("c")));
        var e = Assert.Throws<DataConfigException>(() => DataPipeline.ResolveCacheRoot("/proc/fsdnet-not-writable"));
        Assert.Contains("/proc/fsdnet-not-writable", e.Message, StringComparison.Ordinal);
        var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        var expected = !string.IsNullOrEmpty(xdg)
            ? Path.Combine(xdg, "fsdnet")
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "fsdnet");
        Assert.Equal(Path.GetFullPath(expected), DataPipeline.ResolveCacheRoot(null));
    }

    [DataFact("frappe")]
    public void Shared_data_folder_is_never_chosen_as_cache()
    {
        var chosen = DataPipeline.ResolveCacheRoot(null);
        Assert.False(chosen.StartsWith(FsdNet.Tests.Support.SharedData.Root, StringComparison.Ordinal), chosen);
    }
}
