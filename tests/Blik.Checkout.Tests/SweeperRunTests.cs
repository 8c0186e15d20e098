using Blik.Checkout.Domain;
using Blik.Checkout.Refunds;
using Blik.Checkout.Sweeps;
using Blik.Checkout.Tests.Support;
using Microsoft.Extensions.Logging;

namespace Blik.Checkout.Tests;

/// <summary><see cref="Sweeper.RunAsync"/> over in-memory storage: what each due entry leads to, and what the run reports.</summary>
public sealed class SweeperRunTests : IDisposable
{
    private const string Id = "2AW-sweep";

    private readonly FakeStack _stack = new();

    public void Dispose() => _stack.Dispose();

    private Task<SweepReport> SweepAsync() => _stack.Get<Sweeper>().RunAsync(CancellationToken.None);

    private async Task DueNowAsync(string id, DueKind kind = DueKind.Recheck) =>
        await _stack.Due.ScheduleAsync(new DueEntry(id, _stack.Time.GetUtcNow(), kind), CancellationToken.None);

    [Fact]
    public async Task A_completion_whose_webhook_was_lost_is_applied_and_fulfilled()
    {
        _stack.Seed(Id, SessionStatus.Pending);
        await DueNowAsync(Id);
        _stack.Gateway.Set(Id, "completed");

        var report = await SweepAsync();

        Assert.Equal(new SweepReport(1, Reconciled: 1, Expired: 0, Rescheduled: 0, Removed: 0, Failed: 0), report);
        Assert.Equal(SessionStatus.Completed, _stack.Sessions[Id]!.Status);
        Assert.Single(_stack.Fulfilment);
        Assert.Empty(_stack.Due.For(Id));
    }

    [Fact]
    public async Task A_session_the_gateway_expires_is_expired_with_the_gateways_word()
    {
        var session = _stack.Seed(Id);
        await _stack.Due.ScheduleAsync(DueEntry.Expiry(session), CancellationToken.None);
        _stack.Time.Advance(session.ExpiresAt - _stack.Time.GetUtcNow());
        _stack.Gateway.Set(Id, "expired");

        var report = await SweepAsync();

        Assert.Equal(1, report.Expired);
        Assert.Equal(SessionStatus.Expired, _stack.Sessions[Id]!.Status);
        var message = Assert.Single(_stack.Fulfilment);
        Assert.Equal(("checkout.session.expired", "gateway"), (message.Type, message.ExpiredBy));
        Assert.Empty(_stack.Due.For(Id));
    }

    [Fact]
    public async Task A_session_the_gateway_still_calls_open_past_expiry_and_grace_is_not_expired_here()
    {
        var session = _stack.Seed(Id);
        await _stack.Due.ScheduleAsync(DueEntry.Expiry(session), CancellationToken.None);
        _stack.Time.Advance(session.ExpiresAt - _stack.Time.GetUtcNow());

        var atExpiry = await SweepAsync();
        _stack.Time.Advance(_stack.Sweep.ExpiryGrace);
        var afterGrace = await SweepAsync();

        Assert.Equal((1, 1), (atExpiry.Rescheduled, afterGrace.Rescheduled));
        Assert.Equal(SessionStatus.Open, _stack.Sessions[Id]!.Status);
        Assert.Empty(_stack.Fulfilment);
        Assert.Single(_stack.Due.For(Id));
    }

    [Fact]
    public async Task A_session_the_gateway_calls_pending_long_past_expiry_is_never_expired_here()
    {
        var session = _stack.Seed(Id, SessionStatus.Pending);
        _stack.Gateway.Set(Id, "pending");
        _stack.Time.Advance(session.ExpiresAt + _stack.Sweep.LocalExpiryGrace + TimeSpan.FromHours(1) - _stack.Time.GetUtcNow());
        await DueNowAsync(Id);

        var report = await SweepAsync();

        Assert.Equal(1, report.Rescheduled);
        Assert.Equal(SessionStatus.Pending, _stack.Sessions[Id]!.Status);
        Assert.Empty(_stack.Fulfilment);
        Assert.Equal([new DueEntry(Id, _stack.Time.GetUtcNow() + _stack.Sweep.RecheckInterval, DueKind.Recheck)], _stack.Due.For(Id));
    }

    [Fact]
    public async Task A_session_the_gateway_calls_open_is_expired_here_after_the_long_grace_and_marked_as_ours()
    {
        var session = _stack.Seed(Id);
        _stack.Time.Advance(session.ExpiresAt + _stack.Sweep.LocalExpiryGrace - _stack.Time.GetUtcNow());
        await DueNowAsync(Id);

        var report = await SweepAsync();

        Assert.Equal(1, report.Expired);
        var stored = _stack.Sessions[Id]!;
        Assert.Equal((SessionStatus.Expired, true), (stored.Status, stored.ExpiredLocally));
        var message = Assert.Single(_stack.Fulfilment);
        Assert.Equal(("checkout.session.expired", "checkout"), (message.Type, message.ExpiredBy));
        Assert.Empty(_stack.Due.For(Id));
    }

    [Fact]
    public async Task A_session_the_gateway_no_longer_knows_is_expired_here_after_the_grace()
    {
        var session = _stack.Seed(Id);
        _stack.Gateway.Sessions.TryRemove(Id, out _);
        _stack.Time.Advance(session.ExpiresAt + _stack.Sweep.ExpiryGrace - _stack.Time.GetUtcNow());
        await DueNowAsync(Id);

        var report = await SweepAsync();

        Assert.Equal(1, report.Expired);
        Assert.True(_stack.Sessions[Id]!.ExpiredLocally);
    }

