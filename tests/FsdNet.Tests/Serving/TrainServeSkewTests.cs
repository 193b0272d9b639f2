using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using FsdNet.Data;
using FsdNet.Server;
using FsdNet.Serving;
using FsdNet.Serving.Onnx;
using FsdNet.Tensors;
using FsdNet.Tests.Data;
using FsdNet.Tests.Support;
using FsdNet.Training;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Logging;
using Xunit;

namespace FsdNet.Tests.Serving;

/// <summary>
/// Train/serve skew: one trained model scores the raw rows of one test file four ways, and the scores agree within
/// 1e-6. The rows hold every feature type (string, integer and bucketed categoricals; numerics with each normaliser
/// and fill_na; sequences with post and pre padding, mean and sum pooling; an embedding vector) and the values that
/// catch a second copy of an encoding rule: unseen and rare tokens, missing values, numbers written 1 / 1.0 / 1e0,
/// sequences longer than max_len, trailing splitters and padding tokens.
/// <list type="number">
/// <item><c>fsdnet predict</c> on the CSV (the cache path: the format reader, Segment and CacheWriter);</item>
/// <item>the in-process <see cref="Scorer"/> with the CSV's cells as text;</item>
/// <item>the HTTP server (<c>POST /v1/predict</c>) with the cells as JSON strings, numbers, arrays or null;</item>
/// <item>ONNX Runtime on the exported model, the rows encoded by <see cref="OnnxReferenceClient"/> from the encoder JSON alone.</item>
/// </list>
/// </summary>
[Collection(ThreadingCollection.Name)]
public sealed class TrainServeSkewTests : IDisposable
{
    private const string Header = "label,u,c,d,n,m,r,s,p,e,h,k";

    private readonly TempDir tmp = new();

    public void Dispose() => tmp.Dispose();

    public static TheoryData<string, string> Models => new()
    {
        { "FSDNet", "parallel_dnn_hidden_units: [8, 8, 8]\n    num_cross_layers: 3\n    batch_norm: True" },
        { "WideDeep", "hidden_units: [8, 8]\n    batch_norm: True" },
    };

    [Theory]
    [MemberData(nameof(Models))]
    public async Task Predict_scorer_http_and_onnx_runtime_score_raw_rows_alike(string model, string settings)
    {
        var run = Train(model, settings);
        var rows = TestRows(new Random(7), 160);
        var input = tmp.File("score.csv", Header + "\n" + string.Concat(rows.Select(r => string.Join(',', r) + "\n")));
        var names = Header.Split(',');

        // 1. fsdnet predict
        var output = tmp.Sub("predictions.csv");
        var (code, _, err) = CliRunner.Run("predict", "--model", run, "--input", input, "--output", output);
        Assert.True(code == 0, err);
        var predicted = File.ReadAllLines(output).Skip(1).Select(l => float.Parse(l, CultureInfo.InvariantCulture)).ToArray();
        Assert.Equal(rows.Count, predicted.Length);

        // 2. the Scorer, cells as text
        var scorer = Scorer.Load(run);
        var batch = scorer.CreateBatch(rows.Count);
        foreach (var row in rows)
        {
            var r = batch.AddRow();
            for (var k = 1; k < names.Length; k++)
            {
                batch.Set(r, names[k], row[k]);
            }
        }
        var scored = new float[rows.Count];
        scorer.Score(batch, scored);

        // 3. HTTP, cells as JSON values of the kinds a client sends
        var served = await Serve(scorer, run, rows, names);

        // 4. ONNX Runtime with the encoder JSON
        var onnx = Path.Combine(tmp.Sub("onnx-" + model), "model.onnx");
        OnnxExporter.Export(run, onnx);
        using var encoder = JsonDocument.Parse(File.ReadAllText(OnnxExporter.EncoderPath(onnx)));
        var ort = OnnxReferenceClient.Score(onnx, encoder.RootElement,
            [.. rows.Select(row => (Func<string, string?>)(c => row[Array.IndexOf(names, c)]))]);

        foreach (var (name, scores) in new[] { ("Scorer", scored), ("HTTP", served), ("ONNX Runtime", ort) })
        {
            var worst = Enumerable.Range(0, rows.Count).MaxBy(i => Math.Abs(scores[i] - predicted[i]));
            var diff = Math.Abs(scores[worst] - predicted[worst]);
            Assert.True(diff <= 1e-6, $"{model}: {name} differs from fsdnet predict by {diff:G3} on row {worst} ({string.Join(',', rows[worst])})");
        }
        // The rows reach the rules that matter, and the model tells them apart.
        var counts = scorer.Counts().ToDictionary(c => c.Feature);
        foreach (var f in new[] { "u", "c", "d", "s", "k" })
        {
            Assert.True(counts[f].Oov > 5, $"feature {f}: only {counts[f].Oov} OOV values");
        }
        foreach (var f in new[] { "u", "c", "n", "r", "s", "h", "k" })
        {
            Assert.True(counts[f].Missing > 5, $"feature {f}: only {counts[f].Missing} missing values");
        }
        Assert.True(predicted.Max() - predicted.Min() > 1e-2, $"{model}: scores barely vary ({predicted.Min()}..{predicted.Max()})");
    }

