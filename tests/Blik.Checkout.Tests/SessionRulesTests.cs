using Blik.Checkout.Domain;
using Blik.Checkout.Tests.Support;

namespace Blik.Checkout.Tests;

public sealed class SessionRulesTests
{
    private static readonly TimeSpan ConfirmationWindow = TimeSpan.FromSeconds(90);
    private static readonly DateTimeOffset T0 = TestSessions.Created;

    private static DateTimeOffset At(double seconds) => T0.AddSeconds(seconds);

    private static CheckoutSession Completed() => TestSessions.Open() with { Status = SessionStatus.Completed, CompletedAt = At(0) };

    private static CheckoutSession Expired() => TestSessions.Open() with { Status = SessionStatus.Expired };

    /// <summary>A session whose code the gateway accepted at <c>T0 + 10 s</c>: pending, waiting for the bank app.</summary>
    private static CheckoutSession PendingAfterCode() =>
        SessionRules.CodeAccepted(TestSessions.Open(), TestSessions.Gateway("open"), At(10), At(11), ConfirmationWindow);

    [Theory]
    [InlineData("open")]
    [InlineData("pending")]
    [InlineData("completed")]
    [InlineData("expired")]
    [InlineData(null)]
    public void A_completed_session_never_changes_on_any_gateway_snapshot(string? status)
    {
        var snapshot = TestSessions.Gateway(status) with { LastPaymentError = new GatewayPaymentError("code_expired", "late"), ExpiresAt = DateTimeOffset.FromUnixTimeSeconds(1), Livemode = true };

        Assert.Null(SessionRules.ApplyGatewayState(Completed(), snapshot, At(60), At(61)));
    }

    [Theory]
    [InlineData("open")]
    [InlineData("pending")]
    [InlineData("expired")]
    [InlineData(null)]
    public void An_expired_session_never_changes_on_a_gateway_snapshot_other_than_completed(string? status)
    {
        var snapshot = TestSessions.Gateway(status) with { LastPaymentError = new GatewayPaymentError("code_expired", "late"), Livemode = true };

        Assert.Null(SessionRules.ApplyGatewayState(Expired(), snapshot, At(60), At(61)));
    }

    [Fact]
    public void An_expired_session_the_gateway_calls_completed_becomes_completed_after_expiry_and_owes_a_new_message()
    {
        var expiredAndSent = Expired() with { ExpiredLocally = true, Outbox = new OutboxState(false, At(1), At(2)) };

        var paid = SessionRules.ApplyGatewayState(expiredAndSent, TestSessions.Gateway("completed"), At(60), At(61));

        Assert.NotNull(paid);
        Assert.Equal(SessionStatus.Completed, paid.Status);
        Assert.True(paid.CompletedAfterExpiry);
        Assert.Equal(At(61), paid.CompletedAt);
        Assert.Equal(At(61), paid.UpdatedAt);
        Assert.Equal(new OutboxState(true, At(61), At(2)), paid.Outbox);
        Assert.False(paid.AmountMismatch);
    }

    [Fact]
    public void A_completion_after_expiry_is_applied_only_once()
    {
        var paid = SessionRules.ApplyGatewayState(Expired(), TestSessions.Gateway("completed"), At(60), At(61))!;

        Assert.Null(SessionRules.ApplyGatewayState(paid, TestSessions.Gateway("completed"), At(120), At(121)));
    }

    [Fact]
    public void A_completion_after_expiry_for_another_amount_records_what_the_gateway_took()
    {
        var paid = SessionRules.ApplyGatewayState(Expired(), TestSessions.Gateway("completed") with { AmountTotal = 999, Currency = "EUR" }, At(60), At(61))!;

        Assert.Equal((999L, "eur"), (paid.GatewayAmount, paid.GatewayCurrency));
        Assert.True(paid.CompletedAfterExpiry);
    }

    [Fact]
    public void The_gateway_confirming_an_expiry_published_here_clears_the_local_mark()
    {
        var confirmed = SessionRules.ApplyGatewayState(Expired() with { ExpiredLocally = true }, TestSessions.Gateway("expired"), At(60), At(61));

        Assert.NotNull(confirmed);
        Assert.False(confirmed.ExpiredLocally);
        Assert.Equal(SessionStatus.Expired, confirmed.Status);
    }

