using System.Collections.Concurrent;
using Blik.Checkout.Domain;
using Blik.Checkout.Gateway;
using Blik.Checkout.Storage;

namespace Blik.Checkout.Tests.Support;

/// <summary>
/// Counts the writes every in-memory store makes and fails those after the first <see cref="CrashAfter"/>: the
/// process "dies" between two steps of an operation, and nothing after that point reaches storage.
/// </summary>
internal sealed class StorageFaults
{
    private int _writes;

    public int Writes => _writes;

    /// <summary>Writes allowed before every further one fails; null: none fail.</summary>
    public int? CrashAfter { get; set; }

    /// <summary>Fails every read too (storage unreachable).</summary>
    public bool Unreachable { get; set; }

    /// <summary>The next write whose description starts with this fails, once (a hiccup; later writes go through).</summary>
    public string? FailNextWrite { get; set; }

    public void Read(string what)
    {
        if (Unreachable)
        {
            throw new StorageUnavailableException($"{what} failed: storage could not be reached (test).", 0, null);
        }
    }

    public void Write(string what)
    {
        Read(what);
        if (FailNextWrite is { } prefix && what.StartsWith(prefix, StringComparison.Ordinal))
        {
            FailNextWrite = null;
            throw new StorageUnavailableException($"{what} failed: a hiccup (test).", 0, null);
        }

        if (Interlocked.Increment(ref _writes) > CrashAfter)
        {
            throw new StorageUnavailableException($"{what} failed: the process stopped here (test).", 0, null);
        }
    }

    /// <summary>The process is back: writes go through again.</summary>
    public void Recover()
    {
        CrashAfter = null;
        Unreachable = false;
        FailNextWrite = null;
    }
}

/// <summary>Rows with ETags, as Table Storage keeps them: conditional replace, insert that refuses a duplicate.</summary>
internal abstract class InMemoryTable<TKey, TRow>(StorageFaults faults, string name)
    where TKey : notnull
    where TRow : class
{
    private readonly ConcurrentDictionary<TKey, TRow> _rows = new();
    private long _version;

    protected StorageFaults Faults { get; } = faults;

    public IReadOnlyCollection<TRow> Rows => [.. _rows.Values];

    protected abstract string? ETagOf(TRow row);

    protected abstract TRow WithETag(TRow row, string etag);

    protected TRow? Read(TKey key)
    {
        Faults.Read("Read from " + name);
        return _rows.GetValueOrDefault(key);
    }

    protected TRow Insert(TKey key, TRow row)
    {
        Faults.Write("Insert into " + name);
        var stored = WithETag(row, NextETag());
        return _rows.TryAdd(key, stored) ? stored : throw new StorageConflictException($"{name}: {key} exists.", "EntityAlreadyExists");
    }

    protected TRow Replace(TKey key, TRow row, bool conditional = true)
    {
        Faults.Write("Replace in " + name);
        lock (_rows)
        {
            if (!_rows.TryGetValue(key, out var current))
            {
                throw new StorageNotFoundException($"{name}: {key} is gone.", "ResourceNotFound");
            }

            if (conditional && ETagOf(row) is { } etag && etag != ETagOf(current))
            {
                throw new StoragePreconditionFailedException($"{name}: {key} changed.", "UpdateConditionNotSatisfied");
            }

            var stored = WithETag(row, NextETag());
            _rows[key] = stored;
            return stored;
        }
    }

    protected void Delete(TKey key, string? etag)
    {
        Faults.Write("Delete from " + name);
        lock (_rows)
        {
            if (_rows.TryGetValue(key, out var current) && etag is not null && etag != ETagOf(current))
            {
                throw new StoragePreconditionFailedException($"{name}: {key} changed.", "UpdateConditionNotSatisfied");
            }

            _rows.TryRemove(key, out _);
        }
    }

    /// <summary>Puts a row in place without counting it as the code's write (a test's setup).</summary>
    public TRow Seed(TKey key, TRow row) => _rows[key] = WithETag(row, NextETag());

    private string NextETag() => $"W/\"{Interlocked.Increment(ref _version)}\"";
}

internal sealed class InMemorySessionStore(StorageFaults faults) : InMemoryTable<string, CheckoutSession>(faults, "sessions"), ISessionStore
{
    public CheckoutSession? this[string id] => Rows.SingleOrDefault(s => s.Id == id);

    public Task<CheckoutSession?> GetAsync(string id, CancellationToken cancellationToken) => Task.FromResult(Read(id));

