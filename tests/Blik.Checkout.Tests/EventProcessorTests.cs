using Blik.Checkout.Domain;
using Blik.Checkout.Sessions;
using Blik.Checkout.Tests.Support;
using Blik.Checkout.Webhooks;

namespace Blik.Checkout.Tests;

/// <summary>A queued webhook event applied: always what the gateway says now, never what the notification said.</summary>
public sealed class EventProcessorTests : IDisposable
{
    private const string Id = "2AW-events";

    private readonly FakeStack _stack = new();

    public void Dispose() => _stack.Dispose();

    private Task<ReconcileOutcome> ProcessAsync(string type = "session.completed", string? refundId = null) =>
        _stack.Get<EventProcessor>().ProcessAsync(new EventMessage("evt_1", type, Id, refundId).Serialize(), CancellationToken.None);

    [Fact]
    public async Task An_event_applies_the_state_read_back_from_the_gateway()
    {
        _stack.Seed(Id, SessionStatus.Pending);
        _stack.Gateway.Set(Id, "completed");

        Assert.Equal(ReconcileOutcome.Applied, await ProcessAsync());
        Assert.Equal(SessionStatus.Completed, _stack.Sessions[Id]!.Status);
        Assert.Single(_stack.Fulfilment);
    }

    [Fact]
    public async Task An_event_whose_notification_is_not_what_the_gateway_says_changes_nothing()
    {
        _stack.Seed(Id, SessionStatus.Pending);

        Assert.Equal(ReconcileOutcome.Unchanged, await ProcessAsync("session.completed"));
        Assert.Equal(SessionStatus.Pending, _stack.Sessions[Id]!.Status);
    }

    [Fact]
    public async Task A_redelivered_event_of_a_completed_session_sends_a_message_still_owed_once_its_claim_lapsed()
    {
        _stack.Seed(Id, SessionStatus.Completed, s => s with { Outbox = new OutboxState(true, TestTime.Start, null) });
        _stack.Time.Advance(_stack.Checkout.FulfilmentClaimLease);

        Assert.Equal(ReconcileOutcome.Unchanged, await ProcessAsync());
        Assert.Single(_stack.Fulfilment);
        Assert.Equal(0, _stack.Gateway.Count("get"));
    }

    [Fact]
    public async Task An_event_for_a_session_this_service_does_not_know_is_ignored()
    {
        Assert.Equal(ReconcileOutcome.UnknownSession, await ProcessAsync());
        Assert.Equal(["get " + Id], _stack.Gateway.Calls); // only to learn whether it is one of ours spelt otherwise
        Assert.Empty(_stack.Sessions.Rows);
    }

    [Fact]
    public async Task An_event_naming_a_session_without_its_leading_character_applies_to_that_session()
    {
        // The Pay page's JSON writes the id without the "2" its URLs have; the gateway's session names the URL form.
        _stack.Seed(Id, SessionStatus.Pending);
        _stack.Gateway.Set(Id, "completed");
        _stack.Gateway.Sessions[Id[1..]] = _stack.Gateway.Sessions[Id];

        var outcome = await _stack.Get<EventProcessor>().ProcessAsync(new EventMessage("evt_1", "session.completed", Id[1..], null).Serialize(), CancellationToken.None);

        Assert.Equal(ReconcileOutcome.Applied, outcome);
        Assert.Equal(SessionStatus.Completed, _stack.Sessions[Id]!.Status);
        Assert.Single(_stack.Fulfilment);
    }

    [Fact]
    public async Task A_refund_event_follows_the_gateways_refund()
    {
        _stack.Seed(Id, SessionStatus.Completed);
        _stack.Gateway.Refunds["re_1"] = new GatewayRefund { Id = "re_1", Amount = 300, SessionId = Id, Status = "succeeded" };

        Assert.Equal(ReconcileOutcome.Applied, await ProcessAsync("refund.succeeded", "re_1"));
        Assert.Equal("checkout.refund.succeeded", Assert.Single(_stack.Fulfilment).Type);
    }

    [Fact]
    public async Task Text_that_is_not_an_event_fails_so_the_host_retries_and_then_poisons_it() =>
        await Assert.ThrowsAsync<FormatException>(() => _stack.Get<EventProcessor>().ProcessAsync("not an event", CancellationToken.None));

    [Fact]
    public async Task An_event_delivered_twice_is_applied_once_and_its_second_delivery_reads_nothing()
    {
        _stack.Seed(Id, SessionStatus.Pending);
        _stack.Gateway.Set(Id, "completed");

        await ProcessAsync();
        var second = await ProcessAsync();

        Assert.Equal(ReconcileOutcome.Unchanged, second);
        Assert.Equal(1, _stack.Gateway.Count("get"));
        Assert.Single(_stack.Fulfilment);
    }

    [Fact]
    public async Task Events_of_one_session_that_arrived_before_a_read_already_applied_cost_no_second_read()
    {
        _stack.Seed(Id, SessionStatus.Open, s => s with { CodeSubmittedAt = TestTime.Start });
        _stack.Gateway.Set(Id, "pending");
        var receivedAt = _stack.Time.GetUtcNow().ToUnixTimeMilliseconds();
        var processor = _stack.Get<EventProcessor>();
        _stack.Time.Advance(TimeSpan.FromSeconds(2)); // both notifications wait in the queue a moment

        await processor.ProcessAsync(new EventMessage("evt_a", "session.created", Id, null, ReceivedAt: receivedAt).Serialize(), CancellationToken.None);
        var coalesced = await processor.ProcessAsync(new EventMessage("evt_b", "session.updated", Id, null, ReceivedAt: receivedAt).Serialize(), CancellationToken.None);

        Assert.Equal(ReconcileOutcome.Unchanged, coalesced);
        Assert.Equal(SessionStatus.Pending, _stack.Sessions[Id]!.Status);
        Assert.Equal(1, _stack.Gateway.Count("get"));
    }

    [Fact]
    public async Task An_event_that_arrived_after_the_last_read_is_read_again()
    {
        _stack.Seed(Id, SessionStatus.Open, s => s with { CodeSubmittedAt = TestTime.Start });
        _stack.Gateway.Set(Id, "pending");
        var processor = _stack.Get<EventProcessor>();
        await processor.ProcessAsync(new EventMessage("evt_a", "session.created", Id, null, ReceivedAt: _stack.Time.GetUtcNow().ToUnixTimeMilliseconds()).Serialize(), CancellationToken.None);
        _stack.Time.Advance(TimeSpan.FromSeconds(5));
        _stack.Gateway.Set(Id, "completed");

        await processor.ProcessAsync(new EventMessage("evt_b", "session.completed", Id, null, ReceivedAt: _stack.Time.GetUtcNow().ToUnixTimeMilliseconds()).Serialize(), CancellationToken.None);

        Assert.Equal(SessionStatus.Completed, _stack.Sessions[Id]!.Status);
        Assert.Equal(2, _stack.Gateway.Count("get"));
    }
}
