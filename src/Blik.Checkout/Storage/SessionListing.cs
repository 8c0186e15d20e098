using System.Runtime.CompilerServices;
using Azure.Data.Tables;
using Blik.Checkout.Domain;

namespace Blik.Checkout.Storage;

/// <summary>
/// Read-only queries over the sessions table for operators (the reconciliation report), with <see cref="SessionStore"/>'s
/// own row mapping. A scan of the whole table on the service's side: fine for a report, never for a request path.
/// </summary>
public sealed class SessionListing(StorageBootstrap storage)
{
    /// <summary>
    /// Every session that is not final (open, pending), and every session that became final in
    /// [<paramref name="from"/>, <paramref name="to"/>): completed with <c>CompletedAt</c> in the period, or expired with
    /// its last update in the period. Times are whole seconds, as stored; the order is the table's.
    /// </summary>
    public async IAsyncEnumerable<CheckoutSession> ListUnfinishedOrFinishedAsync(
        DateTimeOffset from,
        DateTimeOffset to,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var start = from.ToUnixTimeSeconds() + (from.Ticks % TimeSpan.TicksPerSecond == 0 ? 0 : 1);
        var end = to.ToUnixTimeSeconds() + (to.Ticks % TimeSpan.TicksPerSecond == 0 ? 0 : 1);
        string open = SessionStatus.Open.ToWire(), pending = SessionStatus.Pending.ToWire();
        string completed = SessionStatus.Completed.ToWire(), expired = SessionStatus.Expired.ToWire();
        var filter = TableClient.CreateQueryFilter(
            $"Status eq {open} or Status eq {pending} or (Status eq {completed} and CompletedAt ge {start} and CompletedAt lt {end}) or (Status eq {expired} and UpdatedAt ge {start} and UpdatedAt lt {end})");

        var table = await storage.TableAsync(TableNames.Sessions, cancellationToken);
        await foreach (var entity in table.QueryAsync(filter, null, cancellationToken))
        {
            yield return SessionStore.FromEntity(entity);
        }
    }
}
