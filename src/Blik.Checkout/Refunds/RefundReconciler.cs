using Blik.Checkout.Domain;
using Blik.Checkout.Gateway;
using Blik.Checkout.Processing;
using Blik.Checkout.Storage;
using Microsoft.Extensions.Logging;

namespace Blik.Checkout.Refunds;

/// <summary>
/// Brings one stored refund in line with the gateway (its webhooks and the sweep come here): the gateway's refund is
/// read, and the row created or moved on through <see cref="RefundWrites"/>. Final states are absorbing.
/// </summary>
public sealed partial class RefundReconciler(
    IConvergeGate gateway,
    ISessionStore sessions,
    IRefundStore refunds,
    RefundReservations reservations,
    RefundWrites writes,
    Outbox outbox,
    TimeProvider time,
    ILogger<RefundReconciler> logger)
{
    private const int MaxAttempts = 10;

    /// <returns>The refund as stored now; null when the gateway or this service does not know it.</returns>
    /// <exception cref="GatewayUnavailableException">The gateway could not be read; nothing changed.</exception>
    public async Task<RefundRecord?> ReconcileAsync(string sessionId, string refundId, CancellationToken cancellationToken)
    {
        var snapshot = await gateway.GetRefundAsync(refundId, cancellationToken);
        if (snapshot is null || (snapshot.SessionId is not null && !SessionIds.Same(sessionId, snapshot.SessionId)))
        {
            RefundUnknown(logger, refundId, sessionId);
            return null;
        }

        var session = await sessions.GetAsync(sessionId, cancellationToken);
        if (session is null)
        {
            return null;
        }

        var status = RefundStatuses.FromGateway(snapshot.Status);
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var now = time.GetUtcNow().WholeSeconds();
            var stored = await refunds.GetAsync(sessionId, refundId, cancellationToken);
            try
            {
                if (stored is null)
                {
                    // Created where we did not see the answer (a lost response, or the gateway's dashboard). It takes
                    // the reservation lock like a refund of ours; a reservation it may belong to keeps holding its
                    // amount too until the sweep matches them (RefundResolver). Without an amount from the gateway it
                    // holds the whole session until one comes.
                    var inserted = await writes.InsertAsync(new RefundRecord
                    {
                        SessionId = sessionId,
                        Id = refundId,
                        Amount = snapshot.Amount ?? session.Amount,
                        AmountUnknown = snapshot.Amount is null,
                        Currency = snapshot.Currency ?? session.Currency,
                        Status = RefundStatuses.Pending,
                        Reason = snapshot.Reason,
                        CreatedAt = snapshot.CreatedAt ?? now,
                        UpdatedAt = now,
                    }.WithStatus(status, now), cancellationToken);
                    await reservations.TakeLockAsync(sessionId, cancellationToken);
                    return inserted;
                }

                if (stored.AmountUnknown && snapshot.Amount is { } amount)
                {
                    var moved = RefundStatuses.IsFinal(stored.Status) ? stored : stored.WithStatus(status, now);
                    var known = await writes.ReplaceAsync(stored, moved with { Amount = amount, AmountUnknown = false }, cancellationToken);
                    RefundTransition(logger, refundId, sessionId, stored.Status, moved.Status);
                    return known;
                }

                if (RefundStatuses.IsFinal(stored.Status) || stored.Status == status)
                {
                    // A redelivery after the first processing stopped mid-way may find the message still owed.
                    await outbox.PublishAsync(stored, claimed: false, cancellationToken);
                    return stored;
                }

                var record = await writes.ReplaceAsync(stored, stored.WithStatus(status, now), cancellationToken);
                RefundTransition(logger, refundId, sessionId, stored.Status, status);
                return record;
            }
            catch (Exception e) when (e is StorageConflictException or StoragePreconditionFailedException)
            {
                // Another writer got there first; look again.
            }
        }

        throw new ConcurrencyConflictException($"Refund {refundId} kept changing while it was reconciled.");
    }

    [LoggerMessage(2202, LogLevel.Information, "Refund {RefundId} of session {SessionId}: {From} -> {To}")]
    private static partial void RefundTransition(ILogger logger, string refundId, string sessionId, string from, string to);

    [LoggerMessage(2203, LogLevel.Warning, "Refund {RefundId} is unknown to the gateway or belongs to another session than {SessionId}; ignored")]
    private static partial void RefundUnknown(ILogger logger, string refundId, string sessionId);
}
