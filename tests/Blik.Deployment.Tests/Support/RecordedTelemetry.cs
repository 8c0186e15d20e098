using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Blik.Checkout.Diagnostics;

namespace Blik.Deployment.Tests.Support;

/// <summary>
/// What one service instance records on meter <c>Blik.Checkout</c> (only the meters its own <see cref="IMeterFactory"/>
/// created, so parallel tests do not mix), and the names of the spans started on ActivitySource <c>Blik.Checkout</c>.
/// These are what the exporter turns into <c>AppMetrics</c> rows (Name = instrument, Properties = tags) and
/// <c>AppDependencies</c>/<c>AppRequests</c> rows (Name = span name).
/// </summary>
internal sealed class RecordedTelemetry : IDisposable
{
    private readonly MeterListener _meters = new();
    private readonly ActivityListener _spans;
    private readonly ConcurrentQueue<Measurement> _measurements = new();
    private readonly ConcurrentQueue<string> _spanNames = new();

    public RecordedTelemetry(IMeterFactory scope)
    {
        _meters.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == CheckoutMetrics.MeterName && ReferenceEquals(instrument.Meter.Scope, scope))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _meters.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Record(instrument, value, tags));
        _meters.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Record(instrument, value, tags));
        _meters.Start();
        _spans = new ActivityListener
        {
            ShouldListenTo = source => source.Name == CheckoutTelemetry.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
            ActivityStopped = activity => _spanNames.Enqueue(activity.DisplayName),
        };
        ActivitySource.AddActivityListener(_spans);
    }

    public IReadOnlyCollection<Measurement> Measurements => _measurements;

    public IReadOnlyCollection<string> SpanNames => _spanNames;

    /// <summary>The measurements an alert query reads: an instrument it names, with every tag it filters on as it wants.</summary>
    public IReadOnlyList<Measurement> ReadBy(Kql query) =>
        _measurements.Where(m => query.Names.Contains(m.Name) && query.PropertyFilters.All(f => m.Tags.TryGetValue(f.Key, out var v) && f.Values.Contains(v?.ToString()))).ToList();

    /// <summary>Waits until the condition holds, failing with what was recorded when the deadline passes.</summary>
    public async Task WaitForAsync(Func<RecordedTelemetry, bool> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (!condition(this))
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Timed out waiting for {what}. Recorded: {string.Join("; ", _measurements.TakeLast(20))}");
            }

            await Task.Delay(50);
        }
    }

    public void Dispose()
    {
        _meters.Dispose();
        _spans.Dispose();
    }

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags) =>
        _measurements.Enqueue(new Measurement(instrument.Name, value, tags.ToArray().ToDictionary(t => t.Key, t => t.Value)));

    public sealed record Measurement(string Name, double Value, IReadOnlyDictionary<string, object?> Tags)
    {
        public override string ToString() => $"{Name}={Value} {{{string.Join(", ", Tags.Select(t => $"{t.Key}={t.Value}"))}}}";
    }
}
