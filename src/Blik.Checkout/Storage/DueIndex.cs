using System.Globalization;
using Azure.Data.Tables;
using Blik.Checkout.Domain;

namespace Blik.Checkout.Storage;

public sealed record DueEntry(string SessionId, DateTimeOffset DueAt, string PartitionKey, string RowKey);

/// <summary>
/// When each session next needs the sweep's attention, in table <c>checkoutdue</c>. RowKey is
/// <c>{due unix seconds, 12 digits}_{session id}</c>, so "everything due by now" is a key-range scan and the sweep reads
/// only what is due, however many sessions are stored. PartitionKey spreads entries over <see cref="Shards"/>
/// partitions so no single partition takes all the writes.
/// </summary>
public sealed class DueIndex(StorageBootstrap storage)
{
    /// <summary>Fixed: changing it would strand entries written under the old count.</summary>
    public const int Shards = 8;

    public async Task ScheduleAsync(string sessionId, DateTimeOffset dueAt, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(TableNames.Due, cancellationToken);
        var entry = Entry(sessionId, dueAt);
        await table.UpsertAsync(new TableEntity(entry.PartitionKey, entry.RowKey) { ["SessionId"] = sessionId }, cancellationToken);
    }

    public async Task<bool> ExistsAsync(string sessionId, DateTimeOffset dueAt, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(TableNames.Due, cancellationToken);
        var entry = Entry(sessionId, dueAt);
        return await table.GetOrNullAsync(entry.PartitionKey, entry.RowKey, cancellationToken) is not null;
    }

    public async Task RemoveAsync(DueEntry entry, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(TableNames.Due, cancellationToken);
        await table.DeleteAsync(entry.PartitionKey, entry.RowKey, null, cancellationToken);
    }

    public Task RemoveAsync(string sessionId, DateTimeOffset dueAt, CancellationToken cancellationToken) =>
        RemoveAsync(Entry(sessionId, dueAt), cancellationToken);

    /// <summary>Entries due at or before <paramref name="now"/>, at most <paramref name="max"/>, oldest first per shard.</summary>
    public async Task<IReadOnlyList<DueEntry>> ReadDueAsync(DateTimeOffset now, int max, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(TableNames.Due, cancellationToken);
        var upper = (now.ToUnixTimeSeconds() + 1).ToString("D12", CultureInfo.InvariantCulture);
        var perShard = await Task.WhenAll(Enumerable.Range(0, Shards).Select(async shard =>
        {
            var filter = TableClient.CreateQueryFilter($"PartitionKey eq {ShardKey(shard)} and RowKey lt {upper}");
            var found = new List<DueEntry>();
            await foreach (var e in table.QueryAsync(filter, Math.Min(max, 1000), cancellationToken))
            {
                if (TryParse(e.PartitionKey, e.RowKey, out var entry))
                {
                    found.Add(entry);
                }

                if (found.Count >= max)
                {
                    break;
                }
            }

            return found;
        }));

        return perShard.SelectMany(x => x).OrderBy(e => e.DueAt).Take(max).ToArray();
    }

    /// <summary>The entry for a session at a time, rounded up to the whole second: an entry is never due before its time.</summary>
    public static DueEntry Entry(string sessionId, DateTimeOffset dueAt)
    {
        var seconds = dueAt.ToUnixTimeSeconds() + (dueAt.WholeSeconds() < dueAt ? 1 : 0);
        return new(sessionId, DateTimeOffset.FromUnixTimeSeconds(seconds), ShardKey(Shard(sessionId)), seconds.ToString("D12", CultureInfo.InvariantCulture) + "_" + sessionId);
    }

    /// <summary>FNV-1a over the id's UTF-16 code units: stable across processes and .NET versions (unlike GetHashCode).</summary>
    internal static int Shard(string sessionId)
    {
        var hash = 2166136261u;
        foreach (var c in sessionId)
        {
            hash = (hash ^ c) * 16777619u;
        }

        return (int)(hash % Shards);
    }

    private static string ShardKey(int shard) => "due-" + shard.ToString(CultureInfo.InvariantCulture);

    private static bool TryParse(string partitionKey, string rowKey, out DueEntry entry)
    {
        entry = null!;
        var separator = rowKey.IndexOf('_', StringComparison.Ordinal);
        if (separator != 12 || !long.TryParse(rowKey.AsSpan(0, 12), NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
            || Times.FromUnixSeconds(seconds) is not { } dueAt)
        {
            return false;
        }

        entry = new DueEntry(rowKey[(separator + 1)..], dueAt, partitionKey, rowKey);
        return true;
    }
}
