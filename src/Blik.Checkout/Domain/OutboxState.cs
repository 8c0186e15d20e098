namespace Blik.Checkout.Domain;

/// <summary>
/// The transactional outbox a session or refund row carries: whether the fulfilment message its first final state
/// owes is still unsent, since when a publisher holds the claim on it, and when it went out. It is written by the
/// same conditional write that makes the row final, so an owed message can never be lost, only sent late.
/// </summary>
public sealed record OutboxState(bool Pending, DateTimeOffset? ClaimedAt, DateTimeOffset? PublishedAt)
{
    public static readonly OutboxState None = new(false, null, null);

    /// <summary>
    /// The one rule for what a write owes: the write that first makes a row final owes its message, and holds the claim
    /// on it (only one write can win that transition, so only one publisher starts with the claim).
    /// </summary>
    public static OutboxState AfterWrite(OutboxState current, bool wasFinal, bool isFinal, DateTimeOffset now) =>
        isFinal && !wasFinal ? current with { Pending = true, ClaimedAt = now.WholeSeconds() } : current;

    /// <summary>
    /// A final row turned into another final state (an expired session the gateway completed after all): it owes a new
    /// message, claimed by this write, whether or not the previous one went out.
    /// </summary>
    public static OutboxState Reopen(OutboxState current, DateTimeOffset now) => current with { Pending = true, ClaimedAt = now.WholeSeconds() };

    /// <summary>Until when the current claim keeps other publishers off.</summary>
    public DateTimeOffset? ClaimedUntil(TimeSpan lease) => ClaimedAt + lease;

    /// <summary>This publisher takes the claim now; null when nothing is owed or another's claim still holds.</summary>
    public OutboxState? Claim(DateTimeOffset now, TimeSpan lease)
    {
        now = now.WholeSeconds();
        return Pending && (ClaimedAt is null || now >= ClaimedUntil(lease)) ? this with { ClaimedAt = now } : null;
    }

    /// <summary>The message is on the queue.</summary>
    public OutboxState Published(DateTimeOffset now) => this with { Pending = false, PublishedAt = now.WholeSeconds() };
}
