using Blik.Checkout.Domain;
using Blik.Checkout.Sessions;
using Blik.Checkout.Storage;
using Blik.Checkout.Sweeps;
using Blik.Checkout.Tests.Support;
using Microsoft.Extensions.Logging;

namespace Blik.Checkout.Tests;

/// <summary>
/// A change to a session and the work it owes as one operation, including what a crash between its steps leaves
/// for the sweep.
/// </summary>
public sealed class SessionWritesTests : IDisposable
{
    private const string Id = "2AW-writes";

    private readonly FakeStack _stack = new();

    public void Dispose() => _stack.Dispose();

    private SessionWrites Writes => _stack.Get<SessionWrites>();

    private TimeSpan Lease => _stack.Checkout.FulfilmentClaimLease;

    private CheckoutSession SeedWithExpiryEntry()
    {
        var session = _stack.Seed(Id);
        _stack.Due.ScheduleAsync(DueEntry.Expiry(session), CancellationToken.None).GetAwaiter().GetResult();
        return session;
    }

    private Task<SessionChange?> ExpireAsync(CheckoutSession? known = null) =>
        Writes.ApplyAsync(Id, known, s => SessionRules.Expire(s, _stack.Time.GetUtcNow()), "test expiry", CancellationToken.None);

    [Fact]
    public async Task Creating_a_session_writes_its_expiry_entry_first()
    {
        var session = TestSessions.Open(_stack.Time.GetUtcNow()) with { Id = Id };
        _stack.Faults.CrashAfter = _stack.Faults.Writes + 1;

        await Assert.ThrowsAsync<StorageUnavailableException>(() => Writes.CreateAsync(session, CancellationToken.None));

        Assert.Equal([DueEntry.Expiry(session)], _stack.Due.For(Id));
        Assert.Null(_stack.Sessions[Id]);
    }

    [Fact]
    public async Task A_change_that_makes_a_session_final_publishes_its_message_and_leaves_no_entry_behind()
    {
        SeedWithExpiryEntry();

        var change = await ExpireAsync();

        Assert.True(change!.Changed);
        Assert.True(change.Owed.Settled);
        Assert.Equal(SessionStatus.Expired, _stack.Sessions[Id]!.Status);
        Assert.Equal("checkout.session.expired", Assert.Single(_stack.Fulfilment).Type);
        Assert.Empty(_stack.Due.For(Id));
        Assert.Contains(_stack.LogsAt(LogLevel.Information), r => r.Message == $"Session {Id}: open -> expired (test expiry)");
    }

    [Fact]
    public async Task A_crash_between_the_final_write_and_the_publish_leaves_the_message_owed_and_the_sweep_sends_it_once_the_claim_lapses()
    {
        SeedWithExpiryEntry();
        _stack.Faults.CrashAfter = _stack.Faults.Writes + 2; // the safety entry and the row land; nothing after

        await Assert.ThrowsAsync<StorageUnavailableException>(() => ExpireAsync());
        _stack.Faults.Recover();
        var stored = _stack.Sessions[Id]!;

        Assert.True(stored.Outbox.Pending);
        Assert.Empty(_stack.Fulfilment);
        Assert.Contains(new DueEntry(Id, stored.Outbox.ClaimedAt!.Value + Lease, DueKind.OutboxSafety), _stack.Due.For(Id));

        _stack.Time.Advance(Lease);
        await _stack.Get<Sweeper>().RunAsync(CancellationToken.None);

        Assert.Single(_stack.Fulfilment);
        Assert.False(_stack.Sessions[Id]!.Outbox.Pending);
        Assert.DoesNotContain(_stack.Due.For(Id), e => e.DueAt <= _stack.Time.GetUtcNow());
    }

    [Fact]
    public async Task A_crash_before_the_row_is_written_leaves_only_an_entry_the_sweep_finds_nothing_to_send_for()
    {
        var session = SeedWithExpiryEntry();
        _stack.Faults.CrashAfter = _stack.Faults.Writes + 1; // the safety entry lands, the row does not

        await Assert.ThrowsAsync<StorageUnavailableException>(() => ExpireAsync());
        _stack.Faults.Recover();
        _stack.Time.Advance(Lease);
        await _stack.Get<Sweeper>().RunAsync(CancellationToken.None);

        Assert.Equal(SessionStatus.Open, _stack.Sessions[Id]!.Status);
        Assert.Empty(_stack.Fulfilment);
        Assert.Equal([session.ExpiresAt], _stack.Due.For(Id).Select(e => e.DueAt));
    }

    [Fact]
    public async Task A_stale_row_is_read_again_and_the_change_decided_anew()
    {
        var stale = SeedWithExpiryEntry();
        await _stack.Sessions.ReplaceAsync(stale with { Attempts = 3 }, CancellationToken.None);

        var change = await Writes.ApplyAsync(Id, stale, s => s with { LastError = SessionRules.NotConfirmed }, "test", CancellationToken.None);

        Assert.Equal((3, SessionRules.NotConfirmed), (change!.After.Attempts, change.After.LastError));
        Assert.Equal(change.After, _stack.Sessions[Id]);
    }

    [Fact]
    public async Task A_change_that_changes_nothing_writes_nothing()
    {
        SeedWithExpiryEntry();
        var writes = _stack.Faults.Writes;

        var change = await Writes.ApplyAsync(Id, null, _ => null, "test", CancellationToken.None);

        Assert.False(change!.Changed);
        Assert.Equal(writes, _stack.Faults.Writes);
    }

    [Fact]
    public async Task A_session_that_keeps_changing_under_every_attempt_is_a_concurrency_conflict()
    {
        SeedWithExpiryEntry();

        // Every time the change is decided, another writer changes the row first.
        await Assert.ThrowsAsync<ConcurrencyConflictException>(() => Writes.ApplyAsync(
            Id,
            null,
            s =>
            {
                _stack.Sessions.ReplaceAsync(_stack.Sessions[Id]! with { Attempts = s.Attempts + 1 }, CancellationToken.None).GetAwaiter().GetResult();
                return s with { LastError = SessionRules.NotConfirmed };
            },
            "test",
            CancellationToken.None));

        Assert.Null(_stack.Sessions[Id]!.LastError);
    }

    [Fact]
    public async Task A_missing_session_is_null()
    {
        Assert.Null(await ExpireAsync());
        Assert.Empty(_stack.Due.Entries);
    }
}
