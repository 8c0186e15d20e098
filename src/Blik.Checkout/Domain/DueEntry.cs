namespace Blik.Checkout.Domain;

/// <summary>
/// Why a due entry was written. The sweep looks at the session behind any entry the same way (what it needs is
/// decided from its state, not from the entry); the kind says why the entry exists, in storage and in the code that
/// writes it, and which kind the entry's next check gets. A new kind is one more member here.
/// </summary>
public enum DueKind
{
    /// <summary>Written before entries had kinds.</summary>
    Unknown = 0,

    /// <summary>At the session's <c>expires_at</c>: expire it (after asking the gateway) unless it finished.</summary>
    Expiry,

    /// <summary>A code is in flight: ask the gateway in case its webhook does not come.</summary>
    Recheck,

    /// <summary>A write owed a fulfilment message: make sure it went once the writer's claim has lapsed.</summary>
    OutboxSafety,

    /// <summary>A refund of the session is pending at the gateway: ask again.</summary>
    RefundPending,
}

/// <summary>
/// When a session next needs the sweep's attention. Due times are whole seconds, rounded up, so an entry is never due
/// before the time it was scheduled for; a session has at most one entry per second (<see cref="SameSlot"/>), and
/// writing a second one there replaces the first.
/// </summary>
public sealed record DueEntry
{
    public DueEntry(string sessionId, DateTimeOffset dueAt, DueKind kind)
    {
        SessionId = sessionId;
        DueAt = dueAt.RoundUpToSecond();
        Kind = kind;
    }

    public string SessionId { get; }

    public DateTimeOffset DueAt { get; }

    public DueKind Kind { get; }

    /// <summary>The session's expiry entry.</summary>
    public static DueEntry Expiry(CheckoutSession session) => Expiry(session.Id, session.ExpiresAt);

    public static DueEntry Expiry(string sessionId, DateTimeOffset expiresAt) => new(sessionId, expiresAt, DueKind.Expiry);

    /// <summary>Both entries are the same stored row (same session, same second), whatever their kinds.</summary>
    public bool SameSlot(DueEntry other) => SessionId == other.SessionId && DueAt == other.DueAt;
}
