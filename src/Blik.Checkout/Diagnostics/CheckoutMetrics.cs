using System.Diagnostics;
using System.Diagnostics.Metrics;
using Blik.Checkout.Domain;

namespace Blik.Checkout.Diagnostics;

/// <summary>
/// The service's counters, histograms and gauges on meter <c>Blik.Checkout</c>, exported as metrics by the host's
/// OpenTelemetry meter provider (the Functions app registers the meter by name). The names, units and tags are the
/// contract alerts are written against: docs/telemetry.md lists them, and a test holds this class to that list.
/// Tags carry identifiers of outcomes only, never a session id, code, key or signature (they are low-cardinality
/// dimensions, not a log).
/// </summary>
public sealed class CheckoutMetrics : IDisposable
{
    public const string MeterName = "Blik.Checkout";

    private readonly Meter _meter;
    private readonly Counter<long> _sessionsCreated;
    private readonly Counter<long> _sessionsFinished;
    private readonly Counter<long> _lateCompletions;
    private readonly Counter<long> _amountMismatches;
    private readonly Counter<long> _livemodeMismatches;
    private readonly Counter<long> _refundsUnresolved;
    private readonly Counter<long> _codesSubmitted;
    private readonly Histogram<double> _completionTime;
    private readonly Counter<long> _webhooks;
    private readonly Counter<long> _events;
    private readonly Counter<long> _sweepRuns;
    private readonly Counter<long> _sweepEntries;
    private readonly Counter<long> _gatewayCalls;
    private readonly Histogram<double> _gatewayDuration;
    private readonly Counter<long> _fulfilmentOwed;
    private readonly Counter<long> _fulfilmentSent;
    private readonly Gauge<long> _queueDepth;
    private readonly Gauge<long> _queueOldestAge;

    public CheckoutMetrics(IMeterFactory meterFactory)
    {
        _meter = meterFactory.Create(MeterName);
        _sessionsCreated = _meter.CreateCounter<long>("blik.sessions.created", "{session}", "Checkout sessions created at the gateway and stored.");
        _sessionsFinished = _meter.CreateCounter<long>("blik.sessions.finished", "{session}", "Sessions that became final, by status (completed, expired).");
        _lateCompletions = _meter.CreateCounter<long>("blik.sessions.late_completions", "{session}", "Sessions the gateway completed after they had expired here (the Critical event 2006).");
        _amountMismatches = _meter.CreateCounter<long>("blik.sessions.amount_mismatches", "{session}", "Sessions the gateway completed for an amount or currency other than the one created here (the Critical event AmountMismatch).");
        _livemodeMismatches = _meter.CreateCounter<long>("blik.gateway.livemode_mismatches", "{answer}", "Gateway answers whose livemode differs from what the secret key says (the Critical event 2102), by operation.");
        _refundsUnresolved = _meter.CreateCounter<long>("blik.refunds.unresolved", "{refund}", "Refunds the gateway left unresolved past the sweep's limit, by state (pending, unknown_outcome); counted once per refund (the Critical event RefundUnresolved).");
        _codesSubmitted = _meter.CreateCounter<long>("blik.codes.submitted", "{code}", "BLIK codes submitted, by outcome (accepted, refused, unknown, conflict, limited, not_sent, merchant_refused).");
        _completionTime = _meter.CreateHistogram<double>("blik.codes.completion_time", "s", "From a session's last code submission to its completion, as recorded on the session.");
        _webhooks = _meter.CreateCounter<long>("blik.webhooks", "{webhook}", "Webhook notifications received, by outcome (accepted: verified and queued; rejected, with the reason).");
        _events = _meter.CreateCounter<long>("blik.events.applied", "{event}", "Queued events processed, by outcome (applied, unchanged, unknown_session, unknown_at_gateway, refund, unknown_refund).");
        _sweepRuns = _meter.CreateCounter<long>("blik.sweep.runs", "{run}", "Sweep runs that finished (the heartbeat of the timer).");
        _sweepEntries = _meter.CreateCounter<long>("blik.sweep.entries", "{entry}", "Due entries handled by the sweep, by outcome.");
        _gatewayCalls = _meter.CreateCounter<long>("blik.gateway.calls", "{call}", "Converge Gate calls, by operation, outcome (ok, refused, failed) and HTTP status.");
        _gatewayDuration = _meter.CreateHistogram<double>("blik.gateway.duration", "ms", "Converge Gate call latency, by operation and status.");
        _fulfilmentOwed = _meter.CreateCounter<long>("blik.fulfilment.owed", "{message}", "Fulfilment messages owed by a final transition of a session or refund, by message type.");
        _fulfilmentSent = _meter.CreateCounter<long>("blik.fulfilment.sent", "{message}", "Fulfilment messages sent to the fulfilment queue, by message type.");
        _queueDepth = _meter.CreateGauge<long>("blik.queue.depth", "{message}", "Approximate number of messages in a queue (never below the true count), by queue.");
        _queueOldestAge = _meter.CreateGauge<long>("blik.queue.oldest_age", "s", "Age of the oldest visible message in a queue (0 when none is visible), by queue.");
    }

