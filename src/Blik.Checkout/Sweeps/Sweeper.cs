using System.Collections.Concurrent;
using Blik.Checkout.Configuration;
using Blik.Checkout.Diagnostics;
using Blik.Checkout.Domain;
using Blik.Checkout.Processing;
using Blik.Checkout.Sessions;
using Blik.Checkout.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Blik.Checkout.Sweeps;

public sealed record SweepReport(int Read, int Reconciled, int Expired, int Rescheduled, int Removed, int Failed);

/// <summary>
/// The timer's work: every due entry gets the session re-read from the gateway (the backstop for lost webhooks),
/// sessions past <c>expires_at</c> are expired (after asking the gateway, which may say completed), and the entry is
/// removed or moved to the session's next check. Reads only due entries, so its cost follows the number due, not
/// the number stored.
/// </summary>
public sealed class Sweeper(
    IDueIndex due,
    ISessionStore sessions,
    SessionReconciler reconciler,
    SessionWrites writes,
    Outbox outbox,
    Refunds.RefundService refunds,
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
        var outcomes = new ConcurrentBag<string>();
        await Parallel.ForEachAsync(
            entries,
            new ParallelOptions { MaxDegreeOfParallelism = _options.Parallelism, CancellationToken = cancellationToken },
            async (entry, ct) =>
            {
                string outcome;
                try
                {
                    outcome = await HandleAsync(entry, ct);
                }
                catch (Exception e) when (e is GatewayUnavailableException or StorageException or ConcurrencyConflictException)
                {
                    SweepLog.EntryFailed(logger, e, entry.SessionId);
                    outcome = "failed";
                }

                metrics.SweepEntry(outcome);
                outcomes.Add(outcome);
            });

        var report = new SweepReport(
            entries.Count,
            outcomes.Count(o => o == "reconciled"),
            outcomes.Count(o => o == "expired"),
            outcomes.Count(o => o == "rescheduled"),
            outcomes.Count(o => o == "removed"),
            outcomes.Count(o => o == "failed"));
        SweepLog.Completed(logger, report.Read, report.Reconciled, report.Expired, report.Rescheduled, report.Removed, report.Failed);
        activity?.SetTag("checkout.sweep.read", report.Read).SetTag("checkout.sweep.failed", report.Failed);
        metrics.SweepRun();
        return report;
    }

    private async Task<string> HandleAsync(DueEntry entry, CancellationToken cancellationToken)
    {
        var stored = await sessions.GetAsync(entry.SessionId, cancellationToken);
        if (stored is null)
        {
            await due.RemoveAsync(entry, cancellationToken);
            return "removed";
        }

        if (stored.Status.IsFinal())
        {
            if (await outbox.PublishAsync(stored, claimed: false, cancellationToken) is { Settled: false, HeldUntil: { } heldUntil })
            {
                // Another publisher holds the claim: come back when its lease runs out.
                await MoveAsync(entry, new DueEntry(entry.SessionId, heldUntil, DueKind.OutboxSafety), cancellationToken);
                return "rescheduled";
            }

            if (stored.Status == SessionStatus.Completed && await refunds.SweepAsync(stored.Id, cancellationToken))
            {
                // A refund of this session is still pending: look again later.
                await MoveAsync(entry, new DueEntry(entry.SessionId, time.GetUtcNow() + _options.RecheckInterval, DueKind.RefundPending), cancellationToken);
                return "rescheduled";
            }

            await due.RemoveAsync(entry, cancellationToken);
            return "removed";
        }

        var result = await reconciler.ReconcileAsync(entry.SessionId, stored, "sweep", cancellationToken);
        var session = result.Session ?? stored;
        var now = time.GetUtcNow();
        if (session.Status.IsFinal())
        {
            await due.RemoveAsync(entry, cancellationToken);
            return session.Status == SessionStatus.Expired ? "expired" : "reconciled";
        }

        if (now >= session.ExpiresAt + _options.ExpiryGrace)
        {
            // Past expiry and grace and the gateway still says open: stop taking codes for it.
            await writes.ApplyAsync(session.Id, session, s => SessionRules.Expire(s, time.GetUtcNow()), "sweep expiry", cancellationToken);
            await due.RemoveAsync(entry, cancellationToken);
            return "expired";
        }

        await MoveAsync(entry, NextCheck(session, now), cancellationToken);
        return result.Outcome == ReconcileOutcome.Applied ? "reconciled" : "rescheduled";
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

    /// <summary>When a session that is not final needs looking at again.</summary>
    internal DueEntry NextCheck(CheckoutSession session, DateTimeOffset now) =>
        DueRules.NextCheck(session, now, _options.RecheckInterval, _checkout.ConfirmationWindow + _options.RecheckHorizon);
}
