using Blik.Checkout.Diagnostics;
using Blik.Checkout.Domain;
using Blik.Checkout.Gateway;
using Blik.Checkout.Storage;
using Microsoft.Extensions.Logging;

namespace Blik.Checkout.Sessions;

public enum ReconcileOutcome
{
    Applied,
    Unchanged,
    UnknownSession,
    UnknownAtGateway,
}

/// <param name="GatewayStatus">The status the gateway reported in this read (null when it did not know the session or said nothing readable).</param>
public sealed record ReconcileResult(ReconcileOutcome Outcome, CheckoutSession? Session, SessionStatus? GatewayStatus = null);

/// <summary>
/// Brings one stored session in line with the gateway: read the authoritative session, apply it through
/// <see cref="SessionRules"/> as one <see cref="SessionWrites"/> change. The webhook processor and the sweep both come
/// here, so a late, duplicated or reordered notification and a lost one end the same way.
/// </summary>
public sealed class SessionReconciler(
    IConvergeGate gateway,
    ISessionStore sessions,
    SessionWrites writes,
    TimeProvider time,
    ILogger<SessionReconciler> logger,
    LivemodeCheck? livemode = null)
{
    /// <exception cref="GatewayUnavailableException">The gateway could not be read; nothing changed.</exception>
    public Task<ReconcileResult> ReconcileAsync(string sessionId, string operation, CancellationToken cancellationToken) =>
        ReconcileAsync(sessionId, null, operation, cancellationToken);

    /// <param name="known">The stored row the caller has just read (saves reading it again), or null.</param>
    public async Task<ReconcileResult> ReconcileAsync(string sessionId, CheckoutSession? known, string operation, CancellationToken cancellationToken)
    {
        var observedAt = time.GetUtcNow();
        var snapshot = await gateway.GetSessionAsync(sessionId, cancellationToken);
        if (snapshot is null)
        {
            SessionLog.UnknownAtGateway(logger, sessionId);
            return new ReconcileResult(ReconcileOutcome.UnknownAtGateway, await sessions.GetAsync(sessionId, cancellationToken));
        }

        livemode?.Observe(snapshot, "get");
        if (snapshot.Status is null)
        {
            SessionLog.UnknownStatus(logger, sessionId, snapshot.RawStatus);
        }

        var change = await writes.ApplyAsync(
            sessionId,
            known,
            s => SessionRules.ApplyGatewayState(s, snapshot, observedAt, time.GetUtcNow()),
            operation,
            cancellationToken);
        if (change is null)
        {
            return new ReconcileResult(ReconcileOutcome.UnknownSession, null);
        }

        if (SessionRules.AmountDiffers(snapshot, change.After.Amount, change.After.Currency) && !SessionWrites.RecordsCompletion(change.Before, change.After))
        {
            // Not (yet) money taken: worth a look, not a page. A completion is reported by SessionWrites.
            SessionLog.GatewayAmountDiffers(logger, sessionId, snapshot.AmountTotal, snapshot.Currency, change.After.Amount, change.After.Currency);
        }

        return new ReconcileResult(change.Changed ? ReconcileOutcome.Applied : ReconcileOutcome.Unchanged, change.After, snapshot.Status);
    }
}
