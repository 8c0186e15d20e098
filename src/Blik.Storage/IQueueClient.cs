namespace Blik.Storage;

/// <summary>A received message: delete or update it with <see cref="PopReceipt"/>.</summary>
/// <param name="MessageId">Service-assigned id.</param>
/// <param name="PopReceipt">Proof of this receive; changes on every receive and visibility update.</param>
/// <param name="DequeueCount">How many times the message has been received, this time included.</param>
/// <param name="MessageText">The text, decoded per <see cref="StorageClientOptions.MessageEncoding"/>.</param>
/// <param name="InsertedOn">When the message was enqueued.</param>
/// <param name="ExpiresOn">When it expires (far future for never-expiring messages).</param>
/// <param name="NextVisibleOn">When it becomes visible again unless deleted.</param>
public sealed record QueueMessage(
    string MessageId,
    string PopReceipt,
    long DequeueCount,
    string MessageText,
    DateTimeOffset? InsertedOn,
    DateTimeOffset? ExpiresOn,
    DateTimeOffset? NextVisibleOn);

/// <summary>A message seen by peeking: not locked, so it has no pop receipt.</summary>
public sealed record PeekedQueueMessage(
    string MessageId,
    long DequeueCount,
    string MessageText,
    DateTimeOffset? InsertedOn,
    DateTimeOffset? ExpiresOn);

/// <summary>
/// One queue. The only queue abstraction the application uses, so the implementation can be swapped
/// (e.g. for Azure.Storage.Queues) in <see cref="StorageClientFactory"/>.
/// </summary>
public interface IQueueClient
{
    /// <summary>The queue name.</summary>
    string Name { get; }

    /// <summary>The encoding used for message text on the wire.</summary>
    QueueMessageEncoding MessageEncoding { get; }

    /// <summary>Creates the queue; false if it already existed.</summary>
    Task<bool> CreateIfNotExistsAsync(CancellationToken cancellationToken = default);

    /// <summary>Enqueues a message and returns its id.</summary>
    /// <param name="text">Message text; at most 64 KiB once encoded.</param>
    /// <param name="visibilityDelay">Hide the message for this long first (whole seconds, up to 7 days).</param>
    /// <param name="timeToLive">Lifetime; null means never expire.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <exception cref="ArgumentException">The encoded message is larger than 64 KiB or has characters XML cannot carry.</exception>
    Task<string> SendMessageAsync(string text, TimeSpan? visibilityDelay = null, TimeSpan? timeToLive = null, CancellationToken cancellationToken = default);

    /// <summary>Receives up to <paramref name="maxMessages"/> (1..32) messages and hides them for <paramref name="visibilityTimeout"/>.</summary>
    Task<IReadOnlyList<QueueMessage>> ReceiveMessagesAsync(int maxMessages, TimeSpan visibilityTimeout, CancellationToken cancellationToken = default);

    /// <summary>Looks at up to <paramref name="maxMessages"/> (1..32) visible messages without receiving them.</summary>
    Task<IReadOnlyList<PeekedQueueMessage>> PeekMessagesAsync(int maxMessages = 1, CancellationToken cancellationToken = default);

    /// <summary>
    /// Deletes a received message. False when it was not deleted because it is gone or the pop receipt is stale
    /// (another receiver holds it now); the message is then not ours to delete.
    /// </summary>
    Task<bool> DeleteMessageAsync(string messageId, string popReceipt, CancellationToken cancellationToken = default);

    /// <summary>Hides a received message for <paramref name="visibilityTimeout"/> from now; returns the new pop receipt.</summary>
    /// <exception cref="StorageNotFoundException">The message is gone or the pop receipt is stale.</exception>
    Task<string> UpdateVisibilityAsync(string messageId, string popReceipt, TimeSpan visibilityTimeout, CancellationToken cancellationToken = default);

    /// <summary>The service's approximate count of messages in the queue.</summary>
    Task<int> GetApproximateMessageCountAsync(CancellationToken cancellationToken = default);

    /// <summary>Deletes every message in the queue.</summary>
    Task ClearMessagesAsync(CancellationToken cancellationToken = default);
}
