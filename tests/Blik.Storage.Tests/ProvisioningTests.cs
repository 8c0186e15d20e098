using Blik.Checkout;
using Blik.Checkout.Configuration;
using Blik.Checkout.Storage;
using Blik.DevServices;
using Blik.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Blik.Storage.Tests;

/// <summary>Who creates the tables and queues: start-up does, the health check never does.</summary>
public sealed class ProvisioningTests
{
    private static async Task<(string[] Tables, string[] Queues)> ExistingAsync(StorageClients storage)
    {
        var tables = new List<string>();
        await foreach (var table in storage.Tables.QueryAsync())
        {
            tables.Add(table.Name);
        }

        var queues = new List<string>();
        await foreach (var queue in storage.Queues.GetQueuesAsync())
        {
            queues.Add(queue.Name);
        }

        return ([.. tables.Order(StringComparer.Ordinal)], [.. queues.Order(StringComparer.Ordinal)]);
    }

    [Fact]
    public async Task The_health_check_answers_on_fresh_storage_and_creates_nothing_while_start_up_creates_every_table_and_queue()
    {
        await using var fresh = await AzuriteInstance.StartAsync();
        var storage = new StorageClients(fresh.ConnectionString);
        using var app = QueueBehaviourTests.AppServices(fresh.ConnectionString);

        await app.GetRequiredService<StorageHealth>().CheckAsync(CancellationToken.None);
        var afterHealth = await ExistingAsync(storage);

        foreach (var service in app.GetServices<IHostedService>())
        {
            await service.StartAsync(CancellationToken.None);
        }

        var expected = (TableNames.All.Order(StringComparer.Ordinal).ToArray(),
            new[] { QueueNames.Events, QueueNames.EventsPoison, QueueNames.Rechecks, app.GetRequiredService<IOptions<CheckoutOptions>>().Value.FulfilmentQueue }.Order(StringComparer.Ordinal).ToArray());
        var afterStart = await Wait.ForAsync(
            () => ExistingAsync(storage),
            e => e.Tables.SequenceEqual(expected.Item1) && e.Queues.SequenceEqual(expected.Item2),
            "start-up to create every table and queue",
            TimeSpan.FromSeconds(20));

        Assert.Empty(afterHealth.Tables);
        Assert.Empty(afterHealth.Queues);
        Assert.Equal(expected.Item1, afterStart.Tables);
        Assert.Equal(expected.Item2, afterStart.Queues);
    }

    [Fact]
    public async Task The_health_check_fails_when_storage_does_not_answer()
    {
        await using var stopped = await AzuriteInstance.StartAsync();
        using var app = QueueBehaviourTests.AppServices(stopped.ConnectionString);
        await stopped.StopAsync();

        await Assert.ThrowsAsync<StorageUnavailableException>(() => app.GetRequiredService<StorageHealth>().CheckAsync(CancellationToken.None));
    }
}
