using Blik.Checkout.Domain;
using Blik.Checkout.Sweeps;
using Blik.Checkout.Tests.Support;
using NCrontab;

namespace Blik.Checkout.Tests;

/// <summary>
/// When the sweep looks at a session again. Defaults: re-check every 60 s, confirmation window 90 s,
/// and a code stays "in flight" for the window plus 10 minutes.
/// </summary>
public sealed class SweeperTests : IDisposable
{
    private readonly AppServices _app = new();
    private readonly DateTimeOffset _now = TestTime.Start;

    public void Dispose() => _app.Dispose();

    private DateTimeOffset NextCheck(CheckoutSession session) => _app.Get<Sweeper>().NextCheck(session, _now).DueAt;

    private CheckoutSession Session(SessionStatus status, long expiresIn) =>
        TestSessions.Open() with { Status = status, ExpiresAt = _now.AddSeconds(expiresIn) };

    [Fact]
    public void A_pending_session_is_checked_again_after_the_recheck_interval() =>
        Assert.Equal(_now.AddSeconds(60), NextCheck(Session(SessionStatus.Pending, 3600)));

    [Fact]
    public void A_pending_session_about_to_expire_is_checked_at_its_expiry() =>
        Assert.Equal(_now.AddSeconds(30), NextCheck(Session(SessionStatus.Pending, 30)));

    [Fact]
    public void An_open_session_with_a_code_just_submitted_is_checked_again_after_the_recheck_interval() =>
        Assert.Equal(_now.AddSeconds(60), NextCheck(Session(SessionStatus.Open, 3600) with { CodeSubmittedAt = _now.AddSeconds(-30) }));

    [Fact]
    public void A_code_is_in_flight_until_the_confirmation_window_plus_ten_minutes_has_passed()
    {
        var horizon = 90 + 600;

        Assert.Equal(_now.AddSeconds(60), NextCheck(Session(SessionStatus.Open, 3600) with { CodeSubmittedAt = _now.AddSeconds(-horizon + 1) }));
        Assert.Equal(_now.AddSeconds(3600), NextCheck(Session(SessionStatus.Open, 3600) with { CodeSubmittedAt = _now.AddSeconds(-horizon) }));
    }

    [Fact]
    public void An_open_session_whose_code_was_refused_waits_for_its_expiry() =>
        Assert.Equal(
            _now.AddSeconds(3600),
            NextCheck(Session(SessionStatus.Open, 3600) with { CodeSubmittedAt = _now.AddSeconds(-30), LastError = new SessionError("code_invalid", "x") }));

    [Fact]
    public void An_open_session_without_a_code_waits_for_its_expiry() =>
        Assert.Equal(_now.AddSeconds(3600), NextCheck(Session(SessionStatus.Open, 3600)));

    [Theory]
    [InlineData(SessionStatus.Open, 0)]
    [InlineData(SessionStatus.Open, -60)]
    [InlineData(SessionStatus.Pending, -3600)]
    public void A_session_past_its_expiry_is_checked_again_after_the_recheck_interval(SessionStatus status, long expiresIn) =>
        Assert.Equal(_now.AddSeconds(60), NextCheck(Session(status, expiresIn)));

    [Fact]
    public void A_session_past_expiry_and_grace_with_nothing_in_flight_is_asked_about_every_quarter_hour() =>
        Assert.Equal(_now.AddMinutes(15), NextCheck(Session(SessionStatus.Open, -301)));

    [Fact]
    public void A_session_past_expiry_and_grace_is_looked_at_again_when_the_local_expiry_becomes_allowed() =>
        Assert.Equal(_now.AddSeconds(60), NextCheck(Session(SessionStatus.Open, -(24 * 3600 - 60))));

    [Fact]
    public void The_recheck_interval_follows_configuration()
    {
        using var app = new AppServices(new Dictionary<string, string?> { ["Sweep:RecheckInterval"] = "00:00:15" });

        Assert.Equal(_now.AddSeconds(15), app.Get<Sweeper>().NextCheck(Session(SessionStatus.Pending, 3600), _now).DueAt);
    }

    [Fact]
    public void The_recheck_horizon_follows_configuration()
    {
        using var app = new AppServices(new Dictionary<string, string?> { ["Sweep:RecheckHorizon"] = "00:01:00" });
        var submitted = Session(SessionStatus.Open, 3600) with { CodeSubmittedAt = _now.AddSeconds(-(90 + 60)) };

        Assert.Equal(_now.AddSeconds(3600), app.Get<Sweeper>().NextCheck(submitted, _now).DueAt);
        Assert.Equal(_now.AddSeconds(60), app.Get<Sweeper>().NextCheck(submitted with { CodeSubmittedAt = _now.AddSeconds(-(90 + 59)) }, _now).DueAt);
    }

    [Fact]
    public void A_recheck_is_a_recheck_entry_and_a_wait_for_expiry_is_the_expiry_entry()
    {
        var sweeper = _app.Get<Sweeper>();

        Assert.Equal(DueKind.Recheck, sweeper.NextCheck(Session(SessionStatus.Pending, 3600), _now).Kind);
        Assert.Equal(DueKind.Expiry, sweeper.NextCheck(Session(SessionStatus.Open, 3600), _now).Kind);
        Assert.Equal(DueKind.Recheck, sweeper.NextCheck(Session(SessionStatus.Open, -60), _now).Kind);
    }

    [Fact]
    public void An_open_session_whose_code_outcome_is_unknown_keeps_being_rechecked()
    {
        var unknown = SessionRules.CodeOutcomeUnknown(Session(SessionStatus.Open, 3600), TestTime.Start.AddSeconds(-90), TimeSpan.FromSeconds(90));

        Assert.Equal(_now.AddSeconds(60), NextCheck(unknown));
    }

    [Fact]
    public void The_sweep_runs_every_minute_at_second_zero()
    {
        var schedule = CrontabSchedule.Parse(Schedules.Sweep, new CrontabSchedule.ParseOptions { IncludingSeconds = true });
        var start = new DateTime(2026, 11, 21, 10, 0, 30, DateTimeKind.Utc);

        var runs = schedule.GetNextOccurrences(start, start.AddHours(2)).ToArray();

        Assert.Equal(120, runs.Length);
        Assert.All(runs, r => Assert.Equal(0, r.Second));
        Assert.All(runs.Zip(runs.Skip(1)), pair => Assert.Equal(TimeSpan.FromMinutes(1), pair.Second - pair.First));
    }
}
