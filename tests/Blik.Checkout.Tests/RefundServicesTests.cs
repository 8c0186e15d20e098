using Blik.Checkout.Domain;
using Blik.Checkout.Refunds;
using Blik.Checkout.Storage;
using Blik.Checkout.Tests.Support;
using Microsoft.Extensions.Logging;

namespace Blik.Checkout.Tests;

/// <summary>The refund services on in-memory storage and a scripted gateway.</summary>
public sealed class RefundServicesTests : IDisposable
{
    private const string Id = "2AW-refunds";

    private readonly FakeStack _stack = new();

    public RefundServicesTests() => _stack.Seed(Id, SessionStatus.Completed, s => s with { OrderId = "order-9", CompletedAt = TestTime.Start });

    public void Dispose() => _stack.Dispose();

    private RefundService Refunds => _stack.Get<RefundService>();

    private Task<Outcome<(RefundRecord Refund, bool Replayed)>> RefundAsync(long? amount = null, string? key = null, string sessionId = Id) =>
        Refunds.CreateAsync(sessionId, new CreateRefundRequest(amount, null, null), key, CancellationToken.None);

    private IReadOnlyList<RefundRecord> Rows => _stack.Refunds.Rows.Where(r => r.SessionId == Id).ToArray();

    [Fact]
    public async Task A_refund_is_created_once_at_the_gateway_stored_pending_and_rechecked_later()
    {
        var (refund, replayed) = (await RefundAsync(400)).Value;

        Assert.False(replayed);
        Assert.Equal((400L, RefundStatuses.Pending), (refund.Amount, refund.Status));
        Assert.Equal([refund.Id], Rows.Select(r => r.Id)); // the reservation is gone
        Assert.Contains(new DueEntry(Id, TestTime.Start + _stack.Sweep.RecheckInterval, DueKind.RefundPending), _stack.Due.For(Id));
        Assert.Equal(1, _stack.Gateway.Count("refund"));
        Assert.Empty(_stack.Fulfilment);
    }

    [Fact]
    public async Task A_refund_the_gateway_settles_at_once_sends_its_message_and_leaves_no_entry()
    {
        _stack.Gateway.OnRefund = r => new GatewayRefund { Id = "re_now", Amount = r.Amount, SessionId = r.SessionId, Status = "succeeded" };

        var refund = (await RefundAsync()).Value.Refund;

        Assert.Equal((1000L, RefundStatuses.Succeeded), (refund.Amount, refund.Status));
        var message = Assert.Single(_stack.Fulfilment);
        Assert.Equal(("checkout.refund.succeeded", "order-9"), (message.Type, message.OrderId));
        Assert.Empty(_stack.Due.For(Id));
    }

    [Theory]
    [InlineData(SessionStatus.Open)]
    [InlineData(SessionStatus.Pending)]
    [InlineData(SessionStatus.Expired)]
    public async Task Only_a_completed_session_can_be_refunded(SessionStatus status)
    {
        _stack.Seed("2AW-other", status);

        var outcome = await RefundAsync(sessionId: "2AW-other");

        Assert.Equal(new Refusal.SessionNotRefundable(status), outcome.Refusal);
        Assert.Equal(0, _stack.Gateway.Count("refund"));
    }

    [Fact]
    public async Task Never_more_than_was_paid_and_nothing_once_all_is_refunded()
    {
        await RefundAsync(700);

        var tooMuch = await RefundAsync(301);
        var rest = await RefundAsync();
        var nothing = await RefundAsync();

        Assert.Equal(new Refusal.AmountOverRefundable(300, 1000), tooMuch.Refusal);
        Assert.Equal(300, rest.Value.Refund.Amount);
        Assert.IsType<Refusal.NothingToRefund>(nothing.Refusal);
        Assert.Equal(2, _stack.Gateway.Count("refund"));
    }

    [Fact]
    public async Task A_refund_the_gateway_refuses_releases_its_reservation()
    {
        _stack.Gateway.OnRefund = _ => throw new GatewayRejectedException(new GatewayError(400, "invalid_request_error", "amount_too_large", null, "amount", "No."));

        await Assert.ThrowsAsync<GatewayRejectedException>(() => RefundAsync(400));
        _stack.Gateway.OnRefund = null;

        Assert.Empty(Rows);
        Assert.Equal(1000, (await RefundAsync()).Value.Refund.Amount); // the whole amount is refundable again
    }

