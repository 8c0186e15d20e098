using System.Text;
using Blik.Testing;
using Blik.DevServices;

namespace Blik.Storage.Tests;

[Collection("azurite")]
public sealed class QueueClientTests(AzuriteFixture azurite)
{
    private const string Tricky = "<order id=\"1\">&amp; 'zażółć' ]]> 日本語 🎉\n\ttabbed</order>";

    private readonly StorageConnection _connection = StorageConnection.FromConnectionString(azurite.ConnectionString);

    private async Task<IQueueClient> NewQueueAsync(QueueMessageEncoding encoding = QueueMessageEncoding.Base64)
    {
        var queue = Client(AzuriteFixture.UniqueName("q"), encoding);
        Assert.True(await queue.CreateIfNotExistsAsync());
        return queue;
    }

    private IQueueClient Client(string name, QueueMessageEncoding encoding = QueueMessageEncoding.Base64) =>
        new StorageClientFactory(_connection, new StorageClientOptions { MessageEncoding = encoding }).GetQueueClient(name);

    [Fact]
    public async Task Creating_a_queue_twice_reports_created_then_existing()
    {
        var queue = Client(AzuriteFixture.UniqueName("q"));

        Assert.True(await queue.CreateIfNotExistsAsync());
        Assert.False(await queue.CreateIfNotExistsAsync());
    }

    [Fact]
    public async Task Text_with_xml_special_characters_and_unicode_round_trips_then_deletes()
    {
        var queue = await NewQueueAsync();

        var id = await queue.SendMessageAsync(Tricky);
        var received = Assert.Single(await queue.ReceiveMessagesAsync(32, TimeSpan.FromSeconds(30)));

        Assert.Equal(id, received.MessageId);
        Assert.Equal(Tricky, received.MessageText);
        Assert.Equal(1, received.DequeueCount);
        Assert.False(string.IsNullOrEmpty(received.PopReceipt));
        Assert.NotNull(received.InsertedOn);
        Assert.True(received.NextVisibleOn > DateTimeOffset.UtcNow.AddSeconds(20));
        Assert.True(await queue.DeleteMessageAsync(received.MessageId, received.PopReceipt));
        Assert.Equal(0, await queue.GetApproximateMessageCountAsync());
    }

    [Fact]
    public async Task Default_encoding_puts_base64_of_utf8_on_the_wire()
    {
        var queue = await NewQueueAsync();
        var raw = Client(queue.Name, QueueMessageEncoding.None);

        await queue.SendMessageAsync(Tricky);
        var seen = Assert.Single(await raw.PeekMessagesAsync(32));

        Assert.Equal(QueueMessageEncoding.Base64, queue.MessageEncoding);
        Assert.Equal(Convert.ToBase64String(Encoding.UTF8.GetBytes(Tricky)), seen.MessageText);
    }

    [Fact]
    public async Task None_encoding_sends_the_text_itself_xml_escaped()
    {
        var queue = await NewQueueAsync(QueueMessageEncoding.None);

        await queue.SendMessageAsync(Tricky);
        var received = Assert.Single(await queue.ReceiveMessagesAsync(1, TimeSpan.FromSeconds(30)));

        Assert.Equal(Tricky, received.MessageText);
    }

