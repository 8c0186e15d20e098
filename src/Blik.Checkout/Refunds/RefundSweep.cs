using Blik.Checkout.Configuration;
using Blik.Checkout.Diagnostics;
using Blik.Checkout.Domain;
using Blik.Checkout.Processing;
using Blik.Checkout.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Blik.Checkout.Refunds;

/// <summary>The sweep's work on a completed session's refunds.</summary>
public sealed partial class RefundSweep(
    IRefundStore refunds,
    RefundReservations reservations,
    RefundResolver resolver,
    RefundReconciler reconciler,
    Outbox outbox,
    IOptions<SweepOptions> sweepOptions,
    TimeProvider time,
    CheckoutMetrics metrics,
    ILogger<RefundSweep> logger)
{
    /// <summary>The longest wait between two looks at a refund the gateway leaves unresolved.</summary>
    public static readonly TimeSpan MaxRecheckInterval = TimeSpan.FromHours(1);

    /// <summary>A refund still unresolved this long after it was asked for is raised for an operator, once.</summary>
    public static readonly TimeSpan EscalateAfter = TimeSpan.FromHours(24);

    private readonly SweepOptions _options = sweepOptions.Value;

    /// <summary>
    /// Reservations whose call ended without an answer (or whose process stopped) are resolved from the gateway's
    /// session, pending refunds asked about again, owed messages sent. What stays unresolved is looked at again after
    /// half its age (at least <c>Sweep__RecheckInterval</c>, at most <see cref="MaxRecheckInterval"/>), and raised
    /// for an operator once it is older than <see cref="EscalateAfter"/>.
    /// </summary>
    /// <returns>When something of the session's refunds needs the next look; null when nothing does.</returns>
    public async Task<DateTimeOffset?> SweepAsync(string sessionId, CancellationToken cancellationToken)
    {
        DateTimeOffset? next = null;
        void LookAgainAt(DateTimeOffset at) => next = next is { } earlier && earlier <= at ? earlier : at;

        foreach (var refund in await refunds.ListAsync(sessionId, cancellationToken))
        {
            var current = refund;
            if (refund.IsReservation)
            {
                if (refund.Status == RefundStatuses.Creating && !reservations.PastLease(refund))
                {
                    LookAgainAt(reservations.LeaseEnds(refund)); // its own request may still be waiting for the gateway
                    continue;
                }

                var resolution = await resolver.ResolveAsync(refund, cancellationToken);
                if (resolution.Fate == ReservationFate.NotCreated)
                {
                    continue;
                }

                current = resolution.Refund ?? refund;
            }
            else if (refund.Status == RefundStatuses.Pending)
            {
                current = await reconciler.ReconcileAsync(sessionId, refund.Id, cancellationToken) ?? refund;
            }

            if (!current.IsReservation && !(await outbox.PublishAsync(current, claimed: false, cancellationToken)).Settled)
            {
                LookAgainAt(time.GetUtcNow() + _options.RecheckInterval);
            }

            if (current.Unresolved)
            {
                LookAgainAt(await WatchAsync(current, cancellationToken));
            }
        }

        return next;
    }

    /// <summary>When to look at an unresolved refund again; raises it once it has been unresolved too long.</summary>
    private async Task<DateTimeOffset> WatchAsync(RefundRecord refund, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var age = now - refund.CreatedAt;
        if (age >= EscalateAfter && refund.EscalatedAt is null)
        {
            var state = refund.IsReservation ? "unknown_outcome" : "pending";
            try
            {
                await refunds.ReplaceAsync(refund with { EscalatedAt = now.WholeSeconds() }, cancellationToken);
                RefundUnresolved(logger, refund.Id, refund.SessionId, state, refund.Amount, age);
                metrics.RefundUnresolved(state);
            }
            catch (StoragePreconditionFailedException)
            {
                // Changed meanwhile (resolved, or raised by another run): the next look decides.
            }
        }

        return now + NextInterval(age, _options.RecheckInterval);
    }

    /// <summary>Half the refund's age, between the recheck interval and <see cref="MaxRecheckInterval"/>: exponential in the number of looks.</summary>
    internal static TimeSpan NextInterval(TimeSpan age, TimeSpan recheckInterval)
    {
        var half = age / 2;
        return half < recheckInterval ? recheckInterval : half > MaxRecheckInterval ? MaxRecheckInterval : half;
    }

    [LoggerMessage(2207, LogLevel.Critical, "Refund {RefundId} of session {SessionId} is still unresolved at the gateway ({State}, amount {Amount}) after {Age}: ask Converge Gate what became of it")]
    private static partial void RefundUnresolved(ILogger logger, string refundId, string sessionId, string state, long amount, TimeSpan age);
}
