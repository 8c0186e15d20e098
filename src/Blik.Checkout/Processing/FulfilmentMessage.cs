using System.Text.Json;
using System.Text.Json.Serialization;
using Blik.Checkout.Domain;

namespace Blik.Checkout.Processing;

/// <summary>
/// What a shop's fulfilment reads from the fulfilment queue: one message per finished session and per finished refund,
/// and one more for a session that moves from expired to completed. Times are Unix seconds on the wire.
/// <c>gateway_amount</c>/<c>gateway_currency</c> are set only on <c>checkout.session.amount_mismatch</c>: what the gateway
/// says it took, beside the <c>amount</c>/<c>currency</c> the shop asked for.
/// </summary>
public sealed record FulfilmentMessage(
    [property: JsonPropertyName("event_id")] string EventId,
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("session_id")] string SessionId,
    [property: JsonPropertyName("order_id")] string? OrderId,
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("amount")] long Amount,
    [property: JsonPropertyName("currency")] string Currency,
    [property: JsonPropertyName("metadata")] IReadOnlyDictionary<string, string>? Metadata,
    [property: JsonPropertyName("completed_at")] long? CompletedAt,
    [property: JsonPropertyName("occurred_at")] long OccurredAt,
    [property: JsonPropertyName("livemode")] bool Livemode,
    [property: JsonPropertyName("refund_id")] string? RefundId = null,
    [property: JsonPropertyName("completed_after_expiry")] bool CompletedAfterExpiry = false,
    [property: JsonPropertyName("expired_by")] string? ExpiredBy = null,
    [property: JsonPropertyName("gateway_amount")] long? GatewayAmount = null,
    [property: JsonPropertyName("gateway_currency")] string? GatewayCurrency = null)
{
    public const string SessionCompleted = "checkout.session.completed";
    public const string SessionExpired = "checkout.session.expired";
    public const string SessionCompletedAfterExpiry = "checkout.session.completed_after_expiry";
    public const string SessionAmountMismatch = "checkout.session.amount_mismatch";

    /// <summary>
    /// <c>checkout.session.completed</c> or <c>checkout.session.expired</c>; a completion is
    /// <c>checkout.session.amount_mismatch</c> when the gateway took another amount or currency (do not fulfil it as
    /// paid), else <c>checkout.session.completed_after_expiry</c> when it came after the session had expired.
    /// </summary>
    public static string TypeFor(CheckoutSession session) => session switch
    {
        { Status: SessionStatus.Completed, AmountMismatch: true } => SessionAmountMismatch,
        { Status: SessionStatus.Completed, CompletedAfterExpiry: true } => SessionCompletedAfterExpiry,
        _ => "checkout.session." + session.Status.ToWire(),
    };

    /// <summary><c>checkout.refund.succeeded</c> or <c>checkout.refund.failed</c>.</summary>
    public static string TypeFor(RefundRecord refund) => "checkout.refund." + refund.Status;

    /// <summary><c>{session}:{status}</c>, or <c>{session}:{kind}</c> for the two kinds of completion that are not plain.</summary>
    public static string EventIdFor(CheckoutSession session) => TypeFor(session) switch
    {
        SessionAmountMismatch => $"{session.Id}:amount_mismatch",
        SessionCompletedAfterExpiry => $"{session.Id}:completed_after_expiry",
        _ => $"{session.Id}:{session.Status.ToWire()}",
    };

    /// <summary>Who ended an expired session: <c>gateway</c> (it said expired) or <c>checkout</c> (this service, without its word).</summary>
    public static string? ExpiredByFor(CheckoutSession session) =>
        session.Status == SessionStatus.Expired ? session.ExpiredLocally ? "checkout" : "gateway" : null;

    public static FulfilmentMessage For(CheckoutSession s) => new(
        EventIdFor(s),
        TypeFor(s),
        s.Id,
        s.OrderId,
        s.Status.ToWire(),
        s.Amount,
        s.Currency,
        s.Metadata,
        s.CompletedAt.ToUnixSeconds(),
        s.UpdatedAt.ToUnixTimeSeconds(),
        s.Livemode,
        CompletedAfterExpiry: s.CompletedAfterExpiry,
        ExpiredBy: ExpiredByFor(s),
        GatewayAmount: s.GatewayAmount,
        GatewayCurrency: s.GatewayCurrency);

    /// <param name="session">The refund's session, for the order it belongs to (null if it is gone).</param>
    public static FulfilmentMessage For(RefundRecord r, CheckoutSession? session, DateTimeOffset now) => new(
        $"refund:{r.Id}:{r.Status}",
        TypeFor(r),
        r.SessionId,
        session?.OrderId,
        r.Status,
        r.Amount,
        r.Currency,
        r.Metadata,
        session?.CompletedAt.ToUnixSeconds(),
        now.ToUnixTimeSeconds(),
        session?.Livemode ?? false,
        r.Id);

    public string Serialize() => JsonSerializer.Serialize(this);

    public static FulfilmentMessage Parse(string text) =>
        JsonSerializer.Deserialize<FulfilmentMessage>(text) ?? throw new FormatException("Not a fulfilment message.");
}