    [Fact]
    public async Task A_session_expired_here_that_the_gateway_then_completes_becomes_completed_with_its_own_message_and_is_refundable()
    {
        var session = _stack.Seed(Id);
        _stack.Time.Advance(session.ExpiresAt + _stack.Sweep.LocalExpiryGrace - _stack.Time.GetUtcNow());
        await DueNowAsync(Id);
        await SweepAsync();
        _stack.Gateway.Set(Id, "completed");

        var result = await _stack.Get<Sessions.SessionReconciler>().ReconcileAsync(Id, "event session.completed", CancellationToken.None);
        var refund = await _stack.Get<RefundService>().CreateAsync(Id, new CreateRefundRequest(null, null, null), null, CancellationToken.None);

        Assert.Equal(SessionStatus.Completed, result.Session!.Status);
        Assert.True(result.Session.CompletedAfterExpiry);
        Assert.Equal(
            ["checkout.session.expired", "checkout.session.completed_after_expiry"],
            _stack.Fulfilment.Select(m => m.Type));
        var late = _stack.Fulfilment[1];
        Assert.Equal(($"{Id}:completed_after_expiry", "completed", true), (late.EventId, late.Status, late.CompletedAfterExpiry));
        Assert.Null(refund.Refusal);
        Assert.Contains(_stack.LogsAt(LogLevel.Critical), r => r.Id.Name == "LateCompletion");
    }

    [Fact]
    public async Task A_code_still_in_flight_is_rechecked_every_interval()
    {
        _stack.Seed(Id, SessionStatus.Pending);
        await DueNowAsync(Id);

        var report = await SweepAsync();

        Assert.Equal(1, report.Rescheduled);
        Assert.Equal([new DueEntry(Id, _stack.Time.GetUtcNow() + _stack.Sweep.RecheckInterval, DueKind.Recheck)], _stack.Due.For(Id));
    }

    [Fact]
    public async Task An_entry_of_a_session_that_is_gone_is_removed()
    {
        await DueNowAsync(Id);

        Assert.Equal(1, (await SweepAsync()).Removed);
        Assert.Empty(_stack.Due.Entries);
    }

    [Fact]
    public async Task An_unreachable_gateway_fails_the_entry_which_stays_due_and_is_logged()
    {
        _stack.Seed(Id, SessionStatus.Pending);
        await DueNowAsync(Id);
        _stack.Gateway.ReadsFail = new GatewayUnavailableException("it answered 503");

        var report = await SweepAsync();

        Assert.Equal(1, report.Failed);
        Assert.Single(_stack.Due.For(Id));
        Assert.Contains(_stack.LogsAt(LogLevel.Warning), r => r.Message == $"Sweep could not reconcile session {Id}; it stays due");
    }

    [Fact]
    public async Task A_message_another_publisher_holds_is_looked_at_again_when_its_claim_runs_out()
    {
        var claimedAt = _stack.Time.GetUtcNow();
        _stack.Seed(Id, SessionStatus.Completed, s => s with { Outbox = OutboxState.AfterWrite(OutboxState.None, false, true, claimedAt) });
        await DueNowAsync(Id, DueKind.Unknown); // an entry from before kinds: handled the same way

        var report = await SweepAsync();

        Assert.Equal(1, report.Rescheduled);
        Assert.Equal([new DueEntry(Id, claimedAt + _stack.Checkout.FulfilmentClaimLease, DueKind.OutboxSafety)], _stack.Due.For(Id));
        Assert.Empty(_stack.Fulfilment);
    }

    [Fact]
    public async Task A_completed_session_with_a_pending_refund_is_looked_at_again_until_the_refund_settles()
    {
        _stack.Seed(Id, SessionStatus.Completed);
        var refund = (await _stack.Get<RefundService>().CreateAsync(Id, new CreateRefundRequest(100, null, null), null, CancellationToken.None)).Value.Refund;
        _stack.Time.Advance(_stack.Sweep.RecheckInterval);

        var pending = await SweepAsync();
        _stack.Gateway.SetRefund(refund.Id, "succeeded");
        _stack.Time.Advance(_stack.Sweep.RecheckInterval);
        var settled = await SweepAsync();

        Assert.Equal(new SweepReport(1, 0, 0, 1, 0, 0), pending);
        Assert.Equal(new SweepReport(1, 0, 0, 0, 1, 0), settled);
        Assert.Equal("checkout.refund.succeeded", Assert.Single(_stack.Fulfilment).Type);
        Assert.Empty(_stack.Due.For(Id));
    }

    [Fact]
    public async Task A_run_reads_at_most_its_limit_and_leaves_the_rest_for_the_next()
    {
        using var small = new FakeStack(new Dictionary<string, string?> { ["Sweep:MaxPerRun"] = "2" });
        foreach (var id in new[] { "2AW-a", "2AW-b", "2AW-c" })
        {
            await small.Due.ScheduleAsync(new DueEntry(id, small.Time.GetUtcNow(), DueKind.Recheck), CancellationToken.None);
        }

        var first = await small.Get<Sweeper>().RunAsync(CancellationToken.None);
        var second = await small.Get<Sweeper>().RunAsync(CancellationToken.None);

        Assert.Equal((2, 1), (first.Read, second.Read));
        Assert.Empty(small.Due.Entries);
    }
}
