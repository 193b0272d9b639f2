using System.Globalization;
using System.Text.RegularExpressions;
using FsdNet.Serving;
using FsdNet.Tensors;
using FsdNet.Tests.Data;
using FsdNet.Tests.Support;
using Xunit;

namespace FsdNet.Tests;

/// <summary>
/// The README's two C# examples, compiled and run as written: each ```csharp block becomes the Program.cs of a console
/// project that references the library, in a folder holding what the example names (a config folder for the training
/// example; the bundle of the model it trained, as model.fsdb, for the scoring example).
/// </summary>
[Collection(ThreadingCollection.Name)]
public sealed partial class ReadmeExamplesTests : IDisposable
{
    private readonly TempDir tmp = new();

    public void Dispose() => tmp.Dispose();

    [Fact]
    public async Task The_readme_training_and_scoring_examples_compile_and_run()
    {
        var readme = await File.ReadAllTextAsync(Path.Combine(SharedData.RepoRoot, "README.md"));
        var training = Example(readme, "## Training from C#");
        var scoring = Example(readme, "## Serving in your own service");

        // What the training example names: config/ with FSDNet_toy on data with the columns the scoring example sets.
        var rng = new Rng(21);
        var data = Path.Combine(tmp.Path, "data", "toy");
        Directory.CreateDirectory(data);
        foreach (var (split, rows) in new[] { ("train", 2000), ("valid", 400), ("test", 400) })
        {
            var lines = new List<string> { "label,user_id,price,history" };
            for (var i = 0; i < rows; i++)
            {
                int u = rng.NextInt(40), h = rng.NextInt(6);
                var label = rng.NextDouble() < (u % 3 == 0 ? 0.7 : 0.2) ? 1 : 0;
                lines.Add(string.Create(CultureInfo.InvariantCulture, $"{label},u{u},{rng.NextDouble() * 20:F2},i{h}^i{(h + 3) % 10}^i{rng.NextInt(10)}"));
            }
            await File.WriteAllLinesAsync(Path.Combine(data, split + ".csv"), lines);
        }
        var config = Path.Combine(tmp.Path, "config");
        Directory.CreateDirectory(config);
        await File.WriteAllTextAsync(Path.Combine(config, "dataset_config.yaml"), $"""
            toy:
              data_root: {Path.Combine(tmp.Path, "data")}
              data_format: csv
              train_data: toy/train.csv
              valid_data: toy/valid.csv
              test_data: toy/test.csv
              min_categr_count: 1
              feature_cols:
                - {"{"}name: user_id, active: True, dtype: str, type: categorical{"}"}
                - {"{"}name: price, active: True, dtype: float, type: numeric, normalizer: StandardScaler{"}"}
                - {"{"}name: history, active: True, dtype: str, type: sequence, splitter: '^', max_len: 5{"}"}
              label_col: {"{"}name: label, dtype: float{"}"}
            """);
        await File.WriteAllTextAsync(Path.Combine(config, "model_config.yaml"), """
            FSDNet_toy:
                model: FSDNet
                dataset_id: toy
                embedding_dim: 4
                parallel_dnn_hidden_units: [16, 16]
                num_cross_layers: 2
                batch_size: 128
                epochs: 5
            """);

        var trained = await RunExample("train", training);
        Assert.Matches(@"epoch 1: valid AUC 0\.\d{4}", trained);
        Assert.Matches(@"test AUC 0\.\d{4}; model, metrics and train\.log in .*runs/toy", trained);
        Assert.DoesNotContain("epoch 3:", trained, StringComparison.Ordinal);   // the override's 2 epochs, not the config's 5

        BundleFile.Export(Path.Combine(tmp.Path, "runs", "toy"), Path.Combine(tmp.Path, "model.fsdb"));
        var scored = await RunExample("score", scoring);
        Assert.Matches(@"user_id: [1-9]\d* oov, 0 missing", scored);    // u42 was never seen
        Assert.Matches(@"price: 0 oov, 0 missing", scored);
        Assert.Matches(@"history: 0 oov, \d+ missing", scored);       // i1, i7, i9 were seen
    }

    /// <summary>The first ```csharp block after <paramref name="heading"/>.</summary>
    private static string Example(string readme, string heading)
    {
        var at = readme.IndexOf(heading, StringComparison.Ordinal);
        Assert.True(at >= 0, $"README has no '{heading}' section");
        var m = CSharpBlock().Match(readme, at);
        Assert.True(m.Success, $"no ```csharp block after '{heading}'");
        return m.Groups[1].Value;
    }

    [GeneratedRegex("```csharp\\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex CSharpBlock();

    /// <summary>Builds <paramref name="program"/> as a console project referencing src/FsdNet and runs it in the temp folder.</summary>
    private async Task<string> RunExample(string name, string program)
    {
        var project = Directory.CreateDirectory(tmp.Sub("example-" + name)).FullName;
        await File.WriteAllTextAsync(Path.Combine(project, "Program.cs"), program);
        await ConsoleProject.WriteAsync(project, "Example", $"""<ProjectReference Include="{Path.Combine(SharedData.RepoRoot, "src", "FsdNet", "FsdNet.csproj")}" />""");
        var build = await CliRunner.RunProcessAsync("dotnet", ["build", project, "-c", "Release", "-nologo", "-v", "quiet", "-o", Path.Combine(project, "out")], tmp.Path);
        Assert.True(build.Code == 0, $"the README's {name} example does not compile:\n{build.Out}{build.Err}");
        var run = await CliRunner.RunProcessAsync("dotnet", [Path.Combine(project, "out", "Example.dll")], tmp.Path);
        Assert.True(run.Code == 0, $"the README's {name} example failed:\n{run.Out}{run.Err}");
        return run.Out + run.Err;
    }
}
