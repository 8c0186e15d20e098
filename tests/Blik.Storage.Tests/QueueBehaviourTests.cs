using System.Text;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using Blik.Checkout.Storage;
using Blik.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Blik.Storage.Tests;

/// <summary>What the service relies on from Queue Storage, through the SDK as the app configures it.</summary>
[Collection("azurite")]
public sealed class QueueBehaviourTests(AzuriteFixture azurite)
{
    private const string Text = "{\"id\":\"evt_1\",\"note\":\"zażółć <&> ]]> 日本語 🎉\"}";

    private async Task<(QueueClient App, QueueClient Raw)> NewQueueAsync()
    {
        var clients = new StorageClients(azurite.ConnectionString);
        var name = AzuriteFixture.UniqueName("q");
        var app = clients.Queue(name);
        await app.CreateIfNotExistsAsync();
        return (app, clients.RawQueues.GetQueueClient(name));
    }

    [Fact]
    public async Task The_app_puts_base64_of_the_utf8_text_on_the_wire_which_a_base64_reader_like_the_trigger_decodes()
    {
        var clients = new StorageClients(azurite.ConnectionString);
        var name = AzuriteFixture.UniqueName("q");
        using var provider = AppServices(azurite.ConnectionString);

        // Sent by the app's own registration (MessageQueues over the registered QueueServiceClient).
        await provider.GetRequiredService<MessageQueues>().SendAsync(name, Text, CancellationToken.None);

        var wire = Assert.Single((await clients.RawQueues.GetQueueClient(name).PeekMessagesAsync(32)).Value).MessageText;
        Assert.Equal(Text, Encoding.UTF8.GetString(Convert.FromBase64String(wire)));

        // The Functions queue extension with messageEncoding base64 reads through a client with Base64 encoding.
        var trigger = new QueueClient(azurite.ConnectionString, name, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 });
        Assert.Equal(Text, Assert.Single((await trigger.ReceiveMessagesAsync(32)).Value).MessageText);
    }

    [Fact]
    public async Task A_received_message_stays_invisible_for_its_visibility_timeout_then_comes_back_with_a_higher_dequeue_count()
    {
        var (queue, _) = await NewQueueAsync();
        await queue.SendMessageAsync(Text);

        var first = Assert.Single((await queue.ReceiveMessagesAsync(1, TimeSpan.FromSeconds(2))).Value);
        Assert.Equal(1, first.DequeueCount);
        Assert.Equal(Text, first.MessageText);
        Assert.Empty((await queue.ReceiveMessagesAsync(1, TimeSpan.FromSeconds(2))).Value);
        Assert.Equal(1, (await queue.GetPropertiesAsync()).Value.ApproximateMessagesCount); // counted while invisible

        var again = await WaitForMessageAsync(queue, TimeSpan.FromSeconds(15));

        Assert.Equal(first.MessageId, again.MessageId);
        Assert.Equal(2, again.DequeueCount);
        Assert.NotEqual(first.PopReceipt, again.PopReceipt);
    }

    [Fact]
    public async Task Updating_visibility_to_zero_makes_a_message_receivable_at_once_and_retires_the_old_pop_receipt()
    {
        var (queue, _) = await NewQueueAsync();
        await queue.SendMessageAsync(Text);
        var leased = Assert.Single((await queue.ReceiveMessagesAsync(1, TimeSpan.FromMinutes(5))).Value);

        var updated = await queue.UpdateMessageAsync(leased.MessageId, leased.PopReceipt, visibilityTimeout: TimeSpan.Zero);
        var stale = await Assert.ThrowsAnyAsync<Exception>(() => StorageCall.RunAsync(
            "Delete", () => queue.DeleteMessageAsync(leased.MessageId, leased.PopReceipt), CancellationToken.None));
        var back = Assert.Single((await queue.ReceiveMessagesAsync(1, TimeSpan.FromMinutes(5))).Value);

        Assert.NotEqual(leased.PopReceipt, updated.Value.PopReceipt);
        var failure = Assert.IsAssignableFrom<StorageException>(stale);
        Assert.True(failure is StorageNotFoundException || failure.ErrorCode == "PopReceiptMismatch", $"{failure.Status} {failure.ErrorCode}");
        Assert.Equal(2, back.DequeueCount);
    }

    private static async Task<QueueMessage> WaitForMessageAsync(QueueClient queue, TimeSpan timeout)
    {
        var batch = await Wait.ForAsync(
            async () => (await queue.ReceiveMessagesAsync(1, TimeSpan.FromMinutes(1))).Value,
            b => b.Length > 0,
            "a message to become visible again",
            timeout,
            TimeSpan.FromMilliseconds(100));
        return batch[0];
    }

    internal static ServiceProvider AppServices(string connectionString, Action<IServiceCollection>? configure = null)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = connectionString,
            ["ConvergeGate:BaseUrl"] = "https://gateway.test/",
            ["ConvergeGate:SecretKey"] = "sk_test_storage_tests",
            ["Checkout:PublicBaseUrl"] = "https://checkout.test/",
        }).Build();
        var services = new ServiceCollection();
        services.AddLogging();
        Blik.Checkout.Hosting.ServiceCollectionExtensions.AddBlikCheckout(services, configuration);
        configure?.Invoke(services);
        return services.BuildServiceProvider();
    }
}
