using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Blik.Testing;

/// <summary>A session the API created, as a test holds it.</summary>
public sealed record CreatedSession(string Id, string ClientSecret, JsonElement View, Uri? Location);

/// <summary>
/// A fulfilment message as README.md documents it (base64 JSON on the fulfilment queue), read from the wire rather than
/// through the app's own type, so the tests check the contract.
/// </summary>
public sealed record FulfilmentMessage(
    string EventId,
    string Type,
    string SessionId,
    string? OrderId,
    string Status,
    long? Amount,
    string? Currency,
    string? RefundId,
    bool CompletedAfterExpiry = false,
    string? ExpiredBy = null,
    long? GatewayAmount = null,
    string? GatewayCurrency = null)
{
    public static FulfilmentMessage Parse(string text)
    {
        using var document = JsonDocument.Parse(text);
        var root = document.RootElement;
        string? Text(string name) => root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        return new FulfilmentMessage(
            Text("event_id") ?? throw new FormatException("no event_id: " + text),
            Text("type") ?? throw new FormatException("no type: " + text),
            Text("session_id") ?? throw new FormatException("no session_id: " + text),
            Text("order_id"),
            Text("status") ?? throw new FormatException("no status: " + text),
            root.TryGetProperty("amount", out var amount) && amount.ValueKind == JsonValueKind.Number ? amount.GetInt64() : null,
            Text("currency"),
            Text("refund_id"),
            root.TryGetProperty("completed_after_expiry", out var late) && late.ValueKind == JsonValueKind.True,
            Text("expired_by"),
            root.TryGetProperty("gateway_amount", out var taken) && taken.ValueKind == JsonValueKind.Number ? taken.GetInt64() : null,
            Text("gateway_currency"));
    }
}

/// <summary>Converge Gate notifications as the gateway sends them (its documented signature), for tests that post one by hand.</summary>
public static class Webhooks
{
    public const string Path = "/api/webhooks/convergegate";

    public static string EventBody(string sessionId, string type = "session.completed", string status = "completed", string? eventId = null, long? createdAt = null) =>
        JsonSerializer.Serialize(new
        {
            id = eventId ?? "evt_" + Guid.NewGuid().ToString("N"),
            type,
            version = "2024-01-01",
            created_at = createdAt ?? DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
            data = new { status, session_id = sessionId },
        });

    /// <summary>A signed webhook request (Sec-Timestamp, Sec-Signature over timestamp + raw body).</summary>
    public static HttpRequestMessage Request(string body, string key, string? timestamp = null, string? signature = null)
    {
        timestamp ??= DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        signature ??= Sign(key, timestamp, body);
        var request = new HttpRequestMessage(HttpMethod.Post, Path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.TryAddWithoutValidation("Sec-Timestamp", timestamp);
        request.Headers.TryAddWithoutValidation("Sec-Signature", signature);
        return request;
    }

    public static string Sign(string key, string timestamp, string body) =>
        ConvergeGate.Sandbox.WebhookSignature.Compute(key, timestamp, Encoding.UTF8.GetBytes(body));
}
