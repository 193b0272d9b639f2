namespace FsdNet.Server;

/// <summary>
/// <c>fsdnet serve --watch</c>: reloads the model when its file changes (written in place or renamed over, as an
/// atomic copy does). Changes are debounced, so a file being written triggers one reload once it is quiet; a reload
/// that fails (a half-written file, a damaged bundle) leaves the old model serving, and the next change tries again.
/// </summary>
internal sealed class ModelWatcher : IDisposable
{
    private readonly Func<Task> reload;
    private readonly Action<string> log;
    private readonly FileSystemWatcher watcher;
    private readonly Timer debounce;
    private readonly TimeSpan quiet;

    /// <param name="modelPath">The bundle file or run directory (its model.fsdm is watched).</param>
    /// <param name="reload">Loads the model again (failures are the caller's to report).</param>
    public ModelWatcher(string modelPath, Func<Task> reload, Action<string> log, TimeSpan? quiet = null)
    {
        this.reload = reload;
        this.log = log;
        this.quiet = quiet ?? TimeSpan.FromMilliseconds(500);
        var path = Path.GetFullPath(modelPath);
        var file = Directory.Exists(path) ? Path.Combine(path, Serving.ModelBundle.ModelFile) : path;
        debounce = new Timer(_ => _ = Reload(), null, Timeout.Infinite, Timeout.Infinite);
        watcher = new FileSystemWatcher(Path.GetDirectoryName(file)!, Path.GetFileName(file))
        {
            NotifyFilter = NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.FileName | NotifyFilters.CreationTime,
        };
        watcher.Changed += (_, _) => Poke();
        watcher.Created += (_, _) => Poke();
        watcher.Renamed += (_, _) => Poke();
        watcher.EnableRaisingEvents = true;
        Watching = file;
    }

    /// <summary>The file whose changes reload the model.</summary>
    public string Watching { get; }

    private void Poke() => debounce.Change(quiet, Timeout.InfiniteTimeSpan);

    private async Task Reload()
    {
        try
        {
            await reload();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            log($"watch: reload failed: {e.Message}");
        }
    }

    public void Dispose()
    {
        watcher.Dispose();
        debounce.Dispose();
    }
}
