using Blik.Checkout.Domain;
using Blik.Checkout.Storage;

namespace Blik.Checkout.Sessions;

/// <summary>
/// A merchant's "look now": when the shopper is back on <c>success_url</c> before any webhook arrived, the session is
/// re-read from the gateway and applied through the same rules as a webhook. At most one re-read per session every
/// <see cref="Interval"/> (counted on the row, so it holds across instances); a completed session, which nothing can
/// change, is answered from storage.
/// </summary>
public sealed class SessionRefresh(ISessionStore sessions, SessionWrites writes, SessionReconciler reconciler, TimeProvider time)
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

    /// <exception cref="Gateway.GatewayUnavailableException">The gateway could not be read; the session is as it was.</exception>
    public async Task<Outcome<CheckoutSession>> RefreshAsync(string id, CancellationToken cancellationToken)
    {
        if (await sessions.GetAsync(id, cancellationToken) is not { } stored)
        {
            return new Refusal.SessionNotFound();
        }

        if (stored.Status == SessionStatus.Completed)
        {
            return stored;
        }

        var wait = TimeSpan.Zero;
        var reserved = await writes.ApplyAsync(id, stored, s =>
        {
            if (s.Status == SessionStatus.Completed)
            {
                return null;
            }

            var (next, retryAfter) = SessionRules.ReserveRefresh(s, time.GetUtcNow(), Interval);
            wait = retryAfter;
            return next;
        }, "refresh", cancellationToken);
        if (reserved is null)
        {
            return new Refusal.SessionNotFound();
        }

        if (reserved.After.Status == SessionStatus.Completed)
        {
            return reserved.After;
        }

        if (!reserved.Changed)
        {
            return new Refusal.TooManyRefreshes(wait);
        }

        var result = await reconciler.ReconcileAsync(id, reserved.After, "refresh", cancellationToken);
        return result.Session ?? reserved.After;
    }
}
