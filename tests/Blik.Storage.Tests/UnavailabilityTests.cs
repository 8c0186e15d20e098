using System.Diagnostics;
using Blik.Testing;
using Blik.DevServices;

namespace Blik.Storage.Tests;

/// <summary>Storage that cannot be reached must surface quickly as <see cref="StorageUnavailableException"/>.</summary>
public sealed class UnavailabilityTests
{
    private static StorageClientFactory ClosedPortFactory(out int port)
    {
        port = FreePort.Next();
        return new StorageClientFactory(StorageConnection.FromConnectionString(
            $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={AzuriteInstance.AccountKey};" +
            $"TableEndpoint=http://127.0.0.1:{port}/devstoreaccount1;QueueEndpoint=http://127.0.0.1:{port}/devstoreaccount1"));
    }

    [Fact]
    public async Task A_closed_table_port_fails_fast_as_unavailable_after_retries()
    {
        var table = ClosedPortFactory(out _).GetTableClient("orders");
        var clock = Stopwatch.StartNew();

        var ex = await Assert.ThrowsAsync<StorageUnavailableException>(() => table.GetEntityAsync("p", "r"));

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
        Assert.Equal(0, ex.Status);
        Assert.Contains("table 'orders'", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(AzuriteInstance.AccountKey, ex.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_closed_queue_port_fails_fast_as_unavailable()
    {
        var queue = ClosedPortFactory(out _).GetQueueClient("orders");
        var clock = Stopwatch.StartNew();

        await Assert.ThrowsAsync<StorageUnavailableException>(() => queue.SendMessageAsync("x"));

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
    }

    [Fact]
    public async Task A_server_that_never_answers_times_out_as_unavailable()
    {
        using var silent = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        silent.Start();
        var port = ((System.Net.IPEndPoint)silent.LocalEndpoint).Port;
        var factory = new StorageClientFactory(
            StorageConnection.FromConnectionString(
                $"AccountName=devstoreaccount1;AccountKey={AzuriteInstance.AccountKey};TableEndpoint=http://127.0.0.1:{port}/devstoreaccount1"),
            new StorageClientOptions { NetworkTimeout = TimeSpan.FromMilliseconds(300), MaxRetries = 1, RetryDelay = TimeSpan.FromMilliseconds(50) });
        var clock = Stopwatch.StartNew();

        var ex = await Assert.ThrowsAsync<StorageUnavailableException>(() => factory.GetTableClient("orders").GetEntityAsync("p", "r"));

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3), $"took {clock.Elapsed}");
        Assert.Contains("timeout", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cancellation_by_the_caller_is_not_reported_as_unavailable()
    {
        var table = ClosedPortFactory(out _).GetTableClient("orders");
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => table.GetEntityAsync("p", "r", cts.Token));
    }

    [Fact]
    public async Task Stopped_azurite_is_unavailable_and_a_restart_on_the_same_ports_serves_again()
    {
        await using var azurite = await AzuriteInstance.StartAsync();
        var factory = new StorageClientFactory(StorageConnection.FromConnectionString(azurite.ConnectionString));
        var table = factory.GetTableClient("outage");
        Assert.True(await table.CreateIfNotExistsAsync());
        var tablePort = azurite.TablePort;

        await azurite.StopAsync();
        Assert.False(azurite.IsRunning);
        await Assert.ThrowsAsync<StorageUnavailableException>(() => table.GetEntityAsync("p", "r"));

        await azurite.RestartAsync();
        Assert.Equal(tablePort, azurite.TablePort);
        // In-memory data is gone after a restart: the table has to be created again.
        Assert.True(await table.CreateIfNotExistsAsync());
        await table.AddEntityAsync(new TableEntity("p", "r"));
        Assert.NotNull(await table.GetEntityAsync("p", "r"));
    }
}
