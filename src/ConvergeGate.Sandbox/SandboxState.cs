using Microsoft.Extensions.Logging;

namespace ConvergeGate.Sandbox;

/// <summary>Validated input of a session creation.</summary>
internal sealed record NewSession(
    long Amount,
    string Currency,
    string CustomerEmail,
    string CustomerFirstname,
    string CustomerLastname,
    string CustomerPhone,
    string SuccessUrl,
    string CancelUrl,
    string NotificationUrl,
    string CustomerIp,
    string CustomerCountry,
    long? ExpiresAt,
    string Locale,
    Dictionary<string, string> Metadata);

internal enum OperationStatus
{
    Ok,
    NotFound,
    Conflict,
    Rejected,
    Invalid,
}

internal sealed record OperationResult<T>(OperationStatus Status, T? Value, string? Message = null, string? Param = null, string? Code = null)
{
    public static OperationResult<T> Ok(T value) => new(OperationStatus.Ok, value);
}

/// <summary>All mutable sandbox state and its transitions. One lock guards everything here.</summary>
internal sealed class SandboxState
{
    public static readonly string[] RefundReasons = ["requested_by_customer", "duplicated", "fraudulent"];

    private readonly object _gate = new();
    private readonly SandboxOptions _options;
    private readonly SandboxBehaviour _behaviour;
    private readonly SandboxClock _clock;
    private readonly SandboxRandom _random;
    private readonly WebhookDispatcher _webhooks;
    private readonly ILogger _logger;
    private readonly List<Session> _sessions = [];
    private readonly Dictionary<string, Session> _byId = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Refund> _refunds = new(StringComparer.Ordinal);
    private readonly HashSet<string> _usedCodes = new(StringComparer.Ordinal);
    private long _generation;

    public SandboxState(SandboxOptions options, SandboxBehaviour behaviour, SandboxClock clock, SandboxRandom random, WebhookDispatcher webhooks, ILogger logger)
    {
        _options = options;
        _behaviour = behaviour;
        _clock = clock;
        _random = random;
        _webhooks = webhooks;
        _logger = logger;
    }

    public int SessionCount
    {
        get { lock (_gate) { return _sessions.Count; } }
    }

    public void Reset()
    {
        lock (_gate)
        {
            _sessions.Clear();
            _byId.Clear();
            _refunds.Clear();
            _usedCodes.Clear();
            _generation++;
        }
    }

    public SessionSnapshot Create(NewSession input)
    {
        lock (_gate)
        {
            var now = _clock.GetUtcNow();
            var id = _random.SessionId();
            var session = new Session
            {
                Id = id,
                Input = input,
                CreatedAt = now.ToUnixTimeSeconds(),
                ExpiresAt = input.ExpiresAt ?? now.ToUnixTimeSeconds() + (long)TimeSpan.FromHours(24).TotalSeconds,
                Status = SessionStatus.Open,
            };
            _sessions.Add(session);
            _byId[id] = session;
            var generation = _generation;
            _clock.Schedule(DateTimeOffset.FromUnixTimeSeconds(session.ExpiresAt), "expire " + id, _ => RefreshScheduled(id, generation));
            _logger.LogInformation("Checkout session {SessionId} created for {Amount} {Currency}", id, input.Amount, input.Currency);
            Publish(session, "session.created", null);
            return Snapshot(session);
        }
    }

    /// <summary>The stored id for <paramref name="id"/>: itself, or (when <paramref name="allowShort"/>) the id with the leading "2" the pay example's JSON id lacks; null when unknown.</summary>
    public string? Canonical(string id, bool allowShort)
    {
        lock (_gate)
        {
            if (_byId.ContainsKey(id))
            {
                return id;
            }

            return allowShort && _byId.ContainsKey("2" + id) ? "2" + id : null;
        }
    }

    public SessionSnapshot? FindSession(string id)
    {
        lock (_gate)
        {
            if (!_byId.TryGetValue(id, out var session))
            {
                return null;
            }

            Refresh(session);
            return Snapshot(session);
        }
    }

    public IReadOnlyList<SessionSnapshot> AllSessions()
    {
        lock (_gate)
        {
            var list = new List<SessionSnapshot>(_sessions.Count);
            foreach (var session in _sessions)
            {
                Refresh(session);
                list.Add(Snapshot(session));
            }

            return list;
        }
    }