    /// <summary>A mutation of one rule in one path is caught: the reference client with post padding everywhere.</summary>
    [Fact]
    public void A_padding_side_the_client_ignores_changes_onnx_scores()
    {
        var run = Train("FSDNet", "parallel_dnn_hidden_units: [8, 8, 8]\n    num_cross_layers: 3\n    batch_norm: True");
        var rows = TestRows(new Random(7), 160);
        var names = Header.Split(',');
        var onnx = Path.Combine(tmp.Sub("onnx-mutant"), "model.onnx");
        OnnxExporter.Export(run, onnx);
        var json = File.ReadAllText(OnnxExporter.EncoderPath(onnx));
        using var right = JsonDocument.Parse(json);
        using var wrong = JsonDocument.Parse(json.Replace("\"padding\": \"pre\"", "\"padding\": \"post\"", StringComparison.Ordinal));
        var raw = rows.Select(row => (Func<string, string?>)(c => row[Array.IndexOf(names, c)])).ToList();
        var a = OnnxReferenceClient.Score(onnx, right.RootElement, raw);
        var b = OnnxReferenceClient.Score(onnx, wrong.RootElement, raw);
        Assert.True(a.Zip(b).Max(t => Math.Abs(t.First - t.Second)) > 1e-4, "the pre-padded feature does not change the scores");
    }

    /// <summary>Trains <paramref name="model"/> for two epochs on the generated CSV and returns its run directory.</summary>
    private string Train(string model, string settings)
    {
        var rng = new Random(3);
        tmp.CsvSplits(Header, (_, _) => TrainRow(rng), 900, 200, 50);
        tmp.CsvDatasetConfig("skew", 2,
            "{name: u, active: True, dtype: str, type: categorical, max_vocab_size: 20}",
            "{name: c, active: True, dtype: int, type: categorical, fill_na: 0}",
            "{name: d, active: True, dtype: float, type: categorical, preprocess: convert_to_bucket}",
            "{name: n, active: True, dtype: float, type: numeric, normalizer: StandardScaler, fill_na: 1.5}",
            "{name: m, active: True, dtype: float, type: numeric, normalizer: MinMaxScaler}",
            "{name: r, active: True, dtype: float, type: numeric, fill_na: -1}",
            "{name: s, active: True, dtype: str, type: sequence, splitter: ^, max_len: 3, fill_na: x0}",
            "{name: p, active: True, dtype: str, type: sequence, splitter: ^, max_len: 2, padding: pre, feature_encoder: \"layers.MaskedSumPooling()\", hash_buckets: 5}",
            "{name: e, active: True, type: embedding, splitter: '|', pretrain_dim: 3}",
            "{name: h, active: True, dtype: str, type: categorical, hash_buckets: 7}",
            "{name: k, active: True, dtype: int, type: categorical, fill_na: 0, hash_buckets: 11}");
        tmp.File("model_config.yaml", $"""
            skew_{model}:
                model: {model}
                dataset_id: skew
                embedding_dim: 4
                {settings}
                batch_size: 64
                learning_rate: 1.e-2
                epochs: 2
                seed: 5
                monitor: AUC
            """);
        var result = TrainingRun.Execute(new RunSpec { ConfigDir = tmp.Path, ExpId = "skew_" + model, RunDir = tmp.Sub("run-" + model), CacheDir = tmp.Sub("cache") }, _ => new QuietReporter());
        return result.RunDir;
    }

    private static string TrainRow(Random rng)
    {
        int u = rng.Next(30), c = rng.Next(12), t = rng.Next(8);
        var d = rng.Next(60);
        double n = (rng.NextDouble() * 8) - 2, m = rng.NextDouble() * 50, r = rng.NextDouble();
        var s = string.Join('^', Enumerable.Range(0, 1 + rng.Next(4)).Select(_ => $"t{rng.Next(8)}"));
        var p = string.Join('^', Enumerable.Range(0, 1 + rng.Next(4)).Select(_ => $"q{rng.Next(6)}"));
        var e = string.Join('|', Enumerable.Range(0, 3).Select(_ => ((rng.NextDouble() * 2) - 1).ToString("F3", CultureInfo.InvariantCulture)));
        var logit = (u % 3 == 0 ? 1.2 : -0.6) + (c % 4 == 1 ? 0.8 : 0) + (0.3 * n) + (s.Contains("t1", StringComparison.Ordinal) ? 0.7 : 0) +
                    (p.EndsWith("q2", StringComparison.Ordinal) ? 0.9 : -0.2) + (t > 5 ? 0.4 : 0);
        var h = rng.Next(40);
        var k = rng.Next(25);
        logit += (h % 5 == 0 ? 0.8 : 0) + (k % 3 == 0 ? -0.7 : 0);
        var label = rng.NextDouble() < 1 / (1 + Math.Exp(-logit)) ? 1 : 0;
        return string.Create(CultureInfo.InvariantCulture, $"{label},u{u},{c},{d},{n:R},{m:R},{r:R},{s},{p},{e},h{h},{k}");
    }

