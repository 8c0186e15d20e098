using LocalFunctionsHost.Rpc;
using Microsoft.Extensions.Logging;

namespace LocalFunctionsHost.Worker;

/// <summary>What the supervisor needs to start a worker.</summary>
internal sealed record WorkerStartSettings
{
    public required string ScriptRoot { get; init; }
    public required WorkerLaunch Launch { get; init; }
    public required Uri GrpcUri { get; init; }
    public required IReadOnlyDictionary<string, string> Environment { get; init; }
    public required bool InheritEnvironment { get; init; }
    public required Func<RpcFunctionMetadata, bool> Include { get; init; }
    public required Func<string, bool> IsDisabled { get; init; }
    public required TimeSpan LoadTimeout { get; init; }
    public required TimeSpan RestartDelay { get; init; }
    public required TimeSpan TerminateGracePeriod { get; init; }
    public required string HostVersion { get; init; }
}

/// <summary>
/// Starts the worker and does the handshake (StartStream → init → metadata → one load per function), keeps one ready
/// worker, and restarts it when it dies: in-flight invocations fail, restarts are spaced by the restart delay, and
/// after the third failure within 30 minutes the host gives up, as the Functions host does.
/// </summary>
internal sealed class WorkerSupervisor : IAsyncDisposable
{
    private const int MaxErrors = 3;
    private static readonly TimeSpan ErrorWindow = TimeSpan.FromMinutes(30);
    private static readonly TimeSpan StartStreamTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan InitTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan MetadataTimeout = TimeSpan.FromMinutes(1);

    private readonly WorkerStartSettings _settings;
    private readonly WorkerRegistry _registry;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly CancellationTokenSource _noRestarts = new();
    private readonly List<DateTimeOffset> _errors = [];
    private readonly TaskCompletionSource _gaveUp = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly object _gate = new();
    private TaskCompletionSource<WorkerConnection> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private WorkerConnection? _current;
    private Task _watch = Task.CompletedTask;

    public WorkerSupervisor(WorkerStartSettings settings, WorkerRegistry registry, ILoggerFactory loggerFactory)
    {
        _settings = settings;
        _registry = registry;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger("Host.Lifecycle");
    }

    /// <summary>The functions the first worker loaded, in function-name order.</summary>
    public IReadOnlyList<FunctionDescriptor> Functions { get; private set; } = [];

    public WorkerConnection? Current => _current;