    public void SessionCreated() => _sessionsCreated.Add(1);

    /// <summary>A session's first final state; with a completion after a code, also the code-to-completion time.</summary>
    public void SessionFinished(CheckoutSession session)
    {
        _sessionsFinished.Add(1, new KeyValuePair<string, object?>("status", session.Status.ToWire()));
        if (session.Status == SessionStatus.Completed && session is { CodeSubmittedAt: { } submitted, CompletedAt: { } completed } && completed >= submitted)
        {
            _completionTime.Record((completed - submitted).TotalSeconds);
        }
    }

    public void LateCompletion() => _lateCompletions.Add(1);

    /// <summary>The gateway completed a session for another amount or currency than ours (the Critical event AmountMismatch).</summary>
    public void AmountMismatch() => _amountMismatches.Add(1);

    /// <summary>A gateway answer in the other mode than the key's (the Critical event 2102).</summary>
    public void LivemodeMismatch(string operation) => _livemodeMismatches.Add(1, new KeyValuePair<string, object?>("operation", operation));

    /// <summary>A refund stayed unresolved past the sweep's limit (the Critical event RefundUnresolved).</summary>
    /// <param name="state"><c>pending</c> (the gateway calls it pending) or <c>unknown_outcome</c> (a reservation whose answer was lost).</param>
    public void RefundUnresolved(string state) => _refundsUnresolved.Add(1, new KeyValuePair<string, object?>("state", state));

    /// <summary>Counts a code submission's outcome and tags the current span (the pay span) with it.</summary>
    public void CodeSubmitted(string outcome)
    {
        _codesSubmitted.Add(1, new KeyValuePair<string, object?>("outcome", outcome));
        Activity.Current?.SetTag(CheckoutTelemetry.OutcomeTag, outcome);
    }

    /// <summary>Counts a webhook's outcome and tags the current span (the intake span) with it.</summary>
    /// <param name="reason">Why it was rejected (a fixed phrase), or null when accepted.</param>
    public void Webhook(string outcome, string? reason = null)
    {
        if (reason is null)
        {
            _webhooks.Add(1, new KeyValuePair<string, object?>("outcome", outcome));
        }
        else
        {
            _webhooks.Add(1, new KeyValuePair<string, object?>("outcome", outcome), new KeyValuePair<string, object?>("reason", reason));
        }

        Activity.Current?.SetTag(CheckoutTelemetry.OutcomeTag, outcome);
    }

    /// <summary>Counts a queued event's outcome and tags the current span (the processing span) with it.</summary>
    public void Event(string outcome)
    {
        _events.Add(1, new KeyValuePair<string, object?>("outcome", outcome));
        Activity.Current?.SetTag(CheckoutTelemetry.OutcomeTag, outcome);
    }

    /// <summary>At the end of each sweep run that read its due entries, whatever became of them.</summary>
    public void SweepRun() => _sweepRuns.Add(1);

    public void SweepEntry(string outcome) => _sweepEntries.Add(1, new KeyValuePair<string, object?>("outcome", outcome));

    /// <param name="status">The HTTP status code, or <c>timeout</c> / <c>unreachable</c> when there was no answer.</param>
    public void GatewayCall(string operation, string status, TimeSpan elapsed)
    {
        _gatewayCalls.Add(
            1,
            new KeyValuePair<string, object?>("operation", operation),
            new KeyValuePair<string, object?>("outcome", GatewayOutcome(status)),
            new KeyValuePair<string, object?>("status", status));
        _gatewayDuration.Record(
            elapsed.TotalMilliseconds,
            new KeyValuePair<string, object?>("operation", operation),
            new KeyValuePair<string, object?>("status", status));
    }

    /// <summary>The writer of a final state owes the fulfilment message of this type (<c>checkout.session.completed</c>, …).</summary>
    public void FulfilmentOwed(string messageType) => _fulfilmentOwed.Add(1, new KeyValuePair<string, object?>("type", messageType));

    public void FulfilmentSent(string messageType) => _fulfilmentSent.Add(1, new KeyValuePair<string, object?>("type", messageType));

    /// <summary>One reading of a queue: its approximate depth and the age of its oldest visible message.</summary>
    public void QueueObserved(string queue, long depth, TimeSpan oldestAge)
    {
        var tag = new KeyValuePair<string, object?>("queue", queue);
        _queueDepth.Record(depth, tag);
        _queueOldestAge.Record((long)Math.Max(0, oldestAge.TotalSeconds), tag);
    }

    public void Dispose() => _meter.Dispose();

    /// <summary>ok: 2xx; refused: the gateway answered 4xx (not 429) — a business answer; failed: 429, 5xx or no answer.</summary>
    internal static string GatewayOutcome(string status) =>
        int.TryParse(status, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var code)
            ? code switch
            {
                >= 200 and < 300 => "ok",
                429 => "failed",
                >= 400 and < 500 => "refused",
                _ => "failed",
            }
            : "failed";
}
