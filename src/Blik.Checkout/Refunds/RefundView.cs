using System.Text.Json.Serialization;
using Blik.Checkout.Domain;

namespace Blik.Checkout.Refunds;

/// <summary>A refund as the merchant API shows it. Times are Unix seconds.</summary>
public sealed record RefundView(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("session_id")] string SessionId,
    [property: JsonPropertyName("amount")] long Amount,
    [property: JsonPropertyName("currency")] string Currency,
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("reason")] string? Reason,
    [property: JsonPropertyName("metadata")] IReadOnlyDictionary<string, string>? Metadata,
    [property: JsonPropertyName("created_at")] long CreatedAt,
    [property: JsonPropertyName("updated_at")] long UpdatedAt)
{
    public static RefundView From(RefundRecord r) =>
        new(r.Id, r.SessionId, r.Amount, r.Currency, r.Status, r.Reason, r.Metadata, r.CreatedAt.ToUnixTimeSeconds(), r.UpdatedAt.ToUnixTimeSeconds());
}
