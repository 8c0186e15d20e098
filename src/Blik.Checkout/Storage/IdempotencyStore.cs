using System.Security.Cryptography;
using System.Text;
using Blik.Checkout.Domain;

namespace Blik.Checkout.Storage;

public enum IdempotencyOutcome
{
    /// <summary>First use of the key (or a takeover of an abandoned one): go ahead, then Complete or Abandon.</summary>
    Started,

    /// <summary>The key already produced a session with the same request: answer with that session.</summary>
    Replay,

    /// <summary>The key was used with a different request.</summary>
    Mismatch,

    /// <summary>The first request with this key is still running.</summary>
    InFlight,
}

/// <param name="SessionId">With <see cref="IdempotencyOutcome.Started"/> after a takeover: what the dead first
/// request had already created (its checkpoint), for the new holder to return if it still exists; with
/// <see cref="IdempotencyOutcome.InFlight"/> what the running request has recorded so far; with
/// <see cref="IdempotencyOutcome.Replay"/> the answer.</param>
public sealed record IdempotencyBegin(IdempotencyOutcome Outcome, string? Lease = null, string? SessionId = null);

/// <summary>One <c>Idempotency-Key</c> as stored: who holds it since when, for which request, and what it produced.</summary>
/// <param name="KeyHash">SHA-256 of the key; the key itself is never stored.</param>
/// <param name="RequestHash">SHA-256 of the canonical request the key was first used with.</param>
/// <param name="Lease">The holder's token: only the request that holds it may checkpoint, complete or abandon the key.</param>
/// <param name="ResultId">What the request produced (a checkpoint while it runs, the answer once done).</param>
public sealed record IdempotencyRecord(
    string KeyHash,
    string RequestHash,
    string Lease,
    DateTimeOffset StartedAt,
    bool Done,
    string? ResultId,
    string? ETag = null);

/// <summary>
/// What an operation run under an <c>Idempotency-Key</c> tells the key while it works: the id a retry should get back
/// (<see cref="CheckpointAsync"/>), and whether something may exist now that a retry must not create again
/// (<see cref="MayHaveCreated"/>: then the key is never freed, whatever happens next).
/// </summary>
public sealed class IdempotencyScope
{
    private readonly Func<string, Task> _checkpoint;

    internal IdempotencyScope(Func<string, Task> checkpoint) => _checkpoint = checkpoint;

    /// <summary>True from <see cref="Creating"/> until <see cref="NothingCreated"/>.</summary>
    public bool MayHaveCreated { get; private set; }

    /// <summary>Records what exists so far, for a retry to get back.</summary>
    public Task CheckpointAsync(string id) => _checkpoint(id);

    /// <summary>Right before a step that may create something outside (a gateway call whose answer can be lost).</summary>
    public void Creating() => MayHaveCreated = true;

    /// <summary>The step is known to have created nothing (refused, or never sent): the key may be freed again.</summary>
    public void NothingCreated() => MayHaveCreated = false;
}

/// <summary>
/// <c>Idempotency-Key</c>s. Insert-first (never check-then-insert): the store's uniqueness on the key decides which of
/// two racing requests goes ahead. The key itself is kept only as a SHA-256 hash, the request as a hash of its
/// canonical body.
/// </summary>
public sealed class IdempotencyStore(IIdempotencyRecords records, TimeProvider time)
{
    private const int MaxBeginAttempts = 5;

    public async Task<IdempotencyBegin> BeginAsync(string key, string requestHash, TimeSpan lease, CancellationToken cancellationToken)
    {
        var keyHash = Hash(key);
        for (var attempt = 0; attempt < MaxBeginAttempts; attempt++)
        {
            var now = time.GetUtcNow().WholeSeconds();
            var ourLease = Guid.NewGuid().ToString("N");
            try
            {
                await records.InsertAsync(new IdempotencyRecord(keyHash, requestHash, ourLease, now, Done: false, ResultId: null), cancellationToken);
                return new IdempotencyBegin(IdempotencyOutcome.Started, ourLease);
            }
            catch (StorageConflictException)
            {
                // The key exists: decide from what it holds.
            }

            var existing = await records.GetAsync(keyHash, cancellationToken);
            if (existing is null)
            {
                continue; // abandoned and deleted in between: try the insert again
            }

            if (!string.Equals(existing.RequestHash, requestHash, StringComparison.Ordinal))
            {
                return new IdempotencyBegin(IdempotencyOutcome.Mismatch);
            }

            if (existing.Done)
            {
                return new IdempotencyBegin(IdempotencyOutcome.Replay, SessionId: existing.ResultId);
            }

            if (now - existing.StartedAt < lease)
            {
                return new IdempotencyBegin(IdempotencyOutcome.InFlight, SessionId: existing.ResultId);
            }

            try
            {
                // The first request died mid-way: take the key over, keeping what it had checkpointed.
                await records.ReplaceAsync(existing with { Lease = ourLease, StartedAt = now }, cancellationToken);
                return new IdempotencyBegin(IdempotencyOutcome.Started, ourLease, existing.ResultId);
            }
            catch (StoragePreconditionFailedException)
            {
                // Someone else took it over or finished it; look again.
            }
        }

        return new IdempotencyBegin(IdempotencyOutcome.InFlight);
    }

