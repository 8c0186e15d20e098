using System.Globalization;
using System.Text;
using Blik.Checkout.Domain;
using Blik.Checkout.Sessions;
using Blik.Checkout.Tests.Support;
using Blik.Checkout.Webhooks;

namespace Blik.Checkout.Tests;

/// <summary>Webhook intake and its replays: verified → queued, and a replay changes nothing downstream.</summary>
public sealed class WebhookIntakeTests : IDisposable
{
    private const string Id = "2AW-intake";
    private const string Body = """{"id":"evt_1","type":"session.completed","data":{"session_id":"2AW-intake"}}""";

    private readonly FakeStack _stack = new();

    public void Dispose() => _stack.Dispose();

    private static string Sign(string timestamp, string body) =>
        WebhookSignature.Compute(WebhookSignature.DeriveKey(AppServices.SecretKey), timestamp, Encoding.UTF8.GetBytes(body));

    private static Task<Outcome<EventMessage>> AcceptAsync(FakeStack stack, string timestamp) =>
        stack.Get<WebhookIntake>().AcceptAsync(timestamp, Sign(timestamp, Body), Encoding.UTF8.GetBytes(Body), CancellationToken.None);

    private string Now => _stack.Time.GetUtcNow().ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);

    [Fact]
    public async Task A_verified_notification_is_queued_with_its_ids_only()
    {
        var accepted = await AcceptAsync(_stack, Now);

        Assert.Equal(new EventMessage("evt_1", "session.completed", Id, null, ReceivedAt: TestTime.Start.ToUnixTimeMilliseconds()), accepted.Value);
        Assert.Equal(accepted.Value, EventMessage.Parse(Assert.Single(_stack.Queues.Sent(QueueNames.Events))));
    }

    [Fact]
    public async Task A_replayed_notification_changes_nothing_and_sends_nothing()
    {
        _stack.Seed(Id, SessionStatus.Completed);
        var timestamp = Now;
        var processor = _stack.Get<EventProcessor>();
        await AcceptAsync(_stack, timestamp);
        await processor.ProcessAsync(_stack.Queues.Sent(QueueNames.Events)[0], CancellationToken.None);
        var before = _stack.Sessions[Id];

        _stack.Time.Advance(TimeSpan.FromHours(30));
        var replay = await AcceptAsync(_stack, timestamp);

        Assert.Null(replay.Refusal); // the timestamp check is off by default: replays are acknowledged, not refused
        Assert.Equal(before, _stack.Sessions[Id]);
        Assert.Empty(_stack.Fulfilment);
    }

    /// <summary>
    /// The measured cost of a captured notification replayed: of a session with a code in flight (the case that reads
    /// the gateway). Before event ids were remembered, each of these 10 replays was queued and read the gateway once
    /// (10 reads, 10 queue messages; with the client's read retries up to 3 requests each when the gateway fails). Now:
    /// 0 and 0, one storage point read each.
    /// </summary>
    [Fact]
    public async Task Replaying_a_captured_notification_ten_times_over_two_days_costs_no_gateway_read_and_no_queue_message()
    {
        _stack.Seed(Id, SessionStatus.Pending, s => s with { CodeSubmittedAt = TestTime.Start, RetryCodeAfter = TestTime.Start.AddSeconds(90) });
        var timestamp = Now;
        var processor = _stack.Get<EventProcessor>();
        await AcceptAsync(_stack, timestamp);
        await processor.ProcessAsync(Assert.Single(_stack.Queues.Sent(QueueNames.Events)), CancellationToken.None);
        var readsBefore = _stack.Gateway.Count("get");

        for (var replay = 0; replay < 10; replay++)
        {
            _stack.Time.Advance(TimeSpan.FromHours(5));
            Assert.Null((await AcceptAsync(_stack, timestamp)).Refusal);
            foreach (var queued in _stack.Queues.Sent(QueueNames.Events).Skip(1))
            {
                await processor.ProcessAsync(queued, CancellationToken.None);
            }
        }

        Assert.Equal(1, readsBefore);
        Assert.Equal(0, _stack.Gateway.Count("get") - readsBefore);
        Assert.Single(_stack.Queues.Sent(QueueNames.Events));
    }

    [Fact]
    public async Task A_replay_after_the_window_is_queued_and_read_again()
    {
        _stack.Seed(Id, SessionStatus.Pending, s => s with { CodeSubmittedAt = TestTime.Start, RetryCodeAfter = TestTime.Start.AddSeconds(90) });
        var timestamp = Now;
        var processor = _stack.Get<EventProcessor>();
        await AcceptAsync(_stack, timestamp);
        await processor.ProcessAsync(_stack.Queues.Sent(QueueNames.Events)[0], CancellationToken.None);

        _stack.Time.Advance(TimeSpan.FromDays(7));
        await AcceptAsync(_stack, timestamp);
        await processor.ProcessAsync(_stack.Queues.Sent(QueueNames.Events)[1], CancellationToken.None);

        Assert.Equal(2, _stack.Gateway.Count("get"));
    }

    [Fact]
    public async Task A_notification_whose_first_processing_failed_is_not_taken_for_a_duplicate()
    {
        _stack.Seed(Id, SessionStatus.Pending, s => s with { CodeSubmittedAt = TestTime.Start, RetryCodeAfter = TestTime.Start.AddSeconds(90) });
        var processor = _stack.Get<EventProcessor>();
        await AcceptAsync(_stack, Now);
        _stack.Gateway.ReadsFail = new GatewayUnavailableException("it answered 503") { HttpStatus = 503 };
        await Assert.ThrowsAsync<GatewayUnavailableException>(() => processor.ProcessAsync(_stack.Queues.Sent(QueueNames.Events)[0], CancellationToken.None));
        _stack.Gateway.ReadsFail = null;
        _stack.Gateway.Set(Id, "completed");

        // the gateway retries the notification, the queue redelivers the message: both go through
        await AcceptAsync(_stack, Now);
        await processor.ProcessAsync(_stack.Queues.Sent(QueueNames.Events)[0], CancellationToken.None);

        Assert.Equal(2, _stack.Queues.Sent(QueueNames.Events).Count);
        Assert.Equal(SessionStatus.Completed, _stack.Sessions[Id]!.Status);
    }

    [Fact]
    public async Task With_the_replay_window_off_every_replay_is_queued()
    {
        using var off = new FakeStack(new Dictionary<string, string?> { ["Webhooks:ReplayWindow"] = "00:00:00" });
        var timestamp = off.Time.GetUtcNow().ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        await AcceptAsync(off, timestamp);
        await off.Get<EventProcessor>().ProcessAsync(off.Queues.Sent(QueueNames.Events)[0], CancellationToken.None);

        await AcceptAsync(off, timestamp);

        Assert.Equal(2, off.Queues.Sent(QueueNames.Events).Count);
        Assert.Empty(off.Events.Applied);
    }

    [Fact]
    public async Task With_a_timestamp_tolerance_a_replay_outside_it_is_refused_and_nothing_is_queued()
    {
        using var strict = new FakeStack(new Dictionary<string, string?> { ["Webhooks:TimestampTolerance"] = "00:05:00" });
        var timestamp = strict.Time.GetUtcNow().ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        await AcceptAsync(strict, timestamp);

        strict.Time.Advance(TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(1));
        var replay = await AcceptAsync(strict, timestamp);

        Assert.IsType<Refusal.SignatureInvalid>(replay.Refusal);
        Assert.Single(strict.Queues.Sent(QueueNames.Events));
    }

    [Fact]
    public async Task A_notification_that_does_not_verify_queues_nothing()
    {
        var outcome = await _stack.Get<WebhookIntake>().AcceptAsync(Now, Sign(Now, Body + " "), Encoding.UTF8.GetBytes(Body), CancellationToken.None);

        Assert.Equal(new Refusal.SignatureInvalid("Sec-Signature does not verify."), outcome.Refusal);
        Assert.Empty(_stack.Queues.Sent(QueueNames.Events));
    }
}
