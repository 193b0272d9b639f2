using FsdNet.Data;
using FsdNet.Serving;

namespace FsdNet.Server;

/// <summary>How a swap ended: the new model serves, the file held the served model, or the new one could not serve.</summary>
internal enum SwapKind
{
    Swapped,
    Unchanged,
    Failed,
}

/// <summary>The outcome of <see cref="ModelSlot{T}.Swap"/>: what serves now, and why a failed load failed.</summary>
internal sealed record SwapResult<T>(SwapKind Kind, T Serving, string? Error = null);

/// <summary>A new model that loaded but must not be served (its warm-up row did not score).</summary>
internal sealed class ReloadException(string message) : Exception(message);

/// <summary>
/// The one rule of changing a served model, shared by <c>fsdnet serve</c> and <see cref="ScorerHolder"/>: the
/// replacement is loaded completely first; a load that fails, or a file that holds the model being served, leaves
/// everything as it was; otherwise the new model goes in with one reference write, so a reader that took
/// <see cref="Current"/> keeps its model to the end. One swap at a time.
/// </summary>
internal sealed class ModelSlot<T>(T initial, Func<T, string> checksum)
    where T : class
{
    private readonly Lock gate = new();
    private T current = initial;

    public T Current => Volatile.Read(ref current);

    /// <param name="load">Loads the replacement (checksums, scorer, warm-up).</param>
    /// <param name="beforeSwap">Runs with (old, new) just before the new model goes in.</param>
    public SwapResult<T> Swap(Func<T> load, Action<T, T>? beforeSwap = null)
    {
        lock (gate)
        {
            var old = Current;
            T next;
            try
            {
                next = load();
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // Known failures say what is wrong with the file; anything else also names its type.
                var reason = e is ModelFileException or DataFormatException or DataConfigException or IOException or UnauthorizedAccessException or ReloadException
                    ? e.Message
                    : $"{e.GetType().Name}: {e.Message}";
                return new SwapResult<T>(SwapKind.Failed, old, reason);
            }
            if (checksum(next) == checksum(old))
            {
                return new SwapResult<T>(SwapKind.Unchanged, old);
            }
            beforeSwap?.Invoke(old, next);
            Volatile.Write(ref current, next);
            return new SwapResult<T>(SwapKind.Swapped, next);
        }
    }
}