    /// <summary>
    /// Records what the request has created so far (e.g. the gateway's session id) while it still runs, so that if
    /// it dies before completing, whoever takes the key over returns that instead of creating a second one.
    /// </summary>
    public async Task CheckpointAsync(string key, string lease, string resultId, CancellationToken cancellationToken)
    {
        var existing = await records.GetAsync(Hash(key), cancellationToken);
        if (existing is null || existing.Lease != lease || existing.Done)
        {
            return;
        }

        try
        {
            await records.ReplaceAsync(existing with { ResultId = resultId }, cancellationToken);
        }
        catch (StoragePreconditionFailedException)
        {
            // Taken over meanwhile: the new holder decides.
        }
    }

    public async Task CompleteAsync(string key, string lease, string requestHash, string resultId, CancellationToken cancellationToken)
    {
        var existing = await records.GetAsync(Hash(key), cancellationToken);
        if (existing is null || existing.Lease != lease)
        {
            return; // taken over after our lease ran out; the newer holder answers for the key
        }

        try
        {
            await records.ReplaceAsync(existing with { RequestHash = requestHash, Done = true, ResultId = resultId }, cancellationToken);
        }
        catch (StoragePreconditionFailedException)
        {
            // Taken over meanwhile, or this very write landed and its answer was lost (the client repeated it):
            // either way nothing is left for this request to record.
        }
    }

    /// <summary>Frees the key after a failure that created nothing, so the caller may retry with it.</summary>
    public async Task AbandonAsync(string key, string lease, CancellationToken cancellationToken)
    {
        var existing = await records.GetAsync(Hash(key), cancellationToken);
        if (existing is not null && existing.Lease == lease && !existing.Done)
        {
            try
            {
                await records.DeleteAsync(existing, cancellationToken);
            }
            catch (StoragePreconditionFailedException)
            {
                // Changed meanwhile: leave it to its new holder.
            }
        }
    }

    /// <summary>
    /// Runs <paramref name="create"/> at most once per key and request: a repeat with the same request gets what the
    /// first produced (looked up by <paramref name="load"/> from the id it recorded, also while the first still runs),
    /// another request with the key is refused (<see cref="Refusal.IdempotencyKeyReused"/>), a repeat while the first
    /// still runs and has recorded nothing is refused (<see cref="Refusal.InProgress"/>). The key is freed for a retry
    /// only when <paramref name="create"/> refused or failed before anything may have been created
    /// (<see cref="IdempotencyScope.MayHaveCreated"/>); otherwise it stays bound to what the first request recorded.
    /// Without a key, <paramref name="create"/> simply runs.
    /// </summary>
    /// <param name="create">Does the work through its <see cref="IdempotencyScope"/>: records an id as soon as
    /// something exists that a retry should get back, says when something may be created that the key must then keep,
    /// then returns the result and its id.</param>
    /// <param name="load">What a recorded id stands for now: the answer, a refusal to answer meanwhile (the outcome is
    /// not known yet), or null when nothing exists under it (nothing was created: the work may run again).</param>
    public async Task<Outcome<(T Result, bool Replayed)>> ExecuteAsync<T>(
        string? key,
        string requestHash,
        TimeSpan lease,
        Func<IdempotencyScope, CancellationToken, Task<Outcome<(T Result, string Id)>>> create,
        Func<string, CancellationToken, Task<Outcome<T>?>> load,
        CancellationToken cancellationToken)
        where T : class
    {
        if (key is null)
        {
            var once = await create(new IdempotencyScope(_ => Task.CompletedTask), cancellationToken);
            return once.Refusal is { } refused ? refused : (once.Value.Result, false);
        }

        var begin = await BeginAsync(key, requestHash, lease, cancellationToken);
        switch (begin.Outcome)
        {
            case IdempotencyOutcome.Mismatch:
                return new Refusal.IdempotencyKeyReused();
            case IdempotencyOutcome.InFlight:
            case IdempotencyOutcome.Replay:
                // Still running or done: what it recorded is the answer (or says why there is none yet).
                return begin.SessionId is { } recorded && await load(recorded, cancellationToken) is { } earlier
                    ? earlier.Refusal is { } pending ? pending : (earlier.Value!, true)
                    : new Refusal.InProgress();
        }

        if (begin.SessionId is { } checkpointed && await load(checkpointed, cancellationToken) is { } resumed)
        {
            if (resumed.Refusal is { } notYet)
            {
                return notYet; // what the first request started is still undecided: the key stays bound to it
            }

            // The first request created this and died before answering: it is the answer.
            await CompleteAsync(key, begin.Lease!, requestHash, checkpointed, cancellationToken);
            return (resumed.Value!, true);
        }

        var scope = new IdempotencyScope(id => CheckpointAsync(key, begin.Lease!, id, cancellationToken));
        Outcome<(T Result, string Id)> created;
        try
        {
            created = await create(scope, cancellationToken);
        }
        catch
        {
            if (!scope.MayHaveCreated)
            {
                await AbandonQuietlyAsync(key, begin.Lease!);
            }

            throw;
        }

        if (created.Refusal is { } refusal)
        {
            if (!scope.MayHaveCreated)
            {
                await AbandonQuietlyAsync(key, begin.Lease!);
            }

            return refusal;
        }

        await CompleteAsync(key, begin.Lease!, requestHash, created.Value.Id, CancellationToken.None);
        return (created.Value.Result, false);
    }

    /// <summary>Nothing usable was recorded for this key: free it so the caller's retry can go ahead.</summary>
    private async Task AbandonQuietlyAsync(string key, string lease)
    {
        try
        {
            await AbandonAsync(key, lease, CancellationToken.None);
        }
        catch (Exception)
        {
            // The lease runs out on its own; a retry after it goes ahead.
        }
    }

    internal static string Hash(string value) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(value)));
}
