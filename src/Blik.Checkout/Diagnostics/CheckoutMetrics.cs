using System.Diagnostics.Metrics;

namespace Blik.Checkout.Diagnostics;

/// <summary>
/// The service's counters and histograms on meter <c>Blik.Checkout</c>. Application Insights (Functions) and any
/// OpenTelemetry/dotnet-counters listener (runner) pick them up by meter name.
/// </summary>
public sealed class CheckoutMetrics : IDisposable
{
    public const string MeterName = "Blik.Checkout";

    private readonly Meter _meter;
    private readonly Counter<long> _sessionsCreated;
    private readonly Counter<long> _codesSubmitted;
    private readonly Counter<long> _webhooks;
    private readonly Counter<long> _events;
    private readonly Counter<long> _sweepEntries;
    private readonly Histogram<double> _gatewayDuration;

    public CheckoutMetrics(IMeterFactory meterFactory)
    {
        _meter = meterFactory.Create(MeterName);
        _sessionsCreated = _meter.CreateCounter<long>("blik.sessions.created", description: "Checkout sessions created at the gateway and stored.");
        _codesSubmitted = _meter.CreateCounter<long>("blik.codes.submitted", description: "BLIK codes submitted, by outcome.");
        _webhooks = _meter.CreateCounter<long>("blik.webhooks", description: "Webhook notifications, by outcome (accepted, rejected).");
        _events = _meter.CreateCounter<long>("blik.events.applied", description: "Queued events processed, by outcome (applied, unchanged, stale, unknown_session).");
        _sweepEntries = _meter.CreateCounter<long>("blik.sweep.entries", description: "Due entries handled by the sweep, by outcome.");
        _gatewayDuration = _meter.CreateHistogram<double>("blik.gateway.duration", unit: "ms", description: "Converge Gate call latency, by operation and status.");
    }

    public void SessionCreated() => _sessionsCreated.Add(1);

    public void CodeSubmitted(string outcome) => _codesSubmitted.Add(1, new KeyValuePair<string, object?>("outcome", outcome));

    public void Webhook(string outcome) => _webhooks.Add(1, new KeyValuePair<string, object?>("outcome", outcome));

    public void Event(string outcome) => _events.Add(1, new KeyValuePair<string, object?>("outcome", outcome));

    public void SweepEntry(string outcome) => _sweepEntries.Add(1, new KeyValuePair<string, object?>("outcome", outcome));

    public void GatewayCall(string operation, string status, TimeSpan elapsed) =>
        _gatewayDuration.Record(
            elapsed.TotalMilliseconds,
            new KeyValuePair<string, object?>("operation", operation),
            new KeyValuePair<string, object?>("status", status));

    public void Dispose() => _meter.Dispose();
}
