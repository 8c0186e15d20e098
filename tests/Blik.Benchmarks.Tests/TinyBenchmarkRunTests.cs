using Blik.Benchmarks;
using Xunit.Abstractions;

namespace Blik.Benchmarks.Tests;

/// <summary>
/// The benchmark at tiny sizes: Azurite, the sandbox and the published app's real worker behind the local Functions host
/// all start, every phase runs, and every figure comes out as a number. Speed is not asserted here.
/// </summary>
public sealed class TinyBenchmarkRunTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Tiny_run_produces_every_figure_as_a_finite_number()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(20));
        var report = await Bench.RunAsync(BenchSizes.Tiny, timeout.Token);
        output.WriteLine(report.ToMarkdown());

        var areas = report.Rows.Select(r => r.Area).Distinct().ToArray();
        Assert.Equal(["start-up", "cost per operation", "webhook ingest", "host hop", "event processing", "merchant API", "memory", "sweep"], areas);
        Assert.Equal(2, report.Rows.Count(r => r.Area == "start-up")); // service and floor app through the host
        // Webhook ingest, create, get, pay, event processing: CPU, allocation, storage requests and wall time each.
        Assert.Equal(5 * 4, report.Rows.Count(r => r.Area == "cost per operation"));
        // Per stored size: time, due-index reads, all reads, worker CPU per due item; once: the first size's cost per item.
        Assert.Equal((4 * BenchSizes.Tiny.SweepSizes.Length) + 2, report.Rows.Count(r => r.Area == "sweep"));
        // Create capacity; create, pay, get p50 and p99; a raw write's p50 and p99; create and pay overhead in writes.
        Assert.Equal(11, report.Rows.Count(r => r.Area == "merchant API"));
        Assert.Equal(8, report.Rows.Count(r => r.Area == "host hop")); // webhook, create, pay, get: p50 and p99
        Assert.All(report.Rows, row =>
        {
            Assert.True(double.IsFinite(row.Value), $"{row.Area} / {row.Metric}: value {row.Value}");
            Assert.True(double.IsFinite(row.Baseline), $"{row.Area} / {row.Metric}: baseline {row.Baseline}");
            Assert.True(double.IsFinite(row.Compared), $"{row.Area} / {row.Metric}: compared {row.Compared}");
        });
    }

    [Fact]
    public void Counting_proxy_names_tables_and_queue_message_operations()
    {
        Assert.Equal("checkoutdue", CountingProxy.Resource("/devstoreaccount1/checkoutdue()"));
        Assert.Equal("checkoutsessions", CountingProxy.Resource("/devstoreaccount1/checkoutsessions(PartitionKey='a',RowKey='')"));
        Assert.Equal("checkout-events/messages", CountingProxy.Resource("/devstoreaccount1/checkout-events/messages/abc"));
        Assert.Equal("checkout-events", CountingProxy.Resource("/devstoreaccount1/checkout-events"));
    }

    [Fact]
    public void Percentiles_are_nearest_rank_over_all_samples()
    {
        var latencies = new Latencies();
        for (var i = 1; i <= 100; i++)
        {
            latencies.Add(i);
        }

        Assert.Equal(50, latencies.P50);
        Assert.Equal(99, latencies.P99);
        Assert.Equal(100, latencies.Percentile(100));
    }
}