    public Task<CheckoutSession> InsertAsync(CheckoutSession session, CancellationToken cancellationToken) => Task.FromResult(Insert(session.Id, session));

    public Task<CheckoutSession> ReplaceAsync(CheckoutSession session, CancellationToken cancellationToken) => Task.FromResult(Replace(session.Id, session));

    public CheckoutSession Seed(CheckoutSession session) => Seed(session.Id, session);

    protected override string? ETagOf(CheckoutSession row) => row.ETag;

    protected override CheckoutSession WithETag(CheckoutSession row, string etag) => row with { ETag = etag };
}

internal sealed class InMemoryRefundStore(StorageFaults faults) : InMemoryTable<(string, string), RefundRecord>(faults, "refunds"), IRefundStore
{
    public Task<IReadOnlyList<RefundRecord>> ListAsync(string sessionId, CancellationToken cancellationToken)
    {
        Faults.Read("Query refunds");
        return Task.FromResult<IReadOnlyList<RefundRecord>>(Rows.Where(r => r.SessionId == sessionId).OrderBy(r => r.Id, StringComparer.Ordinal).ToArray());
    }

    public Task<RefundRecord?> GetAsync(string sessionId, string refundId, CancellationToken cancellationToken) => Task.FromResult(Read((sessionId, refundId)));

    public Task<RefundRecord> InsertAsync(RefundRecord refund, CancellationToken cancellationToken) => Task.FromResult(Insert((refund.SessionId, refund.Id), refund));

    public Task<RefundRecord> ReplaceAsync(RefundRecord refund, CancellationToken cancellationToken) => Task.FromResult(Replace((refund.SessionId, refund.Id), refund));

    public Task DeleteAsync(RefundRecord refund, CancellationToken cancellationToken)
    {
        Delete((refund.SessionId, refund.Id), null);
        return Task.CompletedTask;
    }

    public RefundRecord Seed(RefundRecord refund) => Seed((refund.SessionId, refund.Id), refund);

    protected override string? ETagOf(RefundRecord row) => row.ETag;

    protected override RefundRecord WithETag(RefundRecord row, string etag) => row with { ETag = etag };
}

internal sealed class InMemoryIdempotencyRecords(StorageFaults faults) : InMemoryTable<string, IdempotencyRecord>(faults, "idempotency"), IIdempotencyRecords
{
    public Task<IdempotencyRecord?> GetAsync(string keyHash, CancellationToken cancellationToken) => Task.FromResult(Read(keyHash));

    public Task<IdempotencyRecord> InsertAsync(IdempotencyRecord record, CancellationToken cancellationToken) => Task.FromResult(Insert(record.KeyHash, record));

    public Task<IdempotencyRecord> ReplaceAsync(IdempotencyRecord record, CancellationToken cancellationToken) => Task.FromResult(Replace(record.KeyHash, record));

    public Task DeleteAsync(IdempotencyRecord record, CancellationToken cancellationToken)
    {
        Delete(record.KeyHash, record.ETag);
        return Task.CompletedTask;
    }

    protected override string? ETagOf(IdempotencyRecord row) => row.ETag;

    protected override IdempotencyRecord WithETag(IdempotencyRecord row, string etag) => row with { ETag = etag };
}

internal sealed class InMemoryOrderIndex(StorageFaults faults) : InMemoryTable<string, OrderClaim>(faults, "orders"), IOrderIndex
{
    public Task<OrderClaim?> GetAsync(string orderId, CancellationToken cancellationToken) => Task.FromResult(Read(orderId));

    public Task<OrderClaim> InsertAsync(OrderClaim claim, CancellationToken cancellationToken) => Task.FromResult(Insert(claim.OrderId, claim));

    public Task<OrderClaim> ReplaceAsync(OrderClaim claim, CancellationToken cancellationToken) => Task.FromResult(Replace(claim.OrderId, claim));

    public Task DeleteAsync(OrderClaim claim, CancellationToken cancellationToken)
    {
        Delete(claim.OrderId, claim.ETag);
        return Task.CompletedTask;
    }

    protected override string? ETagOf(OrderClaim row) => row.ETag;

    protected override OrderClaim WithETag(OrderClaim row, string etag) => row with { ETag = etag };
}

internal sealed class InMemoryProcessedEvents(StorageFaults faults) : IProcessedEvents
{
    private readonly ConcurrentDictionary<string, DateTimeOffset> _applied = new();

    public IReadOnlyDictionary<string, DateTimeOffset> Applied => _applied;

