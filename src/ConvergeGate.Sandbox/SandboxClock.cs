using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace ConvergeGate.Sandbox;

/// <summary>
/// The sandbox's time source and scheduler. In real mode it follows the system clock (plus any offset added by
/// <see cref="AdvanceAsync"/>); in manual mode it stands still until advanced. All sandbox timers (BLIK
/// confirmations, expiries, refund settlement, webhook retries) run on this clock. With a clock file
/// (<see cref="SandboxOptions.ClockFile"/>) every move is published there as an offset from real time: the test clock
/// an app in Development follows (its <c>TestClock__File</c>).
/// </summary>
public sealed class SandboxClock : TimeProvider, IDisposable
{
    private readonly object _gate = new();
    private readonly SortedSet<WorkItem> _queue = new(WorkItem.Comparer);
    private readonly SemaphoreSlim _runLock = new(1, 1);
    private readonly SemaphoreSlim _signal = new(0, int.MaxValue);
    private DateTimeOffset _manualNow;
    private TimeSpan _offset;
    private long _sequence;
    private ILogger _logger = Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
    private string? _file;
    private DateTime _lastFileStamp;
    private long? _published;

    internal SandboxClock(bool manual, DateTimeOffset? start)
    {
        IsManual = manual;
        var now = start ?? System.GetUtcNow();
        _manualNow = start ?? DateTimeOffset.FromUnixTimeSeconds(now.ToUnixTimeSeconds());
    }

    /// <summary>
    /// How many due work items a manual <see cref="AdvanceAsync"/> runs at once (<see cref="SandboxOptions.ConcurrentWork"/>).
    /// 1 runs them one after another in due order; more starts each in due order without waiting for the ones before
    /// it to finish, as a gateway delivering webhooks in parallel does.
    /// </summary>
    internal int ConcurrentWork { get; init; } = 1;

    /// <summary>True when time only moves on <see cref="AdvanceAsync"/>.</summary>
    public bool IsManual { get; }

    /// <summary>Number of scheduled work items not yet run.</summary>
    public int PendingWorkCount
    {
        get { lock (_gate) { return _queue.Count; } }
    }

    /// <summary>When the next scheduled work item is due, if any.</summary>
    public DateTimeOffset? NextDueAt
    {
        get { lock (_gate) { return _queue.Count == 0 ? null : _queue.Min!.Due; } }
    }

    /// <inheritdoc />
    public override DateTimeOffset GetUtcNow()
    {
        lock (_gate)
        {
            return IsManual ? _manualNow : System.GetUtcNow() + _offset;
        }
    }

    /// <summary>Current sandbox time as Unix seconds.</summary>
    public long UnixNow => GetUtcNow().ToUnixTimeSeconds();

    /// <summary>
    /// Moves the clock forward and runs, in due order and at their due times, all work that becomes due
    /// (including webhook HTTP calls). Returns when that work has finished.
    /// </summary>
    public async Task AdvanceAsync(TimeSpan by, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(by, TimeSpan.Zero);
        await _runLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!IsManual)
            {
                lock (_gate) { _offset += by; }
                Publish();
                await RunDueLockedAsync(untilIdle: true, cancellationToken).ConfigureAwait(false);
                return;
            }

            DateTimeOffset target;
            lock (_gate) { target = _manualNow + by; }
            var running = new List<Task>();
            while (true)
            {
                WorkItem? item;
                var reachedTarget = false;
                lock (_gate)
                {
                    item = _queue.Count > 0 && _queue.Min!.Due <= target ? _queue.Min : null;
                    if (item is null)
                    {
                        // Work still running may schedule more before the target, so the clock reaches the target only
                        // once nothing runs.
                        if (running.Count == 0)
                        {
                            _manualNow = target;
                            reachedTarget = true;
                        }
                    }
                    else
                    {
                        _queue.Remove(item);
                        if (item.Due > _manualNow)
                        {
                            _manualNow = item.Due;
                        }
                    }
                }

                if (item is null && !reachedTarget)
                {
                    await FinishOneAsync(running).ConfigureAwait(false);
                    continue;
                }

                // Published before the work runs, so an app handling what it sends sees the same time.
                Publish();
                if (item is null)
                {
                    break;
                }

                if (ConcurrentWork <= 1)
                {
                    await RunItemAsync(item, cancellationToken).ConfigureAwait(false);
                    continue;
                }

                running.Add(RunItemAsync(item, cancellationToken));
                if (running.Count >= ConcurrentWork)
                {
                    await FinishOneAsync(running).ConfigureAwait(false);
                }
            }

