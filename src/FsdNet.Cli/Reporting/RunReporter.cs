using System.Diagnostics;
using System.Globalization;
using System.Text;
using FsdNet.Training;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace FsdNet.Cli.Reporting;

/// <summary>
/// Shows and records a training run. On a terminal (<c>interactive</c>) the epoch in progress is a Spectre.Console
/// progress bar (step, running loss, samples/s, ETA) with a line per validation above it, and validation and test
/// scoring get a bar of their own (rows, rows/s, ETA); with the output redirected it prints plain lines only (no ANSI
/// codes): the plan, progress at most every 10 s (training and scoring), one line per validation and the trainer's
/// messages. Either way the run directory gets <c>train.log</c> (every line, with UTC
/// timestamps), <c>metrics.csv</c> / <c>metrics.json</c> (rewritten atomically after every validation) and, on
/// <see cref="Complete"/>, <c>curves.png</c>.
/// </summary>
/// <remarks>
/// <see cref="OnStep"/> runs on the training hot path once per step: it reads the clock and returns unless a redraw
/// (at most every 100 ms) or a progress line (every 10 s) is due, so it allocates nothing in between.
/// </remarks>
public sealed class RunReporter : IRunReporter
{
    public const string LogName = "train.log";

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
    private static readonly long BarInterval = Stopwatch.Frequency / 10;
    private readonly long lineInterval;

    private readonly object gate = new();
    private readonly bool interactive;
    private readonly TextWriter console;
    private readonly IAnsiConsole? ansi;
    private readonly StreamWriter log;
    private readonly List<EpochRecord> records = [];
    private TrainingPlan? plan;
    private ProgressContext? progress;
    private ProgressTask? bar;
    private StepStatus? barStatus;
    private int barEpoch = -1;
    private ProgressTask? scoring;
    private StepStatus? scoringStatus;
    private string? scoringSplit;
    private long lastBar;
    private long lastLine;
    private bool disposed;

    public RunReporter(string runDir, bool interactive, TextWriter? console = null)
        : this(runDir, interactive, console, TimeSpan.FromSeconds(10))
    {
    }

