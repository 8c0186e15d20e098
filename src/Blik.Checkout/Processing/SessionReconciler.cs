using Blik.Checkout.Diagnostics;
using Blik.Checkout.Gateway;
using Blik.Checkout.Sessions;
using Blik.Checkout.Storage;
using Microsoft.Extensions.Logging;

namespace Blik.Checkout.Processing;

public enum ReconcileOutcome
{
    Applied,
    Unchanged,
    UnknownSession,
    UnknownAtGateway,
}

public sealed record ReconcileResult(ReconcileOutcome Outcome, CheckoutSession? Session);

/// <summary>
/// Brings one stored session in line with the gateway: read the authoritative session, apply it through
/// <see cref="SessionRules"/> with a conditional write. The webhook processor and the sweep both come here, so a
/// late, duplicated or reordered notification and a lost one end the same way.
/// </summary>
public sealed class SessionReconciler(
    IConvergeGate gateway,
    SessionStore sessions,
    DueIndex due,
    TimeProvider time,
    ILogger<SessionReconciler> logger)
{
    /// <exception cref="GatewayUnavailableException">The gateway could not be read; nothing changed.</exception>
    public async Task<ReconcileResult> ReconcileAsync(string sessionId, string operation, CancellationToken cancellationToken)
    {
        var observedAt = time.GetUtcNow();
        var snapshot = await gateway.GetSessionAsync(sessionId, cancellationToken);
        if (snapshot is null)
        {
            SessionLog.UnknownAtGateway(logger, sessionId);
            return new ReconcileResult(ReconcileOutcome.UnknownAtGateway, await sessions.GetAsync(sessionId, cancellationToken));
        }

        if (snapshot.Status is null)
        {
            SessionLog.UnknownStatus(logger, sessionId, snapshot.RawStatus);
        }

        var update = await sessions.UpdateAsync(
            sessionId,
            s => SessionRules.ApplyGatewayState(s, snapshot, observedAt, time.GetUtcNow()),
            cancellationToken);
        if (update is null)
        {
            return new ReconcileResult(ReconcileOutcome.UnknownSession, null);
        }

        if (update.After.Amount != snapshot.AmountTotal && snapshot.AmountTotal is not null
            || snapshot.Currency is not null && !string.Equals(snapshot.Currency, update.After.Currency, StringComparison.OrdinalIgnoreCase))
        {
            SessionLog.AmountMismatch(logger, sessionId, snapshot.AmountTotal, snapshot.Currency, update.After.Amount, update.After.Currency);
        }

        if (!update.Changed)
        {
            return new ReconcileResult(ReconcileOutcome.Unchanged, update.After);
        }

        await AfterChangeAsync(update, operation, cancellationToken);
        return new ReconcileResult(ReconcileOutcome.Applied, update.After);
    }

    /// <summary>Logging and index upkeep after any change to a session.</summary>
    public async Task AfterChangeAsync(SessionUpdate update, string operation, CancellationToken cancellationToken)
    {
        var (before, after) = (update.Before, update.After);
        if (before.Status != after.Status)
        {
            SessionLog.Transition(logger, after.Id, before.Status.ToWire(), after.Status.ToWire(), operation);
        }

        if (after.LateCompletion && !before.LateCompletion)
        {
            SessionLog.LateCompletion(logger, after.Id);
        }

        if (after.Status.IsFinal() && !before.Status.IsFinal())
        {
            // The expiry entry is no longer needed; drop it now rather than have the sweep read it later.
            try
            {
                await due.RemoveAsync(after.Id, before.ExpiresAt, cancellationToken);
            }
            catch (Blik.Storage.StorageRequestException)
            {
                // Best effort: the sweep removes entries of final sessions when it meets them.
            }
        }
    }
}
