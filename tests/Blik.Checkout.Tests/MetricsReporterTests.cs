using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Blik.Checkout.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Blik.Checkout.Tests;

public sealed class MetricsReporterTests
{
    [Fact]
    public void A_flush_logs_each_instrument_and_tag_set_once_with_its_totals_then_starts_over()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var factory = services.GetRequiredService<IMeterFactory>();
        using var metrics = new CheckoutMetrics(factory);
        var logger = new ListLogger();
        using var reporter = new MetricsReporter(factory, logger);

        metrics.SessionCreated();
        metrics.SessionCreated();
        metrics.Webhook("accepted");
        metrics.Webhook("rejected");
        metrics.Webhook("rejected");
        metrics.GatewayCall("get", "200", TimeSpan.FromMilliseconds(12));
        metrics.GatewayCall("get", "200", TimeSpan.FromMilliseconds(30));
        reporter.Flush();

        Assert.Contains(logger.Lines, l => l.StartsWith("Metric blik.sessions.created []: count 2, sum 2", StringComparison.Ordinal));
        Assert.Contains(logger.Lines, l => l.StartsWith("Metric blik.webhooks [outcome=rejected]: count 2, sum 2", StringComparison.Ordinal));
        Assert.Contains(logger.Lines, l => l.StartsWith("Metric blik.webhooks [outcome=accepted]: count 1, sum 1", StringComparison.Ordinal));
        Assert.Contains(logger.Lines, l => l.StartsWith("Metric blik.gateway.duration [operation=get,status=200]: count 2, sum 42, max 30", StringComparison.Ordinal));
        Assert.Equal(4, logger.Lines.Count);

        logger.Lines.Clear();
        reporter.Flush();
        Assert.Empty(logger.Lines);
    }

    [Fact]
    public void Other_meters_and_other_hosts_meters_are_not_reported()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        using var otherHost = new ServiceCollection().AddMetrics().BuildServiceProvider();
        using var other = new Meter("Somebody.Else");
        using var otherHostMetrics = new CheckoutMetrics(otherHost.GetRequiredService<IMeterFactory>());
        var logger = new ListLogger();
        using var reporter = new MetricsReporter(services.GetRequiredService<IMeterFactory>(), logger);

        other.CreateCounter<long>("their.counter").Add(5);
        otherHostMetrics.SessionCreated();
        reporter.Flush();

        Assert.Empty(logger.Lines);
    }

    private sealed class ListLogger : ILogger<MetricsReporter>
    {
        public ConcurrentBag<string> Lines { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Lines.Add(formatter(state, exception));
    }
}
