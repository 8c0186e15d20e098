using System.Security.Cryptography;
using System.Text;
using Azure.Data.Tables;
using Blik.Checkout.Domain;

namespace Blik.Checkout.Storage;

/// <summary>
/// <see cref="IProcessedEvents"/> in table <c>checkoutevents</c>: PartitionKey = SHA-256 (hex) of the event id (an id
/// may hold characters a key cannot), RowKey = "", <c>AppliedAt</c> in Unix milliseconds. Rows older than the window
/// count as absent, so the table needs no clean-up to stay correct; deleting old rows only saves space.
/// </summary>
public sealed class ProcessedEvents(StorageBootstrap storage) : IProcessedEvents
{
    public async Task<DateTimeOffset?> AppliedAtAsync(string eventId, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(TableNames.Events, cancellationToken);
        var entity = await table.GetOrNullAsync(Key(eventId), "", cancellationToken);
        return entity?.GetInt64("AppliedAt") is { } ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : null;
    }

    public async Task MarkAppliedAsync(string eventId, DateTimeOffset at, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(TableNames.Events, cancellationToken);
        await table.UpsertAsync(new TableEntity(Key(eventId), "") { ["AppliedAt"] = at.ToUnixTimeMilliseconds() }, cancellationToken);
    }

    internal static string Key(string eventId) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(eventId)));
}
