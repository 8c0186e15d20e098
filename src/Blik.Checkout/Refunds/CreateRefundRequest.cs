using System.Text.Json;
using Blik.Checkout.Storage;

namespace Blik.Checkout.Refunds;

/// <summary>A validated refund request: what to refund (null: what remains), why, and the merchant's metadata.</summary>
public sealed record CreateRefundRequest(long? Amount, string? Reason, IReadOnlyDictionary<string, string>? Metadata)
{
    /// <summary>The reasons Converge Gate accepts.</summary>
    public static readonly string[] Reasons = ["requested_by_customer", "duplicated", "fraudulent"];

    /// <summary>SHA-256 of the session and the normalised request: what an <c>Idempotency-Key</c> is bound to.</summary>
    public string Fingerprint(string sessionId) => IdempotencyStore.Hash(JsonSerializer.Serialize(new object?[]
    {
        sessionId, Amount, Reason,
        Metadata is null ? null : new SortedDictionary<string, string>(Metadata.ToDictionary(), StringComparer.Ordinal),
    }));
}
