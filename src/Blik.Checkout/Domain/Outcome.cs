namespace Blik.Checkout.Domain;

/// <summary>
/// Why the service did not do what a caller asked, in the service's own terms. Operations return these inside an
/// <see cref="Outcome{T}"/>; only the HTTP edge turns them into problem details (<c>Http/ProblemMapping</c>), so
/// nothing below it knows a status code.
/// </summary>
public abstract record Refusal
{
    public sealed record SessionNotFound : Refusal;

    public sealed record RefundNotFound : Refusal;

    /// <summary>The session is final (or the gateway says it cannot take a code now).</summary>
    public sealed record SessionNotPayable(SessionStatus Status) : Refusal;

    /// <summary>Only a completed session can be refunded.</summary>
    public sealed record SessionNotRefundable(SessionStatus Status) : Refusal;

    /// <summary>The whole amount is refunded or being refunded.</summary>
    public sealed record NothingToRefund : Refusal;

    /// <summary>The amount asked for is more than what remains refundable of what was paid.</summary>
    public sealed record AmountOverRefundable(long Remaining, long Paid) : Refusal;

    /// <summary>The per-session limit of BLIK codes is used up until <see cref="RetryAfter"/> has passed.</summary>
    public sealed record TooManyCodes(TimeSpan RetryAfter) : Refusal;

    /// <summary>The session was re-read from the gateway moments ago; another re-read is allowed after <see cref="RetryAfter"/>.</summary>
    public sealed record TooManyRefreshes(TimeSpan RetryAfter) : Refusal;

    /// <summary>
    /// The gateway refused this service itself (its key revoked or wrong, or it does not know a session it created):
    /// nothing the caller can change; an operator has to. No code attempt was counted.
    /// </summary>
    public sealed record PaymentsUnavailable : Refusal;

    /// <summary>
    /// The code was sent but no answer came: it may have reached the bank. The session is re-checked; the shopper
    /// waits until <see cref="RetryCodeAfter"/> (<see cref="RetryAfter"/> from now) before a new code.
    /// </summary>
    public sealed record CodeOutcomeUnknown(DateTimeOffset RetryCodeAfter, TimeSpan RetryAfter) : Refusal;

    /// <summary>The order already has a session that is open, pending or completed: one paid session per order.</summary>
    public sealed record OrderHasSession(string OrderId, string SessionId, SessionStatus Status) : Refusal;

    /// <summary>Another create for the same order is running (or died less than a lease ago): retry shortly.</summary>
    public sealed record OrderInProgress(string OrderId) : Refusal;

    /// <summary>The <c>Idempotency-Key</c> was used with another request.</summary>
    public sealed record IdempotencyKeyReused : Refusal;

    /// <summary>
    /// An earlier request with the same <c>Idempotency-Key</c> is still running, or racing requests kept the
    /// operation from settling: the caller should retry shortly.
    /// </summary>
    public sealed record InProgress : Refusal;

    /// <summary>
    /// The gateway was asked for this refund and its answer was lost: whether it exists is not known yet. The amount
    /// stays reserved and the <c>Idempotency-Key</c> bound; retry with the same key after <see cref="RetryAfter"/>.
    /// </summary>
    public sealed record RefundOutcomePending(TimeSpan RetryAfter) : Refusal;

    /// <summary>A webhook whose signature (or timestamp) does not verify.</summary>
    public sealed record SignatureInvalid(string Detail) : Refusal;

    /// <summary>Input that is not valid, field by field.</summary>
    public sealed record Invalid(IReadOnlyDictionary<string, string[]> Errors) : Refusal;
}

/// <summary>What an operation produced, or why it refused. Converts implicitly from either.</summary>
public readonly record struct Outcome<T>
{
    private Outcome(T? value, Refusal? refusal)
    {
        Value = value;
        Refusal = refusal;
    }

    /// <summary>The result; meaningful only when <see cref="Refusal"/> is null.</summary>
    public T? Value { get; }

    public Refusal? Refusal { get; }

    public static implicit operator Outcome<T>(T value) => new(value, null);

    public static implicit operator Outcome<T>(Refusal refusal) => new(default, refusal ?? throw new ArgumentNullException(nameof(refusal)));

    /// <summary>This outcome's refusal as an outcome of another type (for passing a refusal on).</summary>
    public Outcome<TOther> Refused<TOther>() => Refusal ?? throw new InvalidOperationException("The outcome is not a refusal.");
}