    public Task<DateTimeOffset?> AppliedAtAsync(string eventId, CancellationToken cancellationToken)
    {
        faults.Read("Read from events");
        return Task.FromResult(_applied.TryGetValue(eventId, out var at) ? at : (DateTimeOffset?)null);
    }

    public Task MarkAppliedAsync(string eventId, DateTimeOffset at, CancellationToken cancellationToken)
    {
        faults.Write("Upsert into events");
        _applied[eventId] = at;
        return Task.CompletedTask;
    }
}

internal sealed class InMemoryDueIndex(StorageFaults faults) : IDueIndex
{
    private readonly ConcurrentDictionary<(string, DateTimeOffset), DueEntry> _entries = new();

    public IReadOnlyList<DueEntry> Entries => [.. _entries.Values.OrderBy(e => e.DueAt).ThenBy(e => e.SessionId, StringComparer.Ordinal)];

    public IReadOnlyList<DueEntry> For(string sessionId) => Entries.Where(e => e.SessionId == sessionId).ToArray();

    public Task ScheduleAsync(DueEntry entry, CancellationToken cancellationToken)
    {
        faults.Write("Upsert into due");
        _entries[(entry.SessionId, entry.DueAt)] = entry;
        return Task.CompletedTask;
    }

    public Task<bool> ExistsAsync(DueEntry entry, CancellationToken cancellationToken)
    {
        faults.Read("Read from due");
        return Task.FromResult(_entries.ContainsKey((entry.SessionId, entry.DueAt)));
    }

    public Task RemoveAsync(DueEntry entry, CancellationToken cancellationToken)
    {
        faults.Write("Delete from due");
        _entries.TryRemove((entry.SessionId, entry.DueAt), out _);
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<DueEntry>> ReadDueAsync(DateTimeOffset now, int max, CancellationToken cancellationToken)
    {
        faults.Read("Query due");
        return Task.FromResult<IReadOnlyList<DueEntry>>(Entries.Where(e => e.DueAt <= now.WholeSeconds()).Take(max).ToArray());
    }
}

internal sealed class InMemoryQueues(StorageFaults faults) : IMessageQueues
{
    private readonly ConcurrentQueue<(string Queue, string Text, TimeSpan Delay)> _sent = new();

    public IReadOnlyList<string> Sent(string queueName) => _sent.Where(m => m.Queue == queueName).Select(m => m.Text).ToArray();

    /// <summary>The messages sent to a queue with how long each stays invisible.</summary>
    public IReadOnlyList<(string Text, TimeSpan Delay)> SentWithDelay(string queueName) =>
        _sent.Where(m => m.Queue == queueName).Select(m => (m.Text, m.Delay)).ToArray();

    public Task SendAsync(string queueName, string text, CancellationToken cancellationToken) =>
        SendAsync(queueName, text, TimeSpan.Zero, cancellationToken);

    /// <summary>Queues every send to which fails as unreachable storage would.</summary>
    public ConcurrentBag<string> Failing { get; } = [];

    public Task SendAsync(string queueName, string text, TimeSpan delay, CancellationToken cancellationToken)
    {
        faults.Write("Send to " + queueName);
        if (Failing.Contains(queueName))
        {
            throw new StorageUnavailableException($"Send to {queueName} failed (test).", 0, null);
        }

        _sent.Enqueue((queueName, text, delay));
        return Task.CompletedTask;
    }
}

/// <summary>
/// Converge Gate as the services see it: sessions and refunds it knows, answers scripted per call. Each call counts,
/// so a test can prove what was (or was not) asked.
/// </summary>
internal sealed class FakeGateway : IConvergeGate
{
    private int _created;

    /// <summary>The gateway's clock, for the times it stamps on what it creates.</summary>
    public TimeProvider? Time { get; set; }

    private DateTimeOffset? Now => Time?.GetUtcNow();

    public ConcurrentDictionary<string, GatewaySession> Sessions { get; } = new();

    public ConcurrentDictionary<string, GatewayRefund> Refunds { get; } = new();

    public List<string> Calls { get; } = [];

    /// <summary>What a pay call does; by default the session turns pending at the gateway (the shopper confirms).</summary>
    public Func<string, BlikCode, GatewaySession>? OnPay { get; set; }

    /// <summary>What a refund call does; by default a pending refund.</summary>
    public Func<GatewayRefundRequest, GatewayRefund>? OnRefund { get; set; }

