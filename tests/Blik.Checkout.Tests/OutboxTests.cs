using Blik.Checkout.Domain;
using Blik.Checkout.Processing;
using Blik.Checkout.Storage;
using Blik.Checkout.Tests.Support;

namespace Blik.Checkout.Tests;

/// <summary>The one outbox, for sessions and refunds: claim, re-check the claim, send, clear.</summary>
public sealed class OutboxTests : IDisposable
{
    private const string Id = "2AW-outbox";

    private readonly FakeStack _stack = new();

    public void Dispose() => _stack.Dispose();

    private Outbox Outbox => _stack.Get<Outbox>();

    private TimeSpan Lease => _stack.Checkout.FulfilmentClaimLease;

    /// <summary>A session just made final by "its writer", which holds the claim on the owed message.</summary>
    private CheckoutSession Completed() => _stack.Seed(Id, SessionStatus.Completed, s => s with
    {
        OrderId = "order-1",
        CompletedAt = _stack.Time.GetUtcNow(),
        Outbox = OutboxState.AfterWrite(OutboxState.None, wasFinal: false, isFinal: true, _stack.Time.GetUtcNow()),
    });

    [Fact]
    public async Task The_writer_of_a_final_state_publishes_its_message_once_and_clears_it()
    {
        var result = await Outbox.PublishAsync(Completed(), claimed: true, CancellationToken.None);
        var again = await Outbox.PublishAsync(_stack.Sessions[Id]!, claimed: false, CancellationToken.None);

        Assert.True(result.Settled);
        Assert.True(again.Settled);
        var message = Assert.Single(_stack.Fulfilment);
        Assert.Equal((Id + ":completed", "checkout.session.completed", "order-1"), (message.EventId, message.Type, message.OrderId));
        Assert.False(_stack.Sessions[Id]!.Outbox.Pending);
        Assert.Equal(_stack.Time.GetUtcNow().WholeSeconds(), _stack.Sessions[Id]!.Outbox.PublishedAt);
    }

    [Fact]
    public async Task Another_publisher_leaves_a_claimed_message_alone_until_the_claim_lapses()
    {
        var claimedAt = Completed().Outbox.ClaimedAt!.Value;

        _stack.Time.Advance(Lease - TimeSpan.FromSeconds(1));
        var early = await Outbox.PublishAsync(_stack.Sessions[Id]!, claimed: false, CancellationToken.None);
        _stack.Time.Advance(TimeSpan.FromSeconds(1));
        var late = await Outbox.PublishAsync(_stack.Sessions[Id]!, claimed: false, CancellationToken.None);

        Assert.Equal(OutboxResult.HeldElsewhere(claimedAt + Lease), early);
        Assert.True(late.Settled);
        Assert.Single(_stack.Fulfilment);
    }

    [Fact]
    public async Task A_publisher_slower_than_its_lease_does_not_send_once_another_has_taken_over()
    {
        var slow = Completed(); // what the slow publisher holds, claim and ETag included

        // Its lease runs out; another publisher claims the message and is about to send it.
        _stack.Time.Advance(Lease);
        var takeover = _stack.Sessions[Id]! with { Outbox = _stack.Sessions[Id]!.Outbox.Claim(_stack.Time.GetUtcNow(), Lease)! };
        await _stack.Sessions.ReplaceAsync(takeover, CancellationToken.None);
        var result = await Outbox.PublishAsync(slow, claimed: true, CancellationToken.None);

        Assert.Equal(OutboxResult.HeldElsewhere(_stack.Time.GetUtcNow().WholeSeconds() + Lease), result);
        Assert.Empty(_stack.Fulfilment);
        Assert.True(_stack.Sessions[Id]!.Outbox.Pending);
    }

    [Fact]
    public async Task A_fresh_claim_is_sent_at_once_without_another_write_before_the_send()
    {
        var claimed = Completed();
        var writes = _stack.Faults.Writes;

        await Outbox.PublishAsync(claimed, claimed: true, CancellationToken.None);

        Assert.Equal(writes + 2, _stack.Faults.Writes); // the send and the clear
    }

    [Fact]
    public async Task A_claim_older_than_half_the_lease_is_checked_again_before_the_send()
    {
        var claimed = Completed();
        _stack.Time.Advance(Lease / 2);
        var writes = _stack.Faults.Writes;

        await Outbox.PublishAsync(claimed, claimed: true, CancellationToken.None);

        Assert.Equal(writes + 3, _stack.Faults.Writes); // the renewed claim, the send and the clear
        Assert.Single(_stack.Fulfilment);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(20)]
    public async Task A_row_changed_for_another_reason_between_claim_and_send_is_still_sent_by_its_claimant(int secondsLater)
    {
        var claimed = Completed();
        await _stack.Sessions.ReplaceAsync(claimed with { RefundVersion = claimed.RefundVersion + 1 }, CancellationToken.None);
        _stack.Time.Advance(TimeSpan.FromSeconds(secondsLater));

        var result = await Outbox.PublishAsync(claimed, claimed: true, CancellationToken.None);

        Assert.True(result.Settled);
        Assert.Single(_stack.Fulfilment);
        Assert.Equal(1, _stack.Sessions[Id]!.RefundVersion);
        Assert.False(_stack.Sessions[Id]!.Outbox.Pending);
    }

