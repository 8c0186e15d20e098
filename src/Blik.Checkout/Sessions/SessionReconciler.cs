using Blik.Checkout.Diagnostics;
using Blik.Checkout.Domain;
using Blik.Checkout.Gateway;
using Blik.Checkout.Processing;
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

public sealed record ReconcileResult(ReconcileOutcome Outcome, CheckoutSession? Session);

/// <summary>
/// Brings one stored session in line with the gateway: read the authoritative session, apply it through
/// <see cref="SessionRules"/> with a conditional write. The webhook processor and the sweep both come here, so a
/// late, duplicated or reordered notification and a lost one end the same way.
/// </summary>
public sealed class SessionReconciler(
    IConvergeGate gateway,
    ISessionStore sessions,
    IDueIndex due,
    Outbox outbox,
    TimeProvider time,
    CheckoutMetrics metrics,
    ILogger<SessionReconciler> logger)
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

        if (snapshot.Status is null)
        {
            SessionLog.UnknownStatus(logger, sessionId, snapshot.RawStatus);
        }

        // A final state may be about to be written, which owes a fulfilment message. Should this process die
        // between that write and the publish, this entry brings the sweep back once the claim has lapsed.
        DateTimeOffset? safetyCheck = null;
        if (snapshot.Status?.IsFinal() == true)
        {
            safetyCheck = time.GetUtcNow() + outbox.ClaimLease;
            await due.ScheduleAsync(new DueEntry(sessionId, safetyCheck.Value), cancellationToken);
        }

        var update = await sessions.UpdateAsync(
            sessionId,
            known,
            s => SessionRules.ApplyGatewayState(s, snapshot, observedAt, time.GetUtcNow()),
            cancellationToken);
        if (update is null)
        {
            return new ReconcileResult(ReconcileOutcome.UnknownSession, null);
        }

        // update.After still says "owed" when this very call has just published the message: ask the flush instead.
        var settled = update.Changed ? await AfterChangeAsync(update, operation, cancellationToken) : !update.After.Outbox.Pending;
        if (safetyCheck is { } check && settled)
        {
            await RemoveQuietlyAsync(sessionId, check, cancellationToken);
        }

        if (update.After.Amount != snapshot.AmountTotal && snapshot.AmountTotal is not null
            || snapshot.Currency is not null && !string.Equals(snapshot.Currency, update.After.Currency, StringComparison.OrdinalIgnoreCase))
        {
            SessionLog.AmountMismatch(logger, sessionId, snapshot.AmountTotal, snapshot.Currency, update.After.Amount, update.After.Currency);
        }

        return new ReconcileResult(update.Changed ? ReconcileOutcome.Applied : ReconcileOutcome.Unchanged, update.After);
    }

    /// <summary>Logging and index upkeep after any change to a session.</summary>
    /// <returns>true when no fulfilment message is owed for the session any more.</returns>
    public async Task<bool> AfterChangeAsync(SessionUpdate update, string operation, CancellationToken cancellationToken)
    {
        var (before, after) = (update.Before, update.After);
        if (before.Status != after.Status)
        {
            SessionLog.Transition(logger, after.Id, before.Status.ToWire(), after.Status.ToWire(), operation);
        }

        if (after.LateCompletion && !before.LateCompletion)
        {
            SessionLog.LateCompletion(logger, after.Id);
            metrics.LateCompletion();
        }

        if (after.Status.IsFinal() && !before.Status.IsFinal())
        {
            // This write made the session final and holds the claim on its fulfilment message.
            metrics.SessionFinished(after);
            var settled = (await outbox.PublishAsync(after, claimed: true, cancellationToken)).Settled;

            // The expiry entry is no longer needed; drop it now rather than have the sweep read it later.
            await RemoveQuietlyAsync(after.Id, before.ExpiresAt, cancellationToken);
            return settled;
        }

        return !after.Outbox.Pending;
    }

    private async Task RemoveQuietlyAsync(string sessionId, DateTimeOffset dueAt, CancellationToken cancellationToken)
    {
        try
        {
            await due.RemoveAsync(new DueEntry(sessionId, dueAt), cancellationToken);
        }
        catch (StorageException)
        {
            // Best effort: the sweep removes entries of final sessions when it meets them.
        }
    }
}
