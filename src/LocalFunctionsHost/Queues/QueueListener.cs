using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Azure;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using Google.Protobuf;
using LocalFunctionsHost.Configuration;
using LocalFunctionsHost.Invocation;
using LocalFunctionsHost.Rpc;
using Microsoft.Extensions.Logging;

namespace LocalFunctionsHost.Queues;

/// <summary>Timings of the queue listener that the host fixes (the extension hard-codes them); tests shorten them.</summary>
internal sealed record QueueTimings(TimeSpan MessageLease, TimeSpan LeaseRenewal)
{
    public static QueueTimings Default { get; } = new(TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(5));
}

/// <summary>
/// A Storage Queue trigger for one function: polls in batches, hides each message while it runs (renewing the hiding),
/// deletes it after success, releases it after failure and moves it to <c>&lt;queue&gt;-poison</c> after
/// maxDequeueCount attempts, as the Functions queues extension does.
/// </summary>
internal sealed class QueueListener : IAsyncDisposable
{
    private const int MaxQueueNameLength = 63;
    private const string PoisonSuffix = "-poison";

    private readonly FunctionDescriptor _function;
    private readonly Invoker _invoker;
    private readonly QueueSettings _settings;
    private readonly QueueTimings _timings;
    private readonly ILogger _logger;
    private readonly QueueClient _queue;
    private readonly QueueClient? _poison;
    private readonly QueueClient? _rawPoison;
    private readonly CancellationTokenSource _stopPolling = new();
    private readonly CancellationTokenSource _abortWork = new();
    private readonly SemaphoreSlim _finished = new(0);
    private readonly object _inFlightGate = new();
    private readonly HashSet<Task> _inFlight = [];
    private Task _poll = Task.CompletedTask;
    private bool _poisonCreated;

    public QueueListener(FunctionDescriptor function, Invoker invoker, StorageConnections connections, AppSettings appSettings, QueueSettings settings, QueueTimings timings, ILoggerFactory loggerFactory)
    {
        _function = function;
        _invoker = invoker;
        _settings = settings;
        _timings = timings;
        _logger = loggerFactory.CreateLogger($"Host.Triggers.Queue.{function.Name}");
        QueueName = appSettings.Resolve(function.Trigger.String("queueName") ?? throw new InvalidOperationException($"The queue trigger of '{function.Name}' names no queue.")).ToLowerInvariant();
        var connection = function.Trigger.String("connection");
        if (!connections.IsConfigured(connection))
        {
            throw new InvalidOperationException(
                $"The queue trigger of '{function.Name}' uses the connection '{connection ?? StorageConnections.DefaultConnection}', which is not configured.");
        }

        var service = connections.Queues(connection, settings.Base64, options =>
        {
            // A body that is not valid base64 is dropped from the batch and reported here: it goes to poison unread.
            options.MessageDecodingFailed += OnDecodingFailedAsync;
            return options;
        });
        _queue = service.GetQueueClient(QueueName);
        if (!QueueName.EndsWith(PoisonSuffix, StringComparison.Ordinal) && QueueName.Length + PoisonSuffix.Length <= MaxQueueNameLength)
        {
            PoisonQueueName = QueueName + PoisonSuffix;
            _poison = connections.Queues(connection, settings.Base64).GetQueueClient(PoisonQueueName);
            _rawPoison = connections.Queues(connection, base64: false).GetQueueClient(PoisonQueueName);
        }
    }

    public FunctionDescriptor Function => _function;

    public string QueueName { get; }

    public string? PoisonQueueName { get; }

    public void Start() => _poll = Task.Run(() => PollAsync(_stopPolling.Token));

