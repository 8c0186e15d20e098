using Azure;
using Azure.Core;
using Azure.Identity;
using Azure.Storage.Queues;
using Blik.Checkout;
using Blik.Checkout.Configuration;
using Blik.Checkout.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Blik.Functions;

/// <summary>
/// Reads the depth and the oldest visible message's age of the event queue, its poison queue and the fulfilment queue,
/// and records them as the gauges <c>blik.queue.depth</c> and <c>blik.queue.oldest_age</c> (tag <c>queue</c>). Storage's
/// own queue metrics are per account and hourly, so they can neither tell the poison queue apart nor say that events
/// stopped moving within minutes; the alerts in infra/ read these gauges instead. Two cheap calls per queue:
/// GetProperties (the approximate count, never below the true one) and Peek(1) (the oldest visible message; a
/// message being retried is invisible and not seen). A queue that cannot be read is logged and skipped, so the probe
/// never fails the sweep it runs after.
/// </summary>
public sealed partial class QueueProbe(
    QueueServiceClient queues,
    IOptions<CheckoutOptions> options,
    TimeProvider time,
    CheckoutMetrics metrics,
    ILogger<QueueProbe> logger)
{
    /// <summary>The queues probed: events, poison, and the configured fulfilment queue.</summary>
    public IReadOnlyList<string> Queues { get; } = [QueueNames.Events, QueueNames.EventsPoison, options.Value.FulfilmentQueue];

    public Task RecordAsync(CancellationToken cancellationToken) =>
        Task.WhenAll(Queues.Select(name => RecordAsync(name, cancellationToken)));

    private async Task RecordAsync(string name, CancellationToken cancellationToken)
    {
        var queue = queues.GetQueueClient(name);
        try
        {
            var properties = await queue.GetPropertiesAsync(cancellationToken);
            var peeked = await queue.PeekMessagesAsync(1, cancellationToken);
            var oldest = peeked.Value.FirstOrDefault()?.InsertedOn;
            var age = oldest is { } inserted ? time.GetUtcNow() - inserted : TimeSpan.Zero;
            metrics.QueueObserved(name, properties.Value.ApproximateMessagesCount, age);
        }
        catch (RequestFailedException e)
        {
            // 404 too: the queue is created on first use, and an unread queue is better than a failed sweep.
            ProbeFailed(logger, name, $"HTTP {e.Status} {e.ErrorCode}");
        }
        catch (AuthenticationFailedException e)
        {
            ProbeFailed(logger, name, e.GetType().Name);
        }
    }

    [LoggerMessage(5101, LogLevel.Warning, "Queue probe could not read {Queue}: {Reason}")]
    private static partial void ProbeFailed(ILogger logger, string queue, string reason);
}