    [Theory]
    [InlineData(1000, "pln", false)]
    [InlineData(1000, "PLN", false)]
    [InlineData(999, "pln", true)]
    [InlineData(1000, "eur", true)]
    public void A_completion_records_the_gateway_amount_only_when_it_differs(long amount, string currency, bool differs)
    {
        var completed = SessionRules.ApplyGatewayState(PendingAfterCode(), TestSessions.Gateway("completed") with { AmountTotal = amount, Currency = currency }, At(20), At(21))!;

        Assert.Equal(SessionStatus.Completed, completed.Status);
        Assert.Equal(differs, completed.AmountMismatch);
        Assert.Equal(differs ? amount : null, completed.GatewayAmount);
    }

    [Fact]
    public void An_open_session_whose_gateway_amount_differs_records_nothing_until_it_completes() =>
        Assert.Null(SessionRules.ApplyGatewayState(TestSessions.Open(), TestSessions.Gateway("open") with { AmountTotal = 5 }, At(20), At(21)));

    [Theory]
    [InlineData("open")]
    [InlineData("pending")]
    [InlineData("expired")]
    public void A_gateway_snapshot_read_before_the_one_applied_is_stale_and_ignored(string status)
    {
        var session = PendingAfterCode() with { GatewayObservedAt = At(100) };

        Assert.Null(SessionRules.ApplyGatewayState(session, TestSessions.Gateway(status), At(99.999), At(101)));
    }

    [Fact]
    public void A_stale_snapshot_that_says_completed_completes_the_session_and_keeps_the_later_reads_fields()
    {
        // Two reads answered out of order: the later one (pending) was applied first. The gateway never takes a
        // payment back, so the earlier read's completion is still news.
        const string later = "https://pay.example/later";
        var session = PendingAfterCode() with { GatewayObservedAt = At(100), Url = later, ExpiresAt = At(3600) };
        var stale = TestSessions.Gateway("completed") with { Url = "https://pay.example/earlier", ExpiresAt = At(1800) };

        var completed = SessionRules.ApplyGatewayState(session, stale, At(99), At(101))!;

        Assert.Equal(SessionStatus.Completed, completed.Status);
        Assert.True(completed.Outbox.Pending);
        Assert.Equal((later, At(3600), At(100)), (completed.Url, completed.ExpiresAt, completed.GatewayObservedAt));
    }

    [Fact]
    public void A_gateway_snapshot_read_at_the_same_instant_as_the_one_applied_is_applied()
    {
        var session = TestSessions.Open() with { GatewayObservedAt = At(100) };

        Assert.Equal(SessionStatus.Completed, SessionRules.ApplyGatewayState(session, TestSessions.Gateway("completed"), At(100), At(101))?.Status);
    }

    [Fact]
    public void Open_then_pending_then_completed_follows_the_gateway()
    {
        var open = TestSessions.Open();

        var pending = SessionRules.ApplyGatewayState(open, TestSessions.Gateway("pending"), At(10), At(11));
        Assert.NotNull(pending);
        Assert.Equal(SessionStatus.Pending, pending.Status);
        Assert.Equal(At(11), pending.UpdatedAt);
        Assert.Equal(At(10), pending.GatewayObservedAt);

        var completed = SessionRules.ApplyGatewayState(pending, TestSessions.Gateway("completed"), At(20), At(21));
        Assert.NotNull(completed);
        Assert.Equal(SessionStatus.Completed, completed.Status);
        Assert.Equal(At(21), completed.CompletedAt);
        Assert.Null(completed.RetryCodeAfter);
        Assert.Null(completed.LastError);
        Assert.Equal(At(20), completed.GatewayObservedAt);
    }

    [Theory]
    [InlineData("COMPLETED")]
    [InlineData(" complete ")]
    public void Gateway_status_spelling_and_case_are_tolerated(string raw) =>
        Assert.Equal(SessionStatus.Completed, SessionRules.ApplyGatewayState(TestSessions.Open(), TestSessions.Gateway(raw), At(10), At(11))?.Status);

