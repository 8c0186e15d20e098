using Blik.Checkout.Domain;
using Blik.Checkout.Processing;
using Blik.Checkout.Storage;

namespace Blik.Checkout.Refunds;

/// <summary>
/// A refund row written with the work it owes, as one operation: a write that makes a refund final owes its
/// fulfilment message, so an outbox-safety entry for its session goes first (the sweep looks at the session's refunds
/// once the claim has lapsed, should this process stop), then the row, then the message. What comes back is the row
/// as stored at the end, its outbox cleared once the message went.
/// </summary>
public sealed class RefundWrites(IRefundStore refunds, IDueIndex due, Outbox outbox)
{
    /// <exception cref="StorageConflictException">A refund with this id exists.</exception>
    public Task<RefundRecord> InsertAsync(RefundRecord refund, CancellationToken cancellationToken) =>
        WriteAsync(null, refund, () => refunds.InsertAsync(refund, cancellationToken), cancellationToken);

    /// <summary>Replaces <paramref name="before"/> (at its ETag) with <paramref name="after"/>.</summary>
    /// <exception cref="StoragePreconditionFailedException">The row changed since <paramref name="before"/> was read.</exception>
    public Task<RefundRecord> ReplaceAsync(RefundRecord before, RefundRecord after, CancellationToken cancellationToken) =>
        WriteAsync(before, after, () => refunds.ReplaceAsync(after with { ETag = before.ETag }, cancellationToken), cancellationToken);

    private async Task<RefundRecord> WriteAsync(RefundRecord? before, RefundRecord after, Func<Task<RefundRecord>> write, CancellationToken cancellationToken)
    {
        if (!after.Outbox.Pending || before?.Outbox.Pending == true)
        {
            return await write();
        }

        var safety = new DueEntry(after.SessionId, after.Outbox.ClaimedUntil(outbox.ClaimLease)!.Value, DueKind.OutboxSafety);
        await due.ScheduleAsync(safety, cancellationToken);
        var written = await write();
        if (!(await outbox.PublishAsync(written, claimed: true, cancellationToken)).Settled)
        {
            return written;
        }

        try
        {
            await due.RemoveAsync(safety, cancellationToken);
        }
        catch (StorageException)
        {
            // Best effort: the sweep drops it when it finds nothing owed.
        }

        return await refunds.GetAsync(written.SessionId, written.Id, cancellationToken) ?? written;
    }
}
