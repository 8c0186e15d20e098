using Blik.Checkout.Domain;
using Blik.Checkout.Storage;
using Blik.Checkout.Tests.Support;

namespace Blik.Checkout.Tests;

/// <summary><see cref="IdempotencyStore"/> over an in-memory store: which request runs, which replays, which waits.</summary>
public sealed class IdempotencyStoreTests : IDisposable
{
    private static readonly TimeSpan Lease = TimeSpan.FromMinutes(2);

    private readonly FakeStack _stack = new();
    private readonly Dictionary<string, string> _results = new(StringComparer.Ordinal);
    private int _runs;

    public void Dispose() => _stack.Dispose();

    private IdempotencyStore Store => _stack.Get<IdempotencyStore>();

    /// <summary>Runs an operation that creates "result-{n}", checkpointing it first as a real create does.</summary>
    private Task<Outcome<(string Result, bool Replayed)>> RunAsync(string? key, string request = "request-1", Func<string, Task>? afterCheckpoint = null) =>
        Store.ExecuteAsync<string>(
            key,
            request,
            Lease,
            async (scope, _) =>
            {
                var id = $"result-{Interlocked.Increment(ref _runs)}";
                scope.Creating();
                _results[id] = id;
                await scope.CheckpointAsync(id);
                if (afterCheckpoint is not null)
                {
                    await afterCheckpoint(id);
                }

                return (id, id);
            },
            LoadAsync,
            CancellationToken.None);

    private Task<Outcome<string>?> LoadAsync(string id, CancellationToken cancellationToken) =>
        Task.FromResult(_results.GetValueOrDefault(id) is { } found ? (Outcome<string>?)(Outcome<string>)found : null);

    [Fact]
    public async Task A_repeat_with_the_same_key_and_request_gets_the_first_result_without_running_again()
    {
        var first = await RunAsync("key-1");
        var repeat = await RunAsync("key-1");

        Assert.Equal(("result-1", false), first.Value);
        Assert.Equal(("result-1", true), repeat.Value);
        Assert.Equal(1, _runs);
    }

    [Fact]
    public async Task The_same_key_with_another_request_is_refused_and_runs_nothing()
    {
        await RunAsync("key-1", "request-1");

        var other = await RunAsync("key-1", "request-2");

        Assert.IsType<Refusal.IdempotencyKeyReused>(other.Refusal);
        Assert.Equal(1, _runs);
    }

    [Fact]
    public async Task Without_a_key_every_request_runs()
    {
        await RunAsync(null);
        await RunAsync(null);

        Assert.Equal(2, _runs);
        Assert.Empty(_stack.Idempotency.Rows);
    }

    [Fact]
    public async Task The_key_is_stored_only_as_a_hash()
    {
        await RunAsync("my-secret-looking-key");

        var record = Assert.Single(_stack.Idempotency.Rows);
        Assert.DoesNotContain("my-secret-looking-key", record.ToString(), StringComparison.Ordinal);
        Assert.Equal(64, record.KeyHash.Length);
    }

    [Fact]
    public async Task A_repeat_while_the_first_still_runs_and_has_recorded_nothing_is_told_to_retry()
    {
        var begin = await Store.BeginAsync("key-1", "request-1", Lease, CancellationToken.None);

        var during = await RunAsync("key-1");

        Assert.Equal(IdempotencyOutcome.Started, begin.Outcome);
        Assert.IsType<Refusal.InProgress>(during.Refusal);
        Assert.Equal(0, _runs);
    }

    [Fact]
    public async Task A_repeat_while_the_first_still_runs_gets_what_the_first_has_recorded()
    {
        Outcome<(string, bool)> during = default;

        await RunAsync("key-1", afterCheckpoint: async _ => during = await RunAsync("key-1"));

        Assert.Equal(("result-1", true), during.Value);
        Assert.Equal(1, _runs);
    }

    [Fact]
    public async Task A_failure_after_something_may_have_been_created_keeps_the_key_bound_to_it()
    {
        // A storage hiccup after the checkpoint: freeing the key would work, and would let a retry create again.
        await Assert.ThrowsAsync<StorageUnavailableException>(() =>
            RunAsync("key-1", afterCheckpoint: _ => throw new StorageUnavailableException("hiccup", 0, null)));

        var retry = await RunAsync("key-1");

        Assert.Equal(("result-1", true), retry.Value);
        Assert.Equal(1, _runs);
        Assert.False(Assert.Single(_stack.Idempotency.Rows).Done);
    }

    [Fact]
    public async Task A_failure_that_created_nothing_frees_the_key_even_after_a_checkpoint()
    {
        // E.g. a reservation was checkpointed, then the gateway refused: the operation says nothing was created.
        await Assert.ThrowsAsync<InvalidOperationException>(() => Store.ExecuteAsync<string>(
            "key-1",
            "request-1",
            Lease,
            async (scope, _) =>
            {
                await scope.CheckpointAsync("reservation-1");
                scope.Creating();
                scope.NothingCreated();
                throw new InvalidOperationException("refused");
            },
            LoadAsync,
            CancellationToken.None));

        Assert.Empty(_stack.Idempotency.Rows);
        Assert.Equal(("result-1", false), (await RunAsync("key-1")).Value);
    }