    /// <param name="lineInterval">The least time between two plain progress lines (tests shorten it).</param>
    internal RunReporter(string runDir, bool interactive, TextWriter? console, TimeSpan lineInterval)
    {
        this.lineInterval = (long)(lineInterval.TotalSeconds * Stopwatch.Frequency);
        RunDir = Path.GetFullPath(runDir);
        Directory.CreateDirectory(RunDir);
        this.interactive = interactive;
        this.console = console ?? Console.Out;
        if (interactive)
        {
            ansi = AnsiConsole.Create(new AnsiConsoleSettings
            {
                Out = new AnsiConsoleOutput(this.console),
                Ansi = AnsiSupport.Detect,
                ColorSystem = ColorSystemSupport.Detect,
                Interactive = InteractionSupport.Yes,
            });
        }
        var stream = new FileStream(Path.Combine(RunDir, LogName), FileMode.Append, FileAccess.Write, FileShare.ReadWrite);
        log = new StreamWriter(stream, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false)) { AutoFlush = true };
        lastLine = Stopwatch.GetTimestamp();
    }

    /// <summary>The run directory (absolute).</summary>
    public string RunDir { get; }

    /// <summary>The validations seen so far.</summary>
    public IReadOnlyList<EpochRecord> Records => records;

    /// <summary>Runs <paramref name="training"/>; in interactive mode inside a live progress display.</summary>
    public T Run<T>(Func<T> training)
    {
        try
        {
            if (ansi is null)
            {
                return training();
            }
            return ansi.Progress()
                .AutoClear(true)
                .HideCompleted(true)
                .Columns(
                    new TaskDescriptionColumn { Alignment = Justify.Left },
                    new ProgressBarColumn(),
                    new PercentageColumn(),
                    new StatusColumn(),
                    new SpinnerColumn())
                .Start(ctx =>
                {
                    progress = ctx;
                    try
                    {
                        return training();
                    }
                    finally
                    {
                        bar?.StopTask();
                        scoring?.StopTask();
                        progress = null;
                        bar = null;
                        scoring = null;
                        barStatus = null;
                        barEpoch = -1;
                    }
                });
        }
        catch (Exception e)
        {
            LogOnly($"error: {e.GetType().Name}: {e.Message}");
            throw;
        }
    }

    public void OnStart(TrainingPlan plan)
    {
        this.plan = plan;
        var resumed = plan.StartEpoch > 0 ? string.Create(Inv, $" (resuming at epoch {plan.StartEpoch + 1})") : "";
        Message(string.Create(Inv,
            $"plan: {plan.Epochs} epochs{resumed}, {plan.StepsPerEpoch} steps/epoch, {plan.TrainRows} train rows, {plan.ValidRows} valid rows, {plan.Parameters} parameters"));
        lastLine = Stopwatch.GetTimestamp();
    }

    public void OnStep(int epoch, long stepInEpoch, long stepsPerEpoch, double runningLoss, double samplesPerSecond)
    {
        var now = Stopwatch.GetTimestamp();
        if (progress is not null && (epoch != barEpoch || stepInEpoch >= stepsPerEpoch || now - lastBar >= BarInterval))
        {
            lastBar = now;
            UpdateBar(epoch, stepInEpoch, stepsPerEpoch, runningLoss, samplesPerSecond);
        }
        if (now - lastLine >= lineInterval)
        {
            lastLine = now;
            var pct = stepsPerEpoch > 0 ? 100.0 * stepInEpoch / stepsPerEpoch : 0;
            Emit(string.Create(Inv,
                $"epoch {epoch + 1}/{EpochsText()} step {stepInEpoch}/{stepsPerEpoch} ({pct:F1}%) loss {runningLoss:F6} {samplesPerSecond:F0} samples/s eta {Eta(stepInEpoch, stepsPerEpoch, samplesPerSecond)}"),
                toConsole: !interactive, style: null);
        }
    }

    public void OnScoring(string split, long rowsDone, long totalRows, double rowsPerSecond)
    {
        var now = Stopwatch.GetTimestamp();
        var done = rowsDone >= totalRows;
        var eta = rowsPerSecond > 0 ? FormatDuration((totalRows - rowsDone) / rowsPerSecond) : "?";
        if (progress is { } ctx && (done || now - lastBar >= BarInterval))
        {
            lastBar = now;
            if (scoring is null || scoringSplit != split)
            {
                scoring?.StopTask();
                scoringSplit = split;
                scoringStatus = new StepStatus();
                scoring = ctx.AddTask(split == "valid" ? "validating" : "scoring " + split, autoStart: true, maxValue: Math.Max(totalRows, 1));
                scoring.Tag = scoringStatus;
            }
            scoringStatus!.Text = string.Create(Inv, $"{rowsDone}/{totalRows} rows {rowsPerSecond,8:F0} rows/s eta {eta}");
            scoring.Value = rowsDone;
            if (done)
            {
                scoring.StopTask();
                scoring = null;
            }
        }
        if (now - lastLine >= lineInterval && !done)
        {
            lastLine = now;
            var pct = totalRows > 0 ? 100.0 * rowsDone / totalRows : 0;
            Emit(string.Create(Inv, $"{split}: {rowsDone}/{totalRows} rows ({pct:F1}%) {rowsPerSecond:F0} rows/s eta {eta}"), toConsole: !interactive, style: null);
        }
    }

    public void OnEvaluation(EpochRecord record)
    {
        records.Add(record);
        MetricsFiles.Write(RunDir, records);
        var sb = new StringBuilder();
        sb.Append(Inv, $"epoch {record.Epoch} step {record.Step}: train loss {record.TrainLoss:F6} | valid");
        foreach (var (name, value) in record.Valid)
        {
            sb.Append(Inv, $" {name} {value:F6}");
        }
        sb.Append(Inv, $" | monitor {record.Monitor:F6} ");
        sb.Append(record.Improved ? "improved" : string.Create(Inv, $"no improvement, lr -> {FormatRate(record.LearningRate)}"));
        sb.Append(Inv, $" | train {record.TrainSeconds:F1} s, valid {record.ValidSeconds:F1} s, {record.SamplesPerSecond:F0} samples/s");
        Emit(sb.ToString(), toConsole: true, style: record.Improved ? new Style(Color.Green) : new Style(Color.Yellow));
        lastLine = Stopwatch.GetTimestamp();
    }

    public void OnMessage(string message) => Message(message);

    /// <summary>Prints a line (above the progress display when there is one) and logs it.</summary>
    public void Message(string line) => Emit(line, toConsole: true, style: null);

    /// <summary>
    /// The end of the run: rewrites the metrics files from the whole history (a resumed run's included), prints and
    /// logs the summary (best epoch, early stopping, test metrics) and renders curves.png.
    /// </summary>
    public void Complete(TrainResult result, IReadOnlyDictionary<string, double>? test)
    {
        var history = result.History.Count >= records.Count ? result.History : records;
        MetricsFiles.Write(RunDir, history);

        var best = result.BestEpoch > 0
            ? string.Create(Inv, $"best epoch {result.BestEpoch} (monitor {result.BestMonitor:F6})")
            : "no validation improved on the initial monitor value";
        var stopped = result.EarlyStopped ? "early stopped" : "not early stopped";
        Emit(string.Create(Inv, $"done: {best}, {stopped}, {history.Count} validations"), toConsole: true, style: new Style(decoration: Decoration.Bold));
        if (test is not null)
        {
            var sb = new StringBuilder("test:");
            foreach (var (name, value) in test)
            {
                sb.Append(Inv, $" {name} {value:F6}");
            }
            Emit(sb.ToString(), toConsole: true, style: new Style(Color.Aqua, decoration: Decoration.Bold));
        }

        var png = Path.Combine(RunDir, CurvePlot.FileName);
        try
        {
            CurvePlot.Render(png, "Training curves: " + Path.GetFileName(RunDir), history, plan?.StepsPerEpoch ?? 0, result.BestEpoch);
            Message("curves: " + png);
        }
        catch (Exception e)
        {
            // Plotting is a convenience: a failure must not lose the results of a finished run.
            Message($"could not render {png}: {e.Message}");
        }
    }

    public void Dispose()
    {
        lock (gate)
        {
            if (disposed)
            {
                return;
            }
            disposed = true;
            log.Dispose();
        }
    }

    private void UpdateBar(int epoch, long step, long steps, double loss, double samplesPerSecond)
    {
        var ctx = progress;
        if (ctx is null)
        {
            return;
        }
        if (epoch != barEpoch || bar is null || barStatus is null)
        {
            bar?.StopTask();
            barEpoch = epoch;
            barStatus = new StepStatus();
            bar = ctx.AddTask(string.Create(Inv, $"epoch {epoch + 1}/{EpochsText()}"), autoStart: true, maxValue: Math.Max(steps, 1));
            bar.Tag = barStatus;
        }
        barStatus.Text = string.Create(Inv,
            $"{step}/{steps} loss {loss:F5} {samplesPerSecond,8:F0} samples/s eta {Eta(step, steps, samplesPerSecond)}");
        bar.Value = step;
    }

    private string EpochsText() => plan is null ? "?" : plan.Epochs.ToString(Inv);

    /// <summary>The time left in the epoch at the current speed (the plan gives the rows per step).</summary>
    private string Eta(long step, long steps, double samplesPerSecond)
    {
        if (plan is null || plan.StepsPerEpoch <= 0 || samplesPerSecond <= 0 || !double.IsFinite(samplesPerSecond))
        {
            return "?";
        }
        var rowsPerStep = (double)plan.TrainRows / plan.StepsPerEpoch;
        var seconds = Math.Max(steps - step, 0) * rowsPerStep / samplesPerSecond;
        return FormatDuration(seconds);
    }

    /// <summary>A learning rate in plain decimal notation (0.00001 rather than 1E-05).</summary>
    internal static string FormatRate(double lr) =>
        lr is > 0 and < 1e-9 || !double.IsFinite(lr) ? lr.ToString("G4", Inv) : lr.ToString("0.##########", Inv);

    internal static string FormatDuration(double seconds)
    {
        if (!double.IsFinite(seconds) || seconds < 0)
        {
            return "?";
        }
        var s = (long)Math.Round(seconds);
        return s >= 3600
            ? string.Create(Inv, $"{s / 3600}:{s / 60 % 60:D2}:{s % 60:D2}")
            : string.Create(Inv, $"{s / 60}:{s % 60:D2}");
    }

    private void Emit(string line, bool toConsole, Style? style)
    {
        lock (gate)
        {
            if (toConsole)
            {
                if (ansi is not null)
                {
                    ansi.Write(new Text(line + Environment.NewLine, style ?? Style.Plain));
                }
                else
                {
                    console.WriteLine(line);
                    console.Flush();
                }
            }
            WriteLog(line);
        }
    }

    private void LogOnly(string line)
    {
        lock (gate)
        {
            WriteLog(line);
        }
    }

    private void WriteLog(string line)
    {
        if (!disposed)
        {
            log.Write(DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", Inv));
            log.Write(' ');
            log.WriteLine(line);
        }
    }

    /// <summary>The text of a bar's status column, set by the training thread and read by the render thread.</summary>
    private sealed class StepStatus
    {
        private volatile string text = "";

        public string Text
        {
            get => text;
            set => text = value;
        }
    }

    /// <summary>step/steps, running loss, samples/s and ETA of the bar's epoch.</summary>
    private sealed class StatusColumn : ProgressColumn
    {
        public override IRenderable Render(RenderOptions options, ProgressTask task, TimeSpan deltaTime) =>
            new Text(task.Tag is StepStatus s ? s.Text : "", Style.Plain);
    }
}
