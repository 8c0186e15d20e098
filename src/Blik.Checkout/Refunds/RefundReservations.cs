using Blik.Checkout.Domain;
using Blik.Checkout.Storage;

namespace Blik.Checkout.Refunds;

/// <summary>
/// Holds a refund's amount while the gateway is asked for it. A reservation row is written, then the session row's
/// refund version is bumped with its ETag, so of two racing refunds only one can reserve against a given view of the
/// session's refunds; the loser counts again. A refund learned from the gateway alone bumps the version too
/// (<see cref="TakeLockAsync"/>). What is refunded is always the sum of the rows, so no counter can drift.
/// A reservation holds its amount until it is released: by its own request once the gateway answered, or by
/// <see cref="RefundResolver"/> once the gateway's session says whether it became a refund.
/// </summary>
public sealed class RefundReservations(ISessionStore sessions, IRefundStore refunds, GatewayCallLeases leases, TimeProvider time)
{
    private const int MaxAttempts = 10;

    /// <summary>
    /// How long a reservation counts as waiting for its own gateway call: the longest call the settings allow and the
    /// writes around it. Past it, no call of its own can still be running.
    /// </summary>
    public TimeSpan Lease => leases.ReservationLease;

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
            var holding = (await refunds.ListAsync(sessionId, cancellationToken)).Where(r => r.Holds).ToArray();
            var remaining = holding.Any(r => r.AmountUnknown) ? 0 : session.Amount - holding.Sum(r => r.Amount);
            var amount = request.Amount ?? remaining;
            if ((remaining <= 0 || amount > remaining) && holding.Any(r => r.Status == RefundStatuses.Creating) && attempt < MaxAttempts)
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

    /// <summary>
    /// A refund row written from the gateway's word alone (a webhook, a read) takes the same lock a reservation does:
    /// a reservation that counted the session's refunds before the row existed fails its commit and counts again.
    /// </summary>
    public async Task TakeLockAsync(string sessionId, CancellationToken cancellationToken)
    {
        for (var attempt = 1; attempt <= MaxAttempts; attempt++)
        {
            if (await sessions.GetAsync(sessionId, cancellationToken) is not { } session)
            {
                return;
            }

            try
            {
                await sessions.ReplaceAsync(session with { RefundVersion = session.RefundVersion + 1 }, cancellationToken);
                return;
            }
            catch (StoragePreconditionFailedException)
            {
                await BackOffAsync(attempt, cancellationToken);
            }
        }

        throw new ConcurrencyConflictException($"Session {sessionId} kept changing while a refund took its lock.");
    }

    /// <summary>Drops a reservation (the gateway refused, or the refund row now holds the amount).</summary>
    public Task ReleaseAsync(RefundRecord reservation, CancellationToken cancellationToken) => refunds.DeleteAsync(reservation, cancellationToken);

    /// <summary>When no gateway call of the reservation's own request can still be running.</summary>
    public DateTimeOffset LeaseEnds(RefundRecord reservation) => reservation.CreatedAt + Lease;

    /// <summary>Its own call can no longer be running (it ended without an answer, or its process stopped).</summary>
    public bool PastLease(RefundRecord reservation) => time.GetUtcNow() >= LeaseEnds(reservation);

    /// <summary>Whether a gateway call started now would surely end within the reservation's lease.</summary>
    public bool CanStartCall(RefundRecord reservation) => time.GetUtcNow() + leases.LongestCall < LeaseEnds(reservation);

    /// <summary>A short random pause, so racing refunds spread out instead of colliding on every round.</summary>
    private static Task BackOffAsync(int attempt, CancellationToken cancellationToken) =>
        Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(5, 20) * attempt), cancellationToken);
}