    [Fact]
    public async Task An_undecided_outcome_keeps_the_key_and_a_retry_gets_the_answer_once_it_is_known()
    {
        var known = false;
        Task<Outcome<string>?> Load(string id, CancellationToken _) => Task.FromResult<Outcome<string>?>(
            known ? (Outcome<string>)"refund-1" : new Refusal.RefundOutcomePending(TimeSpan.FromSeconds(30)));
        Task<Outcome<(string, bool)>> Run() => Store.ExecuteAsync<string>(
            "key-1",
            "request-1",
            Lease,
            async (scope, _) =>
            {
                Interlocked.Increment(ref _runs);
                await scope.CheckpointAsync("reservation-1");
                scope.Creating();
                return new Refusal.RefundOutcomePending(TimeSpan.FromSeconds(30)); // the gateway's answer was lost
            },
            Load,
            CancellationToken.None);

        var first = await Run();
        var meanwhile = await Run();
        _stack.Time.Advance(Lease);
        var afterTheLease = await Run();
        known = true;
        var once = await Run();

        Assert.IsType<Refusal.RefundOutcomePending>(first.Refusal);
        Assert.IsType<Refusal.RefundOutcomePending>(meanwhile.Refusal);
        Assert.IsType<Refusal.RefundOutcomePending>(afterTheLease.Refusal);
        Assert.Equal(("refund-1", true), once.Value);
        Assert.Equal(1, _runs);
    }

    [Fact]
    public async Task After_a_first_request_died_past_its_checkpoint_a_retry_after_the_lease_gets_what_it_had_created()
    {
        // The first request stores its checkpoint (one write after the key's insert), then the process stops.
        _stack.Faults.CrashAfter = _stack.Faults.Writes + 2;
        await Assert.ThrowsAsync<StorageUnavailableException>(() => RunAsync("key-1", afterCheckpoint: _ => throw new StorageUnavailableException("died", 0, null)));
        _stack.Faults.Recover();

        var tooEarly = await RunAsync("key-1");
        _stack.Time.Advance(Lease);
        var retry = await RunAsync("key-1");

        Assert.Equal(("result-1", true), tooEarly.Value); // what it checkpointed exists: that is the answer already
        Assert.Equal(("result-1", true), retry.Value);
        Assert.Equal(1, _runs);
        Assert.True(Assert.Single(_stack.Idempotency.Rows).Done);
    }

    [Fact]
    public async Task A_first_request_that_died_before_creating_anything_is_taken_over_after_its_lease()
    {
        var begin = await Store.BeginAsync("key-1", "request-1", Lease, CancellationToken.None);

        _stack.Time.Advance(Lease);
        var retry = await RunAsync("key-1");

        Assert.Equal(IdempotencyOutcome.Started, begin.Outcome);
        Assert.Equal(("result-1", false), retry.Value);
        Assert.NotEqual(begin.Lease, Assert.Single(_stack.Idempotency.Rows).Lease);
    }

    [Fact]
    public async Task A_refused_operation_frees_the_key_for_a_retry()
    {
        var refused = await Store.ExecuteAsync<string>(
            "key-1",
            "request-1",
            Lease,
            (_, _) => Task.FromResult<Outcome<(string, string)>>(new Refusal.NothingToRefund()),
            LoadAsync,
            CancellationToken.None);
        var retry = await RunAsync("key-1");

        Assert.IsType<Refusal.NothingToRefund>(refused.Refusal);
        Assert.Equal(("result-1", false), retry.Value);
    }

    [Fact]
    public async Task A_failed_operation_frees_the_key_for_a_retry()
    {
        await Assert.ThrowsAsync<TimeoutException>(() => Store.ExecuteAsync<string>(
            "key-1",
            "request-1",
            Lease,
            (_, _) => throw new TimeoutException(),
            LoadAsync,
            CancellationToken.None));

        Assert.Empty(_stack.Idempotency.Rows);
        Assert.Equal(("result-1", false), (await RunAsync("key-1")).Value);
    }

    [Fact]
    public async Task A_holder_whose_lease_was_taken_over_records_nothing()
    {
        var first = await Store.BeginAsync("key-1", "request-1", Lease, CancellationToken.None);
        _stack.Time.Advance(Lease);
        var second = await Store.BeginAsync("key-1", "request-1", Lease, CancellationToken.None);

        await Store.CheckpointAsync("key-1", first.Lease!, "late-result", CancellationToken.None);
        await Store.CompleteAsync("key-1", first.Lease!, "request-1", "late-result", CancellationToken.None);
        await Store.AbandonAsync("key-1", first.Lease!, CancellationToken.None);

        var record = Assert.Single(_stack.Idempotency.Rows);
        Assert.Equal(second.Lease, record.Lease);
        Assert.False(record.Done);
        Assert.Null(record.ResultId);
    }
}
