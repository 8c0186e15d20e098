using Blik.Checkout.Configuration;
using Blik.Checkout.Domain;
using Blik.Checkout.Gateway;
using Blik.Checkout.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Blik.Checkout.Refunds;

/// <summary>
/// The refund operations of the merchant API: create (reserve the amount, ask the gateway, store the refund), list
/// and get. Refund state then follows the gateway (<see cref="RefundReconciler"/>: webhooks and the sweep), and each
/// refund's first final state publishes one message on the fulfilment queue. A refund whose gateway answer was lost is
/// not a failure: its amount stays reserved and its <c>Idempotency-Key</c> bound until the gateway's session says
/// whether it exists (<see cref="RefundResolver"/>: at once, on a retry with the key, or by the sweep).
/// </summary>
public sealed partial class RefundService(
    IConvergeGate gateway,
    ISessionStore sessions,
    IRefundStore refunds,
    IDueIndex due,
    IdempotencyStore idempotency,
    RefundReservations reservations,
    RefundResolver resolver,
    RefundWrites writes,
    IOptions<CheckoutOptions> checkoutOptions,
    IOptions<SweepOptions> sweepOptions,
    TimeProvider time,
    ILogger<RefundService> logger)
{
    /// <summary>What a retry is told to wait once a reservation's own call can no longer be running.</summary>
    private static readonly TimeSpan PendingRetryAfter = TimeSpan.FromSeconds(30);

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
            async (scope, ct) =>
            {
                var refund = await ReserveAndCreateAsync(session, request, scope, ct);
                return refund.Refusal is { } refused ? refused : (refund.Value!, refund.Value!.Id);
            },
            (id, ct) => FindForKeyAsync(sessionId, id, ct),
            cancellationToken);
    }

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

    /// <summary>What the session's succeeded refunds add up to (0 for a session that is not completed).</summary>
    public async Task<long> AmountRefundedAsync(CheckoutSession session, CancellationToken cancellationToken) =>
        session.Status != SessionStatus.Completed
            ? 0
            : (await refunds.ListAsync(session.Id, cancellationToken)).Where(r => r.Status == RefundStatuses.Succeeded).Sum(r => r.Amount);

    /// <summary>
    /// What an <c>Idempotency-Key</c>'s recorded id stands for now: its refund; a refusal while that is not known
    /// (the first request still waits for the gateway, or the gateway's answer was lost and its session says nothing
    /// yet); null when the gateway created nothing, so a retry may refund.
    /// </summary>
    private async Task<Outcome<RefundRecord>?> FindForKeyAsync(string sessionId, string id, CancellationToken cancellationToken)
    {
        if (!id.StartsWith(RefundRecord.ReservationPrefix, StringComparison.Ordinal))
        {
            return await refunds.GetAsync(sessionId, id, cancellationToken) is { } stored ? (Outcome<RefundRecord>?)(Outcome<RefundRecord>)stored : null;
        }

        var rows = await refunds.ListAsync(sessionId, cancellationToken);
        if (rows.FirstOrDefault(r => r.ReservationId == id && !r.IsReservation) is { } refund)
        {
            return refund;
        }

        if (rows.FirstOrDefault(r => r.Id == id) is not { } reservation)
        {
            return null; // released: the gateway created nothing for it
        }

        if (reservation.Status == RefundStatuses.Creating && !reservations.PastLease(reservation))
        {
            return new Refusal.InProgress(); // its request is still waiting for the gateway
        }

        var resolution = await TryResolveAsync(reservation, cancellationToken);
        return resolution.Fate switch
        {
            ReservationFate.Created => resolution.Refund!,
            ReservationFate.NotCreated => null,
            _ => Pending(reservation),
        };
    }

    private async Task<Outcome<RefundRecord>> ReserveAndCreateAsync(CheckoutSession session, CreateRefundRequest request, IdempotencyScope scope, CancellationToken cancellationToken)
    {
        var reserved = await reservations.ReserveAsync(session.Id, request, cancellationToken);
        if (reserved.Refusal is not null)
        {
            return reserved;
        }

        var reservation = reserved.Value!;
        var recheck = new DueEntry(session.Id, time.GetUtcNow() + _sweep.RecheckInterval, DueKind.RefundPending);
        try
        {
            // The sweep's next look at the session's refunds: the re-check of a pending refund, and the look at the
            // reservation should this request stop before it is settled. Then the id a retry with the same key finds
            // the refund by.
            await due.ScheduleAsync(recheck, cancellationToken);
            await scope.CheckpointAsync(reservation.Id);
            if (!reservations.CanStartCall(reservation))
            {
                throw new ConcurrencyConflictException("Storage was too slow to start the gateway call within the reservation's lease.");
            }
        }
        catch (Exception)
        {
            await ReleaseQuietlyAsync(reservation);
            throw;
        }

        scope.Creating();
        GatewayRefund created;
        try
        {
            // Not cancelled with the merchant's request: a call cut off half-way is an answer lost for no reason.
            // The pipeline's total timeout bounds it.
            created = await gateway.CreateRefundAsync(
                new GatewayRefundRequest(session.Id, reservation.Amount, request.Reason, request.Metadata), CancellationToken.None);
        }
        catch (Exception e) when (e is GatewayRejectedException or GatewayUnavailableException { NothingDone: true })
        {
            // Refused, never sent, or throttled unprocessed (429): nothing was refunded.
            scope.NothingCreated();
            await reservations.ReleaseAsync(reservation, CancellationToken.None);
            throw;
        }
        catch (GatewayUnavailableException e)
        {
            return await OutcomeUnknownAsync(reservation, e);
        }

        if (!SessionIds.IsValid(created.Id))
        {
            throw new GatewayUnavailableException("it returned a refund id this service cannot store");
        }

        // The real row first, then drop the reservation: in between the amount counts twice, never zero times. From
        // here nothing is cancelled with the caller: the refund exists and has to be recorded.
        var now = time.GetUtcNow().WholeSeconds();
        var refund = (reservation with
        {
            Id = created.Id,
            Amount = created.Amount ?? reservation.Amount,
            Status = RefundStatuses.Pending,
            ReservationId = reservation.Id,
            ETag = null,
        }).WithStatus(RefundStatuses.FromGateway(created.Status), now);
        try
        {
            refund = await writes.InsertAsync(refund, CancellationToken.None);
        }
        catch (StorageConflictException)
        {
            // Its webhook was quicker and already wrote the row: claim it for this reservation.
            var written = await refunds.GetAsync(session.Id, created.Id, CancellationToken.None) ?? refund;
            refund = written.ReservationId is null
                ? await refunds.ReplaceAsync(written with { ReservationId = reservation.Id, Reason = written.Reason ?? reservation.Reason, Metadata = written.Metadata ?? reservation.Metadata }, CancellationToken.None)
                : written;
        }

        await reservations.ReleaseAsync(reservation, CancellationToken.None);
        if (refund.Status != RefundStatuses.Pending)
        {
            await RemoveQuietlyAsync(recheck); // settled at once: nothing left to re-check
        }

        RefundCreated(logger, refund.Id, session.Id, refund.Amount, refund.Status);
        return refund;
    }

    /// <summary>
    /// The gateway may or may not have created the refund. The reservation stays (marked unknown) and keeps holding
    /// its amount; the gateway's session is read at once, since a 5xx or a dropped connection often comes after the
    /// work was done. What is not settled now is settled by a retry with the key or by the sweep.
    /// </summary>
    private async Task<Outcome<RefundRecord>> OutcomeUnknownAsync(RefundRecord reservation, GatewayUnavailableException failure)
    {
        RefundOutcomeUnknown(logger, reservation.Id, reservation.SessionId, failure.Reason);
        try
        {
            reservation = await refunds.ReplaceAsync(reservation with { Status = RefundStatuses.Unknown, UpdatedAt = time.GetUtcNow().WholeSeconds() }, CancellationToken.None);
        }
        catch (StorageException)
        {
            // It stays "creating"; past its lease it is resolved the same way.
        }

        var resolution = await TryResolveAsync(reservation, CancellationToken.None);
        return resolution.Fate == ReservationFate.Created ? resolution.Refund! : Pending(reservation);
    }

    /// <summary>Resolves if the gateway and storage answer; otherwise the reservation stays for a later look.</summary>
    private async Task<ReservationResolution> TryResolveAsync(RefundRecord reservation, CancellationToken cancellationToken)
    {
        try
        {
            return await resolver.ResolveAsync(reservation, cancellationToken);
        }
        catch (Exception e) when (e is GatewayUnavailableException or StorageException or ConcurrencyConflictException)
        {
            return new ReservationResolution(ReservationFate.Undecided);
        }
    }

    private Refusal.RefundOutcomePending Pending(RefundRecord reservation)
    {
        var untilLeaseEnds = reservations.LeaseEnds(reservation) - time.GetUtcNow();
        return new Refusal.RefundOutcomePending(untilLeaseEnds > TimeSpan.Zero ? TimeSpan.FromSeconds(Math.Ceiling(untilLeaseEnds.TotalSeconds)) : PendingRetryAfter);
    }

    private async Task RemoveQuietlyAsync(DueEntry entry)
    {
        try
        {
            await due.RemoveAsync(entry, CancellationToken.None);
        }
        catch (StorageException)
        {
            // Best effort: the sweep finds nothing to watch and drops it.
        }
    }

    private async Task ReleaseQuietlyAsync(RefundRecord reservation)
    {
        try
        {
            await reservations.ReleaseAsync(reservation, CancellationToken.None);
        }
        catch (StorageException)
        {
            // Nothing was sent: the sweep finds no refund for it at the gateway and drops it after its lease.
        }
    }

    [LoggerMessage(2201, LogLevel.Information, "Refund {RefundId} of {Amount} created for session {SessionId}: {Status}")]
    private static partial void RefundCreated(ILogger logger, string refundId, string sessionId, long amount, string status);

    [LoggerMessage(2204, LogLevel.Warning, "Refund reservation {ReservationId} of session {SessionId}: the gateway's answer was lost ({Reason}); its amount stays reserved until the gateway says whether the refund exists")]
    private static partial void RefundOutcomeUnknown(ILogger logger, string reservationId, string sessionId, string reason);
}
