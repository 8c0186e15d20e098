namespace ConvergeGate.Sandbox;

/// <summary>Why the last BLIK attempt of a session failed (sandbox extension <c>last_payment_error</c>).</summary>
public sealed record PaymentError(string DeclineCode, string Message);

/// <summary>
/// Read-only copy of a checkout session, for assertions. <see cref="Status"/> is the sandbox's own state (<c>pending</c>
/// while an attempt awaits the bank app, even when strict-docs mode reports <c>open</c>); <see cref="AmountTotal"/> and
/// <see cref="Currency"/> are what was created, <see cref="ReportedAmountTotal"/> and <see cref="ReportedCurrency"/> what the
/// API reports (they differ only after the report-amount extension).
/// </summary>
public sealed record SessionSnapshot(
    string Id,
    string Status,
    long AmountTotal,
    long AmountRefunded,
    bool Refunded,
    string Currency,
    string SuccessUrl,
    string CancelUrl,
    string NotificationUrl,
    string CustomerFirstname,
    string CustomerLastname,
    string CustomerEmail,
    string CustomerPhone,
    string CustomerIp,
    string CustomerCountry,
    long ExpiresAt,
    long CreatedAt,
    string Locale,
    IReadOnlyDictionary<string, string> Metadata,
    bool Livemode,
    PaymentError? LastPaymentError,
    IReadOnlyList<PaymentAttemptSnapshot> Attempts,
    IReadOnlyList<RefundSnapshot> Refunds,
    long ReportedAmountTotal,
    string ReportedCurrency,
    bool ExpiresAtRequested);

/// <summary>One BLIK code submission. The code itself is never kept in snapshots; <see cref="Scenario"/> names what it triggered.</summary>
public sealed record PaymentAttemptSnapshot(
    string Id,
    string Scenario,
    string Outcome,
    string Channel,
    DateTimeOffset SubmittedAt,
    DateTimeOffset? ResolvesAt,
    DateTimeOffset? ResolvedAt,
    string? DeclineCode);

/// <summary>Read-only copy of a refund.</summary>
public sealed record RefundSnapshot(
    string Id,
    string SessionId,
    long Amount,
    string Currency,
    string Status,
    string? Reason,
    IReadOnlyDictionary<string, string> Metadata,
    long CreatedAt,
    bool Livemode);

/// <summary>Read-only copy of one webhook delivery (one event to one URL; a duplicate is a second delivery with the same event id).</summary>
public sealed record DeliverySnapshot(
    string Id,
    string EventId,
    string EventType,
    string SessionId,
    string? RefundId,
    string Url,
    string Outcome,
    string? DuplicateOf,
    string Body,
    DateTimeOffset CreatedAt,
    DateTimeOffset? NextAttemptAt,
    IReadOnlyList<DeliveryAttemptSnapshot> Attempts);

/// <summary>One HTTP attempt of a delivery. <see cref="StatusCode"/> is null on a connection failure or timeout.</summary>
public sealed record DeliveryAttemptSnapshot(
    int Number,
    DateTimeOffset At,
    string Timestamp,
    int? StatusCode,
    string? Error,
    bool SignatureCorrupted,
    bool Manual);

/// <summary>Delivery outcomes.</summary>
public static class DeliveryOutcomes
{
    public const string Pending = "pending";
    public const string Held = "held";
    public const string Succeeded = "succeeded";
    public const string Failed = "failed";
    public const string Dropped = "dropped";
}

/// <summary>Read-only view of the sandbox's sessions, in creation order. Reading applies due transitions (lazy expiry).</summary>
public sealed class SandboxSessionCollection : IReadOnlyCollection<SessionSnapshot>
{
    private readonly SandboxState _state;

    internal SandboxSessionCollection(SandboxState state) => _state = state;

    public int Count => _state.SessionCount;

    /// <summary>The session with this id (with or without its leading "2"); throws <see cref="KeyNotFoundException"/> when unknown.</summary>
    public SessionSnapshot this[string id] => Find(id) ?? throw new KeyNotFoundException($"No such checkout session: {id}");

    public SessionSnapshot? Find(string id) => _state.Canonical(id, allowShort: true) is { } canonical ? _state.FindSession(canonical) : null;

    public RefundSnapshot? FindRefund(string id) => _state.FindRefund(id);

    public IEnumerator<SessionSnapshot> GetEnumerator() => _state.AllSessions().GetEnumerator();

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>Read-only view of webhook deliveries, in creation order.</summary>
public sealed class SandboxDeliveryCollection : IReadOnlyCollection<DeliverySnapshot>
{
    private readonly WebhookDispatcher _dispatcher;

    internal SandboxDeliveryCollection(WebhookDispatcher dispatcher) => _dispatcher = dispatcher;

    public int Count => _dispatcher.All().Count;

    public DeliverySnapshot this[string id] => _dispatcher.Find(id) ?? throw new KeyNotFoundException($"No such delivery: {id}");

    public DeliverySnapshot? Find(string id) => _dispatcher.Find(id);

    public IReadOnlyList<DeliverySnapshot> ForSession(string sessionId) => [.. _dispatcher.All().Where(d => d.SessionId == sessionId)];

    public IReadOnlyList<DeliverySnapshot> OfType(string eventType) => [.. _dispatcher.All().Where(d => d.EventType == eventType)];

    /// <summary>Releases deliveries held by a reorder fault now, in the rule's order.</summary>
    public void ReleaseHeld() => _dispatcher.ReleaseHeld();

    public IEnumerator<DeliverySnapshot> GetEnumerator() => _dispatcher.All().GetEnumerator();

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}
