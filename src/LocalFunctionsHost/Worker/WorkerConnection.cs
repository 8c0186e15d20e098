using System.Collections.Concurrent;
using System.Diagnostics;
using Grpc.Core;
using LocalFunctionsHost.Rpc;
using Microsoft.Extensions.Logging;

namespace LocalFunctionsHost.Worker;

/// <summary>The worker died or was stopped while an invocation or request was waiting for it.</summary>
internal sealed class WorkerExitedException(string message) : Exception(message);

/// <summary>
/// One worker process and its event stream: sends messages, routes responses to whoever waits for them, relays the
/// worker's logs, and fails everything still waiting when the process exits.
/// </summary>
internal sealed class WorkerConnection : IAsyncDisposable
{
    private const int StderrLines = 30;

    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly TaskCompletionSource<IServerStreamWriter<StreamingMessage>> _stream = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ConcurrentDictionary<string, TaskCompletionSource<StreamingMessage>> _requests = new();
    private readonly ConcurrentDictionary<string, PendingInvocation> _invocations = new();
    private readonly ConcurrentDictionary<string, ILogger> _workerLoggers = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _closed = new();
    private readonly Queue<string> _stderr = new();
    private readonly TaskCompletionSource<int> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Process? _process;
    private int _disposed;

    public WorkerConnection(string workerId, ILoggerFactory loggerFactory)
    {
        WorkerId = workerId;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger("Host.Worker");
    }

    public string WorkerId { get; }

    public int ProcessId { get; private set; }

    /// <summary>Completes with the exit code when the process has exited.</summary>
    public Task<int> Exited => _exited.Task;

    /// <summary>The worker's own HTTP server (ASP.NET Core integration), from its init response.</summary>
    public Uri? HttpUri { get; private set; }

    public bool HandlesWorkerTerminate { get; private set; }

    public bool HandlesInvocationCancel { get; private set; }

    /// <summary>Set when the host asked for this exit (stop, restart after a timeout), so it is not counted as a crash.</summary>
    public bool ExitRequested { get; set; }

    public int InFlight => _invocations.Count;

