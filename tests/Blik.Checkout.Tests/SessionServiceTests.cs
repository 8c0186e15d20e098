using Blik.Checkout.Domain;
using Blik.Checkout.Sessions;
using Blik.Checkout.Storage;
using Blik.Checkout.Sweeps;
using Blik.Checkout.Tests.Support;
using Microsoft.Extensions.Logging;

namespace Blik.Checkout.Tests;

/// <summary><see cref="SessionService"/> on in-memory storage and a scripted gateway: create and pay, branch by branch.</summary>
public sealed class SessionServiceTests : IDisposable
{
    private const string Id = "2AW-service";

    private static readonly BlikCode Code = BlikCode.TryParse("777123", out var code) ? code.Value : default;

    private readonly FakeStack _stack = new();

    public void Dispose() => _stack.Dispose();

    private SessionService Service => _stack.Get<SessionService>();

    private TimeSpan Window => _stack.Checkout.ConfirmationWindow;

    private static CreateSessionRequest Request(string orderId = "order-1") => new()
    {
        Amount = 1000,
        Currency = "pln",
        CustomerEmail = "jan@example.com",
        CustomerFirstname = "Jan",
        CustomerLastname = "Kowalski",
        CustomerPhone = "+48123456789",
        SuccessUrl = "https://shop.example/ok",
        OrderId = orderId,
    };

    private Task<Outcome<CheckoutSession>> PayAsync() => Service.PayAsync(Id, Code, CancellationToken.None);

    private static GatewayRejectedException Rejected(int status, string? code = null) =>
        new(new GatewayError(status, "card_error", code, null, "blik_code", "Refused."));