    [Fact]
    public async Task Receiving_text_that_is_not_base64_with_the_default_encoding_fails_clearly()
    {
        var queue = await NewQueueAsync();
        await Client(queue.Name, QueueMessageEncoding.None).SendMessageAsync("not base64!");

        var ex = await Assert.ThrowsAsync<InvalidDataException>(() => queue.PeekMessagesAsync());
        Assert.Contains(queue.Name, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dequeue_count_increases_when_the_visibility_timeout_expires()
    {
        var queue = await NewQueueAsync();
        await queue.SendMessageAsync("again");

        var first = Assert.Single(await queue.ReceiveMessagesAsync(1, TimeSpan.FromSeconds(1)));
        Assert.Empty(await queue.ReceiveMessagesAsync(1, TimeSpan.FromSeconds(1)));
        await Task.Delay(TimeSpan.FromMilliseconds(1300));
        var second = Assert.Single(await queue.ReceiveMessagesAsync(1, TimeSpan.FromSeconds(30)));

        Assert.Equal(first.MessageId, second.MessageId);
        Assert.Equal(1, first.DequeueCount);
        Assert.Equal(2, second.DequeueCount);
        Assert.NotEqual(first.PopReceipt, second.PopReceipt);
    }

    [Fact]
    public async Task A_stale_pop_receipt_does_not_delete_the_message()
    {
        var queue = await NewQueueAsync();
        await queue.SendMessageAsync("mine");
        var received = Assert.Single(await queue.ReceiveMessagesAsync(1, TimeSpan.FromSeconds(30)));
        var fresh = await queue.UpdateVisibilityAsync(received.MessageId, received.PopReceipt, TimeSpan.FromSeconds(30));

        Assert.False(await queue.DeleteMessageAsync(received.MessageId, received.PopReceipt));
        Assert.Equal(1, await queue.GetApproximateMessageCountAsync());
        Assert.True(await queue.DeleteMessageAsync(received.MessageId, fresh));
        Assert.Equal(0, await queue.GetApproximateMessageCountAsync());
    }

    [Fact]
    public async Task Deleting_a_message_that_is_gone_returns_false()
    {
        var queue = await NewQueueAsync();
        await queue.SendMessageAsync("once");
        var received = Assert.Single(await queue.ReceiveMessagesAsync(1, TimeSpan.FromSeconds(30)));

        Assert.True(await queue.DeleteMessageAsync(received.MessageId, received.PopReceipt));
        Assert.False(await queue.DeleteMessageAsync(received.MessageId, received.PopReceipt));
    }

    [Fact]
    public async Task Updating_visibility_to_zero_makes_the_message_receivable_at_once()
    {
        var queue = await NewQueueAsync();
        await queue.SendMessageAsync("retry me");
        var received = Assert.Single(await queue.ReceiveMessagesAsync(1, TimeSpan.FromMinutes(5)));
        Assert.Empty(await queue.ReceiveMessagesAsync(1, TimeSpan.FromSeconds(30)));

        var receipt = await queue.UpdateVisibilityAsync(received.MessageId, received.PopReceipt, TimeSpan.Zero);
        var again = Assert.Single(await queue.ReceiveMessagesAsync(1, TimeSpan.FromSeconds(30)));

        Assert.NotEqual(received.PopReceipt, receipt);
        Assert.Equal(received.MessageId, again.MessageId);
        Assert.Equal(2, again.DequeueCount);
    }

    [Fact]
    public async Task Updating_visibility_with_a_stale_pop_receipt_throws_not_found()
    {
        var queue = await NewQueueAsync();
        await queue.SendMessageAsync("x");
        var received = Assert.Single(await queue.ReceiveMessagesAsync(1, TimeSpan.FromSeconds(30)));
        await queue.UpdateVisibilityAsync(received.MessageId, received.PopReceipt, TimeSpan.FromSeconds(30));

        await Assert.ThrowsAsync<StorageNotFoundException>(
            () => queue.UpdateVisibilityAsync(received.MessageId, received.PopReceipt, TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task A_visibility_delay_hides_a_new_message_but_it_is_counted()
    {
        var queue = await NewQueueAsync();

        await queue.SendMessageAsync("later", visibilityDelay: TimeSpan.FromMinutes(1), timeToLive: TimeSpan.FromHours(1));

        Assert.Empty(await queue.PeekMessagesAsync(32));
        Assert.Empty(await queue.ReceiveMessagesAsync(32, TimeSpan.FromSeconds(30)));
        Assert.Equal(1, await queue.GetApproximateMessageCountAsync());
    }

    [Fact]
    public async Task Messages_without_time_to_live_never_expire()
    {
        var queue = await NewQueueAsync();

        await queue.SendMessageAsync("forever");
        var peeked = Assert.Single(await queue.PeekMessagesAsync());

        Assert.True(peeked.ExpiresOn > DateTimeOffset.UtcNow.AddYears(100), $"expires {peeked.ExpiresOn}");
        Assert.Equal(0, peeked.DequeueCount);
    }

    [Fact]
    public async Task Approximate_count_reflects_sends_and_clear_empties_the_queue()
    {
        var queue = await NewQueueAsync();
        for (var i = 0; i < 3; i++)
        {
            await queue.SendMessageAsync("m" + i);
        }

        Assert.Equal(3, await queue.GetApproximateMessageCountAsync());
        Assert.Equal(3, (await queue.PeekMessagesAsync(32)).Count);

        await queue.ClearMessagesAsync();

        Assert.Equal(0, await queue.GetApproximateMessageCountAsync());
        Assert.Empty(await queue.ReceiveMessagesAsync(32, TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task A_message_of_exactly_64_KiB_encoded_is_accepted()
    {
        var queue = await NewQueueAsync();
        var text = new string('a', 49_152); // base64 of 49,152 bytes is 65,536 characters

        await queue.SendMessageAsync(text);

        Assert.Equal(text, Assert.Single(await queue.ReceiveMessagesAsync(1, TimeSpan.FromSeconds(30))).MessageText);
    }

    [Theory]
    [InlineData(QueueMessageEncoding.Base64, 49_153)]
    [InlineData(QueueMessageEncoding.None, 65_537)]
    public async Task An_oversize_message_is_rejected_before_sending(QueueMessageEncoding encoding, int length)
    {
        // Unreachable endpoint: a request would fail with StorageUnavailableException, not ArgumentException.
        var offline = new StorageClientFactory(
            StorageConnection.FromConnectionString(
                $"AccountName=devstoreaccount1;AccountKey={AzuriteInstance.AccountKey};QueueEndpoint=http://127.0.0.1:{FreePort.Next()}/devstoreaccount1"),
            new StorageClientOptions { MessageEncoding = encoding, MaxRetries = 0 });
        var queue = offline.GetQueueClient("oversize");

        var ex = await Assert.ThrowsAsync<ArgumentException>(() => queue.SendMessageAsync(new string('a', length)));
        Assert.Equal("text", ex.ParamName);
    }

    [Fact]
    public async Task Multibyte_text_counts_utf8_bytes_toward_the_limit()
    {
        var queue = await NewQueueAsync(QueueMessageEncoding.None);

        // 21,846 three-byte characters = 65,538 bytes, although only 21,846 UTF-16 chars.
        await Assert.ThrowsAsync<ArgumentException>(() => queue.SendMessageAsync(new string('€', 21_846)));
        Assert.Equal(0, await queue.GetApproximateMessageCountAsync());
    }

    [Fact]
    public async Task Text_xml_cannot_carry_is_rejected_with_none_encoding_and_fine_with_base64()
    {
        var raw = await NewQueueAsync(QueueMessageEncoding.None);
        var encoded = Client(raw.Name);

        var ex = await Assert.ThrowsAsync<ArgumentException>(() => raw.SendMessageAsync("bell\u0007"));
        Assert.Equal("text", ex.ParamName);

        await encoded.SendMessageAsync("bell\u0007");
        Assert.Equal("bell\u0007", Assert.Single(await encoded.ReceiveMessagesAsync(1, TimeSpan.FromSeconds(30))).MessageText);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(33)]
    public async Task Receive_count_outside_1_to_32_is_rejected(int max)
    {
        var queue = Client("anything");

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => queue.ReceiveMessagesAsync(max, TimeSpan.FromSeconds(30)));
    }

    [Theory]
    [InlineData("UpperCase")]
    [InlineData("a--b")]
    [InlineData("-ab")]
    [InlineData("ab")]
    public void Invalid_queue_names_are_rejected(string name) =>
        Assert.Throws<ArgumentException>(() => Client(name));
}