    [Fact]
    public async Task A_publisher_that_stops_after_claiming_leaves_the_message_owed_for_the_next_one_after_the_lease()
    {
        var session = _stack.Seed(Id, SessionStatus.Completed, s => s with { Outbox = new OutboxState(true, null, null) });
        _stack.Faults.CrashAfter = _stack.Faults.Writes + 1; // the claim lands, the send does not

        await Assert.ThrowsAsync<StorageUnavailableException>(() => Outbox.PublishAsync(session, claimed: false, CancellationToken.None));
        _stack.Faults.Recover();
        var blocked = await Outbox.PublishAsync(_stack.Sessions[Id]!, claimed: false, CancellationToken.None);
        _stack.Time.Advance(Lease);
        var taken = await Outbox.PublishAsync(_stack.Sessions[Id]!, claimed: false, CancellationToken.None);

        Assert.False(blocked.Settled);
        Assert.True(taken.Settled);
        Assert.Single(_stack.Fulfilment);
    }

    [Fact]
    public async Task A_publisher_that_stops_between_sending_and_clearing_causes_one_copy_with_the_same_event_id()
    {
        var session = Completed();
        _stack.Faults.CrashAfter = _stack.Faults.Writes + 1; // the send lands, the clear does not

        await Assert.ThrowsAsync<StorageUnavailableException>(() => Outbox.PublishAsync(session, claimed: true, CancellationToken.None));
        _stack.Faults.Recover();
        _stack.Time.Advance(Lease);
        await Outbox.PublishAsync(_stack.Sessions[Id]!, claimed: false, CancellationToken.None);

        Assert.Equal([Id + ":completed", Id + ":completed"], _stack.Fulfilment.Select(m => m.EventId));
        Assert.False(_stack.Sessions[Id]!.Outbox.Pending);
    }

    [Fact]
    public async Task A_row_that_owes_nothing_sends_nothing()
    {
        var open = _stack.Seed(Id);

        var result = await Outbox.PublishAsync(open, claimed: false, CancellationToken.None);

        Assert.True(result.Settled);
        Assert.Empty(_stack.Fulfilment);
        Assert.Equal(0, _stack.Faults.Writes);
    }

    [Fact]
    public async Task A_final_refund_goes_through_the_same_outbox_with_its_session_order()
    {
        var session = _stack.Seed(Id, SessionStatus.Completed, s => s with { OrderId = "order-7", CompletedAt = TestTime.Start });
        var refund = _stack.Refunds.Seed(new RefundRecord
        {
            SessionId = session.Id,
            Id = "re_1",
            Amount = 400,
            Currency = "pln",
            Status = RefundStatuses.Pending,
            CreatedAt = TestTime.Start,
            UpdatedAt = TestTime.Start,
        });
        refund = await _stack.Refunds.ReplaceAsync(refund.WithStatus(RefundStatuses.Succeeded, _stack.Time.GetUtcNow()), CancellationToken.None);

        var result = await Outbox.PublishAsync(refund, claimed: true, CancellationToken.None);

        Assert.True(result.Settled);
        var message = Assert.Single(_stack.Fulfilment);
        Assert.Equal(("refund:re_1:succeeded", "checkout.refund.succeeded", "order-7", "re_1", 400L), (message.EventId, message.Type, message.OrderId, message.RefundId, message.Amount));
        Assert.False((await _stack.Refunds.GetAsync(Id, "re_1", CancellationToken.None))!.Outbox.Pending);
    }

    [Theory]
    [InlineData(RefundStatuses.Pending, RefundStatuses.Succeeded, true)]
    [InlineData(RefundStatuses.Creating, RefundStatuses.Failed, true)]
    [InlineData(RefundStatuses.Pending, RefundStatuses.Pending, false)]
    [InlineData(RefundStatuses.Succeeded, RefundStatuses.Failed, false)]
    public void Only_the_first_final_status_of_a_refund_owes_a_message(string from, string to, bool owes)
    {
        var refund = new RefundRecord { SessionId = Id, Id = "re_1", Amount = 1, Currency = "pln", Status = from, CreatedAt = TestTime.Start, UpdatedAt = TestTime.Start };

        Assert.Equal(owes, refund.WithStatus(to, TestTime.Start).Outbox.Pending);
    }
}
