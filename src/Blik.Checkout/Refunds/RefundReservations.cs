using Blik.Checkout.Domain;
using Blik.Checkout.Storage;

namespace Blik.Checkout.Refunds;

/// <summary>
/// Holds a refund's amount while the gateway is asked for it. A reservation row is written, then the session row's
/// refund version is bumped with its ETag, so of two racing refunds only one can reserve against a given view of the
/// session's refunds; the loser counts again. What is refunded is always the sum of the rows, so no counter can
/// drift.
/// </summary>
public sealed class RefundReservations(ISessionStore sessions, IRefundStore refunds, TimeProvider time)
{
    /// <summary>How long a reservation without a gateway answer counts (covers a gateway call with its timeout).</summary>
    public static readonly TimeSpan Lease = TimeSpan.FromMinutes(2);

    private const int MaxAttempts = 10;

    /// <summary>The reservation for <paramref name="request"/> on a completed session, or why there can be none.</summary>
    public async Task<Outcome<RefundRecord>> ReserveAsync(string sessionId, CreateRefundRequest request, CancellationToken cancellationToken)
    {
        for (var attempt = 1; attempt <= MaxAttempts; attempt++)
        {
            var session = await sessions.GetAsync(sessionId, cancellationToken);
            if (session is null)
            {
                return new Refusal.SessionNotFound();
            }

            if (session.Status != SessionStatus.Completed)
            {
                return new Refusal.SessionNotRefundable(session.Status);
            }

            var now = time.GetUtcNow().WholeSeconds();
            var holding = (await refunds.ListAsync(sessionId, cancellationToken)).Where(r => r.Holds(now, Lease)).ToArray();
            var remaining = session.Amount - holding.Sum(r => r.Amount);
            var amount = request.Amount ?? remaining;
            if ((remaining <= 0 || amount > remaining) && holding.Any(r => r.IsReservation) && attempt < MaxAttempts)
            {
                // Some of what holds the amount are reservations of racing requests, and those that lose their race
                // vanish in a moment: count again before refusing.
                await BackOffAsync(attempt, cancellationToken);
                continue;
            }

            if (remaining <= 0)
            {
                return new Refusal.NothingToRefund();
            }

            if (amount > remaining)
            {
                return new Refusal.AmountOverRefundable(remaining, session.Amount);
            }

            var reservation = await refunds.InsertAsync(new RefundRecord
            {
                SessionId = sessionId,
                Id = RefundRecord.ReservationPrefix + Guid.NewGuid().ToString("N"),
                Amount = amount,
                Currency = session.Currency,
                Status = RefundStatuses.Creating,
                Reason = request.Reason,
                Metadata = request.Metadata,
                CreatedAt = now,
                UpdatedAt = now,
            }, cancellationToken);

            try
            {
                // Commit the reservation against exactly the session version whose refunds we summed.
                await sessions.ReplaceAsync(session with { RefundVersion = session.RefundVersion + 1 }, cancellationToken);
                return reservation;
            }
            catch (StoragePreconditionFailedException)
            {
                await ReleaseAsync(reservation, cancellationToken); // someone else moved first: count again
                await BackOffAsync(attempt, cancellationToken);
            }
        }

        return new Refusal.InProgress();
    }

    /// <summary>Drops a reservation (the gateway refused, or the refund row now holds the amount).</summary>
    public Task ReleaseAsync(RefundRecord reservation, CancellationToken cancellationToken) => refunds.DeleteAsync(reservation, cancellationToken);

    /// <summary>A reservation whose gateway call can no longer be running (its process stopped mid-way).</summary>
    public bool IsDead(RefundRecord reservation) => reservation.IsReservation && !reservation.Holds(time.GetUtcNow().WholeSeconds(), Lease);

    /// <summary>A short random pause, so racing refunds spread out instead of colliding on every round.</summary>
    private static Task BackOffAsync(int attempt, CancellationToken cancellationToken) =>
        Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(5, 20) * attempt), cancellationToken);
}
