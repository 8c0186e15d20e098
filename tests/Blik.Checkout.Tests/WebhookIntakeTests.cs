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

        Assert.Equal(new EventMessage("evt_1", "session.completed", Id, null), accepted.Value);
        Assert.Equal(accepted.Value, EventMessage.Parse(Assert.Single(_stack.Queues.Sent(QueueNames.Events))));
    }

    [Fact]
    public async Task A_replayed_notification_is_queued_again_and_processing_it_changes_nothing_and_sends_nothing()
    {
        _stack.Seed(Id, SessionStatus.Completed);
        var timestamp = Now;
        var processor = _stack.Get<EventProcessor>();
        await AcceptAsync(_stack, timestamp);
        await processor.ProcessAsync(_stack.Queues.Sent(QueueNames.Events)[0], CancellationToken.None);
        var before = _stack.Sessions[Id];

        _stack.Time.Advance(TimeSpan.FromHours(30));
        var replay = await AcceptAsync(_stack, timestamp);
        await processor.ProcessAsync(_stack.Queues.Sent(QueueNames.Events)[1], CancellationToken.None);

        Assert.Null(replay.Refusal); // the timestamp check is off by default: replays are harmless, not refused
        Assert.Equal(before, _stack.Sessions[Id]);
        Assert.Empty(_stack.Fulfilment);
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