    /// <summary>Completes when the host has given up restarting the worker.</summary>
    public Task GaveUp => _gaveUp.Task;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var (connection, functions) = await LaunchAsync(cancellationToken);
        Functions = functions;
        SetReady(connection);
    }

    /// <summary>The current worker once it is ready; waits while it restarts.</summary>
    public Task<WorkerConnection> GetReadyAsync(CancellationToken cancellationToken)
    {
        Task<WorkerConnection> ready;
        lock (_gate)
        {
            ready = _ready.Task;
        }

        return ready.WaitAsync(cancellationToken);
    }

    /// <summary>
    /// The host has begun to stop: a worker that exits from now on is not restarted. It keeps serving in-flight work
    /// until <see cref="StopAsync"/> ends it; this is for the worker that stops on its own first — a Ctrl-C in a
    /// terminal or a SIGTERM to the process group reaches the worker as well as the host.
    /// </summary>
    public void StopRestarting() => _noRestarts.Cancel();

    /// <summary>Restarts the worker after a function timeout (not counted as a worker failure).</summary>
    public void RestartAfterTimeout(WorkerConnection connection, string invocationId)
    {
        if (connection != _current || _stopping.IsCancellationRequested)
        {
            return;
        }

        _logger.LogError("A function timeout has occurred. Restarting worker process executing invocationId '{InvocationId}'.", invocationId);
        connection.ExitRequested = true;
        connection.Kill();
    }

    /// <summary>Kills the worker process as a crash would (for tests of recovery).</summary>
    public void KillCurrent() => _current?.Kill();

    /// <summary>WorkerTerminate, then the grace period, then kill.</summary>
    public async Task StopAsync()
    {
        if (_stopping.IsCancellationRequested)
        {
            return;
        }

        await _stopping.CancelAsync();
        await _noRestarts.CancelAsync();
        var connection = _current;
        if (connection is null)
        {
            return;
        }

        connection.ExitRequested = true;
        if (connection.HandlesWorkerTerminate && !connection.Exited.IsCompleted)
        {
            try
            {
                await connection.SendAsync(new StreamingMessage
                {
                    WorkerTerminate = new WorkerTerminate { GracePeriod = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(_settings.TerminateGracePeriod) },
                });
                await connection.Exited.WaitAsync(_settings.TerminateGracePeriod);
            }
            catch (Exception e) when (e is TimeoutException or WorkerExitedException or IOException or InvalidOperationException)
            {
                _logger.LogWarning("The worker did not stop within {GracePeriod} of WorkerTerminate; killing it.", _settings.TerminateGracePeriod);
            }
        }

        await connection.DisposeAsync();
        _registry.Remove(connection);
        try
        {
            await _watch;
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }

        if (_current is { } latest && latest != connection)
        {
            // A restart finished while we were stopping.
            await latest.DisposeAsync();
            _registry.Remove(latest);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _stopping.Dispose();
        _noRestarts.Dispose();
    }

    private void SetReady(WorkerConnection connection)
    {
        lock (_gate)
        {
            _current = connection;
            _ready.TrySetResult(connection);
        }

        _watch = WatchAsync(connection);
    }

    private async Task WatchAsync(WorkerConnection connection)
    {
        var code = await connection.Exited;
        if (_noRestarts.IsCancellationRequested)
        {
            // The host is stopping; it disposes the connection.
            if (!_stopping.IsCancellationRequested && !connection.ExitRequested)
            {
                _logger.LogInformation("Worker process {ProcessId} exited with code {ExitCode} while the host is stopping; not restarted.", connection.ProcessId, code);
            }

            return;
        }

        lock (_gate)
        {
            _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        var requested = connection.ExitRequested;
        if (!requested)
        {
            _logger.LogError("Worker process {ProcessId} exited with code {ExitCode}. stderr:\n{Stderr}", connection.ProcessId, code, connection.StandardErrorTail);
        }

        await connection.DisposeAsync();
        _registry.Remove(connection);
        var delay = requested ? TimeSpan.Zero : _settings.RestartDelay;
        while (!_noRestarts.IsCancellationRequested)
        {
            if (!requested && !CountError())
            {
                return;
            }

            try
            {
                if (delay > TimeSpan.Zero)
                {
                    _logger.LogWarning("Restarting the worker in {Delay}.", delay);
                    await Task.Delay(delay, _noRestarts.Token);
                }

                var (next, _) = await LaunchAsync(_noRestarts.Token);
                _logger.LogInformation("Worker restarted as process {ProcessId}.", next.ProcessId);
                SetReady(next);
                return;
            }
            catch (OperationCanceledException) when (_noRestarts.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is TimeoutException or WorkerExitedException or InvalidOperationException or IOException)
            {
                _logger.LogError("The worker failed to start again: {Reason}", e.Message);
                requested = false;
                delay = _settings.RestartDelay;
            }
        }
    }

    /// <summary>Counts a failure; false (and the host gives up) when this is the third within the window.</summary>
    private bool CountError()
    {
        var now = DateTimeOffset.UtcNow;
        lock (_errors)
        {
            if (_errors.Count > 0 && now - _errors[^1] > ErrorWindow)
            {
                _errors.Clear();
            }

            _errors.Add(now);
            if (_errors.Count < MaxErrors)
            {
                return true;
            }
        }

        _logger.LogCritical("Exceeded language worker restart retry count for runtime:{Language}. Shutting down the host.", _settings.Launch.Language);
        _gaveUp.TrySetResult();
        return false;
    }

    private async Task<(WorkerConnection Connection, IReadOnlyList<FunctionDescriptor> Functions)> LaunchAsync(CancellationToken cancellationToken)
    {
        var workerId = Guid.NewGuid().ToString();
        var connection = new WorkerConnection(workerId, _loggerFactory);
        _registry.Add(connection);
        try
        {
            connection.Start(_settings.Launch.StartInfo(
                _settings.ScriptRoot, _settings.GrpcUri, workerId, Guid.NewGuid().ToString(), _settings.Environment, _settings.InheritEnvironment));
            _logger.LogInformation("Started worker process {ProcessId} ({Executable}).", connection.ProcessId, _settings.Launch.Executable);
            await connection.WaitForStreamAsync(StartStreamTimeout, cancellationToken);

            var init = (await connection.RequestAsync("init", new StreamingMessage
            {
                RequestId = Guid.NewGuid().ToString(),
                WorkerInitRequest = new WorkerInitRequest
                {
                    HostVersion = _settings.HostVersion,
                    WorkerDirectory = _settings.ScriptRoot,
                    FunctionAppDirectory = _settings.ScriptRoot,
                },
            }, InitTimeout, cancellationToken)).WorkerInitResponse;
            EnsureSuccess(init.Result, "WorkerInitRequest");
            connection.ApplyInitResponse(init);

            var metadata = (await connection.RequestAsync("metadata", new StreamingMessage
            {
                RequestId = Guid.NewGuid().ToString(),
                FunctionsMetadataRequest = new FunctionsMetadataRequest { FunctionAppDirectory = _settings.ScriptRoot },
            }, MetadataTimeout, cancellationToken)).FunctionMetadataResponse;
            EnsureSuccess(metadata.Result, "FunctionsMetadataRequest");
            if (metadata.UseDefaultMetadataIndexing)
            {
                throw new InvalidOperationException("The worker asked the host to index functions from files; this host only supports worker indexing (isolated worker apps).");
            }

            var functions = metadata.FunctionMetadataResults
                .Where(_settings.Include)
                .Select(m => new FunctionDescriptor(m, _settings.IsDisabled(m.Name)))
                .OrderBy(f => f.Disabled)
                .ThenBy(f => f.Name, StringComparer.OrdinalIgnoreCase)
                .ToList();

            var loads = functions.Select(f => connection.RequestAsync("load:" + f.FunctionId, new StreamingMessage
            {
                RequestId = Guid.NewGuid().ToString(),
                FunctionLoadRequest = new FunctionLoadRequest { FunctionId = f.FunctionId, Metadata = f.Metadata },
            }, _settings.LoadTimeout, cancellationToken)).ToArray();
            var responses = await Task.WhenAll(loads);
            var loaded = new List<FunctionDescriptor>();
            for (var i = 0; i < functions.Count; i++)
            {
                var result = responses[i].FunctionLoadResponse.Result;
                if (result.Status == StatusResult.Types.Status.Success)
                {
                    loaded.Add(functions[i]);
                }
                else
                {
                    _logger.LogError("Function '{Function}' failed to load: {Error}", functions[i].Name, result.Exception?.Message ?? result.Result);
                }
            }

            return (connection, loaded.OrderBy(f => f.Name, StringComparer.OrdinalIgnoreCase).ToArray());
        }
        catch
        {
            await connection.DisposeAsync();
            _registry.Remove(connection);
            throw;
        }
    }

    private static void EnsureSuccess(StatusResult? result, string request)
    {
        if (result is null || result.Status != StatusResult.Types.Status.Success)
        {
            throw new InvalidOperationException($"The worker failed {request}: {result?.Exception?.Message ?? result?.Result ?? "no result"}");
        }
    }
}
