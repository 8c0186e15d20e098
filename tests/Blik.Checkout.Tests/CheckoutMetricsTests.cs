using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Text.RegularExpressions;
using Blik.Checkout.Diagnostics;
using Blik.Checkout.Domain;
using Blik.Checkout.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace Blik.Checkout.Tests;

/// <summary>
/// The meter against the metric table in docs/telemetry.md, which alerts are written against: every instrument is
/// documented with its kind and unit, and each recording carries exactly the documented tags.
/// </summary>
public sealed partial class CheckoutMetricsTests : IDisposable
{
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<string, Instrument> _instruments = new();
    private readonly ConcurrentQueue<(string Name, double Value, Dictionary<string, object?> Tags)> _measurements = new();
    private readonly CheckoutMetrics _metrics;

    public CheckoutMetricsTests()
    {
        var factory = _services.GetRequiredService<IMeterFactory>();
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            // Only this test's meter: other tests in the process create their own.
            if (instrument.Meter.Name == CheckoutMetrics.MeterName && ReferenceEquals(instrument.Meter.Scope, factory))
            {
                _instruments[instrument.Name] = instrument;
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.Start();
        _metrics = new CheckoutMetrics(factory);
    }

    [Fact]
    public void Every_instrument_is_documented_with_its_kind_and_unit_and_nothing_documented_is_missing()
    {
        var documented = DocumentedMetrics();

        Assert.Equal(documented.Keys.Order(StringComparer.Ordinal), _instruments.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, instrument) in _instruments)
        {
            Assert.Equal((documented[name].Kind, documented[name].Unit), (Kind(instrument), instrument.Unit));
        }
    }

    [Fact]
    public void Every_recording_carries_only_the_documented_tags_and_together_all_of_them()
    {
        RecordOneOfEverything();
        var documented = DocumentedMetrics();

        foreach (var (name, _, tags) in _measurements)
        {
            Assert.True(tags.Keys.ToHashSet().IsSubsetOf(documented[name].Tags), $"{name} recorded tags {string.Join(", ", tags.Keys)}; documented: {string.Join(", ", documented[name].Tags)}");
        }

        foreach (var (name, metric) in documented)
        {
            var seen = _measurements.Where(m => m.Name == name).SelectMany(m => m.Tags.Keys).ToHashSet();
            Assert.True(_measurements.Any(m => m.Name == name), $"{name} was never recorded.");
            Assert.True(seen.SetEquals(metric.Tags), $"{name} recorded tags {string.Join(", ", seen)}; documented: {string.Join(", ", metric.Tags)}");
        }
    }

    [Theory]
    [InlineData("200", "ok")]
    [InlineData("201", "ok")]
    [InlineData("402", "refused")]
    [InlineData("404", "refused")]
    [InlineData("409", "refused")]
    [InlineData("429", "failed")]
    [InlineData("503", "failed")]
    [InlineData("timeout", "failed")]
    [InlineData("unreachable", "failed")]
    public void A_gateway_call_counts_once_with_its_operation_outcome_and_status_and_records_its_latency(string status, string outcome)
    {
        _metrics.GatewayCall("pay", status, TimeSpan.FromMilliseconds(42));

        var call = Assert.Single(_measurements, m => m.Name == "blik.gateway.calls");
        Assert.Equal(1, call.Value);
        Assert.Equal(("pay", outcome, status), ((string?)call.Tags["operation"], (string?)call.Tags["outcome"], (string?)call.Tags["status"]));
        var latency = Assert.Single(_measurements, m => m.Name == "blik.gateway.duration");
        Assert.Equal(42, latency.Value);
    }

    [Fact]
    public void A_completion_records_the_time_from_the_last_code_and_an_expiry_records_none()
    {
        var submitted = TestSessions.Created.AddSeconds(100);
        _metrics.SessionFinished(TestSessions.Open() with { Status = SessionStatus.Completed, CodeSubmittedAt = submitted, CompletedAt = submitted.AddSeconds(37) });
        _metrics.SessionFinished(TestSessions.Open() with { Status = SessionStatus.Expired, CodeSubmittedAt = submitted });

        Assert.Equal(["completed", "expired"], _measurements.Where(m => m.Name == "blik.sessions.finished").Select(m => (string)m.Tags["status"]!).Order(StringComparer.Ordinal));
        Assert.Equal(37, Assert.Single(_measurements, m => m.Name == "blik.codes.completion_time").Value);
    }

