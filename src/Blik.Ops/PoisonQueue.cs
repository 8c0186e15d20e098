using System.Text;
using Azure;
using Azure.Storage.Queues;
using Blik.Checkout.Webhooks;

namespace Blik.Ops;

/// <summary>
/// A main queue and its <c>-poison</c> queue, both read and written as raw wire text (the clients use
/// <see cref="QueueMessageEncoding.None"/>), so a message is moved exactly as it was.
/// </summary>
internal sealed class PoisonQueue(QueueClient main, QueueClient poison, TextWriter output)
{
    /// <summary>The queue service returns at most 32 messages per peek or receive.</summary>
    public const int MaxPeek = 32;

    /// <summary>How long a received poison message stays hidden while it is being moved.</summary>
    private static readonly TimeSpan MoveLease = TimeSpan.FromMinutes(2);

    public async Task<int> PeekAsync(int max, CancellationToken cancellationToken)
    {
        var count = await CountOrNullAsync(cancellationToken);
        if (count is null)
        {
            await output.WriteLineAsync($"Queue '{poison.Name}' does not exist: nothing has been poisoned yet.");
            return OpsApp.Success;
        }

        await output.WriteLineAsync($"Queue '{poison.Name}': about {count} message(s).");
        if (count == 0)
        {
            return OpsApp.Success;
        }

        var peeked = (await poison.PeekMessagesAsync(Math.Min(max, MaxPeek), cancellationToken)).Value;
        foreach (var message in peeked)
        {
            await output.WriteLineAsync(Describe(message.MessageId, message.InsertedOn, message.DequeueCount, message.MessageText));
        }

        if (count > peeked.Length)
        {
            await output.WriteLineAsync($"({count - peeked.Length} more not shown.)");
        }

        return OpsApp.Success;
    }

    public async Task<int> RequeueAsync(int? max, bool dryRun, CancellationToken cancellationToken)
    {
        var count = await CountOrNullAsync(cancellationToken);
        if (count is null)
        {
            await output.WriteLineAsync($"Queue '{poison.Name}' does not exist: nothing to move.");
            return OpsApp.Success;
        }

        // Without --max: what the poison queue held at the start, so a run ends even if moved events fail again.
        var limit = max ?? count.Value;
        if (count == 0 || limit == 0)
        {
            await output.WriteLineAsync($"Queue '{poison.Name}' is empty: nothing to move.");
            return OpsApp.Success;
        }

        if (dryRun)
        {
            var shown = (await poison.PeekMessagesAsync(Math.Min(limit, MaxPeek), cancellationToken)).Value;
            await output.WriteLineAsync(
                $"Dry run: would move up to {Math.Min(limit, count.Value)} of about {count} message(s) from '{poison.Name}' to '{main.Name}'. Nothing was moved.");
            foreach (var message in shown)
            {
                await output.WriteLineAsync(Describe(message.MessageId, message.InsertedOn, message.DequeueCount, message.MessageText));
            }

            return OpsApp.Success;
        }

        var moved = 0;
        var notDeleted = 0;
        while (moved < limit)
        {
            var batch = (await poison.ReceiveMessagesAsync(Math.Min(MaxPeek, limit - moved), MoveLease, cancellationToken)).Value;
            if (batch.Length == 0)
            {
                break;
            }

            foreach (var message in batch)
            {
                cancellationToken.ThrowIfCancellationRequested();

                // Send first, delete second: a failure in between leaves a copy in both queues (processed twice,
                // harmlessly), never in neither. A message not yet handled reappears in the poison queue after the lease.
                await main.SendMessageAsync(message.MessageText, cancellationToken: CancellationToken.None);
                var deleted = await DeleteAsync(message.MessageId, message.PopReceipt);
                moved++;
                if (!deleted)
                {
                    notDeleted++;
                    await output.WriteLineAsync(
                        $"Message {message.MessageId} was re-queued but its lease had expired, so it is still in '{poison.Name}' too; it may be processed twice.");
                }

                await output.WriteLineAsync("moved " + Describe(message.MessageId, message.InsertedOn, message.DequeueCount, message.MessageText));
            }
        }

        await output.WriteLineAsync($"Moved {moved} message(s) from '{poison.Name}' to '{main.Name}'" +
            (notDeleted > 0 ? $"; {notDeleted} could not be removed from '{poison.Name}'." : "."));
        return OpsApp.Success;
    }

    private async Task<int?> CountOrNullAsync(CancellationToken cancellationToken)
    {
        try
        {
            return (await poison.GetPropertiesAsync(cancellationToken)).Value.ApproximateMessagesCount;
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
    }

    /// <summary>False when the message is gone or another receiver holds it now (stale pop receipt): not ours to delete.</summary>
    private async Task<bool> DeleteAsync(string messageId, string popReceipt)
    {
        try
        {
            await poison.DeleteMessageAsync(messageId, popReceipt, CancellationToken.None);
            return true;
        }
        catch (RequestFailedException e) when (e.Status == 404 || e.ErrorCode == "PopReceiptMismatch")
        {
            return false;
        }
    }

    /// <summary>One line per message, identifiers only: never the raw body.</summary>
    private static string Describe(string messageId, DateTimeOffset? insertedOn, long dequeueCount, string wireText)
    {
        string what;
        try
        {
            var text = Encoding.UTF8.GetString(Convert.FromBase64String(wireText));
            var e = EventMessage.Parse(text);
            what = $"event {e.EventId} ({e.Type}) session {e.SessionId}";
        }
        catch (FormatException)
        {
            what = $"not an event message ({wireText.Length} characters)";
        }

        return $"{messageId}  inserted {insertedOn?.ToString("u") ?? "?"}  dequeued {dequeueCount}x  {what}";
    }
}
