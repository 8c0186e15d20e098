using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Blik.Checkout.Diagnostics;

/// <summary>
/// Turns the <c>Blik.Checkout</c> meter into one structured log event per instrument and tag set per interval
/// (event id 7001: <c>MetricName</c>, <c>Tags</c>, <c>Count</c>, <c>Sum</c>, <c>Max</c>). The Application Insights
/// worker SDK ships logs but does not listen to System.Diagnostics.Metrics, so this is how sessions created,
/// codes submitted, webhooks accepted/rejected, events applied or stale, sweep outcomes and gateway latency
/// reach it: as traces whose custom dimensions can be charted (see docs/operations.md).
/// </summary>
public sealed partial class MetricsReporter : BackgroundService
{
    private readonly ILogger<MetricsReporter> _logger;
    private readonly TimeSpan _interval;
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<(string Name, string Tags), Aggregate> _aggregates = new();

    /// <param name="meterFactory">The host's factory: only meters it made are reported (not another host's in the same process).</param>
    public MetricsReporter(IMeterFactory meterFactory, ILogger<MetricsReporter> logger, TimeSpan? interval = null)
    {
        _logger = logger;
        _interval = interval ?? TimeSpan.FromMinutes(1);
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == CheckoutMetrics.MeterName && ReferenceEquals(instrument.Meter.Scope, meterFactory))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.Start();
    }

    /// <summary>Logs what was measured since the last flush and starts a new interval.</summary>
    public void Flush()
    {
        foreach (var key in _aggregates.Keys)
        {
            if (_aggregates.TryRemove(key, out var aggregate))
            {
                Measured(_logger, key.Name, key.Tags, aggregate.Count, aggregate.Sum, aggregate.Max);
            }
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            using var timer = new PeriodicTimer(_interval);
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                Flush();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            Flush();
        }
    }

    public override void Dispose()
    {
        _listener.Dispose();
        base.Dispose();
    }

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var tagText = tags.Length == 0 ? "" : string.Join(",", tags.ToArray().OrderBy(t => t.Key, StringComparer.Ordinal).Select(t => $"{t.Key}={t.Value}"));
        _aggregates.GetOrAdd((instrument.Name, tagText), _ => new Aggregate()).Add(value);
    }

    [LoggerMessage(7001, LogLevel.Information, "Metric {MetricName} [{Tags}]: count {Count}, sum {Sum}, max {Max}")]
    private static partial void Measured(ILogger logger, string metricName, string tags, long count, double sum, double max);

    private sealed class Aggregate
    {
        private readonly Lock _gate = new();

        public long Count { get; private set; }
        public double Sum { get; private set; }
        public double Max { get; private set; } = double.MinValue;

        public void Add(double value)
        {
            lock (_gate)
            {
                Count++;
                Sum += value;
                Max = Math.Max(Max, value);
            }
        }
    }
}
