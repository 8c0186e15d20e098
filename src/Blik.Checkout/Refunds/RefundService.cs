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
/// refund's first final state publishes one message on the fulfilment queue.
/// </summary>
public sealed partial class RefundService(
    IConvergeGate gateway,
    ISessionStore sessions,
    IRefundStore refunds,
    IDueIndex due,
    IdempotencyStore idempotency,
    RefundReservations reservations,
    RefundWrites writes,
    IOptions<CheckoutOptions> checkoutOptions,
    IOptions<SweepOptions> sweepOptions,
    TimeProvider time,
    ILogger<RefundService> logger)
{
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

    private async Task<Outcome<RefundRecord>> ReserveAndCreateAsync(CheckoutSession session, CreateRefundRequest request, Func<string, Task> checkpoint, CancellationToken cancellationToken)
    {
        var reserved = await reservations.ReserveAsync(session.Id, request, cancellationToken);
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
            await reservations.ReleaseAsync(reservation, CancellationToken.None);
            throw;
        }

        if (!SessionIds.IsValid(created.Id))
        {
            throw new GatewayUnavailableException("it returned a refund id this service cannot store");
        }

        await checkpoint(created.Id); // from here a retry with the same key gets this refund back once it is stored

        // The real row first, then drop the reservation: in between the amount counts twice, never zero times.
        var now = time.GetUtcNow().WholeSeconds();
        var refund = (reservation with { Id = created.Id, Amount = created.Amount ?? reservation.Amount, ETag = null })
            .WithStatus(RefundStatuses.FromGateway(created.Status), now);
        try
        {
            refund = await writes.InsertAsync(refund, cancellationToken);
        }
        catch (StorageConflictException)
        {
            // Its webhook was quicker and already wrote the row.
            refund = await refunds.GetAsync(session.Id, created.Id, cancellationToken) ?? refund;
        }

        await reservations.ReleaseAsync(reservation, cancellationToken);
        if (refund.Status == RefundStatuses.Pending)
        {
            await due.ScheduleAsync(new DueEntry(session.Id, now + _sweep.RecheckInterval, DueKind.RefundPending), cancellationToken);
        }

        RefundCreated(logger, refund.Id, session.Id, refund.Amount, refund.Status);
        return refund;
    }

    [LoggerMessage(2201, LogLevel.Information, "Refund {RefundId} of {Amount} created for session {SessionId}: {Status}")]
    private static partial void RefundCreated(ILogger logger, string refundId, string sessionId, long amount, string status);
}
