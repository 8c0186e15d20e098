using Blik.Checkout.Domain;
using Blik.Checkout.Processing;
using Blik.Checkout.Storage;

namespace Blik.Checkout.Refunds;

/// <summary>The sweep's work on a completed session's refunds.</summary>
public sealed class RefundSweep(IRefundStore refunds, RefundReservations reservations, RefundReconciler reconciler, Outbox outbox)
{
    /// <summary>
    /// Pending refunds are asked about again, owed messages sent, and reservations whose process stopped mid-way
    /// dropped.
    /// </summary>
    /// <returns>true when something of the session's refunds still needs a later look.</returns>
    public async Task<bool> SweepAsync(string sessionId, CancellationToken cancellationToken)
    {
        var stillPending = false;
        foreach (var refund in await refunds.ListAsync(sessionId, cancellationToken))
        {
            if (refund.IsReservation)
            {
                if (reservations.IsDead(refund))
                {
                    await reservations.ReleaseAsync(refund, cancellationToken);
                }
                else
                {
                    stillPending = true;
                }

                continue;
            }

            var current = refund.Status == RefundStatuses.Pending
                ? await reconciler.ReconcileAsync(sessionId, refund.Id, cancellationToken) ?? refund
                : refund;
            if (!(await outbox.PublishAsync(current, claimed: false, cancellationToken)).Settled || current.Status == RefundStatuses.Pending)
            {
                stillPending = true;
            }
        }

        return stillPending;
    }
}
