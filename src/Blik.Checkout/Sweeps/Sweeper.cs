using Blik.Checkout.Configuration;
using Blik.Checkout.Diagnostics;
using Blik.Checkout.Domain;
using Blik.Checkout.Processing;
using Blik.Checkout.Sessions;
using Blik.Checkout.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Blik.Checkout.Sweeps;

/// <summary>What the sweep did with one due entry.</summary>
public enum SweepOutcome
{
    /// <summary>The gateway's news was applied to the session.</summary>
    Reconciled,

    /// <summary>
    /// The session expired: the gateway said so, or (past expiry and grace) it no longer knew the session or kept it
    /// open with nothing in flight past <see cref="SweepOptions.LocalExpiryGrace"/>.
    /// </summary>
    Expired,

    /// <summary>Nothing to do yet: the entry moved to the session's next check.</summary>
    Rescheduled,

    /// <summary>The session needs nothing more (or is gone): the entry was dropped.</summary>
    Removed,

    /// <summary>The gateway or storage failed; the entry stays due for the next run.</summary>
    Failed,
}

/// <summary>One run: the entries read, and how many ended in each <see cref="SweepOutcome"/>.</summary>
public sealed record SweepReport(int Read, int Reconciled, int Expired, int Rescheduled, int Removed, int Failed)
{
    internal static SweepReport From(int read, int[] counts) => new(
        read,
        counts[(int)SweepOutcome.Reconciled],
        counts[(int)SweepOutcome.Expired],
        counts[(int)SweepOutcome.Rescheduled],
        counts[(int)SweepOutcome.Removed],
        counts[(int)SweepOutcome.Failed]);
}

