using System.Globalization;
using System.Text.Json;
using Azure;
using Azure.Storage.Blobs;
using LocalFunctionsHost.Configuration;
using LocalFunctionsHost.Invocation;
using Microsoft.Extensions.Logging;

namespace LocalFunctionsHost.Timers;

/// <summary>The schedule status the monitor keeps in storage (and the worker's TimerInfo.ScheduleStatus).</summary>
internal sealed record ScheduleStatus(DateTime Last, DateTime Next, DateTime LastUpdated);

/// <summary>
/// A timer trigger for one function, on the host instance that holds the function's listener lock: runs on the
/// schedule (UTC), never overlapping itself; after an overrun it runs once more at once and drops the other missed
/// occurrences; a failure is logged and the schedule goes on. With the schedule monitor, the status blob gives the
/// worker its ScheduleStatus and, at start, one past-due run when an occurrence was missed while no host ran.
/// </summary>
internal sealed class TimerListener : IAsyncDisposable
{
    private static readonly JsonSerializerOptions StatusJson = new() { PropertyNamingPolicy = null };

    private readonly FunctionDescriptor _function;
    private readonly Invoker _invoker;
    private readonly ListenerLease _lease;
    private readonly BlobClient _statusBlob;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _runGate = new(1, 1);
    private readonly CancellationTokenSource _stopping = new();
    private readonly CancellationTokenSource _abortRun = new();
    private readonly bool _runOnStartup;
    private Task _loop = Task.CompletedTask;
    private ScheduleStatus? _status;

    public TimerListener(FunctionDescriptor function, Invoker invoker, AppSettings settings, BlobServiceClient hostStorage, string hostId, TimeSpan lockPeriod, TimeSpan lockRecovery, ILoggerFactory loggerFactory)
    {
        _function = function;
        _invoker = invoker;
        _logger = loggerFactory.CreateLogger($"Host.Triggers.Timer.{function.Name}");
        var expression = function.Trigger.String("schedule") ?? throw new InvalidOperationException($"The timer trigger of '{function.Name}' has no schedule.");
        Schedule = TimerSchedule.Parse(settings.Resolve(expression));
        UseMonitor = (function.Trigger.Bool("useMonitor") ?? true) && Schedule.MonitorByDefault;
        _runOnStartup = function.Trigger.Bool("runOnStartup") ?? false;
        var name = $"Host.Functions.{function.Name}";
        _lease = new ListenerLease(hostStorage, hostId, name + ".Listener", lockPeriod, lockRecovery, _logger);
        _statusBlob = hostStorage.GetBlobContainerClient(ListenerLease.Container).GetBlobClient($"timers/{hostId}/{name}/status");
    }

    public FunctionDescriptor Function => _function;

    public TimerSchedule Schedule { get; }

    public bool UseMonitor { get; }

    public void Start() => _loop = Task.Run(() => RunAsync(_stopping.Token));

    /// <summary>Runs the function now (admin invoke), after any run in progress.</summary>
    public Task<InvocationOutcome> InvokeNowAsync(CancellationToken cancellationToken) => RunOnceAsync(isPastDue: false, cancellationToken);

