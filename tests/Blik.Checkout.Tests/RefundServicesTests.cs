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
        // Key, reservation, session version, due entry, checkpoint, refund row: then the process stops (the reservation stays).
        _stack.Faults.CrashAfter = writes + 6;
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
    public async Task The_sweep_drops_a_dead_reservation_the_gateway_has_no_refund_for_rechecks_pending_refunds_and_says_when_nothing_is_left_to_watch()
    {
        var refund = (await RefundAsync(400)).Value.Refund;
        _stack.Refunds.Seed(new RefundRecord
        {
            SessionId = Id, Id = RefundRecord.ReservationPrefix + "dead", Amount = 600, Currency = "pln", Status = RefundStatuses.Creating,
            CreatedAt = TestTime.Start, UpdatedAt = TestTime.Start,
        });
        var sweep = _stack.Get<RefundSweep>();

        var whilePending = await sweep.SweepAsync(Id, CancellationToken.None);
        _stack.Time.Advance(Reservations.Lease);
        _stack.Gateway.SetRefund(refund.Id, "succeeded");
        var afterwards = await sweep.SweepAsync(Id, CancellationToken.None);

        Assert.NotNull(whilePending);
        Assert.Null(afterwards);
        Assert.Equal([refund.Id], Rows.Select(r => r.Id));
        Assert.Equal("checkout.refund.succeeded", Assert.Single(_stack.Fulfilment).Type);
    }

    private RefundReservations Reservations => _stack.Get<RefundReservations>();

    private static GatewayUnavailableException Lost() => new("it answered 503");

    [Fact]
    public async Task A_lost_refund_answer_keeps_the_amount_reserved_and_the_key_bound_and_a_retry_gets_that_refund_not_a_second()
    {
        _stack.Gateway.RefundAnswerLost = Lost();
        _stack.Gateway.ReadsFail = Lost(); // the gateway's session cannot be read at once either

        var first = await RefundAsync(400, "key-1");
        _stack.Gateway.RefundAnswerLost = null;
        var overTheRest = await RefundAsync(700);
        var meanwhile = await RefundAsync(400, "key-1");
        _stack.Gateway.ReadsFail = null;
        var retry = await RefundAsync(400, "key-1");
        var again = await RefundAsync(400, "key-1");

        Assert.Equal(Reservations.Lease, Assert.IsType<Refusal.RefundOutcomePending>(first.Refusal).RetryAfter);
        Assert.Equal(new Refusal.AmountOverRefundable(600, 1000), overTheRest.Refusal); // the 400 stays reserved
        Assert.IsType<Refusal.RefundOutcomePending>(meanwhile.Refusal);
        var (refund, replayed) = retry.Value;
        Assert.True(replayed);
        Assert.Equal((400L, RefundStatuses.Pending, "re_1"), (refund.Amount, refund.Status, refund.Id));
        Assert.Equal((refund.Id, true), (again.Value.Refund.Id, again.Value.Replayed));
        Assert.Equal(1, _stack.Gateway.Count("refund"));
        Assert.Equal(["re_1"], Rows.Select(r => r.Id)); // the reservation became the refund
    }

    [Fact]
    public async Task A_lost_refund_answer_is_settled_at_once_when_the_gateways_session_already_lists_the_refund()
    {
        _stack.Gateway.RefundAnswerLost = Lost();

        var refund = (await RefundAsync(400, "key-1")).Value.Refund;

        Assert.Equal(("re_1", 400L), (refund.Id, refund.Amount));
        Assert.StartsWith(RefundRecord.ReservationPrefix, refund.ReservationId, StringComparison.Ordinal);
        Assert.Equal(["re_1"], Rows.Select(r => r.Id));
        Assert.Contains(_stack.LogsAt(LogLevel.Warning), r => r.Id.Id == 2204);
    }

    [Fact]
    public async Task The_merchant_cancelling_mid_call_does_not_lose_the_gateways_answer()
    {
        using var caller = new CancellationTokenSource();
        _stack.Gateway.OnRefund = r =>
        {
            caller.Cancel(); // the merchant's request goes away while the gateway works
            return new GatewayRefund { Id = "re_cut", Amount = r.Amount, SessionId = r.SessionId, Status = "pending" };
        };

        var outcome = await Refunds.CreateAsync(Id, new CreateRefundRequest(400, null, null), "key-1", caller.Token);
        var retry = await RefundAsync(400, "key-1");

        Assert.Equal("re_cut", outcome.Value.Refund.Id);
        Assert.Equal(("re_cut", true), (retry.Value.Refund.Id, retry.Value.Replayed));
        Assert.Equal(["re_cut"], Rows.Select(r => r.Id));
        Assert.Equal(1, _stack.Gateway.Count("refund"));
    }

    [Fact]
    public async Task The_sweep_resolves_a_lost_refund_answer_without_any_webhook()
    {
        _stack.Gateway.RefundAnswerLost = Lost();
        _stack.Gateway.ReadsFail = Lost();
        await RefundAsync(400, "key-1");
        _stack.Gateway.RefundAnswerLost = null;
        _stack.Gateway.ReadsFail = null;
        var reservation = Assert.Single(Rows);
        Assert.Equal(RefundStatuses.Unknown, reservation.Status);
        Assert.Equal([new DueEntry(Id, TestTime.Start + _stack.Sweep.RecheckInterval, DueKind.RefundPending)], _stack.Due.For(Id));

        _stack.Time.Advance(_stack.Sweep.RecheckInterval);
        await _stack.Get<Sweeps.Sweeper>().RunAsync(CancellationToken.None); // no webhook came: the gateway's session is read

        var refund = Assert.Single(Rows);
        Assert.Equal(("re_1", reservation.Id, 400L), (refund.Id, refund.ReservationId, refund.Amount));
        Assert.Equal(1, _stack.Gateway.Count("refund"));
        Assert.NotEmpty(_stack.Due.For(Id)); // the refund is pending: the sweep looks again
    }

    [Fact]
    public async Task An_unknown_refund_the_gateway_never_created_is_released_only_after_its_lease_and_then_a_retry_refunds()
    {
        _stack.Gateway.OnRefund = _ => throw Lost(); // no answer, and nothing created
        var first = await RefundAsync(400, "key-1");
        _stack.Gateway.OnRefund = null;
        var sweep = _stack.Get<RefundSweep>();

        var early = await sweep.SweepAsync(Id, CancellationToken.None);
        var stillHeld = Rows.Single().Amount;
        _stack.Time.Advance(Reservations.Lease);
        var late = await sweep.SweepAsync(Id, CancellationToken.None);
        _stack.Time.Advance(_stack.Checkout.IdempotencyLease - Reservations.Lease);
        var retry = await RefundAsync(400, "key-1");

        Assert.IsType<Refusal.RefundOutcomePending>(first.Refusal);
        Assert.NotNull(early);
        Assert.Equal(400, stillHeld);
        Assert.Null(late);
        Assert.False(retry.Value.Replayed); // the key's lease (longer than the reservation's) has passed too
        Assert.Equal(2, _stack.Gateway.Count("refund")); // the first call created nothing, so this is the only refund
        Assert.Single(_stack.Gateway.Refunds);
    }

    [Theory]
    [InlineData(null, null, true, ReservationFate.Undecided)] // the session says nothing about refunds
    [InlineData(null, 0L, false, ReservationFate.Undecided)] // nothing yet, but the call may still be running
    [InlineData(null, 0L, true, ReservationFate.NotCreated)]
    [InlineData(null, 650L, true, ReservationFate.Undecided)] // more refunded than stored: a refund exists, its id unknown
    [InlineData(null, 250L, true, ReservationFate.NotCreated)] // exactly what the stored refund accounts for
    [InlineData("re_new", null, false, ReservationFate.Created)] // listed, even before the lease ends
    [InlineData("re_old", null, true, ReservationFate.NotCreated)] // the only listed refund is the stored one
    public void What_the_gateways_session_says_decides_a_lost_answer(string? listed, long? amountRefunded, bool pastLease, ReservationFate expected)
    {
        var at = TestTime.Start;
        var reservation = new RefundRecord
        {
            SessionId = Id, Id = RefundRecord.ReservationPrefix + "r", Amount = 400, Currency = "pln", Status = RefundStatuses.Unknown,
            CreatedAt = at, UpdatedAt = at,
        };
        var old = new RefundRecord
        {
            SessionId = Id, Id = "re_old", Amount = 250, Currency = "pln", Status = RefundStatuses.Succeeded, CreatedAt = at.AddHours(-1),
            UpdatedAt = at, ReservationId = RefundRecord.ReservationPrefix + "earlier",
        };
        GatewayRefund[]? refunds = listed is null ? null :
        [
            new GatewayRefund { Id = "re_old", Amount = 250, CreatedAt = at.AddHours(-1) },
            .. listed == "re_new" ? [new GatewayRefund { Id = "re_new", Amount = 400, CreatedAt = at.AddSeconds(2) }] : Array.Empty<GatewayRefund>(),
        ];
        var session = new GatewaySession { Id = Id, Refunds = refunds, AmountRefunded = amountRefunded };

        var (fate, match) = RefundResolver.Judge(reservation, session, [old, reservation], pastLease);

        Assert.Equal(expected, fate);
        Assert.Equal(expected == ReservationFate.Created ? "re_new" : null, match?.Id);
    }

    [Theory]
    [InlineData(false, ReservationFate.NotCreated)] // the rest was not refunded: the reservation for it was not created
    [InlineData(true, ReservationFate.Undecided)] // all refunded: it exists, its webhook names it
    public void Refunded_alone_settles_a_lost_answer_for_the_whole_rest(bool refunded, ReservationFate expected)
    {
        var reservation = new RefundRecord
        {
            SessionId = Id, Id = RefundRecord.ReservationPrefix + "r", Amount = 1000, Currency = "pln", Status = RefundStatuses.Unknown,
            CreatedAt = TestTime.Start, UpdatedAt = TestTime.Start,
        };

        var (fate, _) = RefundResolver.Judge(reservation, new GatewaySession { Id = Id, AmountTotal = 1000, Refunded = refunded }, [reservation], pastLease: true);

        Assert.Equal(expected, fate);
    }

    [Fact]
    public async Task A_refund_learned_only_from_the_gateway_takes_the_reservation_lock()
    {
        var version = _stack.Sessions[Id]!.RefundVersion;
        _stack.Gateway.Refunds["re_dash"] = new GatewayRefund { Id = "re_dash", Amount = 250, SessionId = Id, Status = "pending" };

        await _stack.Get<RefundReconciler>().ReconcileAsync(Id, "re_dash", CancellationToken.None);

        Assert.Equal(version + 1, _stack.Sessions[Id]!.RefundVersion);
    }

    [Fact]
    public async Task A_refund_the_gateway_reports_without_an_amount_holds_the_whole_session_until_it_says()
    {
        _stack.Gateway.Refunds["re_dash"] = new GatewayRefund { Id = "re_dash", SessionId = Id, Status = "pending" };
        var reconciler = _stack.Get<RefundReconciler>();

        var stored = await reconciler.ReconcileAsync(Id, "re_dash", CancellationToken.None);
        var whileUnknown = await RefundAsync(100);
        _stack.Gateway.Refunds["re_dash"] = _stack.Gateway.Refunds["re_dash"] with { Amount = 250 };
        var known = await reconciler.ReconcileAsync(Id, "re_dash", CancellationToken.None);
        var rest = await RefundAsync();

        Assert.True(stored!.AmountUnknown);
        Assert.IsType<Refusal.NothingToRefund>(whileUnknown.Refusal);
        Assert.Equal((250L, false), (known!.Amount, known.AmountUnknown));
        Assert.Equal(750, rest.Value.Refund.Amount);
    }

    [Fact]
    public async Task A_refund_stuck_at_the_gateway_is_looked_at_less_and_less_often_then_raised_once_for_an_operator()
    {
        var refund = (await RefundAsync(400)).Value.Refund;
        var sweep = _stack.Get<RefundSweep>();
        var intervals = new List<TimeSpan>();
        var end = TestTime.Start + TimeSpan.FromHours(30);
        while (_stack.Time.GetUtcNow() < end)
        {
            var now = _stack.Time.GetUtcNow();
            var next = await sweep.SweepAsync(Id, CancellationToken.None);
            intervals.Add(next!.Value - now);
            _stack.Time.Advance(next.Value - now);
        }

        Assert.Equal(intervals.Order(), intervals); // never more often than the look before
        Assert.Equal(_stack.Sweep.RecheckInterval, intervals[0]);
        Assert.Equal(RefundSweep.MaxRecheckInterval, intervals[^1]);
        Assert.InRange(_stack.Gateway.Count("get refund"), 10, 50); // not once a minute for 30 hours (1800)
        var raised = Assert.Single(_stack.LogsAt(LogLevel.Critical));
        Assert.Equal((2207, "RefundUnresolved"), (raised.Id.Id, raised.Id.Name));
        Assert.Contains(refund.Id, raised.Message, StringComparison.Ordinal);
        Assert.NotNull(Rows.Single().EscalatedAt);
    }

    [Fact]
    public async Task A_lost_refund_answer_the_gateway_never_explains_stays_reserved_and_is_raised_once_as_unknown_outcome()
    {
        // No answer, and the gateway's session never says what became of the call: the amount stays reserved (it may
        // have been refunded), the sweep keeps asking less and less often, and an operator is told once, after a day.
        using var unresolved = new Microsoft.Extensions.Diagnostics.Metrics.Testing.MetricCollector<long>(
            _stack.Get<System.Diagnostics.Metrics.IMeterFactory>(), Diagnostics.CheckoutMetrics.MeterName, "blik.refunds.unresolved");
        _stack.Gateway.OnRefund = _ => throw Lost();
        _stack.Gateway.SessionsListRefunds = false;
        var first = await RefundAsync(400, "key-1");
        _stack.Gateway.OnRefund = null;
        var sweep = _stack.Get<RefundSweep>();
        var end = TestTime.Start + TimeSpan.FromHours(30);
        while (_stack.Time.GetUtcNow() < end)
        {
            var now = _stack.Time.GetUtcNow();
            var next = await sweep.SweepAsync(Id, CancellationToken.None);
            Assert.NotNull(next); // never dropped while undecided
            _stack.Time.Advance(next.Value - now);
        }

        var rest = await RefundAsync(700);

        Assert.IsType<Refusal.RefundOutcomePending>(first.Refusal);
        var row = Assert.Single(Rows);
        Assert.Equal((RefundStatuses.Unknown, 400L), (row.Status, row.Amount));
        Assert.NotNull(row.EscalatedAt);
        var raised = Assert.Single(_stack.LogsAt(LogLevel.Critical));
        Assert.Equal(2207, raised.Id.Id);
        Assert.Contains("unknown_outcome", raised.Message, StringComparison.Ordinal);
        Assert.Equal(["unknown_outcome"], unresolved.GetMeasurementSnapshot().Select(m => (string)m.Tags["state"]!));
        Assert.Equal(new Refusal.AmountOverRefundable(600, 1000), rest.Refusal); // 1 000 paid, 400 held
        Assert.Equal(1, _stack.Gateway.Count("refund"));
    }

    [Fact]
    public void The_reservation_lease_outlives_the_longest_gateway_call_the_settings_allow()
    {
        using var slow = new FakeStack(new Dictionary<string, string?>
        {
            ["ConvergeGate:Timeout"] = "00:00:40",
            ["ConvergeGate:ReadRetries"] = "1",
            ["Checkout:IdempotencyLease"] = "00:05:00",
        });

        // 40 s × 2 attempts + 2 s between them, and the writes around the call.
        Assert.Equal(TimeSpan.FromSeconds(82) + GatewayCallLeases.Margin, slow.Get<RefundReservations>().Lease);
        Assert.Equal(TimeSpan.FromSeconds(34) + GatewayCallLeases.Margin, Reservations.Lease);
    }

    [Fact]
    public void An_idempotency_lease_shorter_than_the_longest_gateway_call_stops_start_up_naming_the_setting()
    {
        using var tooShort = new FakeStack(new Dictionary<string, string?> { ["ConvergeGate:Timeout"] = "00:01:00" });

        var failure = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(
            () => tooShort.Get<Microsoft.Extensions.Options.IOptions<Configuration.CheckoutOptions>>().Value);

        Assert.Contains(failure.Failures, f => f.StartsWith("Setting Checkout__IdempotencyLease (00:02:00) must be at least", StringComparison.Ordinal)
                                             && f.Contains("ConvergeGate__Timeout", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_refund_endpoint_answers_an_unknown_outcome_with_a_409_problem_of_its_own_type_and_a_retry_after()
    {
        _stack.Gateway.RefundAnswerLost = Lost();
        _stack.Gateway.ReadsFail = Lost();
        var request = HttpExchange.Request("POST", $"/api/checkout/sessions/{Id}/refunds", """{"amount":400}""");
        request.Headers[Http.CheckoutHandlers.IdempotencyKeyHeader] = "key-1";

        var response = await HttpExchange.RunAsync(request, r => _stack.Get<Http.CheckoutHandlers>().CreateRefundAsync(r, Id));

        response.AssertProblem(409, "refund-outcome-pending");
        Assert.Equal(((int)Reservations.Lease.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture), response.Headers.RetryAfter.ToString());
    }
}
