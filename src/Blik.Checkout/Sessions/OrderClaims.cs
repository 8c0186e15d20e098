using Blik.Checkout.Domain;
using Blik.Checkout.Storage;

namespace Blik.Checkout.Sessions;

/// <summary>
/// One session per order: a create with an <c>order_id</c> first claims the order's row (an insert, so of two racing
/// creates exactly one goes ahead), asks the gateway, binds the row to the new session id, and only then stores the
/// session. What each crash between those steps leaves, and why no order can be paid twice:
/// <list type="bullet">
/// <item>after the claim, before the bind: a row without a session. A gateway failure frees it at once; a dead process
/// leaves it, stale after the lease, and the next create takes it over (a session the gateway made meanwhile was never
/// stored or answered, so no shopper can pay it here);</item>
/// <item>after the bind, before the session is stored: a row naming a session that is not stored; likewise taken over
/// once the lease has passed;</item>
/// <item>a create slower than the lease whose claim was taken over: its bind fails on the ETag, and it stores nothing.</item>
/// </list>
/// An order is released when its session has expired (a later create takes the row over); an open, pending or
/// completed session keeps it.
/// </summary>
public sealed class OrderClaims(IOrderIndex orders, ISessionStore sessions, TimeProvider time)
{
    private const int MaxAttempts = 3;

    /// <summary>The order's row, held by this create; or why the order cannot have another session now.</summary>
    public async Task<Outcome<OrderClaim>> ClaimAsync(string orderId, TimeSpan lease, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var now = time.GetUtcNow();
            try
            {
                return await orders.InsertAsync(new OrderClaim(orderId, null, now), cancellationToken);
            }
            catch (StorageConflictException)
            {
                // The order has a row: decide from what it holds.
            }

            var existing = await orders.GetAsync(orderId, cancellationToken);
            if (existing is null)
            {
                continue; // not possible today (rows are never deleted); then simply insert again
            }

            var session = existing.SessionId is { } id ? await sessions.GetAsync(id, cancellationToken) : null;
            if (session is not null && session.Status != SessionStatus.Expired)
            {
                return new Refusal.OrderHasSession(orderId, session.Id, session.Status);
            }

            if (session is null && now - existing.ClaimedAt < lease)
            {
                return new Refusal.OrderInProgress(orderId); // another create holds it right now
            }

            try
            {
                // Its session expired, or the create that claimed it died: take it over.
                return await orders.ReplaceAsync(existing with { SessionId = null, ClaimedAt = now }, cancellationToken);
            }
            catch (Exception e) when (e is StoragePreconditionFailedException or StorageNotFoundException)
            {
                // Another create took it over (or released it) first; look again.
            }
        }

        return new Refusal.OrderInProgress(orderId);
    }

    /// <summary>
    /// Frees a claim whose create failed before it was bound (the gateway failed or timed out): no session was stored
    /// for it, so a retry may go ahead at once instead of waiting out the lease. Best effort: a claim left behind
    /// still goes stale.
    /// </summary>
    public async Task ReleaseAsync(OrderClaim claim)
    {
        try
        {
            await orders.DeleteAsync(claim, CancellationToken.None);
        }
        catch (StorageException)
        {
            // Taken over meanwhile, or storage failed: the lease frees it.
        }
    }

    /// <summary>Binds the claimed row to the session the gateway created.</summary>
    /// <returns>False when the claim was taken over meanwhile (this create was slower than the lease): store nothing.</returns>
    public async Task<bool> BindAsync(OrderClaim claim, string sessionId, CancellationToken cancellationToken)
    {
        try
        {
            await orders.ReplaceAsync(claim with { SessionId = sessionId }, cancellationToken);
            return true;
        }
        catch (Exception e) when (e is StoragePreconditionFailedException or StorageNotFoundException)
        {
            return false;
        }
    }
}
