using Azure.Storage.Queues;
using LocalFunctionsHost.Tests.Infrastructure;

namespace LocalFunctionsHost.Tests;

[Collection(HostCollection.Name)]
public sealed class QueueTriggerTests(HostFixture fixture)
{
    private static async Task<int> CountAsync(QueueClient queue) => (await queue.GetPropertiesAsync()).Value.ApproximateMessagesCount;

    [Fact]
    public async Task A_message_arrives_with_its_metadata_and_is_deleted_after_success()
    {
        await using var host = await TestHost.StartAsync(fixture, ["QueueRecorder"]);
        var queue = host.Queue("RecordQueue");
        var sent = (await queue.SendMessageAsync("hello")).Value;

        var record = (await host.WaitForRecordsAsync("QueueRecorder", 1)).Single();
        Assert.Equal("hello", record.Text("message"));
        Assert.Equal("1", record.Text("dequeueCount"));
        Assert.Equal(sent.MessageId, record.Text("id"));
        Assert.False(string.IsNullOrEmpty(record.Text("popReceipt")));
        Assert.Contains(sent.InsertionTime.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss", System.Globalization.CultureInfo.InvariantCulture), record.Text("insertionTime"), StringComparison.Ordinal);
        await Wait.ForAsync(() => CountAsync(queue), c => c == 0, TimeSpan.FromSeconds(15), "the message to be deleted");
    }

    [Fact]
    public async Task A_failing_message_is_retried_after_visibilityTimeout_and_moved_to_poison_after_maxDequeueCount()
    {
        await using var host = await TestHost.StartAsync(fixture, ["QueueRecorder"], settings =>
        {
            settings["AzureFunctionsJobHost__extensions__queues__maxDequeueCount"] = "2";
            settings["AzureFunctionsJobHost__extensions__queues__visibilityTimeout"] = "00:00:02";
        });
        var queue = host.Queue("RecordQueue");
        await queue.SendMessageAsync("please fail");

        var poison = host.Queue(queue.Name + "-poison");
        var moved = await Wait.ForAsync(() => TestHost.PeekAsync(poison), m => m.Count > 0, TimeSpan.FromSeconds(30), $"the message in {poison.Name}\n{host.Logs.Tail()}");
        Assert.Equal("please fail", moved.Single().MessageText);

        var attempts = host.Records("QueueRecorder");
        Assert.Equal(new[] { "1", "2" }, attempts.Select(a => a.Text("dequeueCount") ?? "").ToArray());
        Assert.True(attempts[1].Time("started") - attempts[0].Time("ended") >= TimeSpan.FromSeconds(1.5), "the retry waited for visibilityTimeout");
        Assert.Equal(0, await CountAsync(queue));
        Assert.True(host.Logs.Contains("Message has reached MaxDequeueCount of 2"), host.Logs.Tail());
    }

    [Fact]
    public async Task A_message_already_dequeued_more_than_maxDequeueCount_times_goes_to_poison_without_running()
    {
        var settings = TestHost.DefaultSettings(fixture);
        var queue = new QueueClient(fixture.ConnectionString, settings["RecordQueue"], new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 });
        await queue.CreateAsync();
        await queue.SendMessageAsync("died twice");
        for (var i = 0; i < 2; i++)
        {
            // Two attempts that "died with their host": received, never deleted or released.
            await Wait.ForAsync(async () => (await queue.ReceiveMessageAsync(TimeSpan.FromSeconds(1))).Value, m => m is not null, TimeSpan.FromSeconds(10), "the message to be visible");
        }

        await using var host = await TestHost.StartAsync(fixture, ["QueueRecorder"], s =>
        {
            foreach (var (key, value) in settings)
            {
                s[key] = value;
            }

            s["AzureFunctionsJobHost__extensions__queues__maxDequeueCount"] = "2";
        });
        var poison = host.Queue(queue.Name + "-poison");
        var moved = await Wait.ForAsync(() => TestHost.PeekAsync(poison), m => m.Count > 0, TimeSpan.FromSeconds(30), "the message in the poison queue");
        Assert.Equal("died twice", moved.Single().MessageText);
        Assert.Empty(host.Records("QueueRecorder"));
    }

    [Fact]
    public async Task A_base64_queue_message_that_does_not_decode_goes_straight_to_poison()
    {
        await using var host = await TestHost.StartAsync(fixture, ["QueueRecorder"]);
        var raw = host.Queue("RecordQueue", base64: false);
        await raw.SendMessageAsync("this is not base64 !");
        await host.Queue("RecordQueue").SendMessageAsync("decodes fine");

        var poison = host.Queue(raw.Name + "-poison", base64: false);
        var moved = await Wait.ForAsync(() => TestHost.PeekAsync(poison), m => m.Count > 0, TimeSpan.FromSeconds(30), "the undecodable message in the poison queue");
        Assert.Equal("this is not base64 !", moved.Single().MessageText);
        var records = await host.WaitForRecordsAsync("QueueRecorder", 1);
        Assert.Equal(new[] { "decodes fine" }, records.Select(r => r.Text("message") ?? "").ToArray());
        Assert.True(host.Logs.Contains("Message decoding has failed!"), host.Logs.Tail());
    }

