using System.Text.Json;
using System.Text.Json.Serialization;
using Blik.Checkout.Configuration;
using Blik.Checkout.Diagnostics;
using Blik.Checkout.Domain;
using Blik.Checkout.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Blik.Checkout.Processing;

/// <summary>The message a shop's fulfilment reads from the fulfilment queue, once per finished session.</summary>
public sealed record FulfilmentMessage(
    [property: JsonPropertyName("event_id")] string EventId,
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("session_id")] string SessionId,
    [property: JsonPropertyName("order_id")] string? OrderId,
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("amount")] long Amount,
    [property: JsonPropertyName("currency")] string Currency,
    [property: JsonPropertyName("metadata")] IReadOnlyDictionary<string, string>? Metadata,
    [property: JsonPropertyName("completed_at")] long? CompletedAt,
    [property: JsonPropertyName("occurred_at")] long OccurredAt,
    [property: JsonPropertyName("livemode")] bool Livemode,
    [property: JsonPropertyName("refund_id")] string? RefundId = null)
{
    public static FulfilmentMessage For(CheckoutSession s) => new(
        $"{s.Id}:{s.Status.ToWire()}",
        "checkout.session." + s.Status.ToWire(),
        s.Id,
        s.OrderId,
        s.Status.ToWire(),
        s.Amount,
        s.Currency,
        s.Metadata,
        s.CompletedAt.ToUnixSeconds(),
        s.UpdatedAt.ToUnixTimeSeconds(),
        s.Livemode);

    public static FulfilmentMessage Parse(string text) =>
        JsonSerializer.Deserialize<FulfilmentMessage>(text) ?? throw new FormatException("Not a fulfilment message.");
}

/// <summary>
/// Publishes the fulfilment message a final transition owes (the outbox flag on the session row), then clears the
/// flag. The writer of the transition holds the claim; anyone else who meets an owed message (the processor on a
/// redelivered event, the sweep on a due entry) takes it over only after the claim's lease, so concurrent
/// publishers do not both send. A message can be sent twice only if a publisher dies between sending and clearing;
/// its <c>event_id</c> (<c>{session}:{status}</c>) lets consumers drop that duplicate.
/// </summary>
public sealed partial class FulfilmentOutbox(
    IMessageQueues queues,
    ISessionStore sessions,
    IOptions<CheckoutOptions> options,
    TimeProvider time,
    CheckoutMetrics metrics,
    ILogger<FulfilmentOutbox> logger)
{
    private readonly CheckoutOptions _options = options.Value;

    public TimeSpan ClaimLease => _options.FulfilmentClaimLease;

    /// <summary>Publishes if owed. <paramref name="claimed"/>: the caller's own write set the claim.</summary>
    /// <returns>true when nothing is owed any more.</returns>
    public async Task<bool> FlushAsync(CheckoutSession session, bool claimed, CancellationToken cancellationToken)
    {
        if (!session.OutboxPending)
        {
            return true;
        }

        if (claimed)
        {
            metrics.FulfilmentOwed(FulfilmentMessage.For(session).Type);
        }

        if (!claimed)
        {
            var claim = await sessions.UpdateAsync(session.Id, s => SessionRules.ClaimFulfilment(s, time.GetUtcNow(), _options.FulfilmentClaimLease), cancellationToken);
            if (claim is not { Changed: true })
            {
                return claim is not null && !claim.After.OutboxPending;
            }

            session = claim.After;
        }

        var message = FulfilmentMessage.For(session);
        await queues.SendAsync(_options.FulfilmentQueue, JsonSerializer.Serialize(message), cancellationToken);
        await sessions.UpdateAsync(session.Id, session, s => SessionRules.FulfilmentPublished(s, time.GetUtcNow()), cancellationToken);
        Published(logger, session.Id, message.Type, session.OrderId);
        metrics.FulfilmentSent(message.Type);
        return true;
    }

    [LoggerMessage(2101, LogLevel.Information, "Fulfilment message {MessageType} published for session {SessionId}, order {OrderId}")]
    private static partial void Published(ILogger logger, string sessionId, string messageType, string? orderId);
}