    [Fact]
    public void Completion_clears_the_last_error_and_the_retry_hint()
    {
        var failed = TestSessions.Open() with { CodeSubmittedAt = At(5), LastError = SessionRules.NotConfirmed, RetryCodeAfter = At(6) };

        var completed = SessionRules.ApplyGatewayState(failed, TestSessions.Gateway("completed"), At(10), At(11))!;

        Assert.Null(completed.LastError);
        Assert.Null(completed.RetryCodeAfter);
    }

    [Fact]
    public void The_gateway_expiring_the_session_clears_the_retry_hint()
    {
        var expired = SessionRules.ApplyGatewayState(PendingAfterCode(), TestSessions.Gateway("expired"), At(20), At(21))!;

        Assert.Equal(SessionStatus.Expired, expired.Status);
        Assert.Null(expired.RetryCodeAfter);
    }

    [Fact]
    public void Open_from_the_gateway_within_the_confirmation_window_keeps_the_code_in_flight()
    {
        // Converge Gate documents "open" as the state while the shopper confirms in the banking app.
        var pending = PendingAfterCode();
        Assert.True(pending.RetryCodeAfter > At(40));

        var read = SessionRules.ApplyGatewayState(pending, TestSessions.Gateway("open"), At(40), At(41));

        Assert.True(read is null || (read.Status == SessionStatus.Pending && read.LastError is null));
    }

    [Fact]
    public void Still_open_after_the_confirmation_window_is_not_confirmed_and_the_shopper_may_retry_now()
    {
        var pending = PendingAfterCode();
        var after = (pending.RetryCodeAfter!.Value - At(0)).TotalSeconds + 1;

        var back = SessionRules.ApplyGatewayState(pending, TestSessions.Gateway("open"), At(after), At(after + 1));

        Assert.NotNull(back);
        Assert.Equal(SessionStatus.Open, back.Status);
        Assert.Equal(SessionRules.NotConfirmed, back.LastError);
        Assert.NotNull(back.RetryCodeAfter);
        Assert.True(back.RetryCodeAfter <= At(after + 1));
    }

    [Fact]
    public void A_gateway_decline_after_a_code_is_carried_with_its_code_and_message()
    {
        var snapshot = TestSessions.Gateway("open") with { LastPaymentError = new GatewayPaymentError("insufficient_funds", "Not enough money.") };

        var declined = SessionRules.ApplyGatewayState(PendingAfterCode(), snapshot, At(40), At(41))!;

        Assert.Equal(new SessionError("insufficient_funds", "Not enough money."), declined.LastError);
        Assert.True(declined.RetryCodeAfter <= At(41));
    }

    [Fact]
    public void A_gateway_decline_without_code_or_message_gets_generic_words()
    {
        var snapshot = TestSessions.Gateway("open") with { LastPaymentError = new GatewayPaymentError(null, null) };

        var declined = SessionRules.ApplyGatewayState(PendingAfterCode(), snapshot, At(40), At(41))!;

        Assert.Equal("declined", declined.LastError!.Code);
        Assert.Equal(SessionRules.NotConfirmed.Message, declined.LastError.Message);
    }

    [Fact]
    public void An_open_snapshot_for_a_session_that_never_took_a_code_changes_nothing()
    {
        var snapshot = TestSessions.Gateway("open") with { LastPaymentError = new GatewayPaymentError("code_invalid", "old") };

        Assert.Null(SessionRules.ApplyGatewayState(TestSessions.Open(), snapshot, At(40), At(41)));
    }

    [Theory]
    [InlineData("refunded")]
    [InlineData("")]
    [InlineData(null)]
    public void An_unknown_gateway_status_is_ignored(string? status) =>
        Assert.Null(SessionRules.ApplyGatewayState(PendingAfterCode(), TestSessions.Gateway(status), At(40), At(41)));

    [Fact]
    public void A_snapshot_that_changes_nothing_returns_null()
    {
        var open = TestSessions.Open();

        Assert.Null(SessionRules.ApplyGatewayState(open, TestSessions.Gateway("open"), At(40), At(41)));
    }