    [Fact]
    public async Task With_messageEncoding_none_the_body_is_read_as_plain_text()
    {
        await using var host = await TestHost.StartAsync(fixture, ["QueueRecorder"], s => s["AzureFunctionsJobHost__extensions__queues__messageEncoding"] = "none");
        await host.Queue("RecordQueue", base64: false).SendMessageAsync("plain text");
        var record = (await host.WaitForRecordsAsync("QueueRecorder", 1)).Single();
        Assert.Equal("plain text", record.Text("message"));
    }

    [Fact]
    public async Task In_flight_messages_never_exceed_batchSize_plus_newBatchThreshold()
    {
        await using var host = await TestHost.StartAsync(fixture, ["QueueRecorder"], s =>
        {
            s["AzureFunctionsJobHost__extensions__queues__batchSize"] = "2";
            s["AzureFunctionsJobHost__extensions__queues__newBatchThreshold"] = "1";
        });
        var queue = host.Queue("RecordQueue");
        for (var i = 0; i < 8; i++)
        {
            await queue.SendMessageAsync("sleep:1200");
        }

        var records = await host.WaitForRecordsAsync("QueueRecorder", 8, TimeSpan.FromSeconds(60));
        var intervals = records.Select(r => (Start: r.Time("started"), End: r.Time("ended"))).ToList();
        var most = intervals.Max(i => intervals.Count(o => o.Start <= i.Start && o.End > i.Start));
        Assert.InRange(most, 2, 3);
    }

    [Fact]
    public async Task Bytes_and_QueueMessage_parameters_get_the_message_as_they_ask()
    {
        await using var host = await TestHost.StartAsync(fixture, ["QueueBytes", "QueueModel"]);
        await host.Queue("BytesQueue").SendMessageAsync(BinaryData.FromBytes(new byte[] { 0, 1, 2, 255 }));
        var sent = (await host.Queue("ModelQueue").SendMessageAsync("as a model")).Value;

        var bytes = (await host.WaitForRecordsAsync("QueueBytes", 1)).Single();
        Assert.Equal("AAEC/w==", bytes.Text("base64"));
        var model = (await host.WaitForRecordsAsync("QueueModel", 1)).Single();
        Assert.Equal(sent.MessageId, model.Text("messageId"));
        Assert.Equal("1", model.Text("dequeueCount"));
        Assert.Equal("as a model", model.Text("text"));
    }

    [Fact]
    public async Task A_queue_output_is_written_only_when_the_function_succeeds()
    {
        await using var host = await TestHost.StartAsync(fixture, ["QueueForward"], s => s["AzureFunctionsJobHost__extensions__queues__maxDequeueCount"] = "1");
        var input = host.Queue("ForwardQueue");
        await input.SendMessageAsync("fail this one");
        await input.SendMessageAsync("carry this one");

        var poison = host.Queue(input.Name + "-poison");
        await Wait.ForAsync(() => TestHost.PeekAsync(poison), m => m.Count > 0, TimeSpan.FromSeconds(30), "the failed message in the poison queue");
        var output = host.Queue("ForwardOutQueue");
        var written = await Wait.ForAsync(() => TestHost.PeekAsync(output), m => m.Count > 0, TimeSpan.FromSeconds(30), "the output message");
        await Wait.ForAsync(() => CountAsync(input), c => c == 0, TimeSpan.FromSeconds(15), "the input queue to empty");
        Assert.Equal(["forwarded:carry this one"], (await TestHost.PeekAsync(output)).Select(m => m.MessageText).ToArray());
        Assert.Single(written);
    }

    [Fact]
    public async Task A_message_running_longer_than_its_lease_stays_hidden_and_is_deleted_with_the_renewed_receipt()
    {
        // The run lasts more than twice the lease, so only renewals keep it hidden; a renewal may come up to 3 s late
        // (a loaded machine: with a 2 s lease, one renewal over a second late handed the message out again).
        await using var host = await TestHost.StartAsync(fixture, ["QueueRecorder"], configure: o => o with
        {
            QueueMessageLease = TimeSpan.FromSeconds(4),
            QueueMessageLeaseRenewal = TimeSpan.FromSeconds(1),
        });
        var queue = host.Queue("RecordQueue");
        await queue.SendMessageAsync("sleep:9000");

        await host.WaitForRecordsAsync("QueueRecorder", 1, TimeSpan.FromSeconds(30));
        // Deleting with the first receipt would fail after a renewal, and a lapsed lease would hand the message out again.
        await Wait.ForAsync(() => CountAsync(queue), c => c == 0, TimeSpan.FromSeconds(15), "the message to be deleted");
        Assert.Single(host.Records("QueueRecorder"));
    }

    [Fact]
    public async Task The_admin_API_runs_a_queue_function_with_the_given_input()
    {
        await using var host = await TestHost.StartAsync(fixture, ["QueueRecorder"]);
        using var response = await host.Http.PostAsync("admin/functions/QueueRecorder", new StringContent("""{"input":"from admin"}"""));
        Assert.Equal(System.Net.HttpStatusCode.Accepted, response.StatusCode);
        var record = (await host.WaitForRecordsAsync("QueueRecorder", 1)).Single();
        Assert.Equal("from admin", record.Text("message"));
    }
}
