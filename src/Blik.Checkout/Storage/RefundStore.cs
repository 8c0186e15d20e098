using System.Text.Json;
using Azure.Data.Tables;
using Blik.Checkout.Domain;

namespace Blik.Checkout.Storage;

/// <summary>
/// <see cref="IRefundStore"/> in table <c>checkoutrefunds</c>: PartitionKey = session id, RowKey = refund id, so a session's refunds
/// are one partition read. What a session has refunded is always derived from these rows, never kept as a counter
/// that a crash between two writes could leave wrong.
/// </summary>
public sealed class RefundStore(StorageBootstrap storage) : IRefundStore
{
    public async Task<IReadOnlyList<RefundRecord>> ListAsync(string sessionId, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(TableNames.Refunds, cancellationToken);
        var rows = new List<RefundRecord>();
        await foreach (var entity in table.QueryAsync(TableClient.CreateQueryFilter($"PartitionKey eq {sessionId}"), null, cancellationToken))
        {
            rows.Add(FromEntity(entity));
        }

        return rows;
    }

    public async Task<RefundRecord?> GetAsync(string sessionId, string refundId, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(TableNames.Refunds, cancellationToken);
        var entity = await table.GetOrNullAsync(sessionId, refundId, cancellationToken);
        return entity is null ? null : FromEntity(entity);
    }

    /// <exception cref="StorageConflictException">A row with this id exists.</exception>
    public async Task<RefundRecord> InsertAsync(RefundRecord refund, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(TableNames.Refunds, cancellationToken);
        var etag = await table.InsertAsync(ToEntity(refund), cancellationToken);
        return refund with { ETag = etag };
    }

    /// <exception cref="StoragePreconditionFailedException">The row changed since it was read.</exception>
    public async Task<RefundRecord> ReplaceAsync(RefundRecord refund, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(TableNames.Refunds, cancellationToken);
        var etag = await table.ReplaceAsync(ToEntity(refund), refund.ETag, cancellationToken);
        return refund with { ETag = etag };
    }

    public async Task DeleteAsync(RefundRecord refund, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(TableNames.Refunds, cancellationToken);
        await table.DeleteAsync(refund.SessionId, refund.Id, null, cancellationToken);
    }

    private static TableEntity ToEntity(RefundRecord r)
    {
        var e = new TableEntity(r.SessionId, r.Id)
        {
            ["Amount"] = r.Amount,
            ["Currency"] = r.Currency,
            ["Status"] = r.Status,
            ["CreatedAt"] = r.CreatedAt.ToUnixTimeSeconds(),
            ["UpdatedAt"] = r.UpdatedAt.ToUnixTimeSeconds(),
        };
        e.SetIfNotNull("Reason", r.Reason);
        e.SetIfNotNull("ReservationId", r.ReservationId);
        e.SetIfNotNull("EscalatedAt", r.EscalatedAt?.ToUnixTimeSeconds());
        if (r.AmountUnknown)
        {
            e["AmountUnknown"] = true;
        }

        e.SetIfNotNull("Metadata", r.Metadata is { Count: > 0 } m ? JsonSerializer.Serialize(m) : null);
        e.SetOutbox(r.Outbox);
        return e;
    }

    private static RefundRecord FromEntity(TableEntity e)
    {
        var metadata = e.GetString("Metadata");
        var amount = e.GetInt64("Amount");
        return new RefundRecord
        {
            SessionId = e.PartitionKey,
            Id = e.RowKey,
            Amount = amount ?? 0,
            AmountUnknown = amount is null || e.GetBoolean("AmountUnknown") == true, // a row without an amount never counts as 0
            Currency = e.GetString("Currency") ?? "",
            Status = e.GetString("Status") ?? RefundStatuses.Pending,
            Reason = e.GetString("Reason"),
            Metadata = metadata is null ? null : JsonSerializer.Deserialize<Dictionary<string, string>>(metadata),
            CreatedAt = Times.FromUnixSeconds(e.GetInt64("CreatedAt")) ?? DateTimeOffset.UnixEpoch,
            UpdatedAt = Times.FromUnixSeconds(e.GetInt64("UpdatedAt")) ?? DateTimeOffset.UnixEpoch,
            Outbox = e.GetOutbox(),
            ReservationId = e.GetString("ReservationId"),
            EscalatedAt = Times.FromUnixSeconds(e.GetInt64("EscalatedAt")),
            ETag = e.ETag.ToString(),
        };
    }
}