    [Fact]
    public void The_gateway_url_expiry_and_livemode_are_taken_from_the_snapshot()
    {
        var snapshot = TestSessions.Gateway("open") with { Url = "https://gateway.test/pay/other", ExpiresAt = At(7200), Livemode = true };

        var next = SessionRules.ApplyGatewayState(TestSessions.Open(), snapshot, At(40), At(41))!;

        Assert.Equal("https://gateway.test/pay/other", next.Url);
        Assert.Equal(At(7200), next.ExpiresAt);
        Assert.True(next.Livemode);
    }

    [Fact]
    public void A_snapshot_without_url_or_expiry_keeps_the_stored_ones()
    {
        var open = TestSessions.Open();
        var snapshot = TestSessions.Gateway("pending") with { Url = null, ExpiresAt = null };

        var next = SessionRules.ApplyGatewayState(open, snapshot, At(40), At(41))!;

        Assert.Equal(open.Url, next.Url);
        Assert.Equal(open.ExpiresAt, next.ExpiresAt);
    }

    [Fact]
    public void Attempts_are_counted_up_to_the_limit_within_the_window()
    {
        var session = TestSessions.Open();
        for (var i = 1; i <= 5; i++)
        {
            var (reserved, wait) = SessionRules.ReserveAttempt(session, At(i), 5, TimeSpan.FromMinutes(15));
            Assert.NotNull(reserved);
            Assert.Equal(TimeSpan.Zero, wait);
            Assert.Equal(i, reserved.Attempts);
            Assert.Equal(i, reserved.AttemptsInWindow);
            Assert.Equal(At(1), reserved.AttemptWindowStart);
            session = reserved;
        }

        var (refused, retryAfter) = SessionRules.ReserveAttempt(session, At(60), 5, TimeSpan.FromMinutes(15));

        Assert.Null(refused);
        Assert.Equal(TimeSpan.FromSeconds(15 * 60 + 1 - 60), retryAfter);
    }

    [Fact]
    public void A_new_window_starts_once_the_old_one_has_passed()
    {
        var session = TestSessions.Open();
        for (var i = 0; i < 3; i++)
        {
            session = SessionRules.ReserveAttempt(session, At(0), 3, TimeSpan.FromMinutes(15)).Reserved!;
        }

        Assert.Null(SessionRules.ReserveAttempt(session, At(15 * 60 - 1), 3, TimeSpan.FromMinutes(15)).Reserved);
        Assert.Equal(TimeSpan.FromSeconds(1), SessionRules.ReserveAttempt(session, At(15 * 60 - 1), 3, TimeSpan.FromMinutes(15)).RetryAfter);

        var (reserved, wait) = SessionRules.ReserveAttempt(session, At(15 * 60), 3, TimeSpan.FromMinutes(15));

        Assert.NotNull(reserved);
        Assert.Equal(TimeSpan.Zero, wait);
        Assert.Equal(4, reserved.Attempts);
        Assert.Equal(1, reserved.AttemptsInWindow);
        Assert.Equal(At(15 * 60), reserved.AttemptWindowStart);
    }

    [Fact]
    public void Code_accepted_while_the_gateway_still_says_open_puts_the_session_in_flight()
    {
        var open = TestSessions.Open();

        var accepted = SessionRules.CodeAccepted(open, TestSessions.Gateway("open"), At(10), At(11), ConfirmationWindow);

        Assert.Equal(SessionStatus.Pending, accepted.Status);
        Assert.Equal(At(11), accepted.CodeSubmittedAt);
        Assert.Equal(At(101), accepted.RetryCodeAfter);
        Assert.Null(accepted.LastError);
        Assert.Equal(At(11), accepted.UpdatedAt);
        Assert.Equal(At(10), accepted.GatewayObservedAt);
    }

    [Fact]
    public void Code_accepted_clears_the_previous_attempts_error()
    {
        var refused = SessionRules.CodeRefused(TestSessions.Open(), new SessionError("code_invalid", "bad"), At(5));

        var accepted = SessionRules.CodeAccepted(refused, TestSessions.Gateway("open"), At(10), At(11), ConfirmationWindow);

        Assert.Null(accepted.LastError);
    }

