using Blik.Checkout.Domain;
using Blik.Checkout.Gateway;
using Blik.Checkout.Sessions;
using Blik.Checkout.Tests.Support;
using Blik.Checkout.Webhooks;

namespace Blik.Checkout.Tests;

/// <summary>
/// A code's first gateway read comes before <c>retry_code_after</c>, so a lost webhook is caught up before the shopper is
/// asked for a new code. In-memory storage, a scripted gateway, a fake clock.
/// </summary>
public sealed class FirstRecheckTests : IDisposable
{
    private const string Id = "2AW-first-recheck";

    private static readonly BlikCode Code = BlikCode.TryParse("777123", out var code) ? code.Value : default;

    private readonly FakeStack _stack = new();

    public void Dispose() => _stack.Dispose();

    private IReadOnlyList<(string Text, TimeSpan Delay)> Rechecks =>
        _stack.Queues.SentWithDelay(QueueNames.Rechecks).Where(m => EventMessage.Parse(m.Text).Type == FirstRecheckQueue.EventType).ToArray();

    [Fact]
    public async Task A_code_the_gateway_takes_queues_its_first_recheck_to_be_read_before_retry_code_after()
    {
        _stack.Seed(Id);
        var submitted = _stack.Time.GetUtcNow();

        var session = (await _stack.Get<SessionService>().PayAsync(Id, Code, CancellationToken.None)).Value!;

        var (text, delay) = Assert.Single(Rechecks);
        Assert.Equal(Id, EventMessage.Parse(text).SessionId);
        Assert.Equal(_stack.Checkout.ConfirmationWindow - DueRules.FirstRecheckLead, delay);
        Assert.True(submitted + delay < session.RetryCodeAfter, $"first read at {submitted + delay}, retry_code_after {session.RetryCodeAfter}");
    }

    [Fact]
    public async Task A_payment_whose_webhook_was_lost_is_completed_by_the_first_recheck_before_the_shopper_is_asked_for_a_new_code()
    {
        _stack.Seed(Id);
        var session = (await _stack.Get<SessionService>().PayAsync(Id, Code, CancellationToken.None)).Value!;
        _stack.Gateway.Set(Id, "completed"); // the shopper confirmed; the webhook never comes
        var (text, delay) = Assert.Single(Rechecks);

        _stack.Time.Advance(delay);
        await _stack.Get<EventProcessor>().ProcessAsync(text, CancellationToken.None);

        Assert.True(_stack.Time.GetUtcNow() < session.RetryCodeAfter);
        Assert.Equal(SessionStatus.Completed, _stack.Sessions[Id]!.Status);
        Assert.Equal("checkout.session.completed", Assert.Single(_stack.Fulfilment).Type);
    }

    [Fact]
    public async Task A_write_that_loses_to_another_writer_and_is_made_again_queues_the_first_recheck_once()
    {
        // The message goes out alongside the write; a write retried after another writer's (a 412) sends no second one.
        _stack.Seed(Id);
        _stack.Gateway.OnPay = (id, _) =>
        {
            _stack.Sessions.Seed(_stack.Sessions[id]!); // another writer: same content, a new ETag
            return _stack.Gateway.Sessions[id] with { RawStatus = "open" };
        };

        var session = (await _stack.Get<SessionService>().PayAsync(Id, Code, CancellationToken.None)).Value!;

        Assert.Equal(SessionStatus.Pending, session.Status);
        Assert.Equal(SessionStatus.Pending, _stack.Sessions[Id]!.Status);
        var (text, _) = Assert.Single(Rechecks);
        Assert.Equal(Id, EventMessage.Parse(text).SessionId);
    }

    [Fact]
    public async Task A_code_whose_outcome_is_unknown_queues_its_first_recheck_too()
    {
        _stack.Seed(Id);
        _stack.Gateway.OnPay = (_, _) => throw new GatewayUnavailableException("it timed out");

        var outcome = await _stack.Get<SessionService>().PayAsync(Id, Code, CancellationToken.None);

        Assert.IsType<Refusal.CodeOutcomeUnknown>(outcome.Refusal);
        Assert.Single(Rechecks);
    }

    [Fact]
    public async Task A_code_completed_at_once_queues_no_recheck()
    {
        _stack.Seed(Id);
        _stack.Gateway.OnPay = (id, _) => _stack.Gateway.Sessions[id] with { RawStatus = "completed" };

        await _stack.Get<SessionService>().PayAsync(Id, Code, CancellationToken.None);

        Assert.Empty(Rechecks);
    }

    [Fact]
    public async Task A_queue_that_cannot_take_the_recheck_does_not_fail_the_code_and_the_sweeps_entry_stays()
    {
        _stack.Seed(Id);
        _stack.Queues.Failing.Add(QueueNames.Rechecks);

        var paid = await _stack.Get<SessionService>().PayAsync(Id, Code, CancellationToken.None);

        Assert.Equal(SessionStatus.Pending, paid.Value!.Status);
        Assert.Contains(_stack.Due.For(Id), e => e.Kind == DueKind.Recheck && e.DueAt == paid.Value.RetryCodeAfter);
        Assert.Contains(_stack.LogsAt(Microsoft.Extensions.Logging.LogLevel.Warning), r => r.Id.Name == "FirstRecheckNotScheduled");
    }

    [Theory]
    [InlineData(90, 75)]
    [InlineData(30, 20)]
    public void The_first_recheck_is_fifteen_seconds_or_a_third_of_the_window_before_retry_code_after(int window, int firstAfter)
    {
        var before = TestSessions.Open();
        var after = before with { Status = SessionStatus.Pending, CodeSubmittedAt = TestTime.Start, RetryCodeAfter = TestTime.Start.AddSeconds(window) };

        Assert.Equal(TestTime.Start.AddSeconds(firstAfter), DueRules.FirstRecheck(before, after));
    }

    [Fact]
    public void A_change_that_sent_no_new_code_owes_no_first_recheck()
    {
        var pending = TestSessions.Open() with { Status = SessionStatus.Pending, CodeSubmittedAt = TestTime.Start, RetryCodeAfter = TestTime.Start.AddSeconds(90) };

        Assert.Null(DueRules.FirstRecheck(pending, pending with { LastError = SessionRules.NotConfirmed }));
        Assert.Null(DueRules.FirstRecheck(TestSessions.Open(), pending with { Status = SessionStatus.Completed }));
    }
}