    [Fact]
    public void A_rejected_webhook_says_why_and_an_accepted_one_has_no_reason()
    {
        _metrics.Webhook("rejected", "signature mismatch");
        _metrics.Webhook("accepted");

        var webhooks = _measurements.Where(m => m.Name == "blik.webhooks").ToDictionary(m => (string)m.Tags["outcome"]!, m => m.Tags);
        Assert.Equal("signature mismatch", webhooks["rejected"]["reason"]);
        Assert.False(webhooks["accepted"].ContainsKey("reason"));
    }

    [Fact]
    public void A_queue_reading_records_its_depth_and_oldest_age_in_whole_seconds_tagged_with_the_queue()
    {
        _metrics.QueueObserved("checkout-events-poison", 2, TimeSpan.FromSeconds(90.7));
        _metrics.QueueObserved("checkout-events", 0, TimeSpan.Zero);

        var depth = _measurements.Where(m => m.Name == "blik.queue.depth").ToDictionary(m => (string)m.Tags["queue"]!, m => m.Value);
        var age = _measurements.Where(m => m.Name == "blik.queue.oldest_age").ToDictionary(m => (string)m.Tags["queue"]!, m => m.Value);
        Assert.Equal(2, depth["checkout-events-poison"]);
        Assert.Equal(90, age["checkout-events-poison"]);
        Assert.Equal((0d, 0d), (depth["checkout-events"], age["checkout-events"]));
    }

    public void Dispose()
    {
        _listener.Dispose();
        _metrics.Dispose();
        _services.Dispose();
    }

    private void RecordOneOfEverything()
    {
        var submitted = TestSessions.Created;
        _metrics.SessionCreated();
        _metrics.LivemodeMismatch("create");
        _metrics.SessionFinished(TestSessions.Open() with { Status = SessionStatus.Completed, CodeSubmittedAt = submitted, CompletedAt = submitted.AddSeconds(5) });
        _metrics.LateCompletion();
        _metrics.AmountMismatch();
        _metrics.RefundUnresolved("pending");
        _metrics.CodeSubmitted("accepted");
        _metrics.Webhook("accepted");
        _metrics.Webhook("rejected", "signature mismatch");
        _metrics.Event("applied");
        _metrics.SweepRun();
        _metrics.SweepEntry("reconciled");
        _metrics.GatewayCall("get", "200", TimeSpan.FromMilliseconds(12));
        _metrics.FulfilmentOwed("checkout.session.completed");
        _metrics.FulfilmentSent("checkout.session.completed");
        _metrics.QueueObserved("checkout-events", 3, TimeSpan.FromSeconds(12));
    }

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags) =>
        _measurements.Enqueue((instrument.Name, value, tags.ToArray().ToDictionary(t => t.Key, t => t.Value)));

    private static string Kind(Instrument instrument) => instrument.GetType().GetGenericTypeDefinition() switch
    {
        var t when t == typeof(Counter<>) => "counter",
        var t when t == typeof(Histogram<>) => "histogram",
        var t when t == typeof(Gauge<>) => "gauge",
        var t => t.Name,
    };

    /// <summary>docs/telemetry.md's metric table: name → (kind, unit, tag names).</summary>
    private static Dictionary<string, (string Kind, string Unit, HashSet<string> Tags)> DocumentedMetrics()
    {
        var doc = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "docs", "telemetry.md"));
        var rows = MetricRow().Matches(doc);
        Assert.True(rows.Count >= 10, $"docs/telemetry.md's metric table was not found ({rows.Count} rows).");
        return rows.ToDictionary(
            r => r.Groups["name"].Value,
            r => (r.Groups["kind"].Value, r.Groups["unit"].Value, TagName().Matches(r.Groups["tags"].Value).Select(t => t.Groups[1].Value).ToHashSet()));
    }

    [GeneratedRegex(@"^\| `(?<name>blik\.[a-z_.]+)` \| (?<kind>counter|histogram|gauge) \| `(?<unit>[^`]+)` \| (?<tags>[^|]+) \|", RegexOptions.Multiline)]
    private static partial Regex MetricRow();

    [GeneratedRegex(@"`([a-z_]+)`")]
    private static partial Regex TagName();
}