    [Fact]
    public void Code_accepted_with_an_open_answer_never_moves_the_observation_time_back()
    {
        var later = TestSessions.Open() with { GatewayObservedAt = At(30) };

        var accepted = SessionRules.CodeAccepted(later, TestSessions.Gateway("open"), At(10), At(31), ConfirmationWindow);

        Assert.Equal(At(30), accepted.GatewayObservedAt);
    }

    [Fact]
    public void Code_accepted_with_a_pending_answer_is_in_flight()
    {
        var accepted = SessionRules.CodeAccepted(TestSessions.Open(), TestSessions.Gateway("pending"), At(10), At(11), ConfirmationWindow);

        Assert.Equal(SessionStatus.Pending, accepted.Status);
        Assert.Equal(At(11), accepted.CodeSubmittedAt);
        Assert.Equal(At(101), accepted.RetryCodeAfter);
    }

    [Fact]
    public void Code_accepted_with_a_completed_answer_completes_the_session()
    {
        var accepted = SessionRules.CodeAccepted(TestSessions.Open(), TestSessions.Gateway("completed"), At(10), At(11), ConfirmationWindow);

        Assert.Equal(SessionStatus.Completed, accepted.Status);
        Assert.Equal(At(11), accepted.CompletedAt);
        Assert.Null(accepted.RetryCodeAfter);
        Assert.Equal(At(10), accepted.GatewayObservedAt);
    }

    [Fact]
    public void Code_accepted_with_a_completed_answer_on_an_expired_session_completes_it_after_expiry()
    {
        var accepted = SessionRules.CodeAccepted(Expired(), TestSessions.Gateway("completed"), At(10), At(11), ConfirmationWindow);

        Assert.Equal(SessionStatus.Completed, accepted.Status);
        Assert.True(accepted.CompletedAfterExpiry);
    }

    [Theory]
    [InlineData(SessionStatus.Completed)]
    [InlineData(SessionStatus.Expired)]
    public void Code_accepted_with_an_open_answer_leaves_a_final_session_as_it_was(SessionStatus final)
    {
        var session = TestSessions.Open() with { Status = final, LastError = SessionRules.NotConfirmed };

        var accepted = SessionRules.CodeAccepted(session, TestSessions.Gateway("open"), At(10), At(11), ConfirmationWindow);

        Assert.Equal(final, accepted.Status);
        Assert.Null(accepted.CodeSubmittedAt);
        Assert.Null(accepted.RetryCodeAfter);
        Assert.Equal(SessionRules.NotConfirmed, accepted.LastError);
    }

    [Fact]
    public void Code_refused_records_the_error_and_allows_a_new_code_at_once()
    {
        var error = new SessionError("code_expired", "The BLIK code has expired.");

        var refused = SessionRules.CodeRefused(TestSessions.Open(), error, At(10));

        Assert.Equal(SessionStatus.Open, refused.Status);
        Assert.Equal(error, refused.LastError);
        Assert.Equal(At(10), refused.RetryCodeAfter);
        Assert.Equal(At(10), refused.UpdatedAt);
    }

    [Fact]
    public void Code_outcome_unknown_marks_the_code_in_flight_with_the_gateway_error()
    {
        var unknown = SessionRules.CodeOutcomeUnknown(TestSessions.Open(), At(10), ConfirmationWindow);

        Assert.Equal(SessionStatus.Open, unknown.Status);
        Assert.Equal(At(10), unknown.CodeSubmittedAt);
        Assert.Equal(At(100), unknown.RetryCodeAfter);
        Assert.Equal(SessionRules.OutcomeUnknown, unknown.LastError);
        Assert.Equal(At(10), unknown.UpdatedAt);
    }

    [Theory]
    [InlineData(SessionStatus.Completed)]
    [InlineData(SessionStatus.Expired)]
    public void Code_outcome_unknown_leaves_a_final_session_alone(SessionStatus final)
    {
        var session = TestSessions.Open() with { Status = final };

        Assert.Same(session, SessionRules.CodeOutcomeUnknown(session, At(10), ConfirmationWindow));
    }

    [Fact]
    public void After_an_unknown_outcome_a_completed_snapshot_completes_the_session()
    {
        var unknown = SessionRules.CodeOutcomeUnknown(TestSessions.Open(), At(10), ConfirmationWindow);

        var completed = SessionRules.ApplyGatewayState(unknown, TestSessions.Gateway("completed"), At(20), At(21))!;

        Assert.Equal(SessionStatus.Completed, completed.Status);
        Assert.Null(completed.LastError);
    }