    [Fact]
    public async Task A_retry_after_a_crash_once_the_refund_was_stored_gets_it_back_without_a_second_refund()
    {
        var writes = _stack.Faults.Writes;
        // Key, reservation, session version, checkpoint, refund row: then the process stops (the reservation stays).
        _stack.Faults.CrashAfter = writes + 5;
        await Assert.ThrowsAsync<StorageUnavailableException>(() => RefundAsync(400, "key-1"));
        _stack.Faults.Recover();

        _stack.Time.Advance(_stack.Checkout.IdempotencyLease);
        var retry = (await RefundAsync(400, "key-1")).Value;

        Assert.True(retry.Replayed);
        Assert.Equal(1, _stack.Gateway.Count("refund"));
        Assert.Contains(Rows, r => r.IsReservation); // until the sweep drops it, it holds its amount
    }

    [Fact]
    public async Task List_and_get_show_refunds_but_never_reservations()
    {
        var refund = (await RefundAsync(100)).Value.Refund;
        var reservation = _stack.Refunds.Seed(new RefundRecord
        {
            SessionId = Id, Id = RefundRecord.ReservationPrefix + "x", Amount = 1, Currency = "pln", Status = RefundStatuses.Creating,
            CreatedAt = TestTime.Start, UpdatedAt = TestTime.Start,
        });

        Assert.Equal([refund.Id], (await Refunds.ListAsync(Id, CancellationToken.None)).Value!.Select(r => r.Id));
        Assert.IsType<Refusal.RefundNotFound>((await Refunds.GetAsync(Id, reservation.Id, CancellationToken.None)).Refusal);
        Assert.Equal(refund, (await Refunds.GetAsync(Id, refund.Id, CancellationToken.None)).Value);
        Assert.IsType<Refusal.SessionNotFound>((await Refunds.ListAsync("2AW-nobody", CancellationToken.None)).Refusal);
    }

    [Fact]
    public async Task The_reconciler_moves_a_pending_refund_to_what_the_gateway_says_once_and_sends_its_message()
    {
        var refund = (await RefundAsync(400)).Value.Refund;
        _stack.Gateway.SetRefund(refund.Id, "succeeded");
        var reconciler = _stack.Get<RefundReconciler>();

        var first = await reconciler.ReconcileAsync(Id, refund.Id, CancellationToken.None);
        _stack.Gateway.SetRefund(refund.Id, "failed");
        var second = await reconciler.ReconcileAsync(Id, refund.Id, CancellationToken.None);

        Assert.Equal(RefundStatuses.Succeeded, first!.Status);
        Assert.Equal(RefundStatuses.Succeeded, second!.Status); // final states are absorbing
        Assert.Single(_stack.Fulfilment);
        Assert.Contains(_stack.LogsAt(LogLevel.Information), r => r.Message == $"Refund {refund.Id} of session {Id}: pending -> succeeded");
    }

    [Fact]
    public async Task The_reconciler_stores_a_refund_made_elsewhere_and_ignores_one_of_another_session()
    {
        _stack.Gateway.Refunds["re_dash"] = new GatewayRefund { Id = "re_dash", Amount = 250, SessionId = Id, Status = "pending" };
        _stack.Gateway.Refunds["re_else"] = new GatewayRefund { Id = "re_else", Amount = 250, SessionId = "2AW-else", Status = "pending" };
        var reconciler = _stack.Get<RefundReconciler>();

        var stored = await reconciler.ReconcileAsync(Id, "re_dash", CancellationToken.None);
        var ignored = await reconciler.ReconcileAsync(Id, "re_else", CancellationToken.None);

        Assert.Equal((250L, RefundStatuses.Pending), (stored!.Amount, stored.Status));
        Assert.Null(ignored);
        Assert.Contains(_stack.LogsAt(LogLevel.Warning), r => r.Message.Contains("re_else", StringComparison.Ordinal));
        Assert.Equal(["re_dash"], Rows.Select(r => r.Id));
    }

    [Fact]
    public async Task The_sweep_drops_a_dead_reservation_rechecks_pending_refunds_and_says_when_nothing_is_left_to_watch()
    {
        var refund = (await RefundAsync(400)).Value.Refund;
        _stack.Refunds.Seed(new RefundRecord
        {
            SessionId = Id, Id = RefundRecord.ReservationPrefix + "dead", Amount = 600, Currency = "pln", Status = RefundStatuses.Creating,
            CreatedAt = TestTime.Start, UpdatedAt = TestTime.Start,
        });
        var sweep = _stack.Get<RefundSweep>();

        var whilePending = await sweep.SweepAsync(Id, CancellationToken.None);
        _stack.Time.Advance(RefundReservations.Lease);
        _stack.Gateway.SetRefund(refund.Id, "succeeded");
        var afterwards = await sweep.SweepAsync(Id, CancellationToken.None);

        Assert.True(whilePending);
        Assert.False(afterwards);
        Assert.Equal([refund.Id], Rows.Select(r => r.Id));
        Assert.Equal("checkout.refund.succeeded", Assert.Single(_stack.Fulfilment).Type);
    }
}
