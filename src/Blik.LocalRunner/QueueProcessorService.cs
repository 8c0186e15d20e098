using Blik.Checkout;
using Blik.Checkout.Webhooks;
using Blik.Checkout.Storage;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Blik.LocalRunner;

/// <summary>
/// The local stand-in for the Functions queue trigger on <c>checkout-events</c>, with host.json's semantics:
/// up to <c>batchSize</c> messages at once; a failed message becomes visible again after <c>visibilityTimeout</c>;
/// after <c>maxDequeueCount</c> attempts it moves to <c>checkout-events-poison</c>; polling backs off to
/// <c>maxPollingInterval</c> when the queue is empty.
/// </summary>
public sealed partial class QueueProcessorService(
    StorageBootstrap storage,
    EventProcessor processor,
    QueueHostSettings settings,
    ILogger<QueueProcessorService> logger) : BackgroundService
{
    /// <summary>How long a message stays invisible while it is being processed.</summary>
    private static readonly TimeSpan ProcessingLease = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan MinPollingInterval = TimeSpan.FromMilliseconds(100);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var idle = MinPollingInterval;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var queue = await storage.QueueAsync(QueueNames.Events, stoppingToken);
                QueueMessage[] messages = await StorageCall.RunAsync(
                    "Receive from " + QueueNames.Events,
                    async () => (await queue.ReceiveMessagesAsync(Math.Clamp(settings.BatchSize, 1, 32), ProcessingLease, stoppingToken)).Value,
                    stoppingToken);
                if (messages.Length == 0)
                {
                    await Task.Delay(idle, stoppingToken);
                    idle = TimeSpan.FromTicks(Math.Min(idle.Ticks * 2, settings.MaxPollingInterval.Ticks));
                    continue;
                }

                idle = MinPollingInterval;
                await Task.WhenAll(messages.Select(m => HandleAsync(queue, m, stoppingToken)));
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                PollFailed(logger, e);
                await Task.Delay(settings.MaxPollingInterval, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }
    }

    private async Task HandleAsync(QueueClient queue, QueueMessage message, CancellationToken stoppingToken)
    {
        try
        {
            await processor.ProcessAsync(message.Body.ToString(), stoppingToken);
            await DeleteAsync(queue, message, stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down: the message reappears after its lease and is processed next time.
        }
        catch (Exception e)
        {
            try
            {
                if (message.DequeueCount >= settings.MaxDequeueCount)
                {
                    var poison = await storage.QueueAsync(QueueNames.EventsPoison, stoppingToken);
                    await StorageCall.RunAsync("Send to " + poison.Name, () => poison.SendMessageAsync(message.Body, cancellationToken: stoppingToken), stoppingToken);
                    await DeleteAsync(queue, message, stoppingToken);
                    MovedToPoison(logger, e, message.MessageId, message.DequeueCount);
                }
                else
                {
                    await StorageCall.RunAsync(
                        "Update visibility in " + queue.Name,
                        () => queue.UpdateMessageAsync(message.MessageId, message.PopReceipt, visibilityTimeout: settings.VisibilityTimeout, cancellationToken: stoppingToken),
                        stoppingToken);
                    WillRetry(logger, e, message.MessageId, message.DequeueCount);
                }
            }
            catch (Exception inner) when (inner is StorageException or OperationCanceledException)
            {
                // The lease runs out and the message comes back by itself.
                PollFailed(logger, inner);
            }
        }
    }

    /// <summary>A message already gone, or held by another receiver after our lease ran out, is not ours to delete.</summary>
    private static async Task DeleteAsync(QueueClient queue, QueueMessage message, CancellationToken cancellationToken)
    {
        try
        {
            await StorageCall.RunAsync("Delete from " + queue.Name, () => queue.DeleteMessageAsync(message.MessageId, message.PopReceipt, cancellationToken), cancellationToken);
        }
        catch (StorageException e) when (e is StorageNotFoundException || e.ErrorCode == "PopReceiptMismatch")
        {
        }
    }

    [LoggerMessage(6001, LogLevel.Warning, "Event message {MessageId} failed (attempt {DequeueCount}); it will be retried")]
    private static partial void WillRetry(ILogger logger, Exception exception, string messageId, long dequeueCount);

    [LoggerMessage(6002, LogLevel.Error, "Event message {MessageId} failed {DequeueCount} times; moved to the poison queue")]
    private static partial void MovedToPoison(ILogger logger, Exception exception, string messageId, long dequeueCount);

    [LoggerMessage(6003, LogLevel.Warning, "Polling the event queue failed; retrying")]
    private static partial void PollFailed(ILogger logger, Exception exception);
}
