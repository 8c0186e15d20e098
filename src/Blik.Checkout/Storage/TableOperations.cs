using System.Runtime.CompilerServices;
using Azure;
using Azure.Data.Tables;
using Blik.Checkout.Domain;

namespace Blik.Checkout.Storage;

/// <summary>
/// The table operations the stores use, on the SDK's <see cref="TableClient"/>: failures become
/// <see cref="StorageException"/>s and ETags travel as strings (null = any), so no SDK type leaves the stores.
/// </summary>
public static class TableOperations
{
    /// <summary>The row with its ETag, or null if there is none.</summary>
    public static Task<TableEntity?> GetOrNullAsync(this TableClient table, string partitionKey, string rowKey, CancellationToken cancellationToken) =>
        StorageCall.RunAsync($"Read from table '{table.Name}'", async () =>
        {
            var found = await table.GetEntityIfExistsAsync<TableEntity>(partitionKey, rowKey, cancellationToken: cancellationToken).ConfigureAwait(false);
            return found.HasValue ? found.Value : null;
        }, cancellationToken);

    /// <summary>Inserts a new row and returns its ETag.</summary>
    /// <exception cref="StorageConflictException">A row with the same keys exists.</exception>
    public static Task<string> InsertAsync(this TableClient table, TableEntity entity, CancellationToken cancellationToken) =>
        StorageCall.RunAsync($"Insert into table '{table.Name}'", async () =>
            ETagOf(await table.AddEntityAsync(entity, cancellationToken).ConfigureAwait(false)), cancellationToken);

    /// <summary>Replaces the row if it is still at <paramref name="etag"/> (null: whatever it is) and returns the new ETag.</summary>
    /// <exception cref="StoragePreconditionFailedException">The row changed since <paramref name="etag"/> was read.</exception>
    /// <exception cref="StorageNotFoundException">The row does not exist.</exception>
    public static Task<string> ReplaceAsync(this TableClient table, TableEntity entity, string? etag, CancellationToken cancellationToken) =>
        StorageCall.RunAsync($"Replace in table '{table.Name}'", async () =>
            ETagOf(await table.UpdateEntityAsync(entity, ToETag(etag), TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false)), cancellationToken);

    /// <summary>Inserts or replaces the row, unconditionally.</summary>
    public static Task UpsertAsync(this TableClient table, TableEntity entity, CancellationToken cancellationToken) =>
        StorageCall.RunAsync($"Upsert into table '{table.Name}'", () =>
            table.UpsertEntityAsync(entity, TableUpdateMode.Replace, cancellationToken), cancellationToken);

    /// <summary>Deletes the row if it is still at <paramref name="etag"/> (null: whatever it is); a row already gone is fine.</summary>
    /// <exception cref="StoragePreconditionFailedException">The row changed since <paramref name="etag"/> was read.</exception>
    public static Task DeleteAsync(this TableClient table, string partitionKey, string rowKey, string? etag, CancellationToken cancellationToken) =>
        StorageCall.RunAsync($"Delete from table '{table.Name}'", () =>
            table.DeleteEntityAsync(partitionKey, rowKey, ToETag(etag), cancellationToken), cancellationToken);

    /// <summary>
    /// Every row matching <paramref name="filter"/> (build it with <see cref="TableClient.CreateQueryFilter(FormattableString)"/>),
    /// page by page as the service's continuation tokens lead; stop enumerating to stop reading.
    /// </summary>
    public static async IAsyncEnumerable<TableEntity> QueryAsync(
        this TableClient table,
        string? filter,
        int? maxPerPage,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var operation = $"Query table '{table.Name}'";
        var pages = table.QueryAsync<TableEntity>(filter, maxPerPage, cancellationToken: cancellationToken).AsPages().GetAsyncEnumerator(cancellationToken);
        await using (pages.ConfigureAwait(false))
        {
            while (true)
            {
                bool more;
                try
                {
                    more = await pages.MoveNextAsync().ConfigureAwait(false);
                }
                catch (Exception e) when (StorageCall.Translate(e, operation, cancellationToken) is { } mapped)
                {
                    throw mapped;
                }

                if (!more)
                {
                    yield break;
                }

                foreach (var entity in pages.Current.Values)
                {
                    yield return entity;
                }
            }
        }
    }

    /// <summary>Sets a property only when it has a value: an absent property reads back as null.</summary>
    public static void SetIfNotNull(this TableEntity entity, string name, object? value)
    {
        if (value is not null)
        {
            entity[name] = value;
        }
    }

    /// <summary>A row's outbox, in properties <c>OutboxPending</c>, <c>OutboxClaimedAt</c> and <c>OutboxPublishedAt</c> (Unix seconds).</summary>
    public static void SetOutbox(this TableEntity entity, OutboxState outbox)
    {
        entity["OutboxPending"] = outbox.Pending;
        entity.SetIfNotNull("OutboxClaimedAt", outbox.ClaimedAt.ToUnixSeconds());
        entity.SetIfNotNull("OutboxPublishedAt", outbox.PublishedAt.ToUnixSeconds());
    }

    public static OutboxState GetOutbox(this TableEntity entity) => new(
        entity.GetBoolean("OutboxPending") ?? false,
        Times.FromUnixSeconds(entity.GetInt64("OutboxClaimedAt")),
        Times.FromUnixSeconds(entity.GetInt64("OutboxPublishedAt")));

    private static ETag ToETag(string? etag) => etag is null ? ETag.All : new ETag(etag);

    private static string ETagOf(Response response) =>
        response.Headers.ETag?.ToString() ?? throw new StorageException("The table service answered a write without an ETag.", response.Status, null);
}