    /// <summary>Raw scoring rows (cells in <see cref="Header"/> order, label empty) that exercise every rule.</summary>
    private static List<string[]> TestRows(Random rng, int count)
    {
        var rows = new List<string[]>();
        for (var i = 0; i < count; i++)
        {
            var k = rng.Next(12);
            var c = rng.Next(14); // 12 and 13 were never seen
            var n = Math.Round((rng.NextDouble() * 8) - 2, 2);
            string Spell(double v) => rng.Next(4) switch
            {
                0 => v.ToString("R", CultureInfo.InvariantCulture),
                1 => v.ToString("0.0####", CultureInfo.InvariantCulture),
                2 => v.ToString("0.####e0", CultureInfo.InvariantCulture),
                _ => (v * 10).ToString("R", CultureInfo.InvariantCulture) + "e-1",
            };
            var tokens = Enumerable.Range(0, rng.Next(7)).Select(_ => rng.Next(10) switch { 0 => "new", 1 => "x0", _ => $"t{rng.Next(9)}" }).ToArray();
            var pre = Enumerable.Range(0, rng.Next(6)).Select(_ => rng.Next(8) == 0 ? "zz" : $"q{rng.Next(7)}").ToArray();
            rows.Add(
            [
                "",
                rng.Next(8) switch { 0 => "", 1 => "never-seen", _ => $"u{rng.Next(32)}" },
                k == 0 ? "" : Spell(c),
                k == 1 ? "" : rng.Next(3) == 0 ? "1e3" : Spell(rng.Next(80)),
                k == 2 ? "" : Spell(n),
                k == 3 ? "" : Spell(Math.Round(rng.NextDouble() * 60, 1)),
                k == 4 ? "" : Spell(Math.Round(rng.NextDouble(), 3)),
                k == 5 ? "" : string.Join('^', tokens) + (rng.Next(6) == 0 ? "^" : ""),
                k == 6 ? "" : string.Join('^', pre),
                string.Join('|', Enumerable.Range(0, 3).Select(_ => Spell(Math.Round((rng.NextDouble() * 2) - 1, 3)))),
                k == 7 ? "" : rng.Next(5) == 0 ? "hé-ü-😀" : $"h{rng.Next(60)}",
                k == 8 ? "" : Spell(rng.Next(4) == 0 ? 0 : rng.Next(40)), // 0 written 0, 0.0, 0e0 ...: the fill_na token, OOV
            ]);
        }
        return rows;
    }

    /// <summary>The HTTP server's probabilities, the cells sent as JSON: text as strings (some numbers as JSON numbers), sequences and vectors sometimes as arrays, missing as null or absent.</summary>
    private static async Task<float[]> Serve(Scorer scorer, string run, List<string[]> rows, string[] names)
    {
        var app = ServerApp.Build(new ServerOptions { Scorer = scorer, ModelPath = run }, b =>
        {
            b.WebHost.UseTestServer();
            b.Logging.ClearProviders();
        });
        await app.StartAsync();
        try
        {
            var client = app.GetTestClient();
            var rng = new Random(11);
            var body = new StringBuilder("{\"rows\": [");
            for (var i = 0; i < rows.Count; i++)
            {
                body.Append(i == 0 ? "{" : ", {");
                var first = true;
                for (var k = 1; k < names.Length; k++)
                {
                    var cell = rows[i][k];
                    string json;
                    if (cell.Length == 0)
                    {
                        if (rng.Next(2) == 0)
                        {
                            continue; // absent
                        }
                        json = "null";
                    }
                    else if (names[k] is "n" or "m" or "r" && rng.Next(2) == 0)
                    {
                        json = double.Parse(cell, CultureInfo.InvariantCulture).ToString("R", CultureInfo.InvariantCulture);
                    }
                    else if (names[k] is "s" or "p" && rng.Next(2) == 0)
                    {
                        json = JsonSerializer.Serialize(cell.Split('^'));
                    }
                    else if (names[k] == "e" && rng.Next(2) == 0)
                    {
                        json = "[" + string.Join(", ", cell.Split('|').Select(v => double.Parse(v, CultureInfo.InvariantCulture).ToString("R", CultureInfo.InvariantCulture))) + "]";
                    }
                    else
                    {
                        json = JsonSerializer.Serialize(cell);
                    }
                    body.Append(first ? "" : ", ").Append('"').Append(names[k]).Append("\": ").Append(json);
                    first = false;
                }
                body.Append('}');
            }
            body.Append("]}");
            using var content = new StringContent(body.ToString(), Encoding.UTF8);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            using var response = await client.PostAsync("/v1/predict", content);
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.IsSuccessStatusCode, text);
            using var doc = JsonDocument.Parse(text);
            return [.. doc.RootElement.GetProperty("probabilities").EnumerateArray().Select(e => e.GetSingle())];
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }
}
