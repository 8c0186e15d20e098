using System.Text.Json;
using Blik.Checkout.Configuration;
using Blik.Checkout.Diagnostics;
using Blik.Checkout.Domain;
using Blik.Checkout.Gateway;
using Blik.Checkout.Processing;
using Blik.Checkout.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Blik.Checkout.Refunds;

public sealed record CreateRefundRequest(long? Amount, string? Reason, IReadOnlyDictionary<string, string>? Metadata)
{
    public string Fingerprint(string sessionId) => IdempotencyStore.Hash(JsonSerializer.Serialize(new object?[]
    {
        sessionId, Amount, Reason,
        Metadata is null ? null : new SortedDictionary<string, string>(Metadata.ToDictionary(), StringComparer.Ordinal),
    }));
}

/// <summary>
/// Refunds of completed sessions. The amount is reserved before the gateway is called: a reservation row is
/// written, then the session row's refund version is bumped with its ETag, so of two racing refunds only one
/// can reserve against a given view of the session's refunds; the loser re-reads and re-decides. What is refunded
/// is the sum of the rows, so no counter can drift. Refund state then follows the gateway (webhooks, sweep), and
/// each refund's first final state publishes one message on the fulfilment queue.
/// </summary>
public sealed partial class RefundService(
    IConvergeGate gateway,
    ISessionStore sessions,
    IRefundStore refunds,
    IDueIndex due,
    IdempotencyStore idempotency,
    Outbox outbox,
    IOptions<CheckoutOptions> checkoutOptions,
    IOptions<SweepOptions> sweepOptions,
    TimeProvider time,
    ILogger<RefundService> logger)
{
    public static readonly string[] Reasons = ["requested_by_customer", "duplicated", "fraudulent"];

    /// <summary>How long a reservation without a gateway answer counts (covers a gateway call with its timeout).</summary>
    private static readonly TimeSpan ReservationLease = TimeSpan.FromMinutes(2);

    private const int MaxReserveAttempts = 10;

    private readonly CheckoutOptions _options = checkoutOptions.Value;
    private readonly SweepOptions _sweep = sweepOptions.Value;

    public async Task<Outcome<(RefundRecord Refund, bool Replayed)>> CreateAsync(string sessionId, CreateRefundRequest request, string? idempotencyKey, CancellationToken cancellationToken)
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

        return await idempotency.ExecuteAsync<RefundRecord>(
            idempotencyKey is null ? null : $"refund:{sessionId}:{idempotencyKey}",
            request.Fingerprint(sessionId),
            _options.IdempotencyLease,
            async (checkpoint, ct) =>
            {
                var refund = await ReserveAndCreateAsync(session, request, checkpoint, ct);
                return refund.Refusal is { } refused ? refused : (refund.Value!, refund.Value!.Id);
            },
            (refundId, ct) => refunds.GetAsync(sessionId, refundId, ct),
            cancellationToken);
    }

    private async Task<Outcome<RefundRecord>> ReserveAndCreateAsync(CheckoutSession session, CreateRefundRequest request, Func<string, Task> checkpoint, CancellationToken cancellationToken)
    {
        var reserved = await ReserveAsync(session.Id, request, cancellationToken);
        if (reserved.Refusal is not null)
        {
            return reserved;
        }

        var reservation = reserved.Value!;
        GatewayRefund created;
        try
        {
            created = await gateway.CreateRefundAsync(
                new GatewayRefundRequest(session.Id, reservation.Amount, request.Reason, request.Metadata), cancellationToken);
        }
        catch (Exception e) when (e is GatewayRejectedException or GatewayUnavailableException)
        {
            // Refused: nothing was refunded. Unknown: if the gateway did create it, its refund.created webhook
            // brings it back as a row (and the gateway itself refuses to refund more than was paid).
            await refunds.DeleteAsync(reservation, CancellationToken.None);
            throw;
        }

        var now = time.GetUtcNow().WholeSeconds();
        var record = (reservation with
        {
            Id = SessionIds.IsValid(created.Id) ? created.Id : throw new GatewayUnavailableException("it returned a refund id this service cannot store"),
            Amount = created.Amount ?? reservation.Amount,
            ETag = null,
        }).WithStatus(RefundStatuses.FromGateway(created.Status), now);

        // The real row first, then drop the reservation: in between the amount counts twice, never zero times.
        try
        {
            record = await refunds.InsertAsync(record, cancellationToken);
        }
        catch (StorageConflictException)
        {
            // Its webhook was quicker and already wrote the row.
            record = await refunds.GetAsync(session.Id, record.Id, cancellationToken) ?? record;
        }

        await checkpoint(record.Id); // from here a retry with the same key gets this refund back

        await refunds.DeleteAsync(reservation, cancellationToken);
        if (record.Status == RefundStatuses.Pending)
        {
            await due.ScheduleAsync(new DueEntry(session.Id, now + _sweep.RecheckInterval, DueKind.RefundPending), cancellationToken);
        }

        await outbox.PublishAsync(record, claimed: true, cancellationToken);
        RefundCreated(logger, record.Id, session.Id, record.Amount, record.Status);
        return record;
    }

    private async Task<Outcome<RefundRecord>> ReserveAsync(string sessionId, CreateRefundRequest request, CancellationToken cancellationToken)
    {
        for (var attempt = 1; attempt <= MaxReserveAttempts; attempt++)
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
            var holding = (await refunds.ListAsync(sessionId, cancellationToken)).Where(r => r.Holds(now, ReservationLease)).ToArray();
            var remaining = session.Amount - holding.Sum(r => r.Amount);
            var amount = request.Amount ?? remaining;
            if ((remaining <= 0 || amount > remaining) && holding.Any(r => r.IsReservation) && attempt < MaxReserveAttempts)
            {
                // Some of what holds the amount are reservations of racing requests, and those that lose their race
                // vanish in a moment: count again before refusing.
                await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(5, 20) * attempt), cancellationToken);
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
                await refunds.DeleteAsync(reservation, cancellationToken); // someone else moved first: count again

                // A short random back-off, so racing refunds spread out instead of colliding on every round.
                await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(5, 20) * attempt), cancellationToken);
            }
        }

        return new Refusal.InProgress();
    }

    /// <summary>Brings one refund in line with the gateway (webhooks and the sweep come here).</summary>
    public async Task<RefundRecord?> ReconcileAsync(string sessionId, string refundId, CancellationToken cancellationToken)
    {
        var snapshot = await gateway.GetRefundAsync(refundId, cancellationToken);
        if (snapshot is null || (snapshot.SessionId is not null && snapshot.SessionId != sessionId))
        {
            RefundUnknown(logger, refundId, sessionId);
            return null;
        }

        var session = await sessions.GetAsync(sessionId, cancellationToken);
        if (session is null)
        {
            return null;
        }

        var status = RefundStatuses.FromGateway(snapshot.Status);
        for (var attempt = 0; attempt < MaxReserveAttempts; attempt++)
        {
            var now = time.GetUtcNow().WholeSeconds();
            var stored = await refunds.GetAsync(sessionId, refundId, cancellationToken);
            try
            {
                RefundRecord record;
                if (stored is null)
                {
                    // Created where we did not see the answer (a lost response, or the gateway's dashboard).
                    record = await refunds.InsertAsync(new RefundRecord
                    {
                        SessionId = sessionId,
                        Id = refundId,
                        Amount = snapshot.Amount ?? 0,
                        Currency = snapshot.Currency ?? session.Currency,
                        Status = RefundStatuses.Pending,
                        Reason = snapshot.Reason,
                        CreatedAt = snapshot.CreatedAt ?? now,
                        UpdatedAt = now,
                    }.WithStatus(status, now), cancellationToken);
                    await outbox.PublishAsync(record, claimed: true, cancellationToken);
                    return record;
                }

                if (RefundStatuses.IsFinal(stored.Status) || stored.Status == status)
                {
                    await outbox.PublishAsync(stored, claimed: false, cancellationToken);
                    return stored; // final states are absorbing
                }

                record = await refunds.ReplaceAsync(stored.WithStatus(status, now), cancellationToken);
                RefundTransition(logger, refundId, sessionId, stored.Status, status);
                await outbox.PublishAsync(record, claimed: true, cancellationToken);
                return record;
            }
            catch (Exception e) when (e is StorageConflictException or StoragePreconditionFailedException)
            {
                // Another writer got there first; look again.
            }
        }

        throw new ConcurrencyConflictException($"Refund {refundId} kept changing while it was reconciled.");
    }

    /// <summary>The sweep's work for a completed session: pending refunds re-checked, owed messages sent, dead reservations dropped.</summary>
    /// <returns>true when some refund of the session is still pending.</returns>
    public async Task<bool> SweepAsync(string sessionId, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().WholeSeconds();
        var stillPending = false;
        foreach (var refund in await refunds.ListAsync(sessionId, cancellationToken))
        {
            if (refund.IsReservation)
            {
                if (!refund.Holds(now, ReservationLease))
                {
                    await refunds.DeleteAsync(refund, cancellationToken);
                }
                else
                {
                    stillPending = true;
                }

                continue;
            }

            var current = refund.Status == RefundStatuses.Pending
                ? await ReconcileAsync(sessionId, refund.Id, cancellationToken) ?? refund
                : refund;
            if (!(await outbox.PublishAsync(current, claimed: false, cancellationToken)).Settled || current.Status == RefundStatuses.Pending)
            {
                stillPending = true;
            }
        }

        return stillPending;
    }

    /// <summary>What the session's succeeded refunds add up to (0 for a session that is not completed).</summary>
    public async Task<long> AmountRefundedAsync(CheckoutSession session, CancellationToken cancellationToken) =>
        session.Status != SessionStatus.Completed
            ? 0
            : (await refunds.ListAsync(session.Id, cancellationToken)).Where(r => r.Status == RefundStatuses.Succeeded).Sum(r => r.Amount);

    public async Task<Outcome<RefundRecord[]>> ListAsync(string sessionId, CancellationToken cancellationToken)
    {
        if (await sessions.GetAsync(sessionId, cancellationToken) is null)
        {
            return new Refusal.SessionNotFound();
        }

        return (await refunds.ListAsync(sessionId, cancellationToken)).Where(r => !r.IsReservation).OrderBy(r => r.CreatedAt).ToArray();
    }

    public async Task<Outcome<RefundRecord>> GetAsync(string sessionId, string refundId, CancellationToken cancellationToken) =>
        (SessionIds.IsValid(refundId) && !refundId.StartsWith(RefundRecord.ReservationPrefix, StringComparison.Ordinal)
            ? await refunds.GetAsync(sessionId, refundId, cancellationToken)
            : null) is { } refund ? refund : new Refusal.RefundNotFound();

    [LoggerMessage(2201, LogLevel.Information, "Refund {RefundId} of {Amount} created for session {SessionId}: {Status}")]
    private static partial void RefundCreated(ILogger logger, string refundId, string sessionId, long amount, string status);

    [LoggerMessage(2202, LogLevel.Information, "Refund {RefundId} of session {SessionId}: {From} -> {To}")]
    private static partial void RefundTransition(ILogger logger, string refundId, string sessionId, string from, string to);

    [LoggerMessage(2203, LogLevel.Warning, "Refund {RefundId} is unknown to the gateway or belongs to another session than {SessionId}; ignored")]
    private static partial void RefundUnknown(ILogger logger, string refundId, string sessionId);
}
