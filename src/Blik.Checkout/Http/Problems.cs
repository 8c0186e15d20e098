using System.Globalization;
using Blik.Checkout.Domain;

namespace Blik.Checkout.Http;

/// <summary>
/// A request that cannot be served, as an RFC 9457 problem. Made only at the HTTP edge (from the request itself, or
/// from a <see cref="Refusal"/> by <see cref="ProblemMapping"/>), turned into <c>application/problem+json</c> in one
/// place (<see cref="HttpResults.Problem"/>).
/// </summary>
public sealed class CheckoutProblemException : Exception
{
    public CheckoutProblemException(int status, string code, string title, string detail)
        : base($"{status} {code}: {detail}")
    {
        Status = status;
        Code = code;
        Title = title;
        Detail = detail;
    }

    public int Status { get; }

    /// <summary>Short machine-readable reason; also the last segment of the problem <c>type</c>.</summary>
    public string Code { get; }
    public string Title { get; }
    public string Detail { get; }
    public IReadOnlyDictionary<string, string[]>? Errors { get; init; }
    public TimeSpan? RetryAfter { get; init; }
    public IReadOnlyDictionary<string, object?>? Extensions { get; init; }

    public string Type => "urn:blik-checkout:problem:" + Code;
}

/// <summary>Every problem the API can answer with, in one list.</summary>
public static class Problems
{
    public static CheckoutProblemException Validation(IReadOnlyDictionary<string, string[]> errors) =>
        new(400, "validation", "The request is not valid.", "One or more fields are not valid; see errors.") { Errors = errors };

    public static CheckoutProblemException MalformedJson(string detail) =>
        new(400, "malformed-json", "The body is not valid JSON.", detail) { Errors = new Dictionary<string, string[]> { ["$"] = [detail] } };

    public static CheckoutProblemException MissingClientSecret() =>
        new(401, "client-secret-required", "Client secret required.", "Send the session's client_secret in the X-Client-Secret header.");

    public static CheckoutProblemException WrongClientSecret() =>
        new(401, "client-secret-invalid", "Client secret not valid.", "The X-Client-Secret header does not match this session.");

    public static CheckoutProblemException BadSignature(string detail) =>
        new(401, "signature-invalid", "Signature not valid.", detail);

    public static CheckoutProblemException SessionNotFound() =>
        new(404, "session-not-found", "Session not found.", "There is no checkout session with this id.");

    public static CheckoutProblemException SessionNotPayable(string status) =>
        new(409, "session-not-payable", "The session cannot be paid now.", $"The session is {status}.")
        {
            Extensions = new Dictionary<string, object?> { ["session_status"] = status },
        };

    public static CheckoutProblemException SessionNotRefundable(string status) =>
        new(409, "session-not-refundable", "The session cannot be refunded.", $"Only a completed session can be refunded; this one is {status}.")
        {
            Extensions = new Dictionary<string, object?> { ["session_status"] = status },
        };

    public static CheckoutProblemException NothingToRefund() =>
        new(409, "nothing-to-refund", "Nothing left to refund.", "The session's whole amount is already refunded or being refunded.");

    public static CheckoutProblemException RefundNotFound() =>
        new(404, "refund-not-found", "Refund not found.", "This session has no refund with this id.");

    public static CheckoutProblemException PayloadTooLarge(int limit) =>
        new(413, "payload-too-large", "The body is too large.", $"Send at most {limit.ToString(CultureInfo.InvariantCulture)} bytes.");

    public static CheckoutProblemException UnsupportedMediaType(string expected) =>
        new(415, "unsupported-media-type", "Unsupported content type.", $"Send Content-Type: {expected}.");

    public static CheckoutProblemException IdempotencyKeyInvalid() =>
        new(400, "validation", "The request is not valid.", "Idempotency-Key must be 1 to 255 printable ASCII characters.")
        {
            Errors = new Dictionary<string, string[]> { ["Idempotency-Key"] = ["Must be 1 to 255 printable ASCII characters."] },
        };