    public RefundSnapshot? FindRefund(string id)
    {
        lock (_gate)
        {
            return _refunds.TryGetValue(id, out var refund) ? Snapshot(refund) : null;
        }
    }

    public OperationResult<SessionSnapshot> Pay(string id, string code, string channel)
    {
        lock (_gate)
        {
            if (!_byId.TryGetValue(id, out var session))
            {
                return new(OperationStatus.NotFound, null, $"No such checkout session: {id}", "id");
            }

            Refresh(session);
            if (session.Status is SessionStatus.Completed or SessionStatus.Expired)
            {
                return new(OperationStatus.Conflict, null, $"Checkout session {id} is {session.Status} and cannot be paid.", "id", "session_not_payable");
            }

            if (session.Status == SessionStatus.Pending)
            {
                return new(OperationStatus.Conflict, null, $"Checkout session {id} already has a BLIK payment awaiting confirmation.", "id", "payment_in_progress");
            }

            var now = _clock.GetUtcNow();
            var strict = _behaviour.Strict;
            var scenario = Scenario.For(code);
            if ((strict || _options.EnforceSingleUseCodes) && scenario.Kind != ScenarioKind.Rejected && _usedCodes.Contains(code))
            {
                scenario = new Scenario("code_already_used", ScenarioKind.Rejected, DeclineCodes.CodeAlreadyUsed);
            }

            if (strict)
            {
                // A real BLIK code is spent by its first submission, whatever the outcome.
                _usedCodes.Add(code);
            }

            var attempt = new Attempt { Id = _random.AttemptId(), Scenario = scenario, Channel = channel, SubmittedAt = now, Code = code };
            session.Attempts.Add(attempt);
            _logger.LogInformation("BLIK code submitted for session {SessionId} via {Channel}", id, channel);

            switch (scenario.Kind)
            {
                case ScenarioKind.Rejected:
                    attempt.Outcome = AttemptOutcome.Rejected;
                    attempt.ResolvedAt = now;
                    attempt.DeclineCode = scenario.DeclineCode;
                    session.LastPaymentError = new PaymentError(scenario.DeclineCode!, DeclineCodes.MessageFor(scenario.DeclineCode!));
                    if (strict)
                    {
                        // No page documents a refusal of a well-formed code: the answer is the session, still open.
                        return OperationResult<SessionSnapshot>.Ok(Snapshot(session));
                    }

                    return new(OperationStatus.Rejected, Snapshot(session), DeclineCodes.MessageFor(scenario.DeclineCode!), "blik_code", scenario.DeclineCode);
                case ScenarioKind.Instant:
                    session.LastPaymentError = null;
                    Complete(session, attempt, now);
                    return OperationResult<SessionSnapshot>.Ok(Snapshot(session));
                default:
                    var delay = scenario.Kind == ScenarioKind.TimedOut ? _options.BankAppWindow : _options.ConfirmationDelay;
                    attempt.ResolvesAt = now + delay;
                    session.Status = SessionStatus.Pending;
                    session.LastPaymentError = null;
                    var generation = _generation;
                    _clock.Schedule(attempt.ResolvesAt.Value, "resolve attempt " + attempt.Id, _ => RefreshScheduled(id, generation));
                    return OperationResult<SessionSnapshot>.Ok(Snapshot(session));
            }
        }
    }

    /// <summary>Completes the session now. With <paramref name="ignoreExpiry"/> an expired session (or one past its expiry, which
    /// first expires with its webhook) is completed too: the "completed after expiry" extension.</summary>
    public OperationResult<SessionSnapshot> ForceComplete(string id, bool ignoreExpiry = false)
    {
        lock (_gate)
        {
            if (!_byId.TryGetValue(id, out var session))
            {
                return new(OperationStatus.NotFound, null, $"No such checkout session: {id}", "id");
            }

            if (ignoreExpiry)
            {
                Refresh(session);
            }

            if (session.Status == SessionStatus.Completed || (session.Status == SessionStatus.Expired && !ignoreExpiry))
            {
                return new(OperationStatus.Conflict, null, $"Checkout session {id} is already {session.Status}.", "id");
            }

            var now = _clock.GetUtcNow();
            var late = session.Status == SessionStatus.Expired;
            var attempt = session.PendingAttempt ?? AddAdminAttempt(session, late ? "forced_complete_after_expiry" : "forced_complete", now);
            session.LastPaymentError = null;
            Complete(session, attempt, now);
            return OperationResult<SessionSnapshot>.Ok(Snapshot(session));
        }
    }

