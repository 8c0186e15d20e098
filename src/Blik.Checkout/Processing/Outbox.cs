using Blik.Checkout.Configuration;
using Blik.Checkout.Diagnostics;
using Blik.Checkout.Domain;
using Blik.Checkout.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Blik.Checkout.Processing;

/// <summary>What is still owed after a publish: nothing, or a message another publisher holds until a time.</summary>
public sealed record OutboxResult(bool Settled, DateTimeOffset? HeldUntil)
{
    public static readonly OutboxResult Done = new(true, null);

    public static OutboxResult HeldElsewhere(DateTimeOffset until) => new(false, until);
}

/// <summary>
/// The one outbox, for every row that carries an <see cref="OutboxState"/> (sessions and refunds): publishes the
/// fulfilment message a row owes, then records that it went. claim → re-check → send → clear:
/// <list type="number">
/// <item>the writer of the final state already holds the claim; anyone else (the processor on a redelivered event,
/// the sweep) takes it over only once the holder's lease has lapsed, with a write conditional on the row's ETag;</item>
/// <item>right before sending, a publisher whose claim is no longer fresh (older than half the lease: it has been
/// slow, perhaps slower than the lease) renews it with a write conditional on the ETag of the claim; if another
/// publisher took over meanwhile, nothing is sent. A fresher claim needs no look: nobody may take over before a whole
/// lease has passed (the half left over absorbs clock differences between instances), and the send follows the
/// final write without an extra round trip;</item>
/// <item>the message is sent, then cleared from the row (re-read and cleared again if the row changed meanwhile).</item>
/// </list>
/// A message goes twice only if a publisher stops between sending and clearing, or a send outlasts a whole lease;
/// its <c>event_id</c> lets consumers drop the copy.
/// </summary>
public sealed partial class Outbox(
    IMessageQueues queues,
    ISessionStore sessions,
    IRefundStore refunds,
    IOptions<CheckoutOptions> options,
    TimeProvider time,
    CheckoutMetrics metrics,
    ILogger<Outbox> logger)
{
    private const int MaxWriteAttempts = 10;

    private readonly CheckoutOptions _options = options.Value;
    private readonly SessionRows _sessions = new(sessions);
    private readonly RefundRows _refunds = new(refunds, sessions);

    public TimeSpan ClaimLease => _options.FulfilmentClaimLease;

    /// <summary>Publishes what the session owes, if anything.</summary>
    /// <param name="claimed">The caller's own write made the session final and holds the claim.</param>
    public Task<OutboxResult> PublishAsync(CheckoutSession session, bool claimed, CancellationToken cancellationToken) =>
        PublishAsync(_sessions, session, claimed, cancellationToken);

    /// <summary>Publishes what the refund owes, if anything.</summary>
    /// <param name="claimed">The caller's own write made the refund final and holds the claim.</param>
    public Task<OutboxResult> PublishAsync(RefundRecord refund, bool claimed, CancellationToken cancellationToken) =>
        PublishAsync(_refunds, refund, claimed, cancellationToken);

    private async Task<OutboxResult> PublishAsync<TRow>(IOutboxRows<TRow> rows, TRow row, bool claimed, CancellationToken cancellationToken)
        where TRow : class
    {
        if (!rows.OutboxOf(row).Pending)
        {
            return OutboxResult.Done;
        }

        if (claimed)
        {
            metrics.FulfilmentOwed(rows.MessageType(row));
        }

        var (taken, refused) = claimed ? (row, null) : await TakeOverAsync(rows, row, cancellationToken);
        if (taken is null)
        {
            return refused!;
        }

        var held = taken;
        if (time.GetUtcNow() >= rows.OutboxOf(taken).ClaimedAt + ClaimLease / 2)
        {
            (held, var displaced) = await RecheckClaimAsync(rows, taken, cancellationToken);
            if (held is null)
            {
                return displaced!;
            }
        }

        var message = await rows.MessageAsync(held, time.GetUtcNow(), cancellationToken);
        await queues.SendAsync(_options.FulfilmentQueue, message.Serialize(), cancellationToken);
        await ClearAsync(rows, held, cancellationToken);
        Published(logger, message.SessionId, message.Type, message.OrderId);
        metrics.FulfilmentSent(message.Type);
        return OutboxResult.Done;
    }

    /// <summary>Takes the claim of a publisher whose lease has lapsed; the row as claimed, or what stands in the way.</summary>
    private async Task<(TRow? Row, OutboxResult? Result)> TakeOverAsync<TRow>(IOutboxRows<TRow> rows, TRow row, CancellationToken cancellationToken)
        where TRow : class
    {
        for (var attempt = 1; ; attempt++)
        {
            var outbox = rows.OutboxOf(row);
            if (outbox.Claim(time.GetUtcNow(), ClaimLease) is not { } claim)
            {
                return (null, outbox.Pending ? HeldElsewhere(outbox) : OutboxResult.Done);
            }

            try
            {
                return (await rows.WriteAsync(rows.With(row, claim), cancellationToken), null);
            }
            catch (StoragePreconditionFailedException) when (attempt < MaxWriteAttempts)
            {
                if (await rows.ReadAgainAsync(row, cancellationToken) is not { } current)
                {
                    return (null, OutboxResult.Done);
                }

                row = current;
            }
        }
    }

    /// <summary>
    /// Renews the claim this publisher holds, conditional on the row's ETag, right before the send. Null (and what
    /// stands in the way) when another publisher has taken the claim over or nothing is owed any more.
    /// </summary>
    private async Task<(TRow? Row, OutboxResult? Result)> RecheckClaimAsync<TRow>(IOutboxRows<TRow> rows, TRow row, CancellationToken cancellationToken)
        where TRow : class
    {
        var ours = rows.OutboxOf(row).ClaimedAt;
        for (var attempt = 1; ; attempt++)
        {
            var outbox = rows.OutboxOf(row);
            try
            {
                return (await rows.WriteAsync(rows.With(row, outbox with { ClaimedAt = time.GetUtcNow().WholeSeconds() }), cancellationToken), null);
            }
            catch (StoragePreconditionFailedException) when (attempt < MaxWriteAttempts)
            {
                // Another writer got there first. Another publisher's claim has another time (it can take over only
                // after ours lapsed), and so has the claim of a write that made the row owe another message (expired →
                // completed); any other change (a refund reservation) leaves ours.
                var current = await rows.ReadAgainAsync(row, cancellationToken);
                if (current is null || !rows.OutboxOf(current).Pending)
                {
                    return (null, OutboxResult.Done);
                }

                if (rows.OutboxOf(current).ClaimedAt != ours)
                {
                    return (null, HeldElsewhere(rows.OutboxOf(current)));
                }

                row = current;
            }
        }
    }

    /// <summary>Records that the message went out, re-reading if the row changed since the claim.</summary>
    private async Task ClearAsync<TRow>(IOutboxRows<TRow> rows, TRow row, CancellationToken cancellationToken)
        where TRow : class
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await rows.WriteAsync(rows.With(row, rows.OutboxOf(row).Published(time.GetUtcNow())), cancellationToken);
                return;
            }
            catch (StoragePreconditionFailedException e)
            {
                if (attempt >= MaxWriteAttempts)
                {
                    throw new ConcurrencyConflictException("A row kept changing while its sent message was recorded.", e);
                }

                if (await rows.ReadAgainAsync(row, cancellationToken) is not { } current || !rows.OutboxOf(current).Pending)
                {
                    return; // gone, or cleared by a publisher that took over
                }

                if (rows.MessageType(current) != rows.MessageType(row))
                {
                    return; // the row now owes another message (an expired session completed after all): leave it owed
                }

                row = current;
            }
        }
    }

    private OutboxResult HeldElsewhere(OutboxState outbox) =>
        OutboxResult.HeldElsewhere(outbox.ClaimedUntil(ClaimLease) ?? time.GetUtcNow() + ClaimLease);

    [LoggerMessage(2101, LogLevel.Information, "Fulfilment message {MessageType} published for session {SessionId}, order {OrderId}")]
    private static partial void Published(ILogger logger, string sessionId, string messageType, string? orderId);

    /// <summary>A kind of row that carries an outbox: how its outbox is read and written, and what message it owes.</summary>
    private interface IOutboxRows<TRow>
        where TRow : class
    {
        OutboxState OutboxOf(TRow row);

        TRow With(TRow row, OutboxState outbox);

        /// <exception cref="StoragePreconditionFailedException">The row changed since it was read.</exception>
        Task<TRow> WriteAsync(TRow row, CancellationToken cancellationToken);

        Task<TRow?> ReadAgainAsync(TRow row, CancellationToken cancellationToken);

        string MessageType(TRow row);

        Task<FulfilmentMessage> MessageAsync(TRow row, DateTimeOffset now, CancellationToken cancellationToken);
    }

    private sealed class SessionRows(ISessionStore sessions) : IOutboxRows<CheckoutSession>
    {
        public OutboxState OutboxOf(CheckoutSession row) => row.Outbox;

        public CheckoutSession With(CheckoutSession row, OutboxState outbox) => row with { Outbox = outbox };

        public Task<CheckoutSession> WriteAsync(CheckoutSession row, CancellationToken cancellationToken) => sessions.ReplaceAsync(row, cancellationToken);

        public Task<CheckoutSession?> ReadAgainAsync(CheckoutSession row, CancellationToken cancellationToken) => sessions.GetAsync(row.Id, cancellationToken);

        public string MessageType(CheckoutSession row) => FulfilmentMessage.TypeFor(row);

        public Task<FulfilmentMessage> MessageAsync(CheckoutSession row, DateTimeOffset now, CancellationToken cancellationToken) =>
            Task.FromResult(FulfilmentMessage.For(row));
    }

    private sealed class RefundRows(IRefundStore refunds, ISessionStore sessions) : IOutboxRows<RefundRecord>
    {
        public OutboxState OutboxOf(RefundRecord row) => row.Outbox;

        public RefundRecord With(RefundRecord row, OutboxState outbox) => row with { Outbox = outbox };

        public Task<RefundRecord> WriteAsync(RefundRecord row, CancellationToken cancellationToken) => refunds.ReplaceAsync(row, cancellationToken);

        public Task<RefundRecord?> ReadAgainAsync(RefundRecord row, CancellationToken cancellationToken) => refunds.GetAsync(row.SessionId, row.Id, cancellationToken);

        public string MessageType(RefundRecord row) => FulfilmentMessage.TypeFor(row);

        public async Task<FulfilmentMessage> MessageAsync(RefundRecord row, DateTimeOffset now, CancellationToken cancellationToken) =>
            FulfilmentMessage.For(row, await sessions.GetAsync(row.SessionId, cancellationToken), now);
    }
}
