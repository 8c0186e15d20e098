using System.Text.Json;
using System.Text.Json.Serialization;
using Blik.Checkout.Domain;

namespace Blik.Checkout.Processing;

/// <summary>
/// What a shop's fulfilment reads from the fulfilment queue: one message per finished session and per finished refund.
/// Times are Unix seconds on the wire.
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
    [property: JsonPropertyName("refund_id")] string? RefundId = null)
{
    /// <summary><c>checkout.session.completed</c> or <c>checkout.session.expired</c>.</summary>
    public static string TypeFor(CheckoutSession session) => "checkout.session." + session.Status.ToWire();

    /// <summary><c>checkout.refund.succeeded</c> or <c>checkout.refund.failed</c>.</summary>
    public static string TypeFor(RefundRecord refund) => "checkout.refund." + refund.Status;

    public static FulfilmentMessage For(CheckoutSession s) => new(
        $"{s.Id}:{s.Status.ToWire()}",
        TypeFor(s),
        s.Id,
        s.OrderId,
        s.Status.ToWire(),
        s.Amount,
        s.Currency,
        s.Metadata,
        s.CompletedAt.ToUnixSeconds(),
        s.UpdatedAt.ToUnixTimeSeconds(),
        s.Livemode);

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
