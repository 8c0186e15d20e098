using Blik.Checkout.Domain;

namespace Blik.Checkout.Storage;

// The storage the application needs, as it needs it. The Azure adapters beside these (SessionStore, RefundStore,
// DueIndex, IdempotencyRecords, MessageQueues) implement them over Table and Queue Storage and are tested against
// Azurite; unit tests use in-memory fakes. Every write is conditional on the row's ETag where it says so, and every
// failure to reach storage is a StorageException.

/// <summary>Checkout sessions, one row each.</summary>
public interface ISessionStore
{
    Task<CheckoutSession?> GetAsync(string id, CancellationToken cancellationToken);

    /// <exception cref="StorageConflictException">A session with this id exists.</exception>
    Task<CheckoutSession> InsertAsync(CheckoutSession session, CancellationToken cancellationToken);

    /// <summary>Writes the session only if its row is still at <see cref="CheckoutSession.ETag"/>.</summary>
    /// <exception cref="StoragePreconditionFailedException">The row changed since it was read.</exception>
    Task<CheckoutSession> ReplaceAsync(CheckoutSession session, CancellationToken cancellationToken);
}

/// <summary>Refunds, under their session; reservations included.</summary>
public interface IRefundStore
{
    Task<IReadOnlyList<RefundRecord>> ListAsync(string sessionId, CancellationToken cancellationToken);

    Task<RefundRecord?> GetAsync(string sessionId, string refundId, CancellationToken cancellationToken);

    /// <exception cref="StorageConflictException">A refund with this id exists.</exception>
    Task<RefundRecord> InsertAsync(RefundRecord refund, CancellationToken cancellationToken);

    /// <exception cref="StoragePreconditionFailedException">The row changed since <see cref="RefundRecord.ETag"/>.</exception>
    Task<RefundRecord> ReplaceAsync(RefundRecord refund, CancellationToken cancellationToken);

    /// <summary>Deletes the row whatever its state; a row already gone is fine.</summary>
    Task DeleteAsync(RefundRecord refund, CancellationToken cancellationToken);
}

/// <summary>
/// When each session next needs the sweep. An entry is one per session and second: scheduling one that exists
/// replaces it.
/// </summary>
public interface IDueIndex
{
    Task ScheduleAsync(DueEntry entry, CancellationToken cancellationToken);

    Task<bool> ExistsAsync(DueEntry entry, CancellationToken cancellationToken);

    /// <summary>Removes the entry; one already gone is fine.</summary>
    Task RemoveAsync(DueEntry entry, CancellationToken cancellationToken);

    /// <summary>Entries due at or before <paramref name="now"/>, at most <paramref name="max"/>, the earliest first.</summary>
    Task<IReadOnlyList<DueEntry>> ReadDueAsync(DateTimeOffset now, int max, CancellationToken cancellationToken);
}

/// <summary>Storage queues, written as the Functions queue trigger reads them.</summary>
public interface IMessageQueues
{
    Task SendAsync(string queueName, string text, CancellationToken cancellationToken);

    /// <summary>Sends a message that stays invisible to readers for <paramref name="delay"/> (at most seven days).</summary>
    Task SendAsync(string queueName, string text, TimeSpan delay, CancellationToken cancellationToken);
}

/// <summary>The rows behind <see cref="IdempotencyStore"/>, one per key hash.</summary>
public interface IIdempotencyRecords
{
    Task<IdempotencyRecord?> GetAsync(string keyHash, CancellationToken cancellationToken);

    /// <exception cref="StorageConflictException">A record for this key exists.</exception>
    Task<IdempotencyRecord> InsertAsync(IdempotencyRecord record, CancellationToken cancellationToken);

    /// <exception cref="StoragePreconditionFailedException">The record changed since <see cref="IdempotencyRecord.ETag"/>.</exception>
    Task<IdempotencyRecord> ReplaceAsync(IdempotencyRecord record, CancellationToken cancellationToken);

    /// <exception cref="StoragePreconditionFailedException">The record changed since <see cref="IdempotencyRecord.ETag"/>.</exception>
    Task DeleteAsync(IdempotencyRecord record, CancellationToken cancellationToken);
}

/// <summary>
/// Which session holds an <c>order_id</c>: one row per order, inserted before the gateway is asked, so the insert's
/// uniqueness decides which of two racing creates goes ahead.
/// </summary>
/// <param name="OrderId">The merchant's order id as sent.</param>
/// <param name="SessionId">The session created for it; null while the create that claimed it runs.</param>
/// <param name="ClaimedAt">When the current holder claimed it (our clock).</param>
public sealed record OrderClaim(string OrderId, string? SessionId, DateTimeOffset ClaimedAt, string? ETag = null);

/// <summary>The rows behind the one-session-per-order rule, one per order id.</summary>
public interface IOrderIndex
{
    Task<OrderClaim?> GetAsync(string orderId, CancellationToken cancellationToken);

    /// <exception cref="StorageConflictException">The order already has a row.</exception>
    Task<OrderClaim> InsertAsync(OrderClaim claim, CancellationToken cancellationToken);

    /// <exception cref="StoragePreconditionFailedException">The row changed since <see cref="OrderClaim.ETag"/>.</exception>
    Task<OrderClaim> ReplaceAsync(OrderClaim claim, CancellationToken cancellationToken);

    /// <exception cref="StoragePreconditionFailedException">The row changed since <see cref="OrderClaim.ETag"/>.</exception>
    Task DeleteAsync(OrderClaim claim, CancellationToken cancellationToken);
}

/// <summary>
/// Webhook events already applied, one row per event id with when: a replay or redelivery within the window costs no
/// gateway read and no queue message. A cost guard, not a correctness one (applying an event twice changes nothing),
/// so a read-then-skip suffices and nothing is inserted before the event is applied.
/// </summary>
public interface IProcessedEvents
{
    /// <returns>When the event was last applied, or null when never (or the row is unreadable as one).</returns>
    Task<DateTimeOffset?> AppliedAtAsync(string eventId, CancellationToken cancellationToken);

    /// <summary>Records (or refreshes) that the event was applied at <paramref name="at"/>.</summary>
    Task MarkAppliedAsync(string eventId, DateTimeOffset at, CancellationToken cancellationToken);
}
