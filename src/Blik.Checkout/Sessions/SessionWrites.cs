using Blik.Checkout.Diagnostics;
using Blik.Checkout.Domain;
using Blik.Checkout.Processing;
using Blik.Checkout.Storage;
using Microsoft.Extensions.Logging;

namespace Blik.Checkout.Sessions;

/// <summary>
/// The result of one change to a session: the row before and after (the same instance when nothing changed), and the
/// fulfilment message still owed once the change and the work it owed are done.
/// </summary>
public sealed record SessionChange(CheckoutSession Before, CheckoutSession After, OutboxResult Owed)
{
    public bool Changed => !ReferenceEquals(Before, After);
}

/// <summary>Queues a gateway read of one session, to happen after a delay (see <see cref="Webhooks.FirstRecheckQueue"/>).</summary>
public interface IFirstRecheckQueue
{
    /// <param name="codeSubmittedAt">When the code went out (identifies the re-check).</param>
    /// <exception cref="StorageException">The queue could not be written.</exception>
    Task ScheduleAsync(string sessionId, DateTimeOffset codeSubmittedAt, TimeSpan delay, CancellationToken cancellationToken);
}

/// <summary>
/// Every change to a stored session, with the work it owes, as one operation: the due entry the new state needs is
/// written before the row (a crash in between leaves an entry with nothing to do, never a row that nobody looks at),
/// the row with a write conditional on its ETag (re-read and re-decided on a conflict), then the fulfilment message a
/// final state owes, and the entries no longer needed are dropped. Transitions are logged and counted here.
/// </summary>
public sealed class SessionWrites(
    ISessionStore sessions,
    IDueIndex due,
    Outbox outbox,
    CheckoutMetrics metrics,
    ILogger<SessionWrites> logger,
    IFirstRecheckQueue? rechecks = null)
{
    private const int MaxWriteAttempts = 10;

    /// <summary>Stores a new session after its expiry entry.</summary>
    /// <exception cref="StorageConflictException">A session with this id exists.</exception>
    public async Task<CheckoutSession> CreateAsync(CheckoutSession session, CancellationToken cancellationToken)
    {
        // The expiry entry goes first: a session row without one could outlive its expiry unnoticed,
        // while an entry without a row is simply dropped by the sweep.
        await due.ScheduleAsync(DueEntry.Expiry(session), cancellationToken);
        return await sessions.InsertAsync(session, cancellationToken);
    }

    /// <summary>
    /// Applies <paramref name="change"/> (a pure function of the stored session: null or the same instance for
    /// "nothing to do"; it may run more than once) and does what the change owes.
    /// </summary>
    /// <param name="known">The row as this operation just read or wrote it (saves a read; a stale one costs a retry).</param>
    /// <param name="operation">What made the change, for the transition log.</param>
    /// <returns>null when the session does not exist.</returns>
    /// <exception cref="ConcurrencyConflictException">The row kept changing under every attempt.</exception>
    public async Task<SessionChange?> ApplyAsync(
        string id,
        CheckoutSession? known,
        Func<CheckoutSession, CheckoutSession?> change,
        string operation,
        CancellationToken cancellationToken)
    {
        DueEntry? safety = null;
        Task? firstRecheck = null;
        for (var attempt = 1; ; attempt++)
        {
            var before = attempt == 1 && known is { ETag: not null } && known.Id == id ? known : await sessions.GetAsync(id, cancellationToken);
            if (before is null)
            {
                return null;
            }

            var after = change(before);
            if (after is null || ReferenceEquals(after, before) || after == before)
            {
                // Another writer got there first (perhaps with the very change this one would have made).
                if (safety is not null && !before.Outbox.Pending)
                {
                    await RemoveQuietlyAsync(safety, cancellationToken);
                }

                return new SessionChange(before, before, Owed(before));
            }

            if (OwesMessage(before, after) && safety is null)
            {
                // Should this process stop between the write and the publish, this brings the sweep back once the
                // claim has lapsed.
                safety = new DueEntry(id, after.Outbox.ClaimedUntil(outbox.ClaimLease)!.Value, DueKind.OutboxSafety);
                await due.ScheduleAsync(safety, cancellationToken);
            }

            // A code went out: its first re-check (a queue message that stays invisible for most of the confirmation
            // window) does not depend on this write, so it is sent alongside it, once. Should the write lose to
            // another writer, the message later re-reads a session that did not need it: a read, nothing more.
            if (firstRecheck is null && DueRules.FirstRecheck(before, after) is { } firstRecheckAt)
            {
                firstRecheck = ScheduleFirstRecheckAsync(after, firstRecheckAt, cancellationToken);
            }

            CheckoutSession written;
            try
            {
                written = await sessions.ReplaceAsync(after with { ETag = before.ETag }, cancellationToken);
            }
            catch (StoragePreconditionFailedException e)
            {
                if (attempt >= MaxWriteAttempts)
                {
                    throw new ConcurrencyConflictException($"Session {id} kept changing under {MaxWriteAttempts} attempts to update it.", e);
                }

                continue; // someone else wrote first: read again and re-decide
            }

            if (firstRecheck is not null)
            {
                await firstRecheck;
            }

            return await SettleAsync(before, written, operation, safety, cancellationToken);
        }
    }

    /// <summary>What the write owes now that it is stored.</summary>
    private async Task<SessionChange> SettleAsync(
        CheckoutSession before, CheckoutSession after, string operation, DueEntry? safety, CancellationToken cancellationToken)
    {
        if (after.AmountMismatch && !before.AmountMismatch)
        {
            // The shopper paid an amount or currency other than the one the shop asked for: once per session, when the
            // completion is recorded, before its fulfilment message (checkout.session.amount_mismatch) goes out.
            SessionLog.AmountMismatch(logger, after.Id, after.GatewayAmount, after.GatewayCurrency, after.Amount, after.Currency);
            metrics.AmountMismatch();
        }

        if (before.Status != after.Status)
        {
            SessionLog.Transition(logger, after.Id, before.Status.ToWire(), after.Status.ToWire(), operation);
        }

        if (after.CompletedAfterExpiry && !before.CompletedAfterExpiry)
        {
            SessionLog.LateCompletion(logger, after.Id);
            metrics.LateCompletion();
        }

        var owed = Owed(after);
        if (OwesMessage(before, after))
        {
            metrics.SessionFinished(after);
            owed = await outbox.PublishAsync(after, claimed: true, cancellationToken);

            // The expiry entry is no longer needed; drop it now rather than have the sweep read it later.
            await RemoveQuietlyAsync(DueEntry.Expiry(after.Id, before.ExpiresAt), cancellationToken);
        }

        if (safety is not null && owed.Settled)
        {
            await RemoveQuietlyAsync(safety, cancellationToken);
        }

        return new SessionChange(before, after, owed);
    }

    /// <summary>This write recorded a payment: the session became completed (an expired one included).</summary>
    internal static bool RecordsCompletion(CheckoutSession before, CheckoutSession after) =>
        !ReferenceEquals(before, after) && after.Status == SessionStatus.Completed && before.Status != SessionStatus.Completed;

    /// <summary>
    /// This write owes a fulfilment message and holds its claim: it made the session final, or moved it from one final
    /// state to another (expired → completed), which owes a message even if the expiry's is still unsent.
    /// </summary>
    private static bool OwesMessage(CheckoutSession before, CheckoutSession after) =>
        after.Outbox.Pending && (!before.Outbox.Pending || before.Status != after.Status);

    /// <summary>What a row owes that this operation did not take on: nothing, or a message someone holds.</summary>
    private OutboxResult Owed(CheckoutSession session) =>
        session.Outbox.Pending
            ? OutboxResult.HeldElsewhere(session.Outbox.ClaimedUntil(outbox.ClaimLease) ?? DateTimeOffset.UnixEpoch)
            : OutboxResult.Done;

    /// <summary>
    /// A code went out: its first gateway read is queued to happen just before <c>retry_code_after</c> (the sweep runs
    /// once a minute, too coarse for that). The sweep's entry at <c>retry_code_after</c> stays the backstop, so a
    /// failure here is logged, not thrown: the code is already out.
    /// </summary>
    private async Task ScheduleFirstRecheckAsync(CheckoutSession session, DateTimeOffset at, CancellationToken cancellationToken)
    {
        if (rechecks is null)
        {
            return;
        }

        var delay = at - session.UpdatedAt;
        try
        {
            await rechecks.ScheduleAsync(session.Id, session.CodeSubmittedAt!.Value, delay > TimeSpan.Zero ? delay : TimeSpan.Zero, cancellationToken);
        }
        catch (StorageException e)
        {
            SessionLog.FirstRecheckNotScheduled(logger, e, session.Id);
        }
    }

    private async Task RemoveQuietlyAsync(DueEntry entry, CancellationToken cancellationToken)
    {
        try
        {
            await due.RemoveAsync(entry, cancellationToken);
        }
        catch (StorageException)
        {
            // Best effort: the sweep removes entries of final sessions when it meets them.
        }
    }
}
