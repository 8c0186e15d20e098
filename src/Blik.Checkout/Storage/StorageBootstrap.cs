using System.Collections.Concurrent;
using Azure.Data.Tables;
using Azure.Storage.Queues;

namespace Blik.Checkout.Storage;

/// <summary>
/// Hands out the service's tables and queues (the SDK's clients from the one registration), each created once per
/// process: by <see cref="StorageProvisioning"/> when the host starts, or else by its first use (a creation that
/// failed is tried again on the next use). In Azure the Bicep template has created them already.
/// </summary>
public sealed class StorageBootstrap(TableServiceClient tables, QueueServiceClient queues)
{
    private readonly ConcurrentDictionary<string, Lazy<Task<TableClient>>> _tables = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Lazy<Task<QueueClient>>> _queues = new(StringComparer.Ordinal);

    public Task<TableClient> TableAsync(string name, CancellationToken cancellationToken) =>
        Ensure(_tables, name, () => StorageCall.RunAsync($"Create table '{name}'", async () =>
        {
            var table = tables.GetTableClient(name);
            await table.CreateIfNotExistsAsync(CancellationToken.None).ConfigureAwait(false);
            return table;
        }, CancellationToken.None)).WaitAsync(cancellationToken);

    public Task<QueueClient> QueueAsync(string name, CancellationToken cancellationToken) =>
        Ensure(_queues, name, () => StorageCall.RunAsync($"Create queue '{name}'", async () =>
        {
            var queue = queues.GetQueueClient(name);
            await queue.CreateIfNotExistsAsync(cancellationToken: CancellationToken.None).ConfigureAwait(false);
            return queue;
        }, CancellationToken.None)).WaitAsync(cancellationToken);

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

/// <summary>
/// Sends messages to the service's queues: base64 of the UTF-8 text, which the Functions queue trigger decodes
/// (host.json <c>messageEncoding: base64</c>), set once on the queue client's options.
/// </summary>
public sealed class MessageQueues(StorageBootstrap storage) : IMessageQueues
{
    public async Task SendAsync(string queueName, string text, CancellationToken cancellationToken)
    {
        var queue = await storage.QueueAsync(queueName, cancellationToken);
        await StorageCall.RunAsync($"Send to queue '{queueName}'", () => queue.SendMessageAsync(text, cancellationToken), cancellationToken);
    }

    public async Task SendAsync(string queueName, string text, TimeSpan delay, CancellationToken cancellationToken)
    {
        var queue = await storage.QueueAsync(queueName, cancellationToken);
        await StorageCall.RunAsync(
            $"Send to queue '{queueName}'",
            () => queue.SendMessageAsync(text, visibilityTimeout: delay > TimeSpan.Zero ? delay : null, cancellationToken: cancellationToken),
            cancellationToken);
    }
}

/// <summary>
/// What the health endpoint asks of storage: one row read and one queue metadata read, which change nothing. A table
/// or queue not created yet (a fresh emulator before start-up provisioning or first use) is storage answering too.
/// </summary>
public sealed class StorageHealth(TableServiceClient tables, QueueServiceClient queues)
{
    /// <exception cref="StorageException">Storage could not be reached, or refused the request.</exception>
    public async Task CheckAsync(CancellationToken cancellationToken)
    {
        try
        {
            await tables.GetTableClient(TableNames.Sessions).GetOrNullAsync("health-check", "", cancellationToken);
        }
        catch (StorageNotFoundException)
        {
            // The table is not there yet: storage answered.
        }

        try
        {
            var queue = queues.GetQueueClient(QueueNames.Events);
            await StorageCall.RunAsync($"Read queue '{QueueNames.Events}'", () => queue.GetPropertiesAsync(cancellationToken), cancellationToken);
        }
        catch (StorageNotFoundException)
        {
            // The queue is not there yet: storage answered.
        }
    }
}