/// <summary>
/// The timer's work: every due entry gets the session re-read from the gateway (the backstop for lost webhooks),
/// sessions past <c>expires_at</c> are expired when the gateway says so (or, without its word, only as
/// <see cref="SessionRules.MayExpireLocally"/> allows: never while a payment is in flight), and the entry is
/// removed or moved to the session's next check. Reads only due entries, so its cost follows the number due, not
/// the number stored.
/// </summary>
public sealed class Sweeper(
    IDueIndex due,
    ISessionStore sessions,
    SessionReconciler reconciler,
    SessionWrites writes,
    Outbox outbox,
    Refunds.RefundSweep refunds,
    IOptions<SweepOptions> sweepOptions,
    IOptions<CheckoutOptions> checkoutOptions,
    TimeProvider time,
    CheckoutMetrics metrics,
    ILogger<Sweeper> logger)
{
    private readonly SweepOptions _options = sweepOptions.Value;
    private readonly CheckoutOptions _checkout = checkoutOptions.Value;

    public async Task<SweepReport> RunAsync(CancellationToken cancellationToken)
    {
        using var activity = CheckoutTelemetry.Source.StartActivity("sweep");
        var entries = await due.ReadDueAsync(time.GetUtcNow(), _options.MaxPerRun, cancellationToken);
        var counts = new int[Enum.GetValues<SweepOutcome>().Length];
        await Parallel.ForEachAsync(
            entries,
            new ParallelOptions { MaxDegreeOfParallelism = _options.Parallelism, CancellationToken = cancellationToken },
            async (entry, ct) =>
            {
                SweepOutcome outcome;
                try
                {
                    outcome = await HandleAsync(entry, ct);
                }
                catch (Exception e) when (e is GatewayUnavailableException or StorageException or ConcurrencyConflictException)
                {
                    SweepLog.EntryFailed(logger, e, entry.SessionId);
                    outcome = SweepOutcome.Failed;
                }

                metrics.SweepEntry(Tag(outcome));
                Interlocked.Increment(ref counts[(int)outcome]);
            });

        var report = SweepReport.From(entries.Count, counts);
        SweepLog.Completed(logger, report.Read, report.Reconciled, report.Expired, report.Rescheduled, report.Removed, report.Failed);
        activity?.SetTag("checkout.sweep.read", report.Read).SetTag("checkout.sweep.failed", report.Failed);
        metrics.SweepRun();
        return report;
    }

    private async Task<SweepOutcome> HandleAsync(DueEntry entry, CancellationToken cancellationToken)
    {
        var stored = await sessions.GetAsync(entry.SessionId, cancellationToken);
        if (stored is null)
        {
            await due.RemoveAsync(entry, cancellationToken);
            return SweepOutcome.Removed;
        }

        if (stored.Status.IsFinal())
        {
            if (await outbox.PublishAsync(stored, claimed: false, cancellationToken) is { Settled: false, HeldUntil: { } heldUntil })
            {
                // Another publisher holds the claim: come back when its lease runs out.
                await MoveAsync(entry, new DueEntry(entry.SessionId, heldUntil, DueKind.OutboxSafety), cancellationToken);
                return SweepOutcome.Rescheduled;
            }

            if (stored.Status == SessionStatus.Completed && await refunds.SweepAsync(stored.Id, cancellationToken) is { } nextLook)
            {
                // A refund of this session is still unresolved: look again when it is due (backing off as it ages).
                await MoveAsync(entry, new DueEntry(entry.SessionId, nextLook, DueKind.RefundPending), cancellationToken);
                return SweepOutcome.Rescheduled;
            }

            await due.RemoveAsync(entry, cancellationToken);
            return SweepOutcome.Removed;
        }

        var result = await reconciler.ReconcileAsync(entry.SessionId, stored, "sweep", cancellationToken);
        var session = result.Session ?? stored;
        var now = time.GetUtcNow();
        if (session.Status.IsFinal())
        {
            await due.RemoveAsync(entry, cancellationToken);
            return session.Status == SessionStatus.Expired ? SweepOutcome.Expired : SweepOutcome.Reconciled;
        }

        var gatewayKnowsIt = result.Outcome != ReconcileOutcome.UnknownAtGateway;
        if (SessionRules.MayExpireLocally(session, gatewayKnowsIt, result.GatewayStatus, now, _options.ExpiryGrace, _options.LocalExpiryGrace, CodeInFlightFor))
        {
            // The gateway does not know the session, or has called it open with nothing in flight long past its expiry:
            // stop taking codes for it. Marked as our own expiry; a payment that still surfaces completes it.
            var expired = await writes.ApplyAsync(
                session.Id,
                session,
                s => SessionRules.MayExpireLocally(s, gatewayKnowsIt, result.GatewayStatus, time.GetUtcNow(), _options.ExpiryGrace, _options.LocalExpiryGrace, CodeInFlightFor)
                    ? SessionRules.Expire(s, time.GetUtcNow())
                    : null,
                "sweep expiry",
                cancellationToken);
            if (expired?.After.Status.IsFinal() != false)
            {
                await due.RemoveAsync(entry, cancellationToken);
                return SweepOutcome.Expired;
            }

            session = expired.After;
        }

        await MoveAsync(entry, NextCheck(session, now), cancellationToken);
        return result.Outcome == ReconcileOutcome.Applied ? SweepOutcome.Reconciled : SweepOutcome.Rescheduled;
    }

    private async Task MoveAsync(DueEntry entry, DueEntry next, CancellationToken cancellationToken)
    {
        if (next.SameSlot(entry))
        {
            return;
        }

        // New entry first, then the old one: a crash in between leaves a duplicate, never a gap.
        await due.ScheduleAsync(next, cancellationToken);
        await due.RemoveAsync(entry, cancellationToken);
    }

    /// <summary>How long after a code is submitted it counts as in flight.</summary>
    private TimeSpan CodeInFlightFor => _checkout.ConfirmationWindow + _options.RecheckHorizon;

    /// <summary>When a session that is not final needs looking at again.</summary>
    internal DueEntry NextCheck(CheckoutSession session, DateTimeOffset now) =>
        DueRules.NextCheck(session, now, _options.RecheckInterval, CodeInFlightFor, _options.ExpiryGrace, _options.LocalExpiryGrace);

    /// <summary>The outcome as the <c>blik.sweep.entries</c> metric tags it.</summary>
    private static string Tag(SweepOutcome outcome) => outcome switch
    {
        SweepOutcome.Reconciled => "reconciled",
        SweepOutcome.Expired => "expired",
        SweepOutcome.Rescheduled => "rescheduled",
        SweepOutcome.Removed => "removed",
        _ => "failed",
    };
}