    public static CheckoutProblemException IdempotencyMismatch() =>
        new(422, "idempotency-key-reused", "Idempotency key reused.", "This Idempotency-Key was used with a different request body.");

    public static CheckoutProblemException IdempotencyInFlight() =>
        new(409, "idempotency-key-in-flight", "Request in progress.", "A request with this Idempotency-Key is still being processed; retry shortly.")
        {
            RetryAfter = TimeSpan.FromSeconds(1),
        };

    public static CheckoutProblemException RefundOutcomePending(TimeSpan retryAfter) =>
        new(409, "refund-outcome-pending", "Refund outcome not known yet.",
            "The gateway was asked for this refund and its answer was lost. The amount stays reserved; retry with the same Idempotency-Key to get the refund once the gateway says whether it exists. Never retry with a new key meanwhile.")
        {
            RetryAfter = retryAfter,
        };

    public static CheckoutProblemException TooManyAttempts(TimeSpan retryAfter) =>
        new(429, "too-many-attempts", "Too many BLIK codes for this session.", "Wait before submitting another code.")
        {
            RetryAfter = retryAfter,
        };

    public static CheckoutProblemException TooManyRefreshes(TimeSpan retryAfter) =>
        new(429, "too-many-refreshes", "Refreshed moments ago.", "This session was re-read from the gateway moments ago; read it with GET, or refresh again later.")
        {
            RetryAfter = retryAfter,
        };

    /// <summary>
    /// The gateway refused the request. The detail is our own words for its reason code (<see cref="DeclineMessages"/>),
    /// never its free text; <c>gateway_error</c> carries the documented fields that identify the refusal.
    /// </summary>
    public static CheckoutProblemException GatewayRefused(GatewayError error) =>
        new(502, "gateway-refused", "The payment gateway refused the request.", RefusalDetail(error))
        {
            Extensions = new Dictionary<string, object?>
            {
                ["gateway_error"] = new Dictionary<string, object?>
                {
                    ["status"] = error.HttpStatus,
                    ["type"] = error.Type,
                    ["code"] = error.Code,
                    ["decline_code"] = error.DeclineCode,
                    ["param"] = error.Param,
                },
            },
        };

    private static string RefusalDetail(GatewayError error) =>
        (error.Code ?? error.DeclineCode) is { } reason
            ? DeclineMessages.Describe(reason)
            : $"Converge Gate refused the request and did not say why (HTTP {error.HttpStatus.ToString(CultureInfo.InvariantCulture)}{(error.Param is null ? "" : ", parameter " + error.Param)}).";

    public static CheckoutProblemException GatewayUnavailable(TimeSpan? retryAfter) =>
        new(503, "gateway-unavailable", "The payment gateway is unavailable.", "Converge Gate did not answer in time; retry shortly.")
        {
            RetryAfter = retryAfter is { } r && r > TimeSpan.Zero && r < TimeSpan.FromMinutes(5) ? r : TimeSpan.FromSeconds(5),
        };

    /// <summary>
    /// A code whose outcome is unknown: wait for <c>retry_code_after</c> (also the <c>Retry-After</c>), watching the
    /// session meanwhile, since the code may have reached the bank.
    /// </summary>
    public static CheckoutProblemException CodeOutcomeUnknown(DateTimeOffset retryCodeAfter, TimeSpan retryAfter) =>
        new(503, "gateway-unavailable", "The payment gateway did not answer.", "The code may have reached the bank; its outcome is being checked. Watch the session and ask for a new code only after retry_code_after.")
        {
            RetryAfter = retryAfter > TimeSpan.Zero ? retryAfter : TimeSpan.FromSeconds(1),
            Extensions = new Dictionary<string, object?> { ["retry_code_after"] = retryCodeAfter.ToUnixTimeSeconds() },
        };

    /// <summary>The gateway refused this service itself (key, account): an operator has been alerted.</summary>
    public static CheckoutProblemException PaymentsUnavailable() =>
        new(503, "payments-unavailable", "Payments are unavailable.", "The payment gateway refused this shop's credentials; the shop has been alerted. Try again later.")
        {
            RetryAfter = TimeSpan.FromSeconds(60),
        };

