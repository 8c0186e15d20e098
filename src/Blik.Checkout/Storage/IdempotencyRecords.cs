using Azure.Data.Tables;
using Blik.Checkout.Domain;

namespace Blik.Checkout.Storage;

/// <summary>
/// <see cref="IIdempotencyRecords"/> in table <c>checkoutidempotency</c>: PartitionKey = the key's hash, RowKey = "",
/// <c>State</c> <c>pending</c> or <c>done</c>, <c>StartedAt</c> in Unix seconds, the result in <c>SessionId</c>.
/// </summary>
public sealed class IdempotencyRecords(StorageBootstrap storage) : IIdempotencyRecords
{
    private const string Pending = "pending";
    private const string Done = "done";

    public async Task<IdempotencyRecord?> GetAsync(string keyHash, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(TableNames.Idempotency, cancellationToken);
        var entity = await table.GetOrNullAsync(keyHash, "", cancellationToken);
        return entity is null ? null : FromEntity(entity);
    }

    public async Task<IdempotencyRecord> InsertAsync(IdempotencyRecord record, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(TableNames.Idempotency, cancellationToken);
        return record with { ETag = await table.InsertAsync(ToEntity(record), cancellationToken) };
    }

    public async Task<IdempotencyRecord> ReplaceAsync(IdempotencyRecord record, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(TableNames.Idempotency, cancellationToken);
        return record with { ETag = await table.ReplaceAsync(ToEntity(record), record.ETag, cancellationToken) };
    }

    public async Task DeleteAsync(IdempotencyRecord record, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(TableNames.Idempotency, cancellationToken);
        await table.DeleteAsync(record.KeyHash, "", record.ETag, cancellationToken);
    }

    private static TableEntity ToEntity(IdempotencyRecord r)
    {
        var e = new TableEntity(r.KeyHash, "")
        {
            ["State"] = r.Done ? Done : Pending,
            ["RequestHash"] = r.RequestHash,
            ["Lease"] = r.Lease,
            ["StartedAt"] = r.StartedAt.ToUnixTimeSeconds(),
        };
        e.SetIfNotNull("SessionId", r.ResultId);
        return e;
    }

    private static IdempotencyRecord FromEntity(TableEntity e) => new(
        e.PartitionKey,
        e.GetString("RequestHash") ?? "",
        e.GetString("Lease") ?? "",
        Times.FromUnixSeconds(e.GetInt64("StartedAt")) ?? DateTimeOffset.UnixEpoch,
        e.GetString("State") == Done,
        e.GetString("SessionId"),
        e.ETag.ToString());
}