            await Task.WhenAll(running).ConfigureAwait(false);
        }
        finally
        {
            _runLock.Release();
        }
    }

    private static async Task FinishOneAsync(List<Task> running)
    {
        var done = await Task.WhenAny(running).ConfigureAwait(false);
        running.Remove(done);
        await done.ConfigureAwait(false);
    }

    /// <summary>Synchronous form of <see cref="AdvanceAsync"/>.</summary>
    public void Advance(TimeSpan by) => Task.Run(() => AdvanceAsync(by)).GetAwaiter().GetResult();

    /// <summary>Runs everything already due (e.g. the first attempt of a webhook just queued) and returns when done.</summary>
    public Task RunDueWorkAsync(CancellationToken cancellationToken = default) => AdvanceAsync(TimeSpan.Zero, cancellationToken);

    internal void AttachLogger(ILogger logger) => _logger = logger;

    /// <summary>The clock file this clock publishes to, if any.</summary>
    public string? ClockFile => _file;

    /// <summary>Starts publishing this clock's offset from real time to <paramref name="path"/> (now, and after every move).</summary>
    internal void PublishTo(string path)
    {
        _file = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(_file)!);
        Publish();
    }

    /// <summary>Removes the clock file (the sandbox is stopping: an app reading it falls back to real time).</summary>
    internal void Unpublish()
    {
        if (_file is { } file)
        {
            _file = null;
            File.Delete(file);
        }
    }

    /// <summary>
    /// Writes <c>{"offset": "d.hh:mm:ss.fffffff", "now": "…", "manual": …}</c>: offset = this clock − real time at the
    /// moment of writing, now = this clock. A reader in manual mode takes <c>now</c> (its clock stands still with this
    /// one); otherwise real time + offset. Written only when it changes, replaced in one step, and each version gets a
    /// later modification time than the one before (file systems stamp in coarse ticks), so a reader that re-reads when
    /// the time changes never misses a move.
    /// </summary>
    private void Publish()
    {
        var file = _file;
        if (file is null)
        {
            return;
        }

        DateTimeOffset now;
        TimeSpan offset;
        var manual = IsManual;
        lock (_gate)
        {
            now = manual ? _manualNow : System.GetUtcNow() + _offset;
            offset = manual ? _manualNow - System.GetUtcNow() : _offset;
        }

        lock (_fileGate)
        {
            var position = manual ? now.UtcTicks : offset.Ticks;
            if (_published == position)
            {
                return;
            }

            _published = position;
            var json = JsonSerializer.Serialize(new
            {
                offset = offset.ToString("c", CultureInfo.InvariantCulture),
                now = now.ToString("o", CultureInfo.InvariantCulture),
                manual,
            });
            var temporary = $"{file}.{Environment.ProcessId}.tmp";
            File.WriteAllText(temporary, json);
            var stamp = DateTime.UtcNow;
            _lastFileStamp = stamp > _lastFileStamp.AddMilliseconds(1) ? stamp : _lastFileStamp.AddMilliseconds(1);
            File.SetLastWriteTimeUtc(temporary, _lastFileStamp);
            File.Move(temporary, file, overwrite: true);
        }
    }

    private readonly object _fileGate = new();

    internal void Schedule(DateTimeOffset due, string description, Func<CancellationToken, Task> work)
    {
        lock (_gate)
        {
            _queue.Add(new WorkItem(due, ++_sequence, description, work));
        }

        _signal.Release();
    }

    internal void ClearScheduledWork()
    {
        lock (_gate) { _queue.Clear(); }
    }

    internal async Task PumpAsync(CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            var wait = Timeout.InfiniteTimeSpan;
            if (!IsManual)
            {
                var next = NextDueAt;
                wait = next is null ? TimeSpan.FromSeconds(1) : next.Value - GetUtcNow();
                if (wait < TimeSpan.Zero)
                {
                    wait = TimeSpan.Zero;
                }
                else if (wait > TimeSpan.FromSeconds(1))
                {
                    wait = TimeSpan.FromSeconds(1);
                }
            }

            try
            {
                if (wait != TimeSpan.Zero)
                {
                    await _signal.WaitAsync(wait, stopping).ConfigureAwait(false);
                }

                await _runLock.WaitAsync(stopping).ConfigureAwait(false);
                try
                {
                    await RunDueLockedAsync(untilIdle: false, stopping).ConfigureAwait(false);
                }
                finally
                {
                    _runLock.Release();
                }
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
        }
    }

    /// <summary>
    /// Runs the work due now (<see cref="ConcurrentWork"/> at a time). With <paramref name="untilIdle"/>, also what that
    /// work schedules for now, until nothing is due (an advance returns when its work has finished). Without it (the
    /// pump), only what was scheduled before this call: work scheduled meanwhile waits for the next pass, so the lock is
    /// released between passes and an advance is never starved by a stream of new work due at a clock that stands still.
    /// </summary>
    private async Task RunDueLockedAsync(bool untilIdle, CancellationToken cancellationToken)
    {
        var last = long.MaxValue;
        if (!untilIdle)
        {
            lock (_gate) { last = _sequence; }
        }

        var running = new List<Task>();
        while (true)
        {
            WorkItem? item;
            lock (_gate)
            {
                var now = IsManual ? _manualNow : System.GetUtcNow() + _offset;
                item = _queue.Count > 0 && _queue.Min!.Due <= now && _queue.Min.Sequence <= last ? _queue.Min : null;
                if (item is not null)
                {
                    _queue.Remove(item);
                }
            }

            if (item is null)
            {
                if (running.Count == 0)
                {
                    return;
                }

                await FinishOneAsync(running).ConfigureAwait(false);
                continue;
            }

            if (ConcurrentWork <= 1)
            {
                await RunItemAsync(item, cancellationToken).ConfigureAwait(false);
                continue;
            }

            running.Add(RunItemAsync(item, cancellationToken));
            if (running.Count >= ConcurrentWork)
            {
                await FinishOneAsync(running).ConfigureAwait(false);
            }
        }
    }

    private async Task RunItemAsync(WorkItem item, CancellationToken cancellationToken)
    {
        try
        {
            await item.Work(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            _logger.LogError(ex, "Scheduled work {Work} failed", item.Description);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _runLock.Dispose();
        _signal.Dispose();
    }

    private sealed record WorkItem(DateTimeOffset Due, long Sequence, string Description, Func<CancellationToken, Task> Work)
    {
        public static readonly IComparer<WorkItem> Comparer = Comparer<WorkItem>.Create((a, b) =>
        {
            var c = a.Due.CompareTo(b.Due);
            return c != 0 ? c : a.Sequence.CompareTo(b.Sequence);
        });
    }
}