    [Theory]
    [InlineData(SessionStatus.Open)]
    [InlineData(SessionStatus.Pending)]
    public void Expire_ends_an_open_or_pending_session(SessionStatus status)
    {
        var session = TestSessions.Open() with { Status = status, RetryCodeAfter = At(100) };

        var expired = SessionRules.Expire(session, At(200));

        Assert.NotNull(expired);
        Assert.Equal(SessionStatus.Expired, expired.Status);
        Assert.Null(expired.RetryCodeAfter);
        Assert.Equal(At(200), expired.UpdatedAt);
    }

    [Fact]
    public void Expire_marks_the_expiry_as_this_services_own() =>
        Assert.True(SessionRules.Expire(TestSessions.Open(), At(200))!.ExpiredLocally);

    private static readonly TimeSpan Grace = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan LocalGrace = TimeSpan.FromHours(24);
    private static readonly TimeSpan InFlightFor = TimeSpan.FromMinutes(11.5);

    private static bool MayExpire(CheckoutSession s, bool knows, SessionStatus? status, TimeSpan pastExpiry) =>
        SessionRules.MayExpireLocally(s, knows, status, s.ExpiresAt + pastExpiry, Grace, LocalGrace, InFlightFor);

    [Theory]
    [InlineData(SessionStatus.Open)]
    [InlineData(SessionStatus.Pending)]
    [InlineData(null)]
    public void A_session_the_gateway_still_calls_open_or_pending_is_not_expired_here_after_the_short_grace(SessionStatus? status) =>
        Assert.False(MayExpire(TestSessions.Open(), knows: true, status, Grace + TimeSpan.FromMinutes(1)));

    [Fact]
    public void A_session_the_gateway_no_longer_knows_is_expired_here_after_the_short_grace_only()
    {
        Assert.False(MayExpire(TestSessions.Open(), knows: false, null, Grace - TimeSpan.FromSeconds(1)));
        Assert.True(MayExpire(TestSessions.Open(), knows: false, null, Grace));
    }

    [Fact]
    public void A_session_the_gateway_calls_open_with_nothing_in_flight_is_expired_here_after_the_long_grace()
    {
        Assert.False(MayExpire(TestSessions.Open(), knows: true, SessionStatus.Open, LocalGrace - TimeSpan.FromSeconds(1)));
        Assert.True(MayExpire(TestSessions.Open(), knows: true, SessionStatus.Open, LocalGrace));
    }

    [Fact]
    public void A_session_with_a_payment_in_flight_is_never_expired_here()
    {
        var longPast = LocalGrace + TimeSpan.FromDays(30);

        Assert.False(MayExpire(TestSessions.Open(), knows: true, SessionStatus.Pending, longPast));
        Assert.False(MayExpire(TestSessions.Open() with { Status = SessionStatus.Pending }, knows: true, SessionStatus.Open, longPast));
    }

    [Theory]
    [InlineData(SessionStatus.Completed)]
    [InlineData(SessionStatus.Expired)]
    public void Expire_returns_null_for_a_session_already_final(SessionStatus final) =>
        Assert.Null(SessionRules.Expire(TestSessions.Open() with { Status = final }, At(200)));

    [Theory]
    [InlineData(SessionStatus.Open, false)]
    [InlineData(SessionStatus.Pending, false)]
    [InlineData(SessionStatus.Completed, true)]
    [InlineData(SessionStatus.Expired, true)]
    public void Only_completed_and_expired_are_final(SessionStatus status, bool final) => Assert.Equal(final, status.IsFinal());

    [Theory]
    [InlineData(SessionStatus.Open, "open")]
    [InlineData(SessionStatus.Pending, "pending")]
    [InlineData(SessionStatus.Completed, "completed")]
    [InlineData(SessionStatus.Expired, "expired")]
    public void Statuses_round_trip_through_their_wire_names(SessionStatus status, string wire)
    {
        Assert.Equal(wire, status.ToWire());
        Assert.Equal(status, SessionStatusNames.Parse(wire));
    }
}
