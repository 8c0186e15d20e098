using System.Diagnostics;
using LocalFunctionsHost.Rpc;
using LocalFunctionsHost.Worker;
using Microsoft.Extensions.Logging;

namespace LocalFunctionsHost.Invocation;

/// <summary>How an invocation ended.</summary>
internal sealed record InvocationOutcome(bool Succeeded, string? Error, InvocationResponse? Response, bool TimedOut = false)
{
    public static InvocationOutcome Failed(string error, bool timedOut = false) => new(false, error, null, timedOut);
}

/// <summary>
/// Sends invocations to the worker and turns their ends into outcomes: the response's status (Cancelled counts as a
/// failure), functionTimeout (cancel, fail, restart the worker), a caller's cancellation (InvocationCancel), a worker
/// that died. Output bindings are written only after a Success, before the outcome is reported.
/// </summary>
internal sealed class Invoker(WorkerSupervisor supervisor, OutputBindings outputs, TimeSpan? functionTimeout, ILoggerFactory loggerFactory)
{
    private readonly ILogger _logger = loggerFactory.CreateLogger("Host.Results");
    private readonly TimeSpan? _functionTimeout = functionTimeout;

    internal WorkerSupervisor Supervisor { get; } = supervisor;

    /// <summary>Prepares an invocation on the ready worker; <see cref="Invocation.SendAsync"/> sends it.</summary>
    public async Task<Invocation> CreateAsync(FunctionDescriptor function, CancellationToken cancellationToken)
    {
        var connection = await Supervisor.GetReadyAsync(cancellationToken);
        return new Invocation(this, function, connection, cancellationToken);
    }

    public async Task<InvocationOutcome> InvokeAsync(FunctionDescriptor function, Action<InvocationRequest> fill, CancellationToken cancellationToken)
    {
        using var invocation = await CreateAsync(function, cancellationToken);
        fill(invocation.Request);
        return await invocation.SendAsync();
    }

    internal sealed class Invocation : IDisposable
    {
        private readonly Invoker _invoker;
        private readonly WorkerConnection _connection;
        private readonly CancellationTokenSource _timeout = new();
        private readonly CancellationTokenSource _cancel;
        private readonly PendingInvocation _pending;
        private readonly Stopwatch _elapsed = Stopwatch.StartNew();

        public Invocation(Invoker invoker, FunctionDescriptor function, WorkerConnection connection, CancellationToken cancellationToken)
        {
            _invoker = invoker;
            _connection = connection;
            Function = function;
            Id = Guid.NewGuid().ToString();
            _cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _timeout.Token);
            if (invoker._functionTimeout is { } limit)
            {
                _timeout.CancelAfter(limit);
            }

            Request = new InvocationRequest
            {
                InvocationId = Id,
                FunctionId = function.FunctionId,
                // The worker needs a trace context on every invocation.
                TraceContext = new RpcTraceContext { TraceParent = Activity.Current?.Id ?? NewTraceParent() },
            };
            _pending = connection.Register(Id, function.Name);
        }

        public string Id { get; }

        public FunctionDescriptor Function { get; }

        public InvocationRequest Request { get; }

        public WorkerConnection Connection => _connection;

        /// <summary>Fires on functionTimeout or the caller's cancellation.</summary>
        public CancellationToken Aborted => _cancel.Token;

        /// <summary>Cancels the invocation (InvocationCancel is sent); it ends as failed.</summary>
        public void Cancel()
        {
            try
            {
                _cancel.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // Already over.
            }
        }

        public async Task<InvocationOutcome> SendAsync()
        {
            InvocationOutcome outcome;
            try
            {
                await _connection.SendAsync(new StreamingMessage { RequestId = Id, InvocationRequest = Request }, _cancel.Token);
                var response = await _pending.Response.Task.WaitAsync(_cancel.Token);
                outcome = response.Result?.Status == StatusResult.Types.Status.Success
                    ? await _invoker.CompleteAsync(Function, response)
                    : new InvocationOutcome(false, Describe(response.Result), response);
            }
            catch (OperationCanceledException) when (_cancel.IsCancellationRequested)
            {
                await SendCancelAsync();
                if (_timeout.IsCancellationRequested)
                {
                    _invoker.Supervisor.RestartAfterTimeout(_connection, Id);
                    outcome = InvocationOutcome.Failed($"Timeout value of {_invoker._functionTimeout} exceeded by function '{Function.Name}' (Id: '{Id}'). Initiating cancellation.", timedOut: true);
                }
                else
                {
                    outcome = InvocationOutcome.Failed("The invocation was cancelled.");
                }
            }
            catch (WorkerExitedException e)
            {
                outcome = InvocationOutcome.Failed(e.Message);
            }
            finally
            {
                _connection.Unregister(Id);
            }

            _invoker.Log(Function, Id, outcome, _elapsed.Elapsed);
            return outcome;
        }

        public void Dispose()
        {
            _connection.Unregister(Id);
            _cancel.Dispose();
            _timeout.Dispose();
        }

        private async Task SendCancelAsync()
        {
            if (!_connection.HandlesInvocationCancel)
            {
                return;
            }

            try
            {
                await _connection.SendAsync(new StreamingMessage { InvocationCancel = new InvocationCancel { InvocationId = Id } });
                _invoker._logger.LogDebug("Sent InvocationCancel for '{Function}' ({InvocationId}).", Function.Name, Id);
            }
            catch (Exception e) when (e is WorkerExitedException or IOException or InvalidOperationException or OperationCanceledException)
            {
                // The worker is gone; nothing to cancel.
            }
        }

        private static string NewTraceParent() =>
            $"00-{ActivityTraceId.CreateRandom()}-{ActivitySpanId.CreateRandom()}-01";
    }

    private async Task<InvocationOutcome> CompleteAsync(FunctionDescriptor function, InvocationResponse response)
    {
        try
        {
            await outputs.WriteAsync(function, response, CancellationToken.None);
            return new InvocationOutcome(true, null, response);
        }
        catch (Exception e) when (e is Azure.RequestFailedException or InvalidOperationException or FormatException)
        {
            return new InvocationOutcome(false, $"Writing the output bindings failed: {e.Message}", response);
        }
    }

    private void Log(FunctionDescriptor function, string id, InvocationOutcome outcome, TimeSpan elapsed)
    {
        if (outcome.Succeeded)
        {
            _logger.LogInformation("Executed 'Functions.{Function}' (Succeeded, Id={InvocationId}, Duration={Duration}ms)", function.Name, id, (long)elapsed.TotalMilliseconds);
        }
        else
        {
            _logger.LogError("Executed 'Functions.{Function}' (Failed, Id={InvocationId}, Duration={Duration}ms): {Error}", function.Name, id, (long)elapsed.TotalMilliseconds, outcome.Error);
        }
    }

    private static string Describe(StatusResult? result) =>
        result is null ? "The worker sent no result."
        : result.Status == StatusResult.Types.Status.Cancelled ? "The worker cancelled the invocation."
        : result.Exception?.Message is { Length: > 0 } message ? message
        : string.IsNullOrEmpty(result.Result) ? "The function failed." : result.Result;
}
