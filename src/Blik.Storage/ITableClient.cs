namespace Blik.Storage;

/// <summary>
/// One table. The only table abstraction the application uses, so the implementation can be swapped
/// (e.g. for Azure.Data.Tables) in <see cref="StorageClientFactory"/>.
/// </summary>
public interface ITableClient
{
    /// <summary>The table name.</summary>
    string Name { get; }

    /// <summary>Creates the table; false if it already existed.</summary>
    Task<bool> CreateIfNotExistsAsync(CancellationToken cancellationToken = default);

    /// <summary>The entity with its ETag, or null if there is none.</summary>
    /// <exception cref="StorageNotFoundException">The table does not exist.</exception>
    Task<TableEntity?> GetEntityAsync(string partitionKey, string rowKey, CancellationToken cancellationToken = default);

    /// <summary>Inserts a new entity and returns its ETag.</summary>
    /// <exception cref="StorageConflictException">An entity with the same keys exists.</exception>
    Task<string> AddEntityAsync(TableEntity entity, CancellationToken cancellationToken = default);

    /// <summary>Replaces an existing entity if its ETag still matches (<c>*</c> matches any) and returns the new ETag.</summary>
    /// <exception cref="StoragePreconditionFailedException">The entity changed since <paramref name="ifMatch"/> was read.</exception>
    /// <exception cref="StorageNotFoundException">The entity does not exist.</exception>
    Task<string> UpdateEntityAsync(TableEntity entity, string ifMatch, CancellationToken cancellationToken = default);

    /// <summary>Inserts or replaces the entity unconditionally and returns its ETag.</summary>
    Task<string> UpsertEntityAsync(TableEntity entity, CancellationToken cancellationToken = default);

    /// <summary>Deletes the entity if its ETag matches; false if it did not exist.</summary>
    /// <exception cref="StoragePreconditionFailedException">The entity changed since <paramref name="ifMatch"/> was read.</exception>
    Task<bool> DeleteEntityAsync(string partitionKey, string rowKey, string ifMatch = "*", CancellationToken cancellationToken = default);

    /// <summary>All entities matching the filter (build it with <see cref="TableFilter"/>), following continuation tokens.</summary>
    IAsyncEnumerable<TableEntity> QueryAsync(string? filter, int? maxPerPage = null, IEnumerable<string>? select = null, CancellationToken cancellationToken = default);

    /// <summary>One page of results and an opaque token to resume from (null after the last page).</summary>
    Task<TableQueryPage> QueryPageAsync(string? filter, int? top = null, string? continuationToken = null, IEnumerable<string>? select = null, CancellationToken cancellationToken = default);
}
