using Blik.Checkout.Domain;
using Blik.Checkout.Gateway;
using Blik.Checkout.Storage;
using Microsoft.Extensions.Logging;

namespace Blik.Checkout.Refunds;

/// <summary>What the gateway's session says about a reservation whose call got no answer.</summary>
public enum ReservationFate
{
    /// <summary>The gateway lists a refund that is this reservation's: it is now the stored refund.</summary>
    Created,

    /// <summary>The reservation's call can no longer be running and the gateway has no refund for it: released.</summary>
    NotCreated,

    /// <summary>Not known yet (the call may still be running, the gateway may be lagging, or it says too little).</summary>
    Undecided,
}

/// <param name="Refund">With <see cref="ReservationFate.Created"/>: the refund as stored now.</param>
public sealed record ReservationResolution(ReservationFate Fate, RefundRecord? Refund = null);

/// <summary>
/// Finds out what became of a reservation whose gateway call ended without an answer (or whose process stopped
/// mid-call), from the gateway's session: its <c>refunds</c> list names the refund; without a list,
/// <c>amount_refunded</c> tells whether more was refunded than the stored rows account for, and <c>refunded</c>
/// whether a reservation for the whole rest was created.
/// Nothing is released before the gateway says so: a reservation is dropped only once no call of its own can still be
/// running and the gateway's list has no refund for it.
/// </summary>
public sealed partial class RefundResolver(
    IConvergeGate gateway,
    IRefundStore refunds,
    RefundReservations reservations,
    RefundWrites writes,
    TimeProvider time,
    ILogger<RefundResolver> logger)
{
    /// <summary>How much earlier than our reservation the gateway's clock may date the refund it created for it.</summary>
    internal static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(5);

    /// <exception cref="GatewayUnavailableException">The gateway could not be read; nothing changed.</exception>
    public async Task<ReservationResolution> ResolveAsync(RefundRecord reservation, CancellationToken cancellationToken)
    {
        var stored = await refunds.ListAsync(reservation.SessionId, cancellationToken);
        if (stored.FirstOrDefault(r => r.ReservationId == reservation.Id && !r.IsReservation) is { } already)
        {
            // Its own request (or an earlier look) stored the refund; only the reservation was left over.
            await reservations.ReleaseAsync(reservation, cancellationToken);
            return new ReservationResolution(ReservationFate.Created, already);
        }

        if (stored.All(r => r.Id != reservation.Id))
        {
            return new ReservationResolution(ReservationFate.NotCreated); // released meanwhile
        }

        // Whether its call can still be running is decided before the gateway is read: a read that began inside the
        // lease may not show a refund the call is still creating.
        var pastLease = reservations.PastLease(reservation);
        var session = await gateway.GetSessionAsync(reservation.SessionId, cancellationToken);
        var (fate, match) = Judge(reservation, session, stored, pastLease);
        switch (fate)
        {
            case ReservationFate.Created:
                var refund = await AdoptAsync(reservation, match!, stored, cancellationToken);
                RefundResolved(logger, reservation.Id, reservation.SessionId, refund.Id);
                return new ReservationResolution(ReservationFate.Created, refund);
            case ReservationFate.NotCreated:
                await reservations.ReleaseAsync(reservation, cancellationToken);
                ReservationReleased(logger, reservation.Id, reservation.SessionId);
                return new ReservationResolution(ReservationFate.NotCreated);
            default:
                return new ReservationResolution(ReservationFate.Undecided);
        }
    }

    /// <summary>
    /// The decision alone. A refund of the gateway's list is the reservation's when no stored refund claims it yet
    /// (a row the webhook wrote has no reservation), its amount is the reserved one (or not given), and the gateway
    /// did not create it before the reservation existed.
    /// </summary>
    internal static (ReservationFate Fate, GatewayRefund? Refund) Judge(
        RefundRecord reservation, GatewaySession? session, IReadOnlyList<RefundRecord> stored, bool pastLease)
    {
        if (session is null)
        {
            return (ReservationFate.Undecided, null);
        }

        var settled = pastLease ? ReservationFate.NotCreated : ReservationFate.Undecided;
        if (session.Refunds is { } listed)
        {
            var claimed = stored.Where(r => !r.IsReservation && r.ReservationId is not null).Select(r => r.Id).ToHashSet(StringComparer.Ordinal);
            var match = listed
                .Where(g => !claimed.Contains(g.Id) && SessionIds.IsValid(g.Id))
                .Where(g => g.Amount is null || g.Amount == reservation.Amount)
                .Where(g => g.CreatedAt is null || g.CreatedAt >= reservation.CreatedAt - ClockSkew)
                .OrderBy(g => g.CreatedAt ?? DateTimeOffset.MaxValue)
                .FirstOrDefault();
            return match is null ? (settled, null) : (ReservationFate.Created, match);
        }

        // No list: the totals can still prove a refund exists (its webhook then names it), never which one it is.
        var accounted = stored.Where(r => !r.IsReservation && r.Holds).Sum(r => r.Amount);
        if (session.AmountRefunded is { } refunded)
        {
            return refunded - accounted >= reservation.Amount ? (ReservationFate.Undecided, null) : (settled, null);
        }

        // Only `refunded`: it settles a reservation that would have refunded the rest, either way.
        if (session.Refunded is { } full && session.AmountTotal is { } total && accounted + reservation.Amount >= total)
        {
            return full ? (ReservationFate.Undecided, null) : (settled, null);
        }

        return (ReservationFate.Undecided, null);
    }

    private async Task<RefundRecord> AdoptAsync(RefundRecord reservation, GatewayRefund match, IReadOnlyList<RefundRecord> stored, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        RefundRecord refund;
        if (stored.FirstOrDefault(r => r.Id == match.Id) is { } written)
        {
            // Its webhook was quicker: the row exists, without the merchant's reason and metadata.
            refund = await refunds.ReplaceAsync(written with
            {
                ReservationId = reservation.Id,
                Reason = written.Reason ?? reservation.Reason,
                Metadata = written.Metadata ?? reservation.Metadata,
            }, cancellationToken);
        }
        else
        {
            try
            {
                refund = await writes.InsertAsync(
                    (reservation with
                    {
                        Id = match.Id,
                        Amount = match.Amount ?? reservation.Amount,
                        Status = RefundStatuses.Pending,
                        ReservationId = reservation.Id,
                        EscalatedAt = null,
                        ETag = null,
                    }).WithStatus(RefundStatuses.FromGateway(match.Status), now),
                    cancellationToken);
            }
            catch (StorageConflictException)
            {
                // Written meanwhile by its webhook: claim that row on the next look.
                throw new ConcurrencyConflictException($"Refund {match.Id} was stored while reservation {reservation.Id} was resolved.");
            }
        }

        // The refund row holds the amount now; in between it counted twice, never zero times.
        await reservations.ReleaseAsync(reservation, cancellationToken);
        return refund;
    }

    [LoggerMessage(2205, LogLevel.Information, "Reservation {ReservationId} of session {SessionId} became refund {RefundId} at the gateway")]
    private static partial void RefundResolved(ILogger logger, string reservationId, string sessionId, string refundId);

    [LoggerMessage(2206, LogLevel.Information, "Reservation {ReservationId} of session {SessionId}: the gateway created no refund for it; released")]
    private static partial void ReservationReleased(ILogger logger, string reservationId, string sessionId);
}