    public static CheckoutProblemException OrderHasSession(string orderId, string sessionId, string status) =>
        new(409, "order-has-session", "The order already has a session.", $"Order {orderId} already has session {sessionId}, which is {status}; an order gets another session only once its session has expired.")
        {
            Errors = new Dictionary<string, string[]> { ["order_id"] = [$"Already has session {sessionId} ({status})."] },
            Extensions = new Dictionary<string, object?> { ["order_id"] = orderId, ["session_id"] = sessionId, ["session_status"] = status },
        };

    public static CheckoutProblemException OrderInProgress(string orderId) =>
        new(409, "order-in-progress", "A session for this order is being created.", $"Another request is creating a session for order {orderId}; retry shortly.")
        {
            Errors = new Dictionary<string, string[]> { ["order_id"] = ["A session for this order is being created."] },
            Extensions = new Dictionary<string, object?> { ["order_id"] = orderId },
            RetryAfter = TimeSpan.FromSeconds(1),
        };

    public static CheckoutProblemException StorageUnavailable() =>
        new(503, "storage-unavailable", "Temporarily unavailable.", "Session storage is unavailable; retry shortly.")
        {
            RetryAfter = TimeSpan.FromSeconds(5),
        };

    public static CheckoutProblemException Unexpected() =>
        new(500, "internal", "Unexpected error.", "The request failed unexpectedly; it has been logged.");
}

/// <summary>Refusals of the application and failures of the gateway, as the problems the API answers with.</summary>
internal static class ProblemMapping
{
    public static CheckoutProblemException From(Refusal refusal) => refusal switch
    {
        Refusal.SessionNotFound => Problems.SessionNotFound(),
        Refusal.RefundNotFound => Problems.RefundNotFound(),
        Refusal.SessionNotPayable r => Problems.SessionNotPayable(r.Status.ToWire()),
        Refusal.SessionNotRefundable r => Problems.SessionNotRefundable(r.Status.ToWire()),
        Refusal.NothingToRefund => Problems.NothingToRefund(),
        Refusal.AmountOverRefundable r => Problems.Validation(new Dictionary<string, string[]>
        {
            ["amount"] = [$"Must be at most {r.Remaining.ToString(CultureInfo.InvariantCulture)}, what remains refundable of {r.Paid.ToString(CultureInfo.InvariantCulture)}."],
        }),
        Refusal.TooManyCodes r => Problems.TooManyAttempts(r.RetryAfter),
        Refusal.TooManyRefreshes r => Problems.TooManyRefreshes(r.RetryAfter),
        Refusal.PaymentsUnavailable => Problems.PaymentsUnavailable(),
        Refusal.CodeOutcomeUnknown r => Problems.CodeOutcomeUnknown(r.RetryCodeAfter, r.RetryAfter),
        Refusal.OrderHasSession r => Problems.OrderHasSession(r.OrderId, r.SessionId, r.Status.ToWire()),
        Refusal.OrderInProgress r => Problems.OrderInProgress(r.OrderId),
        Refusal.IdempotencyKeyReused => Problems.IdempotencyMismatch(),
        Refusal.InProgress => Problems.IdempotencyInFlight(),
        Refusal.RefundOutcomePending r => Problems.RefundOutcomePending(r.RetryAfter),
        Refusal.SignatureInvalid r => Problems.BadSignature(r.Detail),
        Refusal.Invalid r => Problems.Validation(r.Errors),
        _ => throw new ArgumentOutOfRangeException(nameof(refusal), refusal.GetType().Name, "A refusal without a problem."),
    };

    /// <summary>The problem for a gateway failure, or null when <paramref name="exception"/> is not one.</summary>
    public static CheckoutProblemException? FromGateway(Exception exception) => exception switch
    {
        GatewayUnavailableException e => Problems.GatewayUnavailable(e.RetryAfter),
        GatewayRejectedException e => Problems.GatewayRefused(e.Error),
        _ => null,
    };
}
