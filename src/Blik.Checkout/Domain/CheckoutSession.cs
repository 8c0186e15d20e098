namespace Blik.Checkout.Domain;

public enum SessionStatus
{
    Open,
    Pending,
    Completed,
    Expired,
}

public static class SessionStatusNames
{
    public static string ToWire(this SessionStatus status) => status switch
    {
        SessionStatus.Open => "open",
        SessionStatus.Pending => "pending",
        SessionStatus.Completed => "completed",
        SessionStatus.Expired => "expired",
        _ => throw new ArgumentOutOfRangeException(nameof(status)),
    };

    /// <summary>Reads a status as Converge Gate spells it (any case; <c>complete</c> tolerated).</summary>
    public static SessionStatus? Parse(string? value) => value?.Trim().ToLowerInvariant() switch
    {
        "open" => SessionStatus.Open,
        "pending" => SessionStatus.Pending,
        "completed" or "complete" => SessionStatus.Completed,
        "expired" => SessionStatus.Expired,
        _ => null,
    };

    /// <summary>Final states are absorbing: nothing moves a session out of them.</summary>
    public static bool IsFinal(this SessionStatus status) => status is SessionStatus.Completed or SessionStatus.Expired;
}

/// <summary>Why the last payment attempt did not succeed, in words a shop can show.</summary>
public sealed record SessionError(string Code, string Message);

/// <summary>
/// A checkout session as we keep it in Table Storage. Shopper personal data (name, e-mail, phone) is sent to the
/// gateway and not kept here; neither is the client secret (it is derived) nor any BLIK code.
/// </summary>
public sealed record CheckoutSession
{
    public required string Id { get; init; }
    public required SessionStatus Status { get; init; }
    public required long Amount { get; init; }
    public required string Currency { get; init; }
    public string? Url { get; init; }
    public required string SuccessUrl { get; init; }
    public string? CancelUrl { get; init; }
    public string? OrderId { get; init; }
    public IReadOnlyDictionary<string, string>? Metadata { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }
    public required DateTimeOffset UpdatedAt { get; init; }
    public required DateTimeOffset ExpiresAt { get; init; }
    public DateTimeOffset? CodeSubmittedAt { get; init; }
    public DateTimeOffset? RetryCodeAfter { get; init; }
    public DateTimeOffset? CompletedAt { get; init; }

    /// <summary>Codes submitted over the session's life.</summary>
    public int Attempts { get; init; }

    /// <summary>Start of the current attempt-limit window and the attempts counted in it.</summary>
    public DateTimeOffset AttemptWindowStart { get; init; } = DateTimeOffset.UnixEpoch;
    public int AttemptsInWindow { get; init; }

    public SessionError? LastError { get; init; }
    public bool Livemode { get; init; }

    /// <summary>
    /// When (our clock, taken before the request, to the millisecond) the gateway state last applied was read.
    /// A read that started earlier than this is stale and is not applied.
    /// </summary>
    public DateTimeOffset GatewayObservedAt { get; init; } = DateTimeOffset.UnixEpoch;

    /// <summary>
    /// The gateway reported <c>completed</c> after the session had expired here: it moved expired → completed (the one
    /// way out of a final state) and owes a <c>checkout.session.completed_after_expiry</c> message.
    /// </summary>
    public bool CompletedAfterExpiry { get; init; }

    /// <summary>
    /// This service expired the session without the gateway saying <c>expired</c> (the gateway no longer knew it, or
    /// kept calling it open long past its expiry): nobody can tell the shopper that no money was taken.
    /// </summary>
    public bool ExpiredLocally { get; init; }

    /// <summary>
    /// What the gateway reported for a completed session whose amount or currency differs from <see cref="Amount"/> /
    /// <see cref="Currency"/>; null when they agree (or the session is not completed).
    /// </summary>
    public long? GatewayAmount { get; init; }

    /// <inheritdoc cref="GatewayAmount"/>
    public string? GatewayCurrency { get; init; }

    /// <summary>The gateway completed the session for another amount or currency than the shop asked for.</summary>
    public bool AmountMismatch => GatewayAmount is not null || GatewayCurrency is not null;

    /// <summary>When a merchant's refresh last re-read the session from the gateway (refreshes are limited per session).</summary>
    public DateTimeOffset? LastRefreshAt { get; init; }

    /// <summary>The fulfilment message this session's final state owes, and whether it went out.</summary>
    public OutboxState Outbox { get; init; } = OutboxState.None;

    /// <summary>Bumped by every refund reservation, so two racing refunds cannot both see the same room.</summary>
    public int RefundVersion { get; init; }

    /// <summary>Storage concurrency token of the row this was read from.</summary>
    public string? ETag { get; init; }
}
