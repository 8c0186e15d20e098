namespace Blik.Checkout.Domain;

/// <summary>
/// When a session next needs the sweep's attention. Due times are whole seconds, rounded up, so an entry is never due
/// before the time it was scheduled for; a session has at most one entry per second.
/// </summary>
public sealed record DueEntry
{
    public DueEntry(string sessionId, DateTimeOffset dueAt)
    {
        SessionId = sessionId;
        DueAt = dueAt.RoundUpToSecond();
    }

    public string SessionId { get; }

    public DateTimeOffset DueAt { get; }
}
