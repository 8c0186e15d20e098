namespace Blik.Checkout.Domain;

/// <summary>What we ask Converge Gate to create (<c>POST /v1/checkout/sessions</c>).</summary>
public sealed record GatewayCreateRequest
{
    public required long Amount { get; init; }
    public required string Currency { get; init; }
    public required string CustomerEmail { get; init; }
    public required string CustomerFirstname { get; init; }
    public required string CustomerLastname { get; init; }
    public required string CustomerPhone { get; init; }
    public required string SuccessUrl { get; init; }
    public string? CancelUrl { get; init; }
    public required string NotificationUrl { get; init; }
    public string? CustomerIp { get; init; }
    public string? CustomerCountry { get; init; }
    public DateTimeOffset? ExpiresAt { get; init; }
    public string? Locale { get; init; }
    public IReadOnlyDictionary<string, string>? Metadata { get; init; }
}

/// <summary>
/// The gateway's session object, read tolerantly: both documented spellings of the disputed fields are accepted,
/// numbers may arrive as strings, and everything except <c>id</c> is optional.
/// </summary>
public sealed record GatewaySession
{
    public required string Id { get; init; }
    public string? RawStatus { get; init; }
    public SessionStatus? Status => SessionStatusNames.Parse(RawStatus);
    public long? AmountTotal { get; init; }
    public long? AmountSubtotal { get; init; }
    public long? AmountRefunded { get; init; }

    /// <summary>The session's refunds as the gateway lists them (<c>refunds</c>); null when the answer has no list.</summary>
    public IReadOnlyList<GatewayRefund>? Refunds { get; init; }

    /// <summary><c>refunded</c>: the whole amount is refunded (or being refunded); null when absent.</summary>
    public bool? Refunded { get; init; }
    public string? Currency { get; init; }
    public string? Url { get; init; }
    public DateTimeOffset? ExpiresAt { get; init; }
    public DateTimeOffset? CreatedAt { get; init; }
    public bool Livemode { get; init; }
    public IReadOnlyList<string> PaymentMethodTypes { get; init; } = [];

    /// <summary>Why the last attempt failed, where the gateway says so (not documented; read when present).</summary>
    public GatewayPaymentError? LastPaymentError { get; init; }
}

/// <summary>Why the last attempt failed: the gateway's reason code, and our words for it (<see cref="DeclineMessages"/>).</summary>
public sealed record GatewayPaymentError(string? DeclineCode, string? Message);

/// <summary>The gateway's refund object (<c>POST /v1/refunds</c>, <c>GET /v1/refunds/:id</c>), read tolerantly.</summary>
public sealed record GatewayRefund
{
    public required string Id { get; init; }
    public long? Amount { get; init; }
    public string? Currency { get; init; }
    public string? SessionId { get; init; }

    /// <summary><c>pending</c>, <c>succeeded</c> or <c>failed</c> (the documented example shows only pending).</summary>
    public string? Status { get; init; }
    public string? Reason { get; init; }
    public DateTimeOffset? CreatedAt { get; init; }
}

public sealed record GatewayRefundRequest(string SessionId, long Amount, string? Reason, IReadOnlyDictionary<string, string>? Metadata);

/// <summary>
/// The documented error object <c>{"error":{type,message,param,decline_code,…}}</c> plus the HTTP status.
/// <see cref="Message"/> is the gateway's free text (shortened, keys redacted): never shown to anyone or stored; what
/// callers see is <see cref="DeclineMessages"/>' words for <see cref="Code"/> or <see cref="DeclineCode"/>.
/// </summary>
public sealed record GatewayError(int HttpStatus, string? Type, string? Code, string? DeclineCode, string? Param, string? Message);

/// <summary>The gateway answered, with an error: our request or the payment was refused.</summary>
public sealed class GatewayRejectedException(GatewayError error)
    : Exception($"Converge Gate answered {error.HttpStatus} ({error.Type ?? "no type"}).")
{
    public GatewayError Error { get; } = error;
}

/// <summary>
/// The gateway could not be reached, timed out, throttled us or failed on its side. For a pay call the outcome is
/// then unknown (the code may have reached the bank), unless <see cref="Sent"/> is false.
/// </summary>
public sealed class GatewayUnavailableException(string reason, TimeSpan? retryAfter = null, Exception? inner = null)
    : Exception($"Converge Gate is unavailable: {reason}.", inner)
{
    public string Reason { get; } = reason;
    public TimeSpan? RetryAfter { get; } = retryAfter;

    /// <summary>
    /// False only when the request certainly never left this service (the circuit breaker refused it), so the gateway
    /// did nothing. True whenever the gateway may have received it, including when we cannot tell.
    /// </summary>
    public bool Sent { get; init; } = true;

    /// <summary>The gateway's HTTP status when it answered (429 or 5xx); null when no answer came.</summary>
    public int? HttpStatus { get; init; }

    /// <summary>
    /// Certainly nothing was done: the request never left (<see cref="Sent"/> false), or the gateway answered 429 Too
    /// Many Requests, which refuses a request before processing it.
    /// </summary>
    public bool NothingDone => !Sent || HttpStatus == 429;
}