    [Fact]
    public async Task Create_stores_the_gateways_session_with_its_expiry_entry_and_a_notification_url_on_this_app()
    {
        var outcome = await Service.CreateAsync(Request(), null, CancellationToken.None);

        var session = outcome.Value!.Session;
        Assert.False(outcome.Value.Replayed);
        Assert.Equal(session, _stack.Sessions[session.Id]);
        Assert.Equal((SessionStatus.Open, "order-1", TestTime.Start.AddHours(24)), (session.Status, session.OrderId, session.ExpiresAt));
        Assert.Equal([DueEntry.Expiry(session)], _stack.Due.For(session.Id));
        Assert.Contains(_stack.LogsAt(LogLevel.Information), r => r.Message.StartsWith($"Session {session.Id} created", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_create_repeated_with_its_idempotency_key_gets_the_same_session_without_asking_the_gateway_again()
    {
        var first = await Service.CreateAsync(Request(), "key-1", CancellationToken.None);
        var repeat = await Service.CreateAsync(Request(), "key-1", CancellationToken.None);
        var other = await Service.CreateAsync(Request("order-2"), "key-1", CancellationToken.None);

        Assert.Equal(first.Value!.Session.Id, repeat.Value!.Session.Id);
        Assert.True(repeat.Value.Replayed);
        Assert.IsType<Refusal.IdempotencyKeyReused>(other.Refusal);
        Assert.Equal(1, _stack.Gateway.Count("create"));
    }

    [Fact]
    public async Task Get_of_an_unknown_session_is_refused_as_not_found() =>
        Assert.IsType<Refusal.SessionNotFound>((await Service.GetAsync("2AW-nobody", CancellationToken.None)).Refusal);

    [Fact]
    public async Task A_code_the_gateway_takes_makes_the_session_pending_and_owes_a_recheck_after_the_confirmation_window()
    {
        _stack.Seed(Id);

        var paid = (await PayAsync()).Value!;

        Assert.Equal((SessionStatus.Pending, 1, TestTime.Start + Window), (paid.Status, paid.Attempts, paid.RetryCodeAfter!.Value));
        Assert.Contains(new DueEntry(Id, TestTime.Start + Window, DueKind.Recheck), _stack.Due.For(Id));
        Assert.Equal(1, _stack.Gateway.Count("pay"));
    }

    [Fact]
    public async Task The_recheck_entry_is_stored_before_the_code_leaves_for_the_gateway()
    {
        // Written after the reservation: the gateway must not get the code before both are stored, or a process
        // that dies while the bank confirms leaves nothing that looks again.
        _stack.Seed(Id);
        IReadOnlyList<DueEntry>? atCall = null;
        (int Attempts, SessionStatus Status)? rowAtCall = null;
        _stack.Gateway.OnPay = (id, _) =>
        {
            atCall = _stack.Due.For(id);
            rowAtCall = (_stack.Sessions[id]!.Attempts, _stack.Sessions[id]!.Status);
            return _stack.Gateway.Sessions[id] with { RawStatus = "open" };
        };

        await PayAsync();

        Assert.Contains(new DueEntry(Id, TestTime.Start + Window, DueKind.Recheck), atCall!);
        Assert.Equal(1, rowAtCall!.Value.Attempts);
    }

    [Theory]
    [InlineData(SessionStatus.Completed)]
    [InlineData(SessionStatus.Expired)]
    public async Task An_attempt_refused_before_the_call_leaves_nothing_behind(SessionStatus status)
    {
        // A refused request changes nothing: no attempt counted, no re-check entry, no message.
        _stack.Seed(Id, status);
        var before = _stack.Sessions[Id]!;
        var entries = _stack.Due.For(Id);

        var outcome = await PayAsync();

        Assert.Equal(new Refusal.SessionNotPayable(status), outcome.Refusal);
        Assert.Equal(entries, _stack.Due.For(Id));
        Assert.Equal(before, _stack.Sessions[Id]);
        Assert.Empty(_stack.Queues.SentWithDelay(QueueNames.Rechecks));
    }

    [Fact]
    public async Task A_code_completed_at_once_completes_the_session_and_sends_its_message()
    {
        _stack.Seed(Id);
        _stack.Gateway.OnPay = (id, _) => _stack.Gateway.Sessions[id] with { RawStatus = "completed" };

        var paid = (await PayAsync()).Value!;

        Assert.Equal(SessionStatus.Completed, paid.Status);
        Assert.Equal("checkout.session.completed", Assert.Single(_stack.Fulfilment).Type);
        Assert.DoesNotContain(_stack.Due.For(Id), e => e.Kind is DueKind.Expiry or DueKind.OutboxSafety);
    }

    [Fact]
    public async Task A_code_completed_at_once_is_not_lost_to_a_gateway_read_that_started_later_but_was_answered_first()
    {
        // During the pay call a webhook's read starts (after the code went out), is answered before the pay call
        // (pending) and is applied first. The pay answer says completed: that completion is the answer.
        _stack.Seed(Id);
        _stack.Gateway.OnPay = (id, _) =>
        {
            _stack.Time.Advance(TimeSpan.FromSeconds(1));
            _stack.Gateway.Sessions[id] = _stack.Gateway.Sessions[id] with { RawStatus = "pending" };
            var read = _stack.Get<SessionReconciler>().ReconcileAsync(id, "webhook", CancellationToken.None).GetAwaiter().GetResult();
            Assert.Equal(SessionStatus.Pending, read.Session!.Status);
            return _stack.Gateway.Sessions[id] with { RawStatus = "completed" };
        };

        var paid = (await PayAsync()).Value!;

        Assert.Equal(SessionStatus.Completed, paid.Status);
        Assert.Equal(SessionStatus.Completed, _stack.Sessions[Id]!.Status);
        Assert.Equal("checkout.session.completed", Assert.Single(_stack.Fulfilment).Type);
    }

    [Theory]
    [InlineData(SessionStatus.Completed)]
    [InlineData(SessionStatus.Expired)]
    public async Task Paying_a_final_session_is_refused_and_nothing_reaches_the_gateway(SessionStatus status)
    {
        _stack.Seed(Id, status);

        var outcome = await PayAsync();

        Assert.Equal(new Refusal.SessionNotPayable(status), outcome.Refusal);
        Assert.Equal(0, _stack.Gateway.Count("pay"));
    }

    [Fact]
    public async Task Paying_an_unknown_session_is_refused_as_not_found() =>
        Assert.IsType<Refusal.SessionNotFound>((await PayAsync()).Refusal);

    [Fact]
    public async Task Codes_beyond_the_attempt_limit_are_refused_until_the_window_has_passed()
    {
        _stack.Seed(Id);
        _stack.Gateway.OnPay = (id, _) => throw Rejected(402, "code_invalid");
        for (var i = 0; i < _stack.Checkout.MaxCodeAttempts; i++)
        {
            await Assert.ThrowsAsync<GatewayRejectedException>(PayAsync);
        }

        var limited = await PayAsync();
        _stack.Time.Advance(_stack.Checkout.CodeAttemptWindow);
        var later = await Assert.ThrowsAsync<GatewayRejectedException>(PayAsync);

        Assert.Equal(new Refusal.TooManyCodes(_stack.Checkout.CodeAttemptWindow), limited.Refusal);
        Assert.Equal(_stack.Checkout.MaxCodeAttempts + 1, _stack.Gateway.Count("pay"));
        Assert.NotNull(later);
    }

    [Fact]
    public async Task A_code_the_gateway_refuses_is_recorded_with_plain_words_and_the_shopper_may_try_again_now()
    {
        _stack.Seed(Id);
        _stack.Gateway.OnPay = (_, _) => throw Rejected(402, "code_expired");

        await Assert.ThrowsAsync<GatewayRejectedException>(PayAsync);

        var stored = _stack.Sessions[Id]!;
        Assert.Equal(("code_expired", TestTime.Start, 1), (stored.LastError!.Code, stored.RetryCodeAfter!.Value, stored.Attempts));
        Assert.Contains("expired", stored.LastError.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_conflict_at_the_gateway_undoes_the_attempt_and_its_recheck_and_reports_the_gateways_state()
    {
        _stack.Seed(Id);
        _stack.Gateway.OnPay = (id, _) =>
        {
            _stack.Gateway.Set(id, "pending"); // another code is being confirmed
            throw Rejected(409);
        };

        var outcome = await PayAsync();

        Assert.Equal(new Refusal.SessionNotPayable(SessionStatus.Pending), outcome.Refusal);
        Assert.Equal(0, _stack.Sessions[Id]!.Attempts);
        Assert.DoesNotContain(_stack.Due.For(Id), e => e.Kind == DueKind.Recheck);
    }

    [Fact]
    public async Task A_code_that_never_left_because_calls_are_paused_is_no_attempt()
    {
        _stack.Seed(Id);
        _stack.Gateway.OnPay = (_, _) => throw new GatewayUnavailableException("paused", TimeSpan.FromSeconds(7)) { Sent = false };

        var failure = await Assert.ThrowsAsync<GatewayUnavailableException>(PayAsync);

        Assert.Equal(TimeSpan.FromSeconds(7), failure.RetryAfter);
        Assert.Equal((0, null), (_stack.Sessions[Id]!.Attempts, _stack.Sessions[Id]!.LastError));
        Assert.DoesNotContain(_stack.Due.For(Id), e => e.Kind == DueKind.Recheck);
    }

    [Fact]
    public async Task A_code_whose_outcome_is_unknown_is_answered_with_retry_code_after_and_a_recheck_due_before_it()
    {
        _stack.Seed(Id);
        _stack.Gateway.OnPay = (_, _) => throw new GatewayUnavailableException("the request timed out");

        var outcome = await PayAsync();

        var stored = _stack.Sessions[Id]!;
        var unknown = Assert.IsType<Refusal.CodeOutcomeUnknown>(outcome.Refusal);
        Assert.Equal(SessionRules.OutcomeUnknown, stored.LastError);
        Assert.Equal((stored.RetryCodeAfter!.Value, Window), (unknown.RetryCodeAfter, unknown.RetryAfter));
        Assert.Equal(1, stored.Attempts);
        Assert.Contains(_stack.Due.For(Id), e => e.Kind == DueKind.Recheck && e.DueAt <= unknown.RetryCodeAfter);
    }

    [Fact]
    public async Task A_code_unanswered_by_a_gateway_answering_5xx_is_unknown_too()
    {
        _stack.Seed(Id);
        _stack.Gateway.OnPay = (_, _) => throw new GatewayUnavailableException("it answered 503", TimeSpan.FromSeconds(5)) { HttpStatus = 503 };

        var outcome = await PayAsync();

        Assert.IsType<Refusal.CodeOutcomeUnknown>(outcome.Refusal);
        Assert.Equal(1, _stack.Sessions[Id]!.Attempts);
    }

    [Fact]
    public async Task A_code_the_gateway_throttles_with_429_is_not_processed_and_no_attempt()
    {
        _stack.Seed(Id);
        _stack.Gateway.OnPay = (_, _) => throw new GatewayUnavailableException("it is throttling requests (429)", TimeSpan.FromSeconds(3)) { HttpStatus = 429 };

        var failure = await Assert.ThrowsAsync<GatewayUnavailableException>(PayAsync);

        Assert.Equal(TimeSpan.FromSeconds(3), failure.RetryAfter);
        Assert.Equal((0, null, null), (_stack.Sessions[Id]!.Attempts, _stack.Sessions[Id]!.LastError, _stack.Sessions[Id]!.CodeSubmittedAt));
        Assert.DoesNotContain(_stack.Due.For(Id), e => e.Kind == DueKind.Recheck);
    }

    [Theory]
    [InlineData(401)]
    [InlineData(403)]
    [InlineData(404)]
    public async Task A_gateway_refusing_our_key_or_not_knowing_the_session_is_no_attempt_and_pages_an_operator(int status)
    {
        _stack.Seed(Id);
        _stack.Gateway.OnPay = (_, _) => throw new GatewayRejectedException(new GatewayError(status, "authentication_error", null, null, null, "Invalid API key."));

        var outcome = await PayAsync();

        Assert.IsType<Refusal.PaymentsUnavailable>(outcome.Refusal);
        var stored = _stack.Sessions[Id]!;
        Assert.Equal((0, null, SessionStatus.Open), (stored.Attempts, stored.LastError, stored.Status));
        Assert.DoesNotContain(_stack.Due.For(Id), e => e.Kind == DueKind.Recheck);
        var critical = Assert.Single(_stack.LogsAt(LogLevel.Critical));
        Assert.Equal(2101, critical.Id.Id);
        Assert.Contains(Id, critical.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("pending", SessionStatus.Pending)]
    [InlineData("completed", SessionStatus.Completed)]
    [InlineData("expired", SessionStatus.Expired)]
    public async Task A_reasonless_400_for_a_session_the_gateway_reports_busy_or_ended_is_answered_by_its_state_not_as_a_refused_code(
        string gatewayStatus, SessionStatus expected)
    {
        // The docs read strictly: a session in the wrong state gets the generic 400 (param "id", no code), not 409.
        _stack.Seed(Id);
        _stack.Gateway.OnPay = (id, _) =>
        {
            _stack.Gateway.Set(id, gatewayStatus);
            throw new GatewayRejectedException(new GatewayError(400, "invalid_request_error", null, null, "id", "Checkout session cannot be paid."));
        };

        var outcome = await PayAsync();

        Assert.Equal(new Refusal.SessionNotPayable(expected), outcome.Refusal);
        var stored = _stack.Sessions[Id]!;
        Assert.Equal(expected, stored.Status);
        Assert.NotEqual(DeclineMessages.UnknownCode, stored.LastError?.Code);
        Assert.Equal(expected == SessionStatus.Pending ? 0 : 1, _stack.Fulfilment.Count);
    }

    [Theory]
    [InlineData(null, null)]
    [InlineData("id", null)]
    [InlineData("blik_code", null)]
    [InlineData("id", "code_invalid")]
    public async Task A_400_for_a_session_the_gateway_still_reports_open_or_one_about_the_code_is_a_refused_code(string? param, string? declineCode)
    {
        _stack.Seed(Id);
        _stack.Gateway.OnPay = (_, _) => throw new GatewayRejectedException(new GatewayError(400, "invalid_request_error", null, declineCode, param, "Refused."));

        await Assert.ThrowsAsync<GatewayRejectedException>(PayAsync);

        var stored = _stack.Sessions[Id]!;
        Assert.Equal((SessionStatus.Open, 1), (stored.Status, stored.Attempts));
        Assert.Equal(declineCode ?? DeclineMessages.UnknownCode, stored.LastError!.Code);
        Assert.Equal(param is "blik_code" || declineCode is not null ? 0 : 1, _stack.Gateway.Count("get " + Id));
    }

    [Fact]
    public async Task A_conflict_undoes_the_attempt_of_a_session_with_metadata_as_stored_rows_read_back()
    {
        _stack.Seed(Id, shape: s => s with { Metadata = new Dictionary<string, string> { ["cart"] = "42", ["channel"] = "web" } });
        _stack.Gateway.OnPay = (id, _) =>
        {
            _stack.Gateway.Set(id, "pending");
            throw Rejected(409);
        };

        var outcome = await PayAsync();

        Assert.Equal(new Refusal.SessionNotPayable(SessionStatus.Pending), outcome.Refusal);
        Assert.Equal(0, _stack.Sessions[Id]!.Attempts);
        Assert.Equal("42", _stack.Sessions[Id]!.Metadata!["cart"]);
    }

    [Fact]
    public async Task A_shopper_whose_browser_goes_away_mid_call_still_gets_the_attempt_recorded_and_rechecked()
    {
        _stack.Seed(Id);
        using var browser = new CancellationTokenSource();
        _stack.Gateway.OnPay = (id, _) =>
        {
            browser.Cancel(); // the connection drops while the gateway has the code
            return _stack.Gateway.Sessions[id] with { RawStatus = "open" };
        };

        var outcome = await Service.PayAsync(Id, Code, browser.Token);

        Assert.Null(outcome.Refusal);
        var stored = _stack.Sessions[Id]!;
        Assert.Equal((SessionStatus.Pending, 1), (stored.Status, stored.Attempts));
        Assert.Contains(_stack.Due.For(Id), e => e.Kind == DueKind.Recheck && e.DueAt <= stored.RetryCodeAfter);
    }

    [Fact]
    public async Task A_shopper_whose_browser_goes_away_while_the_gateway_times_out_still_gets_the_unknown_outcome_recorded()
    {
        _stack.Seed(Id);
        using var browser = new CancellationTokenSource();
        _stack.Gateway.OnPay = (_, _) =>
        {
            browser.Cancel();
            throw new GatewayUnavailableException("the request timed out");
        };

        var outcome = await Service.PayAsync(Id, Code, browser.Token);

        Assert.IsType<Refusal.CodeOutcomeUnknown>(outcome.Refusal);
        Assert.Equal(SessionRules.OutcomeUnknown, _stack.Sessions[Id]!.LastError);
    }

    [Fact]
    public async Task A_crash_after_the_bank_got_the_code_is_caught_up_by_the_recheck()
    {
        _stack.Seed(Id);
        _stack.Gateway.OnPay = (id, _) =>
        {
            _stack.Faults.CrashAfter = _stack.Faults.Writes; // the process stops as the answer arrives
            return _stack.Gateway.Sessions[id] with { RawStatus = "open" };
        };
        await Assert.ThrowsAsync<StorageUnavailableException>(PayAsync);
        _stack.Faults.Recover();
        _stack.Gateway.Set(Id, "completed"); // the shopper confirmed in the bank app; the webhook is lost

        _stack.Time.Advance(Window);
        await _stack.Get<Sweeper>().RunAsync(CancellationToken.None);

        Assert.Equal(SessionStatus.Completed, _stack.Sessions[Id]!.Status);
        Assert.Single(_stack.Fulfilment);
    }

    [Fact]
    public async Task A_test_mode_answer_to_a_live_key_is_a_critical_event_and_a_metric_on_create_pay_and_read()
    {
        using var live = new FakeStack(new Dictionary<string, string?> { ["ConvergeGate:SecretKey"] = "sk_live_not_a_real_key" });
        using var mismatches = new Microsoft.Extensions.Diagnostics.Metrics.Testing.MetricCollector<long>(
            live.Get<System.Diagnostics.Metrics.IMeterFactory>(), Diagnostics.CheckoutMetrics.MeterName, "blik.gateway.livemode_mismatches");
        var service = live.Get<SessionService>();

        var created = (await service.CreateAsync(Request(), null, CancellationToken.None)).Value!.Session; // the fake answers livemode false
        await service.PayAsync(created.Id, Code, CancellationToken.None);
        await live.Get<SessionReconciler>().ReconcileAsync(created.Id, "test", CancellationToken.None);

        var critical = live.LogsAt(LogLevel.Critical);
        Assert.Equal([2102, 2102, 2102], critical.Select(r => r.Id.Id));
        Assert.All(critical, r => Assert.Contains(created.Id, r.Message, StringComparison.Ordinal));
        Assert.Equal(["create", "pay", "get"], mismatches.GetMeasurementSnapshot().Select(m => (string)m.Tags["operation"]!));
    }

    [Fact]
    public async Task Answers_in_the_mode_the_key_says_raise_nothing()
    {
        var created = (await Service.CreateAsync(Request(), null, CancellationToken.None)).Value!.Session;
        await Service.PayAsync(created.Id, Code, CancellationToken.None);

        Assert.Empty(_stack.LogsAt(LogLevel.Critical));
    }
}