    /// <summary>Stops scheduling; a run in progress gets <paramref name="drain"/> to finish, then is cancelled.</summary>
    public async Task StopAsync(TimeSpan drain)
    {
        await _stopping.CancelAsync();
        try
        {
            await _loop.WaitAsync(drain);
        }
        catch (TimeoutException)
        {
            await _abortRun.CancelAsync();
            await _loop;
        }

        // An admin run may still hold the gate.
        if (await _runGate.WaitAsync(drain))
        {
            _runGate.Release();
        }
        else
        {
            await _abortRun.CancelAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(TimeSpan.Zero);
        _stopping.Dispose();
        _abortRun.Dispose();
    }

    private async Task RunAsync(CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            string leaseId;
            try
            {
                leaseId = await _lease.AcquireAsync(stopping);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            using var held = CancellationTokenSource.CreateLinkedTokenSource(stopping);
            var hold = _lease.HoldAsync(leaseId, held.Token).ContinueWith(
                _ => held.Cancel(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            try
            {
                await ScheduleAsync(held.Token);
            }
            catch (OperationCanceledException)
            {
                // Stopping, or the lock was lost: try to take it again unless stopping.
            }
            finally
            {
                await held.CancelAsync();
                await hold;
                await _lease.ReleaseAsync(leaseId);
            }
        }
    }

    private async Task ScheduleAsync(CancellationToken cancellationToken)
    {
        var now = DateTime.UtcNow;
        var pastDue = false;
        if (UseMonitor)
        {
            _status = await ReadStatusAsync(cancellationToken);
            if (_status is { } status)
            {
                var scheduledNext = Schedule.Next(status.Last == default ? status.LastUpdated : status.Last);
                if (scheduledNext != status.Next)
                {
                    // The schedule changed since the status was written: start afresh, nothing is past due.
                    _logger.LogInformation("The schedule of '{Function}' changed; resetting its schedule status.", _function.Name);
                    _status = null;
                }
                else
                {
                    pastDue = status.Next < now;
                }
            }

            if (_status is null)
            {
                _status = new ScheduleStatus(default, Schedule.Next(now), now);
                await WriteStatusAsync(_status, cancellationToken);
            }
        }

        DateTime next;
        if (pastDue || _runOnStartup)
        {
            if (pastDue)
            {
                _logger.LogInformation("Timer for '{Function}' is past due (missed {Next:o}); running it now.", _function.Name, _status!.Next);
            }

            next = await RunScheduledAsync(pastDue, cancellationToken);
        }
        else
        {
            next = _status is { } current && current.Next > now ? current.Next : Schedule.Next(now);
        }

        while (true)
        {
            // Wait until the occurrence; a timer that wakes early waits again, so one occurrence never runs twice.
            for (var wait = next - DateTime.UtcNow; wait > TimeSpan.Zero; wait = next - DateTime.UtcNow)
            {
                await Task.Delay(wait, cancellationToken);
            }

            next = await RunScheduledAsync(isPastDue: false, cancellationToken);
        }
    }

    /// <summary>Runs once and returns the next occurrence after this run's start (in the past after an overrun: one catch-up run).</summary>
    private async Task<DateTime> RunScheduledAsync(bool isPastDue, CancellationToken cancellationToken)
    {
        var started = DateTime.UtcNow;
        await RunOnceAsync(isPastDue, cancellationToken);
        var next = Schedule.Next(started);
        if (UseMonitor)
        {
            _status = new ScheduleStatus(started, next, DateTime.UtcNow);
            await WriteStatusAsync(_status, CancellationToken.None);
        }

        return next;
    }

    private async Task<InvocationOutcome> RunOnceAsync(bool isPastDue, CancellationToken cancellationToken)
    {
        await _runGate.WaitAsync(cancellationToken);
        try
        {
            var timerInfo = JsonSerializer.Serialize(new
            {
                Schedule = new { AdjustForDST = true },
                ScheduleStatus = UseMonitor ? _status : null,
                IsPastDue = isPastDue,
            }, StatusJson);
            // A run in progress is not cut short by a lost lock or a stop; only by the drain running out.
            var outcome = await _invoker.InvokeAsync(
                _function,
                request =>
                {
                    request.InputData.Add(new Rpc.ParameterBinding { Name = _function.Trigger.Name, Data = new Rpc.TypedData { Json = timerInfo } });
                    request.TriggerMetadata["TimerTrigger"] = new Rpc.TypedData { String = DateTime.Now.ToString(CultureInfo.InvariantCulture) };
                },
                _abortRun.Token);
            if (!outcome.Succeeded)
            {
                _logger.LogWarning("Timer function '{Function}' failed; the schedule continues: {Error}", _function.Name, outcome.Error);
            }

            return outcome;
        }
        finally
        {
            _runGate.Release();
        }
    }

    private async Task<ScheduleStatus?> ReadStatusAsync(CancellationToken cancellationToken)
    {
        try
        {
            var content = await _statusBlob.DownloadContentAsync(cancellationToken);
            return JsonSerializer.Deserialize<ScheduleStatus>(content.Value.Content.ToString(), StatusJson);
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
        catch (Exception e) when (e is RequestFailedException or JsonException or HttpRequestException or IOException)
        {
            _logger.LogWarning("Could not read the schedule status of '{Function}': {Error}", _function.Name, e.Message);
            return null;
        }
    }

    private async Task WriteStatusAsync(ScheduleStatus status, CancellationToken cancellationToken)
    {
        try
        {
            await _statusBlob.UploadAsync(BinaryData.FromObjectAsJson(status, StatusJson), overwrite: true, cancellationToken);
        }
        catch (Exception e) when (e is RequestFailedException or HttpRequestException or IOException)
        {
            _logger.LogWarning("Could not write the schedule status of '{Function}': {Error}", _function.Name, e.Message);
        }
    }
}
