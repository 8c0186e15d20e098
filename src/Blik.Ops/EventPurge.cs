using System.Globalization;
using Azure;
using Azure.Data.Tables;

namespace Blik.Ops;

/// <summary>
/// <c>purge-events</c>: deletes the rows of the applied-events table (<c>checkoutevents</c>) recorded before a cut-off.
/// A row older than the app's <c>Webhooks__ReplayWindow</c> already counts as absent, so deleting it changes nothing the
/// app does; a younger one deleted only costs a replay of that event one more gateway read (every event is re-read
/// from the gateway and applied idempotently). Each delete is conditional on the row as it was read: an event applied
/// again meanwhile keeps its row.
/// </summary>
internal sealed class EventPurge(TableClient table, TextWriter output)
{
    /// <summary>Deletes in flight at once: each row is its own partition, so there is no batch to make.</summary>
    private const int Parallelism = 8;

    public async Task<int> RunAsync(DateTimeOffset before, bool dryRun, CancellationToken cancellationToken)
    {
        var cutoff = before.ToUnixTimeMilliseconds();
        var filter = TableClient.CreateQueryFilter($"AppliedAt lt {cutoff}");
        var (found, deleted, changed) = (0, 0, 0);
        var rows = table.QueryAsync<TableEntity>(filter, maxPerPage: 1000, select: ["PartitionKey", "RowKey", "AppliedAt"], cancellationToken: cancellationToken);
        try
        {
            await Parallel.ForEachAsync(rows, new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = cancellationToken }, async (row, ct) =>
            {
                Interlocked.Increment(ref found);
                if (dryRun)
                {
                    return;
                }

                try
                {
                    await table.DeleteEntityAsync(row.PartitionKey, row.RowKey, row.ETag, ct);
                    Interlocked.Increment(ref deleted);
                }
                catch (RequestFailedException e) when (e.Status is 404 or 412)
                {
                    Interlocked.Increment(ref changed); // gone already, or applied again since it was read
                }
            });
        }
        catch (RequestFailedException e) when (e.Status == 404 && e.ErrorCode == "TableNotFound")
        {
            await output.WriteLineAsync($"Table '{table.Name}' does not exist: no event has been applied yet.");
            return OpsApp.Success;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await output.WriteLineAsync($"Stopped after {deleted} row(s) deleted; rows already deleted stay deleted.");
            throw;
        }

        var when = before.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        await output.WriteLineAsync(dryRun
            ? $"Table '{table.Name}': {found} row(s) of events applied before {when} would be deleted (dry run: nothing deleted)."
            : $"Table '{table.Name}': {deleted} row(s) of events applied before {when} deleted" +
              (changed > 0 ? $"; {changed} left, applied again or deleted by someone else meanwhile." : "."));
        return OpsApp.Success;
    }
}