    /// <summary>From now on the API reports <paramref name="amountTotal"/>/<paramref name="currency"/> (when given) instead of what was created; refunds still count the created amount.</summary>
    public OperationResult<SessionSnapshot> ReportAs(string id, long? amountTotal, string? currency)
    {
        lock (_gate)
        {
            if (!_byId.TryGetValue(id, out var session))
            {
                return new(OperationStatus.NotFound, null, $"No such checkout session: {id}", "id");
            }

            session.ReportedAmount = amountTotal ?? session.ReportedAmount;
            session.ReportedCurrency = currency ?? session.ReportedCurrency;
            Refresh(session);
            return OperationResult<SessionSnapshot>.Ok(Snapshot(session));
        }
    }

    public OperationResult<SessionSnapshot> ForceExpire(string id)
    {
        lock (_gate)
        {
            if (!_byId.TryGetValue(id, out var session))
            {
                return new(OperationStatus.NotFound, null, $"No such checkout session: {id}", "id");
            }

            if (session.Status is SessionStatus.Completed or SessionStatus.Expired)
            {
                return new(OperationStatus.Conflict, null, $"Checkout session {id} is already {session.Status}.", "id");
            }

            Expire(session, _clock.GetUtcNow());
            return OperationResult<SessionSnapshot>.Ok(Snapshot(session));
        }
    }

    public OperationResult<SessionSnapshot> ForceDecline(string id, string declineCode)
    {
        lock (_gate)
        {
            if (!_byId.TryGetValue(id, out var session))
            {
                return new(OperationStatus.NotFound, null, $"No such checkout session: {id}", "id");
            }

            if (session.Status is SessionStatus.Completed or SessionStatus.Expired)
            {
                return new(OperationStatus.Conflict, null, $"Checkout session {id} is already {session.Status}.", "id");
            }

            var now = _clock.GetUtcNow();
            var attempt = session.PendingAttempt ?? AddAdminAttempt(session, "forced_decline", now);
            Decline(session, attempt, declineCode, now);
            return OperationResult<SessionSnapshot>.Ok(Snapshot(session));
        }
    }

    public OperationResult<RefundSnapshot> CreateRefund(string sessionId, long? amount, string? reason, Dictionary<string, string> metadata)
    {
        lock (_gate)
        {
            if (!_byId.TryGetValue(sessionId, out var session))
            {
                return new(OperationStatus.NotFound, null, $"No such checkout session: {sessionId}", "session_id");
            }

            Refresh(session);
            if (session.Status != SessionStatus.Completed)
            {
                return new(OperationStatus.Conflict, null, $"Checkout session {sessionId} is {session.Status}; only completed sessions can be refunded.", "session_id", "session_not_completed");
            }

            long value;
            if (_behaviour.Strict)
            {
                // The refund page documents no cap: an omitted amount is the whole session amount, whatever was refunded before.
                value = amount ?? session.Input.Amount;
            }
            else
            {
                var remaining = session.Input.Amount - session.AmountRefunded;
                if (remaining <= 0)
                {
                    return new(OperationStatus.Invalid, null, $"Checkout session {sessionId} has already been fully refunded.", "amount", "already_refunded");
                }

                value = amount ?? remaining;
                if (value > remaining)
                {
                    return new(OperationStatus.Invalid, null, $"Refund amount ({value}) is greater than the unrefunded amount of the session ({remaining}).", "amount", "amount_too_large");
                }
            }

            var now = _clock.GetUtcNow();
            var refund = new Refund
            {
                Id = _random.RefundId(),
                SessionId = sessionId,
                Amount = value,
                Currency = session.Input.Currency,
                Status = RefundStatus.Pending,
                Reason = reason,
                Metadata = metadata,
                CreatedAt = now.ToUnixTimeSeconds(),
            };
            session.Refunds.Add(refund);
            _refunds[refund.Id] = refund;
            var generation = _generation;
            _clock.Schedule(now + _options.ConfirmationDelay, "settle refund " + refund.Id, _ => SettleRefundScheduled(refund.Id, generation));
            _logger.LogInformation("Refund {RefundId} of {Amount} created for session {SessionId}", refund.Id, value, sessionId);
            Publish(session, "refund.created", refund.Id);
            return OperationResult<RefundSnapshot>.Ok(Snapshot(refund));
        }
    }