    public string StandardErrorTail
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.Count == 0 ? "(empty)" : string.Join('\n', _stderr);
            }
        }
    }

    public void Start(ProcessStartInfo startInfo)
    {
        var process = new Process { StartInfo = startInfo, EnableRaisingEvents = true };
        var console = _loggerFactory.CreateLogger("Host.Worker.Console");
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                console.LogInformation("{Line}", e.Data);
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }

            lock (_stderr)
            {
                _stderr.Enqueue(e.Data);
                while (_stderr.Count > StderrLines)
                {
                    _stderr.Dequeue();
                }
            }

            console.LogWarning("{Line}", e.Data);
        };
        process.Exited += (_, _) => OnExited(process);
        if (!process.Start())
        {
            throw new InvalidOperationException($"Could not start the worker process '{startInfo.FileName}'.");
        }

        _process = process;
        ProcessId = process.Id;
        // A host that exits without stopping (a test run ending, an unhandled crash) takes its worker with it.
        AppDomain.CurrentDomain.ProcessExit += OnHostExit;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    /// <summary>Serves the worker's event stream until it ends, the connection closes or the server stops.</summary>
    public async Task RunStreamAsync(IAsyncStreamReader<StreamingMessage> reader, IServerStreamWriter<StreamingMessage> writer, CancellationToken cancellationToken)
    {
        if (!_stream.TrySetResult(writer))
        {
            throw new Grpc.Core.RpcException(new Status(StatusCode.AlreadyExists, $"Worker {WorkerId} already has a stream."));
        }

        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _closed.Token);
        try
        {
            while (await reader.MoveNext(linked.Token))
            {
                OnMessage(reader.Current);
            }
        }
        catch (OperationCanceledException)
        {
            // Closed by us or by the server stopping.
        }
        catch (IOException)
        {
            // The worker went away mid-stream; its exit is handled by the process watcher.
        }
        finally
        {
            FailAll("The worker's event stream ended.");
        }
    }

    public async Task<IServerStreamWriter<StreamingMessage>> WaitForStreamAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        var exited = Exited;
        var stream = _stream.Task;
        try
        {
            var first = await Task.WhenAny(stream, exited).WaitAsync(cts.Token);
            if (first == exited)
            {
                throw new WorkerExitedException($"The worker exited with code {await exited} before connecting. stderr:\n{StandardErrorTail}");
            }

            return await stream;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"The worker did not open its event stream within {timeout.TotalSeconds:0} s. stderr:\n{StandardErrorTail}");
        }
    }

    public async Task SendAsync(StreamingMessage message, CancellationToken cancellationToken = default)
    {
        var writer = await _stream.Task.WaitAsync(cancellationToken);
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            if (_closed.IsCancellationRequested)
            {
                throw new WorkerExitedException("The worker connection is closed.");
            }

            await writer.WriteAsync(message, cancellationToken);
        }
        catch (InvalidOperationException e)
        {
            // The call has completed (the worker went away).
            throw new WorkerExitedException($"Could not write to the worker: {e.Message}");
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Sends a request and waits for the response that <paramref name="key"/> identifies.</summary>
    public async Task<StreamingMessage> RequestAsync(string key, StreamingMessage message, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var pending = _requests.GetOrAdd(key, _ => new(TaskCreationOptions.RunContinuationsAsynchronously));
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        try
        {
            await SendAsync(message, cts.Token);
            return await pending.Task.WaitAsync(cts.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"The worker did not answer {message.ContentCase} within {timeout.TotalSeconds:0} s.");
        }
        finally
        {
            _requests.TryRemove(key, out _);
        }
    }

    public void ApplyInitResponse(WorkerInitResponse response)
    {
        HttpUri = response.Capabilities.TryGetValue("HttpUri", out var uri) && Uri.TryCreate(uri, UriKind.Absolute, out var parsed) ? parsed : null;
        HandlesWorkerTerminate = response.Capabilities.ContainsKey("HandlesWorkerTerminateMessage");
        HandlesInvocationCancel = response.Capabilities.ContainsKey("HandlesInvocationCancelMessage");
    }

    public PendingInvocation Register(string invocationId, string functionName)
    {
        var pending = new PendingInvocation(functionName);
        if (_closed.IsCancellationRequested)
        {
            pending.Response.TrySetException(new WorkerExitedException("The worker connection is closed."));
            return pending;
        }

        _invocations[invocationId] = pending;
        return pending;
    }

    public void Unregister(string invocationId) => _invocations.TryRemove(invocationId, out _);

    /// <summary>Kills the process tree at once.</summary>
    public void Kill()
    {
        try
        {
            if (_process is { HasExited: false } process)
            {
                process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        ExitRequested = true;
        Kill();
        if (_process is not null)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await _process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                _logger.LogWarning("Worker process {ProcessId} did not exit within 10 s of being killed.", ProcessId);
            }
        }

        AppDomain.CurrentDomain.ProcessExit -= OnHostExit;
        Close();
        _process?.Dispose();
        // _writeLock is not disposed: a request that took this connection just before the worker died may still send
        // on it, and must find it closed (WorkerExitedException, the request answers 502) rather than a disposed lock
        // (an ObjectDisposedException that escaped as a 500). The lock holds no wait handle, so nothing leaks.
        _closed.Dispose();
    }

    private void OnHostExit(object? sender, EventArgs e) => Kill();

    private void OnExited(Process process)
    {
        int code;
        try
        {
            // Let the redirected streams finish so the stderr tail is complete.
            process.WaitForExit();
            code = process.ExitCode;
        }
        catch (InvalidOperationException)
        {
            code = -1;
        }

        Close();
        _exited.TrySetResult(code);
    }

    private void Close()
    {
        if (!_closed.IsCancellationRequested)
        {
            try
            {
                _closed.Cancel();
            }
            catch (ObjectDisposedException)
            {
                return;
            }
        }

        FailAll(ExitRequested ? "The worker was stopped." : $"The worker process {ProcessId} exited.");
    }

    private void FailAll(string reason)
    {
        foreach (var (id, pending) in _invocations)
        {
            if (_invocations.TryRemove(id, out _))
            {
                pending.Response.TrySetException(new WorkerExitedException(reason));
            }
        }

        foreach (var (key, request) in _requests)
        {
            if (_requests.TryRemove(key, out _))
            {
                request.TrySetException(new WorkerExitedException(reason));
            }
        }
    }

    private void OnMessage(StreamingMessage message)
    {
        switch (message.ContentCase)
        {
            case StreamingMessage.ContentOneofCase.WorkerInitResponse:
                Complete("init", message);
                break;
            case StreamingMessage.ContentOneofCase.FunctionMetadataResponse:
                Complete("metadata", message);
                break;
            case StreamingMessage.ContentOneofCase.FunctionLoadResponse:
                Complete("load:" + message.FunctionLoadResponse.FunctionId, message);
                break;
            case StreamingMessage.ContentOneofCase.InvocationResponse:
                if (_invocations.TryRemove(message.InvocationResponse.InvocationId, out var pending))
                {
                    pending.Response.TrySetResult(message.InvocationResponse);
                }

                break;
            case StreamingMessage.ContentOneofCase.RpcLog:
                Relay(message.RpcLog);
                break;
            default:
                // WorkerStatus, environment reload, warm-up and the rest: not used locally.
                break;
        }
    }

    private void Complete(string key, StreamingMessage message)
    {
        if (_requests.TryGetValue(key, out var pending))
        {
            pending.TrySetResult(message);
        }
    }

    private void Relay(RpcLog log)
    {
        var level = log.Level switch
        {
            RpcLog.Types.Level.Trace => LogLevel.Trace,
            RpcLog.Types.Level.Debug => LogLevel.Debug,
            RpcLog.Types.Level.Information => LogLevel.Information,
            RpcLog.Types.Level.Warning => LogLevel.Warning,
            RpcLog.Types.Level.Error => LogLevel.Error,
            RpcLog.Types.Level.Critical => LogLevel.Critical,
            _ => LogLevel.None,
        };
        if (level == LogLevel.None || log.LogCategory == RpcLog.Types.RpcLogCategory.CustomMetric)
        {
            return;
        }

        ILogger logger;
        if (string.IsNullOrEmpty(log.InvocationId))
        {
            // Outside an invocation: under the worker's own category, so a logging filter can tell the app's logs
            // (Host.Worker.MyApp...) from the framework's (Host.Worker.Microsoft...).
            if (string.IsNullOrEmpty(log.Category))
            {
                logger = _logger;
            }
            else
            {
                logger = _workerLoggers.GetOrAdd(log.Category, category => _loggerFactory.CreateLogger("Host.Worker." + category));
                if (log.Exception is { Message.Length: > 0 } error)
                {
                    logger.Log(level, "{Message} ({ExceptionType}: {ExceptionMessage})", log.Message, error.Type, error.Message);
                }
                else
                {
                    logger.Log(level, "{Message}", log.Message);
                }

                return;
            }
        }
        else if (_invocations.TryGetValue(log.InvocationId, out var pending))
        {
            logger = _loggerFactory.CreateLogger(log.LogCategory == RpcLog.Types.RpcLogCategory.User
                ? $"Function.{pending.FunctionName}.User"
                : $"Function.{pending.FunctionName}");
        }
        else
        {
            // Logs for invocations the host does not know are dropped, as the Functions host does.
            return;
        }

        if (log.Exception is { } exception && !string.IsNullOrEmpty(exception.Message))
        {
            logger.Log(level, "[{Category}] {Message} ({ExceptionType}: {ExceptionMessage})", log.Category, log.Message, exception.Type, exception.Message);
        }
        else
        {
            logger.Log(level, "[{Category}] {Message}", log.Category, log.Message);
        }
    }
}

/// <summary>An invocation sent to the worker, waiting for its response.</summary>
internal sealed class PendingInvocation(string functionName)
{
    public string FunctionName { get; } = functionName;

    public TaskCompletionSource<InvocationResponse> Response { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}
