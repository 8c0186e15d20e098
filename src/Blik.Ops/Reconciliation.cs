using System.Collections.Concurrent;
using Blik.Checkout.Domain;
using Blik.Checkout.Gateway;
using Blik.Checkout.Sessions;
using Blik.Checkout.Storage;

namespace Blik.Ops;

/// <summary>A session whose gateway record could not be read (or, with <c>--apply</c>, not applied); the report is incomplete.</summary>
internal sealed record ReadFailure(string SessionId, string? OrderId, string Reason);

/// <summary>A non-final session that <c>--apply</c> brought forward.</summary>
internal sealed record AppliedChange(string SessionId, string? OrderId, string Before, string After);

internal sealed record ReconciliationReport(
    int Unfinished,
    int Finished,
    IReadOnlyList<Difference> Differences,
    IReadOnlyList<ReadFailure> Failures,
    IReadOnlyList<AppliedChange> Applied)
{
    public int Checked => Unfinished + Finished;

    public int SessionsWithDifferences => Differences.Select(d => d.SessionId).Distinct(StringComparer.Ordinal).Count();
}

/// <summary>The gateway refused our key: every read would fail the same way, so the run stops.</summary>
internal sealed class GatewayAccessRefusedException(int status) : Exception($"Converge Gate refused the secret key (HTTP {status}).")
{
    public int Status { get; } = status;
}

/// <summary>
/// Compares every stored session that is not final, and every one that became final in a period, with the gateway's
/// record of it, reading the gateway a few sessions at a time. Writes nothing unless given the app's
/// <see cref="SessionReconciler"/>, which then brings forward the non-final sessions that differ (the state rules
/// never move a final session).
/// </summary>
internal sealed class Reconciliation(
    SessionListing sessions,
    IRefundStore refunds,
    IConvergeGate gateway,
    SessionReconciler? apply,
    int parallelism)
{
    /// <summary>What the transition log names as the cause of an applied change.</summary>
    public const string Operation = "ops-reconcile";

    public async Task<ReconciliationReport> RunAsync(DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken)
    {
        var differences = new ConcurrentBag<Difference>();
        var failures = new ConcurrentBag<ReadFailure>();
        var applied = new ConcurrentBag<AppliedChange>();
        var unfinished = 0;
        var finished = 0;

        var options = new ParallelOptions { MaxDegreeOfParallelism = parallelism, CancellationToken = cancellationToken };
        await Parallel.ForEachAsync(sessions.ListUnfinishedOrFinishedAsync(from, to, cancellationToken), options, async (session, token) =>
        {
            if (session.Status.IsFinal())
            {
                Interlocked.Increment(ref finished);
            }
            else
            {
                Interlocked.Increment(ref unfinished);
            }

            GatewaySession? record;
            try
            {
                record = await gateway.GetSessionAsync(session.Id, token);
            }
            catch (GatewayRejectedException e) when (e.Error.HttpStatus is 401 or 403)
            {
                throw new GatewayAccessRefusedException(e.Error.HttpStatus);
            }
            catch (Exception e) when (e is GatewayUnavailableException or GatewayRejectedException)
            {
                failures.Add(new ReadFailure(session.Id, session.OrderId, "could not read it from the gateway: " + e.Message));
                return;
            }

            // Refunds exist only on completed sessions: no read for the others.
            var stored = session.Status == SessionStatus.Completed ? await refunds.ListAsync(session.Id, token) : [];
            var found = SessionComparison.Compare(session, stored, record);
            foreach (var difference in found)
            {
                differences.Add(difference);
            }

            if (apply is not null && found.Count > 0 && record is not null && !session.Status.IsFinal())
            {
                try
                {
                    var result = await apply.ReconcileAsync(session.Id, session, Operation, token);
                    if (result is { Outcome: ReconcileOutcome.Applied, Session: { } after })
                    {
                        applied.Add(new AppliedChange(session.Id, session.OrderId, session.Status.ToWire(), after.Status.ToWire()));
                    }
                }
                catch (Exception e) when (e is GatewayUnavailableException or GatewayRejectedException or ConcurrencyConflictException)
                {
                    // Reported, not applied: the sweep (or the next run) tries again.
                    failures.Add(new ReadFailure(session.Id, session.OrderId, "not applied: " + e.Message));
                }
            }
        });

        return new ReconciliationReport(
            unfinished,
            finished,
            [.. differences.OrderBy(d => d.SessionId, StringComparer.Ordinal).ThenBy(d => FieldOrder(d.Field))],
            [.. failures.OrderBy(f => f.SessionId, StringComparer.Ordinal)],
            [.. applied.OrderBy(a => a.SessionId, StringComparer.Ordinal)]);
    }

    private static int FieldOrder(string field) => field switch
    {
        SessionComparison.Session => 0,
        SessionComparison.Status => 1,
        SessionComparison.Amount => 2,
        SessionComparison.Currency => 3,
        _ => 4,
    };
}