    private Task RefreshScheduled(string id, long generation)
    {
        lock (_gate)
        {
            if (generation == _generation && _byId.TryGetValue(id, out var session))
            {
                Refresh(session);
            }
        }

        return Task.CompletedTask;
    }

    private Task SettleRefundScheduled(string refundId, long generation)
    {
        lock (_gate)
        {
            if (generation != _generation || !_refunds.TryGetValue(refundId, out var refund) || refund.Status != RefundStatus.Pending)
            {
                return Task.CompletedTask;
            }

            var session = _byId[refund.SessionId];
            refund.Status = Scenario.RefundFails(refund.Amount) ? RefundStatus.Failed : RefundStatus.Succeeded;
            _logger.LogInformation("Refund {RefundId} {Status}", refund.Id, refund.Status);
            Publish(session, refund.Status == RefundStatus.Failed ? "refund.failed" : "refund.succeeded", refund.Id);
        }

        return Task.CompletedTask;
    }

    /// <summary>Applies every transition that is due on the sandbox clock: first the pending attempt (if due by expiry), then expiry.</summary>
    private void Refresh(Session session)
    {
        var now = _clock.GetUtcNow();
        var expiresAt = DateTimeOffset.FromUnixTimeSeconds(session.ExpiresAt);
        if (session.PendingAttempt is { } attempt && attempt.ResolvesAt is { } due && due <= now && due <= expiresAt)
        {
            Resolve(session, attempt, due);
        }

        if (now >= expiresAt && session.Status is SessionStatus.Open or SessionStatus.Pending)
        {
            Expire(session, expiresAt);
        }
    }

    private void Resolve(Session session, Attempt attempt, DateTimeOffset at)
    {
        switch (attempt.Scenario.Kind)
        {
            case ScenarioKind.Confirmed:
                Complete(session, attempt, at);
                break;
            default:
                Decline(session, attempt, attempt.Scenario.DeclineCode ?? DeclineCodes.IssuerDeclined, at);
                break;
        }
    }

    private void Complete(Session session, Attempt attempt, DateTimeOffset at)
    {
        attempt.Outcome = AttemptOutcome.Completed;
        attempt.ResolvedAt = at;
        session.Status = SessionStatus.Completed;
        if (attempt.Code is { } code)
        {
            _usedCodes.Add(code);
        }

        attempt.Code = null;
        _logger.LogInformation("Checkout session {SessionId} completed", session.Id);
        Publish(session, "session.completed", null);
    }

    private void Decline(Session session, Attempt attempt, string declineCode, DateTimeOffset at)
    {
        attempt.Outcome = AttemptOutcome.Declined;
        attempt.ResolvedAt = at;
        attempt.DeclineCode = declineCode;
        attempt.Code = null;
        session.Status = SessionStatus.Open;
        session.LastPaymentError = new PaymentError(declineCode, DeclineCodes.MessageFor(declineCode));
        _logger.LogInformation("BLIK attempt on session {SessionId} failed with {DeclineCode}", session.Id, declineCode);
    }

    private void Expire(Session session, DateTimeOffset at)
    {
        if (session.PendingAttempt is { } attempt)
        {
            attempt.Outcome = AttemptOutcome.Cancelled;
            attempt.ResolvedAt = at;
            attempt.Code = null;
        }

        session.Status = SessionStatus.Expired;
        _logger.LogInformation("Checkout session {SessionId} expired", session.Id);
        Publish(session, "session.expired", null);
    }

    private Attempt AddAdminAttempt(Session session, string scenario, DateTimeOffset now)
    {
        var attempt = new Attempt
        {
            Id = _random.AttemptId(),
            Scenario = new Scenario(scenario, ScenarioKind.Confirmed, null),
            Channel = "admin",
            SubmittedAt = now,
        };
        session.Attempts.Add(attempt);
        return attempt;
    }