    /// <summary>Stops polling, lets running messages finish for up to <paramref name="drain"/>, then cancels the rest.</summary>
    public async Task StopAsync(TimeSpan drain)
    {
        await _stopPolling.CancelAsync();
        await _poll;
        Task[] running;
        lock (_inFlightGate)
        {
            running = [.. _inFlight];
        }

        try
        {
            await Task.WhenAll(running).WaitAsync(drain);
        }
        catch (TimeoutException)
        {
            await _abortWork.CancelAsync();
            await Task.WhenAll(running);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(TimeSpan.Zero);
        _stopPolling.Dispose();
        _abortWork.Dispose();
        _finished.Dispose();
    }

    /// <summary>Runs the function once with <paramref name="text"/> as the message, outside the queue (admin invoke).</summary>
    public Task<InvocationOutcome> InvokeDirectAsync(string text, CancellationToken cancellationToken)
    {
        var now = DateTimeOffset.UtcNow;
        var message = QueuesModelFactory.QueueMessage(Guid.NewGuid().ToString(), string.Empty, BinaryData.FromString(text), 1, now, now, now.AddDays(7));
        return InvokeAsync(message, cancellationToken);
    }

    private async Task PollAsync(CancellationToken stopping)
    {
        var backoff = new RandomizedBackoff(_settings.MaxPollingInterval);
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                await WaitForCapacityAsync(stopping);
                // Only pull messages while a worker is there to run them.
                await _invoker.Supervisor.GetReadyAsync(stopping);
                var batch = (await _queue.ReceiveMessagesAsync(_settings.BatchSize, _timings.MessageLease, stopping)).Value;
                if (batch.Length == 0)
                {
                    await Task.Delay(backoff.Next(), stopping);
                    continue;
                }

                backoff.Reset();
                foreach (var message in batch)
                {
                    Track(ProcessAsync(message));
                }
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (RequestFailedException e) when (e.Status == 404 || e.Status >= 500)
            {
                // A missing queue or a server error: back off quietly.
                await DelayQuietlyAsync(backoff.Next(), stopping);
            }
            catch (Exception e) when (e is RequestFailedException or HttpRequestException or IOException or AggregateException)
            {
                _logger.LogWarning("Polling queue '{Queue}' failed: {Error}", QueueName, e.Message);
                await DelayQuietlyAsync(backoff.Next(), stopping);
            }
        }
    }

    /// <summary>After a batch, fetch the next only when in-flight work is at or below newBatchThreshold.</summary>
    private async Task WaitForCapacityAsync(CancellationToken stopping)
    {
        while (true)
        {
            lock (_inFlightGate)
            {
                if (_inFlight.Count <= _settings.NewBatchThreshold)
                {
                    return;
                }
            }

            await _finished.WaitAsync(stopping);
        }
    }

