using System.Globalization;
using Azure.Data.Tables;
using Blik.Checkout.Domain;

namespace Blik.Checkout.Storage;

/// <summary>
/// <see cref="IDueIndex"/> in table <c>checkoutdue</c>. RowKey is <c>{due unix seconds, 12 digits}_{session id}</c>, so
/// "everything due by now" is a key-range scan and the sweep reads only what is due, however many sessions are
/// stored. PartitionKey spreads entries over <see cref="Shards"/> partitions so no single partition takes all the
/// writes. Property <c>Kind</c> holds the <see cref="DueKind"/> by name; entries written before it existed read as
/// <see cref="DueKind.Unknown"/>.
/// </summary>
public sealed class DueIndex(StorageBootstrap storage) : IDueIndex
{
    /// <summary>Fixed: changing it would strand entries written under the old count.</summary>
    public const int Shards = 8;

    public async Task ScheduleAsync(DueEntry entry, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(TableNames.Due, cancellationToken);
        var (partitionKey, rowKey) = Keys(entry);
        await table.UpsertAsync(new TableEntity(partitionKey, rowKey) { ["SessionId"] = entry.SessionId, ["Kind"] = entry.Kind.ToString() }, cancellationToken);
    }

    public async Task<bool> ExistsAsync(DueEntry entry, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(TableNames.Due, cancellationToken);
        var (partitionKey, rowKey) = Keys(entry);
        return await table.GetOrNullAsync(partitionKey, rowKey, cancellationToken) is not null;
    }

    public async Task RemoveAsync(DueEntry entry, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(TableNames.Due, cancellationToken);
        var (partitionKey, rowKey) = Keys(entry);
        await table.DeleteAsync(partitionKey, rowKey, null, cancellationToken);
    }

    public async Task<IReadOnlyList<DueEntry>> ReadDueAsync(DateTimeOffset now, int max, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(TableNames.Due, cancellationToken);
        var upper = Seconds(now.WholeSeconds().AddSeconds(1));
        var perShard = await Task.WhenAll(Enumerable.Range(0, Shards).Select(async shard =>
        {
            var filter = TableClient.CreateQueryFilter($"PartitionKey eq {ShardKey(shard)} and RowKey lt {upper}");
            var found = new List<DueEntry>();
            await foreach (var e in table.QueryAsync(filter, Math.Min(max, 1000), cancellationToken))
            {
                if (TryParse(e.RowKey, e.GetString("Kind")) is { } entry)
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

    /// <summary>Where an entry is stored: its shard, and its due second followed by its session id.</summary>
    public static (string PartitionKey, string RowKey) Keys(DueEntry entry) =>
        (ShardKey(Shard(entry.SessionId)), Seconds(entry.DueAt) + "_" + entry.SessionId);

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

    private static string Seconds(DateTimeOffset time) => time.ToUnixTimeSeconds().ToString("D12", CultureInfo.InvariantCulture);

    private static DueEntry? TryParse(string rowKey, string? kind)
    {
        var separator = rowKey.IndexOf('_', StringComparison.Ordinal);
        return separator == 12
               && long.TryParse(rowKey.AsSpan(0, 12), NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
               && Times.FromUnixSeconds(seconds) is { } dueAt
            ? new DueEntry(rowKey[(separator + 1)..], dueAt, Enum.TryParse<DueKind>(kind, out var known) && Enum.IsDefined(known) ? known : DueKind.Unknown)
            : null;
    }
}
