using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Blik.Checkout.Webhooks;

/// <summary>
/// What the webhook function puts on the <c>checkout-events</c> queue: identifiers only. The processor re-fetches
/// the authoritative state from the gateway, so nothing in the notification body is trusted beyond these ids.
/// <c>traceparent</c>/<c>tracestate</c> (W3C) carry the intake's span to the processor, so both are one trace.
/// <c>received_at</c> (Unix ms, our clock) is when the notification arrived: a gateway read started after it has
/// already seen what the notification announced.
/// </summary>
public sealed record EventMessage(
    [property: JsonPropertyName("event_id")] string EventId,
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("session_id")] string SessionId,
    [property: JsonPropertyName("refund_id")] string? RefundId,
    [property: JsonPropertyName("traceparent")] string? TraceParent = null,
    [property: JsonPropertyName("tracestate")] string? TraceState = null,
    [property: JsonPropertyName("received_at")] long? ReceivedAt = null)
{
    private static readonly JsonSerializerOptions Json = new() { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    public string Serialize() => JsonSerializer.Serialize(this, Json);

    /// <summary>This message carrying <paramref name="span"/>'s W3C trace context (unchanged when there is none).</summary>
    public EventMessage WithTraceContext(Activity? span) =>
        span is { IdFormat: ActivityIdFormat.W3C } ? this with { TraceParent = span.Id, TraceState = span.TraceStateString } : this;

    /// <exception cref="FormatException">The text is not an event message.</exception>
    public static EventMessage Parse(string text)
    {
        EventMessage? message;
        try
        {
            message = JsonSerializer.Deserialize<EventMessage>(text, Json);
        }
        catch (JsonException e)
        {
            throw new FormatException("The queue message is not an event message.", e);
        }

        if (message is null || string.IsNullOrEmpty(message.SessionId) || string.IsNullOrEmpty(message.EventId) || message.Type is null)
        {
            throw new FormatException("The queue message lacks event_id, type or session_id.");
        }

        return message;
    }
}
