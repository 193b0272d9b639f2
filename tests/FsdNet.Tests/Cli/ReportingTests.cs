using System.Buffers.Binary;
using System.Text.Json;
using System.Text.RegularExpressions;
using FsdNet.Cli.Reporting;
using FsdNet.Training;
using Xunit;

namespace FsdNet.Tests.Cli;

/// <summary>RunReporter in non-interactive mode: the plain log, metrics.csv/json after every validation, curves.png.</summary>
public sealed class ReportingTests : IDisposable
{
    private static readonly byte[] PngSignature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    private readonly string root = Path.Combine(Path.GetTempPath(), "fsdnet-reporting-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(root))
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static EpochRecord Record(int epoch, double loss, Dictionary<string, double> valid, double monitor, bool improved, double lr) =>
        new(epoch, epoch * 4L, loss, 1.5 * epoch, 0.25, 1000.0 + epoch, valid, monitor, improved, lr);

    private static readonly TrainingPlan Plan = new(Epochs: 3, StartEpoch: 0, StepsPerEpoch: 4, TrainRows: 400, ValidRows: 100, Parameters: 1234);

    private static void Steps(RunReporter reporter, int epoch)
    {
        for (var s = 1; s <= Plan.StepsPerEpoch; s++)
        {
            reporter.OnStep(epoch, s, Plan.StepsPerEpoch, 0.5 - 0.01 * s, 2000);
        }
    }

    private static string[] CsvLines(string dir) => File.ReadAllText(Path.Combine(dir, "metrics.csv")).TrimEnd('\n').Split('\n');

    [Fact]
    public void NonInteractiveRunWritesPlainLogMetricsAndCurves()
    {
        var dir = Path.Combine(root, "nested", "run1");
        var console = new StringWriter();
        var r1 = Record(1, 0.48, new() { ["AUC"] = 0.75, ["logloss"] = 0.47 }, 0.75, true, 1e-3);
        var r2 = Record(2, 0.45, new() { ["AUC"] = double.NaN, ["logloss"] = 0.46, ["gAUC"] = 0.7 }, 0.74, false, 1e-4);
        var r3 = Record(3, 0.44, new() { ["AUC"] = 0.76, ["logloss"] = 0.455, ["gAUC"] = 0.71 }, 0.76, true, 1e-4);
        using (var reporter = new RunReporter(dir, interactive: false, console))
        {
            var result = reporter.Run(() =>
            {
                reporter.OnStart(Plan);
                Steps(reporter, 0);
                Assert.False(File.Exists(Path.Combine(dir, "metrics.csv")));
                reporter.OnEvaluation(r1);

                var first = CsvLines(dir);
                Assert.Equal("epoch,step,train_loss,AUC,logloss,monitor,improved,lr,train_seconds,valid_seconds,samples_per_second", first[0]);
                Assert.Equal(2, first.Length);
                Assert.Equal("1,4,0.48,0.75,0.47,0.75,true,0.001,1.5,0.25,1001", first[1]);

                reporter.OnMessage("a trainer message");
                Steps(reporter, 1);
                reporter.OnEvaluation(r2);

                var second = CsvLines(dir);
                Assert.Equal("epoch,step,train_loss,AUC,logloss,gAUC,monitor,improved,lr,train_seconds,valid_seconds,samples_per_second", second[0]);
                Assert.Equal(3, second.Length);
                Assert.Equal("1,4,0.48,0.75,0.47,,0.75,true,0.001,1.5,0.25,1001", second[1]);
                Assert.Equal("2,8,0.45,NaN,0.46,0.7,0.74,false,0.0001,3,0.25,1002", second[2]);

                Steps(reporter, 2);
                reporter.OnEvaluation(r3);
                Assert.Equal(4, CsvLines(dir).Length);
                return new TrainResult([r1, r2, r3], BestEpoch: 3, BestMonitor: 0.76, EarlyStopped: false);
            });
            reporter.Complete(result, new Dictionary<string, double> { ["AUC"] = 0.7712, ["logloss"] = 0.4501 });
        }

        // metrics.json: one object per validation, NaN and missing metrics as null, typed values.
        using (var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "metrics.json"))))
        {
            var rows = json.RootElement.EnumerateArray().ToArray();
            Assert.Equal(3, rows.Length);
            Assert.Equal(
                ["epoch", "step", "train_loss", "AUC", "logloss", "gAUC", "monitor", "improved", "lr", "train_seconds", "valid_seconds", "samples_per_second"],
                rows[0].EnumerateObject().Select(p => p.Name).ToArray());
            Assert.Equal(1, rows[0].GetProperty("epoch").GetInt32());
            Assert.Equal(4, rows[0].GetProperty("step").GetInt64());
            Assert.Equal(0.75, rows[0].GetProperty("AUC").GetDouble());
            Assert.Equal(JsonValueKind.Null, rows[0].GetProperty("gAUC").ValueKind);
            Assert.True(rows[0].GetProperty("improved").GetBoolean());
            Assert.Equal(JsonValueKind.Null, rows[1].GetProperty("AUC").ValueKind);
            Assert.Equal(0.7, rows[1].GetProperty("gAUC").GetDouble());
            Assert.False(rows[1].GetProperty("improved").GetBoolean());
            Assert.Equal(1e-4, rows[1].GetProperty("lr").GetDouble());
            Assert.Equal(1003, rows[2].GetProperty("samples_per_second").GetDouble());
        }
        Assert.False(File.Exists(Path.Combine(dir, "metrics.csv.tmp")));
        Assert.False(File.Exists(Path.Combine(dir, "metrics.json.tmp")));

        // The console and the log: plain text, every line of the run, the log with timestamps.
        var printed = console.ToString();
        Assert.DoesNotContain('\u001b', printed);
        Assert.Contains("plan: 3 epochs, 4 steps/epoch, 400 train rows, 100 valid rows, 1234 parameters", printed, StringComparison.Ordinal);
        Assert.Contains("epoch 1 step 4: train loss 0.480000 | valid AUC 0.750000 logloss 0.470000 | monitor 0.750000 improved", printed, StringComparison.Ordinal);
        Assert.Contains("monitor 0.740000 no improvement, lr -> 0.0001", printed, StringComparison.Ordinal);
        Assert.Contains("valid AUC NaN", printed, StringComparison.Ordinal);
        Assert.Contains("a trainer message", printed, StringComparison.Ordinal);
        Assert.Contains("done: best epoch 3 (monitor 0.760000), not early stopped, 3 validations", printed, StringComparison.Ordinal);
        Assert.Contains("test: AUC 0.771200 logloss 0.450100", printed, StringComparison.Ordinal);

        var logLines = File.ReadAllLines(Path.Combine(dir, "train.log"));
        Assert.DoesNotContain(logLines, l => l.Contains('\u001b'));
        Assert.All(logLines, l => Assert.Matches(new Regex(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z "), l));
        var printedLines = printed.Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(printedLines, logLines.Select(l => l[25..]));

        // curves.png: a PNG of the requested size.
        var png = File.ReadAllBytes(Path.Combine(dir, "curves.png"));
        Assert.True(png.Length > 1000);
        Assert.Equal(PngSignature, png[..8]);
        Assert.Equal("IHDR", System.Text.Encoding.ASCII.GetString(png, 12, 4));
        Assert.Equal(900, BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16)));
        Assert.Equal(600, BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(20)));
    }

    [Fact]
    public void CompleteUsesTheWholeHistoryAndReportsEarlyStopping()
    {
        // A resumed run: the trainer's history holds validations from before the resume that the reporter never saw.
        var dir = Path.Combine(root, "resumed");
        var console = new StringWriter();
        var old = Record(1, 0.5, new() { ["AUC"] = 0.7, ["logloss"] = 0.5 }, 0.7, true, 1e-3);
        var seen = Record(2, 0.49, new() { ["AUC"] = 0.69, ["logloss"] = 0.51 }, 0.69, false, 1e-4);
        using (var reporter = new RunReporter(dir, interactive: false, console))
        {
            reporter.OnMessage("Resumed from x after epoch 2.");
            reporter.OnStart(Plan with { StartEpoch = 1 });
            reporter.OnEvaluation(seen);
            Assert.Equal(2, CsvLines(dir).Length);
            reporter.Complete(new TrainResult([old, seen], BestEpoch: 1, BestMonitor: 0.7, EarlyStopped: true), test: null);
        }
        var lines = CsvLines(dir);
        Assert.Equal(3, lines.Length);
        Assert.StartsWith("1,4,0.5,", lines[1], StringComparison.Ordinal);
        Assert.StartsWith("2,8,0.49,", lines[2], StringComparison.Ordinal);
        var printed = console.ToString();
        Assert.Contains("(resuming at epoch 2)", printed, StringComparison.Ordinal);
        Assert.Contains("done: best epoch 1 (monitor 0.700000), early stopped, 2 validations", printed, StringComparison.Ordinal);
        Assert.DoesNotContain("test:", printed, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(dir, "curves.png")));
    }

    [Fact]
    public void CurvesRenderWithoutValidations()
    {
        var dir = Path.Combine(root, "empty");
        using (var reporter = new RunReporter(dir, interactive: false, new StringWriter()))
        {
            reporter.Complete(new TrainResult([], BestEpoch: 0, BestMonitor: double.NegativeInfinity, EarlyStopped: false), test: null);
        }
        var png = File.ReadAllBytes(Path.Combine(dir, "curves.png"));
        Assert.Equal(PngSignature, png[..8]);
        Assert.Equal("epoch,step,train_loss,monitor,improved,lr,train_seconds,valid_seconds,samples_per_second", CsvLines(dir)[0]);
        Assert.Equal("[]", File.ReadAllText(Path.Combine(dir, "metrics.json")).Trim());
    }

    [Fact]
    public void StepsDoNotAllocate()
    {
        foreach (var interactive in new[] { false, true })
        {
            using var reporter = new RunReporter(Path.Combine(root, "alloc-" + interactive), interactive, new StringWriter());
            reporter.OnStart(Plan with { StepsPerEpoch = 1_000_000 });
            reporter.OnStep(0, 1, 1_000_000, 0.5, 1000);
            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var s = 2; s < 100_000; s++)
            {
                reporter.OnStep(0, s, 1_000_000, 0.5, 1000);
            }
            // A throttled redraw (every 100 ms / 10 s) may allocate a little when the machine is slow; a per-step
            // allocation would show as megabytes over 100,000 steps.
            var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.True(allocated < 16 * 1024, $"{allocated} bytes allocated over 100,000 progress updates");
        }
    }

    [Fact]
    public void InteractiveRunReturnsTheResultAndStillWritesFiles()
    {
        var dir = Path.Combine(root, "interactive");
        var console = new StringWriter();
        using (var reporter = new RunReporter(dir, interactive: true, console))
        {
            var value = reporter.Run(() =>
            {
                reporter.OnStart(Plan);
                Steps(reporter, 0);
                reporter.OnEvaluation(Record(1, 0.48, new() { ["AUC"] = 0.75, ["logloss"] = 0.47 }, 0.75, true, 1e-3));
                Steps(reporter, 1);
                return 42;
            });
            Assert.Equal(42, value);
        }
        Assert.Equal(2, CsvLines(dir).Length);
        Assert.Contains("plan: 3 epochs", console.ToString(), StringComparison.Ordinal);
        Assert.Contains(File.ReadAllLines(Path.Combine(dir, "train.log")), l => l.Contains("epoch 1 step 4: train loss 0.480000", StringComparison.Ordinal));
    }

    [Fact]
    public void RunLogsAFailureAndRethrows()
    {
        var dir = Path.Combine(root, "failed");
        using (var reporter = new RunReporter(dir, interactive: false, new StringWriter()))
        {
            var e = Assert.Throws<InvalidOperationException>(() => reporter.Run<int>(() => throw new InvalidOperationException("Training diverged")));
            Assert.Equal("Training diverged", e.Message);
        }
        Assert.Contains("error: InvalidOperationException: Training diverged", File.ReadAllText(Path.Combine(dir, "train.log")), StringComparison.Ordinal);
    }

    /// <summary>
    /// Plain progress lines (here with no least interval): training steps give rows/s and the epoch's ETA, scoring
    /// passes give rows, rows/s and the split's ETA; a finished pass prints no progress line (its result line follows).
    /// Both go through the interval gate, so a 45M-row log keeps one line per interval.
    /// </summary>
    [Fact]
    public void PlainProgressGivesRatesAndEtasForTrainingAndScoring()
    {
        var dir = Path.Combine(root, "progress");
        var console = new StringWriter();
        using (var reporter = new RunReporter(dir, interactive: false, console, TimeSpan.Zero))
        {
            reporter.OnStart(Plan);
            reporter.OnStep(0, 1, 4, 0.5, 100);
            reporter.OnScoring("valid", 25, 100, 5);
            reporter.OnScoring("valid", 100, 100, 5);
            reporter.OnScoring("test", 40, 100, 20);
        }
        var lines = console.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(
            [
                "epoch 1/3 step 1/4 (25.0%) loss 0.500000 100 samples/s eta 0:03",
                "valid: 25/100 rows (25.0%) 5 rows/s eta 0:15",
                "test: 40/100 rows (40.0%) 20 rows/s eta 0:03",
            ],
            lines[1..]);

        // With the default 10 s interval, a burst of calls prints nothing beyond the plan.
        var quiet = new StringWriter();
        using (var reporter = new RunReporter(Path.Combine(root, "quiet"), interactive: false, quiet))
        {
            reporter.OnStart(Plan);
            for (var i = 1; i <= 1000; i++)
            {
                reporter.OnScoring("valid", i, 1000, 1e6);
            }
        }
        Assert.Single(quiet.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries));
    }
}
