using System.Collections.Concurrent;
using Blik.Storage;

namespace Blik.Checkout.Storage;

/// <summary>
/// Hands out the service's tables and queues, creating each one the first time it is used in this process.
/// Creation is lazy (no storage calls at start-up, which would slow a Functions cold start) and retried on the next
/// use if it failed. In Azure the Bicep template creates them too.
/// </summary>
public sealed class StorageBootstrap(StorageClientFactory clients)
{
    private readonly ConcurrentDictionary<string, Lazy<Task<ITableClient>>> _tables = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Lazy<Task<IQueueClient>>> _queues = new(StringComparer.Ordinal);

    public Task<ITableClient> TableAsync(string name, CancellationToken cancellationToken) =>
        Ensure(_tables, name, async () =>
        {
            var table = clients.GetTableClient(name);
            await table.CreateIfNotExistsAsync(CancellationToken.None);
            return table;
        }).WaitAsync(cancellationToken);

    public Task<IQueueClient> QueueAsync(string name, CancellationToken cancellationToken) =>
        Ensure(_queues, name, async () =>
        {
            var queue = clients.GetQueueClient(name);
            await queue.CreateIfNotExistsAsync(CancellationToken.None);
            return queue;
        }).WaitAsync(cancellationToken);

    private static Task<T> Ensure<T>(ConcurrentDictionary<string, Lazy<Task<T>>> cache, string name, Func<Task<T>> create)
    {
        var lazy = cache.GetOrAdd(name, _ => new Lazy<Task<T>>(create));
        var task = lazy.Value;
        if (task.IsFaulted || task.IsCanceled)
        {
            // Forget a failed creation so the next caller tries again (e.g. storage was briefly unreachable).
            cache.TryRemove(new KeyValuePair<string, Lazy<Task<T>>>(name, lazy));
        }

        return task;
    }
}