    private void Publish(Session session, string type, string? refundId)
    {
        if (session.Input.NotificationUrl.Length == 0)
        {
            return;
        }

        var status = type.StartsWith("session.", StringComparison.Ordinal) ? session.Status : null;
        var bodySessionId = Rendering.SessionIdFor(_behaviour.PickProfile(_random), session.Id);
        _webhooks.Publish(type, session.Id, bodySessionId, refundId, status, session.Input.NotificationUrl);
    }

    private SessionSnapshot Snapshot(Session s) => new(
        s.Id,
        s.Status,
        s.Input.Amount,
        s.AmountRefunded,
        s.AmountRefunded >= s.Input.Amount,
        s.Input.Currency,
        s.Input.SuccessUrl,
        s.Input.CancelUrl,
        s.Input.NotificationUrl,
        s.Input.CustomerFirstname,
        s.Input.CustomerLastname,
        s.Input.CustomerEmail,
        s.Input.CustomerPhone,
        s.Input.CustomerIp,
        s.Input.CustomerCountry,
        s.ExpiresAt,
        s.CreatedAt,
        s.Input.Locale,
        new Dictionary<string, string>(s.Input.Metadata),
        _behaviour.ReportedLivemode,
        s.LastPaymentError,
        [.. s.Attempts.Select(a => new PaymentAttemptSnapshot(a.Id, a.Scenario.Name, a.Outcome, a.Channel, a.SubmittedAt, a.ResolvesAt, a.ResolvedAt, a.DeclineCode))],
        [.. s.Refunds.Select(Snapshot)],
        s.ReportedAmount ?? s.Input.Amount,
        s.ReportedCurrency ?? s.Input.Currency,
        s.Input.ExpiresAt is not null);

    private RefundSnapshot Snapshot(Refund r) =>
        new(r.Id, r.SessionId, r.Amount, r.Currency, r.Status, r.Reason, new Dictionary<string, string>(r.Metadata), r.CreatedAt, _behaviour.ReportedLivemode);

    private static class SessionStatus
    {
        public const string Open = "open";
        public const string Pending = "pending";
        public const string Completed = "completed";
        public const string Expired = "expired";
    }

    private static class AttemptOutcome
    {
        public const string Pending = "pending";
        public const string Completed = "completed";
        public const string Declined = "declined";
        public const string Rejected = "rejected";
        public const string Cancelled = "cancelled";
    }

    private static class RefundStatus
    {
        public const string Pending = "pending";
        public const string Succeeded = "succeeded";
        public const string Failed = "failed";
    }

    private sealed class Session
    {
        public required string Id { get; init; }

        public required NewSession Input { get; init; }

        public long CreatedAt { get; init; }

        public long ExpiresAt { get; init; }

        public required string Status { get; set; }

        public PaymentError? LastPaymentError { get; set; }

        /// <summary>Set by the report-amount extension; null = report what was created.</summary>
        public long? ReportedAmount { get; set; }

        public string? ReportedCurrency { get; set; }

        public List<Attempt> Attempts { get; } = [];

        public List<Refund> Refunds { get; } = [];

        public Attempt? PendingAttempt => Attempts.Count > 0 && Attempts[^1].Outcome == AttemptOutcome.Pending ? Attempts[^1] : null;

        public long AmountRefunded => Refunds.Where(r => r.Status != RefundStatus.Failed).Sum(r => r.Amount);
    }

    private sealed class Attempt
    {
        public required string Id { get; init; }

        public required Scenario Scenario { get; init; }

        public required string Channel { get; init; }

        public DateTimeOffset SubmittedAt { get; init; }

        public DateTimeOffset? ResolvesAt { get; set; }

        public DateTimeOffset? ResolvedAt { get; set; }

        public string Outcome { get; set; } = AttemptOutcome.Pending;

        public string? DeclineCode { get; set; }

        /// <summary>Kept only while the attempt is pending, to mark it used on success; never exposed.</summary>
        public string? Code { get; set; }
    }

    private sealed class Refund
    {
        public required string Id { get; init; }

        public required string SessionId { get; init; }

        public long Amount { get; init; }

        public required string Currency { get; init; }

        public required string Status { get; set; }

        public string? Reason { get; init; }

        public required Dictionary<string, string> Metadata { get; init; }

        public long CreatedAt { get; init; }
    }
}