    private void Track(Task work)
    {
        lock (_inFlightGate)
        {
            _inFlight.Add(work);
        }

        _ = work.ContinueWith(
            t =>
            {
                lock (_inFlightGate)
                {
                    _inFlight.Remove(t);
                }

                _finished.Release();
            },
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    private async Task ProcessAsync(QueueMessage message)
    {
        try
        {
            if (message.DequeueCount > _settings.MaxDequeueCount)
            {
                // An attempt died with its host: the message has used up its tries without a recorded failure.
                await MoveToPoisonAsync(message.MessageId, message.PopReceipt, message.Body, raw: false);
                return;
            }

            using var renewal = new MessageLeaseRenewal(_queue, message, _timings, _logger);
            var outcome = await InvokeAsync(message, _abortWork.Token);
            var receipt = await renewal.StopAsync();
            if (outcome.Succeeded)
            {
                await DeleteAsync(message.MessageId, receipt);
            }
            else if (_abortWork.IsCancellationRequested)
            {
                // Cut short by the host stopping: not the message's fault.
                await ReleaseAsync(message.MessageId, receipt);
            }
            else if (message.DequeueCount >= _settings.MaxDequeueCount)
            {
                // Without a poison queue (a -poison queue itself) the message stays hidden for the rest of its lease.
                await MoveToPoisonAsync(message.MessageId, receipt, message.Body, raw: false);
            }
            else
            {
                await ReleaseAsync(message.MessageId, receipt);
            }
        }
        catch (Exception e) when (e is RequestFailedException or HttpRequestException or IOException or OperationCanceledException)
        {
            _logger.LogWarning("Handling message {MessageId} from '{Queue}' failed: {Error}", message.MessageId, QueueName, e.Message);
        }
    }

    private Task<InvocationOutcome> InvokeAsync(QueueMessage message, CancellationToken cancellationToken) =>
        _invoker.InvokeAsync(_function, request => Fill(request, message), cancellationToken);

    private void Fill(InvocationRequest request, QueueMessage message)
    {
        var trigger = _function.Trigger;
        var text = TryUtf8(message.Body);
        TypedData input;
        if (trigger.SupportsDeferredBinding)
        {
            input = new TypedData { ModelBindingData = ModelBindingData(message, text) };
        }
        else if (string.Equals(trigger.DataType, "binary", StringComparison.OrdinalIgnoreCase))
        {
            input = new TypedData { Bytes = ByteString.CopyFrom(message.Body.ToMemory().Span) };
        }
        else
        {
            input = new TypedData { String = text ?? message.Body.ToString() };
        }

        request.InputData.Add(new ParameterBinding { Name = trigger.Name, Data = input });
        var metadata = request.TriggerMetadata;
        if (text is not null)
        {
            metadata["QueueTrigger"] = new TypedData { String = text };
        }

        metadata["DequeueCount"] = Json(message.DequeueCount);
        metadata["Id"] = new TypedData { String = message.MessageId };
        metadata["PopReceipt"] = new TypedData { String = message.PopReceipt ?? string.Empty };
        metadata["InsertionTime"] = Json(message.InsertedOn ?? DateTimeOffset.UtcNow);
        metadata["ExpirationTime"] = Json(message.ExpiresOn ?? DateTimeOffset.MaxValue);
        metadata["NextVisibleTime"] = Json(message.NextVisibleOn ?? DateTimeOffset.MaxValue);

        // The top-level non-array properties of a JSON object body are binding data too, and win over the names above.
        if (text is not null && text.TrimStart().StartsWith('{'))
        {
            try
            {
                if (JsonNode.Parse(text) is JsonObject body)
                {
                    foreach (var (key, value) in body)
                    {
                        if (value is null || value is JsonArray)
                        {
                            continue;
                        }

                        metadata[key] = value is JsonValue v && v.TryGetValue<string>(out var s)
                            ? new TypedData { String = s }
                            : new TypedData { Json = value.ToJsonString() };
                    }
                }
            }
            catch (JsonException)
            {
                // Not JSON after all.
            }
        }
    }

    private static TypedData Json<T>(T value) => new() { Json = JsonSerializer.Serialize(value) };

    private static ModelBindingData ModelBindingData(QueueMessage message, string? text)
    {
        var content = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object?>
        {
            ["MessageId"] = message.MessageId,
            ["PopReceipt"] = message.PopReceipt,
            ["MessageText"] = text ?? message.Body.ToString(),
            ["Body"] = Convert.ToBase64String(message.Body.ToArray()),
            ["DequeueCount"] = message.DequeueCount,
            ["NextVisibleOn"] = message.NextVisibleOn,
            ["InsertedOn"] = message.InsertedOn,
            ["ExpiresOn"] = message.ExpiresOn,
        });
        return new ModelBindingData
        {
            Version = "1.0",
            Source = "AzureStorageQueues",
            ContentType = "application/json",
            Content = ByteString.CopyFrom(content),
        };
    }

    private static string? TryUtf8(BinaryData body)
    {
        try
        {
            return new UTF8Encoding(false, true).GetString(body.ToMemory().Span);
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
    }

    private async Task OnDecodingFailedAsync(QueueMessageDecodingFailedEventArgs args)
    {
        if (args.ReceivedMessage is not { } message)
        {
            return;
        }

        _logger.LogWarning("Message decoding has failed! Check MessageEncoding settings. MessageId={MessageId}.", message.MessageId);
        if (_rawPoison is null)
        {
            return;
        }

        try
        {
            await MoveToPoisonAsync(message.MessageId, message.PopReceipt, message.Body, raw: true);
        }
        catch (Exception e) when (e is RequestFailedException or HttpRequestException or IOException)
        {
            _logger.LogWarning("Could not move undecodable message {MessageId} to '{Queue}': {Error}", message.MessageId, PoisonQueueName, e.Message);
        }
    }

    private async Task MoveToPoisonAsync(string messageId, string popReceipt, BinaryData body, bool raw)
    {
        var poison = raw ? _rawPoison : _poison;
        if (poison is null)
        {
            return;
        }

        if (!_poisonCreated)
        {
            await poison.CreateIfNotExistsAsync();
            _poisonCreated = true;
        }

        _logger.LogWarning("Message has reached MaxDequeueCount of {MaxDequeueCount}. Moving message to queue '{PoisonQueue}'.", _settings.MaxDequeueCount, poison.Name);
        await poison.SendMessageAsync(body);
        await DeleteAsync(messageId, popReceipt);
    }

    private async Task DeleteAsync(string messageId, string popReceipt)
    {
        try
        {
            await _queue.DeleteMessageAsync(messageId, popReceipt);
        }
        catch (RequestFailedException e) when (e.Status is 404 or 400)
        {
            // Gone already, or our receipt is stale: nothing to delete.
        }
    }

    private async Task ReleaseAsync(string messageId, string popReceipt)
    {
        try
        {
            await _queue.UpdateMessageAsync(messageId, popReceipt, visibilityTimeout: _settings.VisibilityTimeout);
        }
        catch (RequestFailedException e) when (e.Status is 404 or 400)
        {
            // Gone, or someone else holds it now.
        }
    }

    private static async Task DelayQuietlyAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(delay, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    /// <summary>Keeps a running message hidden: every renewal interval it is hidden for another lease; the latest receipt is kept.</summary>
    private sealed class MessageLeaseRenewal : IDisposable
    {
        private readonly QueueClient _queue;
        private readonly QueueMessage _message;
        private readonly QueueTimings _timings;
        private readonly ILogger _logger;
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;
        private string _receipt;

        public MessageLeaseRenewal(QueueClient queue, QueueMessage message, QueueTimings timings, ILogger logger)
        {
            _queue = queue;
            _message = message;
            _timings = timings;
            _logger = logger;
            _receipt = message.PopReceipt;
            _loop = Task.Run(() => RenewAsync(_stop.Token));
        }

        public async Task<string> StopAsync()
        {
            await _stop.CancelAsync();
            await _loop;
            return _receipt;
        }

        public void Dispose() => _stop.Dispose();

        private async Task RenewAsync(CancellationToken cancellationToken)
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                try
                {
                    await Task.Delay(_timings.LeaseRenewal, cancellationToken);
                    var receipt = (await _queue.UpdateMessageAsync(_message.MessageId, _receipt, visibilityTimeout: _timings.MessageLease, cancellationToken: cancellationToken)).Value;
                    _receipt = receipt.PopReceipt;
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                catch (RequestFailedException e) when (e.Status is 404 or 400)
                {
                    // The message or queue is gone, or the receipt no longer matches: stop quietly.
                    return;
                }
                catch (Exception e) when (e is RequestFailedException or HttpRequestException or IOException)
                {
                    _logger.LogError("Renewing the hiding of message {MessageId} failed: {Error}", _message.MessageId, e.Message);
                    return;
                }
            }
        }
    }

    internal static string Describe(QueueSettings settings) => string.Create(
        CultureInfo.InvariantCulture,
        $"batchSize {settings.BatchSize}, newBatchThreshold {settings.NewBatchThreshold}, maxPollingInterval {settings.MaxPollingInterval}, visibilityTimeout {settings.VisibilityTimeout}, maxDequeueCount {settings.MaxDequeueCount}, messageEncoding {(settings.Base64 ? "base64" : "none")}");
}