    /// <summary>What the gateway answers to a create, from the session it would echo by default.</summary>
    public Func<GatewaySession, GatewaySession>? AnswerCreate { get; set; }

    /// <summary>Thrown by every read (GET) while set.</summary>
    public Exception? ReadsFail { get; set; }

    /// <summary>Runs inside each create call before it answers (a second request racing the first, a failure).</summary>
    public Action<GatewayCreateRequest>? OnCreate { get; set; }

    /// <summary>While set, a refund call creates the refund and then throws this instead of answering (the answer is lost).</summary>
    public Exception? RefundAnswerLost { get; set; }

    /// <summary>Whether a session read lists its refunds and <c>amount_refunded</c> (the documented fields); default yes.</summary>
    public bool SessionsListRefunds { get; set; } = true;

    public Task<GatewaySession> CreateSessionAsync(GatewayCreateRequest request, CancellationToken cancellationToken)
    {
        Record("create");
        OnCreate?.Invoke(request);
        var id = $"gw-session-{Interlocked.Increment(ref _created)}";
        var session = new GatewaySession
        {
            Id = id,
            RawStatus = "open",
            AmountTotal = request.Amount,
            Currency = request.Currency,
            Url = "https://gateway.test/pay/" + id,
            ExpiresAt = request.ExpiresAt,
        };
        session = AnswerCreate?.Invoke(session) ?? session;
        Sessions[id] = session;
        return Task.FromResult(session);
    }

    public Task<GatewaySession?> GetSessionAsync(string sessionId, CancellationToken cancellationToken)
    {
        Record("get " + sessionId);
        if (ReadsFail is { } failure)
        {
            return Task.FromException<GatewaySession?>(failure);
        }

        var session = Sessions.GetValueOrDefault(sessionId);
        if (session is null || !SessionsListRefunds)
        {
            return Task.FromResult(session);
        }

        var refunds = Refunds.Values.Where(r => r.SessionId == sessionId).OrderBy(r => r.CreatedAt).ToArray();
        return Task.FromResult<GatewaySession?>(session with
        {
            Refunds = refunds,
            AmountRefunded = refunds.Where(r => r.Status != "failed").Sum(r => r.Amount ?? 0),
        });
    }

    public Task<GatewaySession> PayAsync(string sessionId, BlikCode code, CancellationToken cancellationToken)
    {
        Record("pay " + sessionId);
        var answer = OnPay?.Invoke(sessionId, code) ?? Sessions[sessionId] with { RawStatus = "open" };
        Sessions[sessionId] = answer;

        // As HttpClient does: a caller that cancelled while the call was out loses the answer, though the gateway acted.
        cancellationToken.ThrowIfCancellationRequested();
        return Task.FromResult(answer);
    }

    public Task<GatewayRefund> CreateRefundAsync(GatewayRefundRequest request, CancellationToken cancellationToken)
    {
        Record("refund " + request.SessionId);
        var refund = OnRefund?.Invoke(request)
                     ?? new GatewayRefund { Id = $"re_{Refunds.Count + 1}", Amount = request.Amount, Currency = "pln", SessionId = request.SessionId, Status = "pending", CreatedAt = Now };
        Refunds[refund.Id] = refund;
        if (RefundAnswerLost is { } lost)
        {
            return Task.FromException<GatewayRefund>(lost);
        }

        // As over HTTP: a caller that gave up while the gateway worked gets no answer, though the refund exists.
        return cancellationToken.IsCancellationRequested ? Task.FromCanceled<GatewayRefund>(cancellationToken) : Task.FromResult(refund);
    }

    public Task<GatewayRefund?> GetRefundAsync(string refundId, CancellationToken cancellationToken)
    {
        Record("get refund " + refundId);
        return ReadsFail is { } failure ? Task.FromException<GatewayRefund?>(failure) : Task.FromResult(Refunds.GetValueOrDefault(refundId));
    }

    /// <summary>The gateway's own view moves on (a shopper confirmed, a refund settled).</summary>
    public void Set(string sessionId, string status) => Sessions[sessionId] = Sessions[sessionId] with { RawStatus = status };

    public void SetRefund(string refundId, string status) => Refunds[refundId] = Refunds[refundId] with { Status = status };

    public int Count(string callPrefix)
    {
        lock (Calls)
        {
            return Calls.Count(c => c.StartsWith(callPrefix, StringComparison.Ordinal));
        }
    }

    private void Record(string call)
    {
        lock (Calls)
        {
            Calls.Add(call);
        }
    }
}
