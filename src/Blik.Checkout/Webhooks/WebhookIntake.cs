using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Blik.Checkout.Configuration;
using Blik.Checkout.Diagnostics;
using Blik.Checkout.Domain;
using Blik.Checkout.Sessions;
using Blik.Checkout.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Blik.Checkout.Webhooks;

/// <summary>
/// Verify → durably enqueue → acknowledge. Nothing is acknowledged (2xx) unless the event is on the queue; nothing
/// is queued unless the signature verifies. The body itself is not trusted beyond the ids: the processor re-fetches
/// the session from the gateway.
/// </summary>
public sealed class WebhookIntake
{
    private readonly IMessageQueues _queues;
    private readonly TimeProvider _time;
    private readonly CheckoutMetrics _metrics;
    private readonly ILogger<WebhookIntake> _logger;
    private readonly WebhookOptions _options;
    private readonly byte[][] _keys;

    public WebhookIntake(
        IMessageQueues queues,
        IOptions<ConvergeGateOptions> gatewayOptions,
        IOptions<WebhookOptions> webhookOptions,
        TimeProvider time,
        CheckoutMetrics metrics,
        ILogger<WebhookIntake> logger)
    {
        _queues = queues;
        _time = time;
        _metrics = metrics;
        _logger = logger;
        _options = webhookOptions.Value;
        _keys = gatewayOptions.Value.VerificationKeys().Select(WebhookSignature.DeriveKey).ToArray();
    }

    public int MaxBodyBytes => _options.MaxBodyBytes;

    /// <summary>The queued event, or <see cref="Refusal.SignatureInvalid"/> / <see cref="Refusal.Invalid"/> (nothing queued).</summary>
    public async Task<Outcome<EventMessage>> AcceptAsync(string? timestamp, string? signature, byte[] body, CancellationToken cancellationToken)
    {
        using var activity = CheckoutTelemetry.Source.StartActivity("webhook intake");
        if (string.IsNullOrEmpty(timestamp) || string.IsNullOrEmpty(signature) || timestamp.Length > 64)
        {
            return Reject(new Refusal.SignatureInvalid("Sec-Timestamp and Sec-Signature headers are required."), "missing headers");
        }

        if (_options.TimestampTolerance > TimeSpan.Zero)
        {
            var now = _time.GetUtcNow().ToUnixTimeSeconds();
            if (!long.TryParse(timestamp, NumberStyles.None, CultureInfo.InvariantCulture, out var sent)
                || Math.Abs(now - sent) > (long)_options.TimestampTolerance.TotalSeconds)
            {
                return Reject(new Refusal.SignatureInvalid("Sec-Timestamp is outside the accepted window."), "timestamp outside tolerance");
            }
        }

        if (!WebhookSignature.Verify(_keys, timestamp, body, signature))
        {
            return Reject(new Refusal.SignatureInvalid("Sec-Signature does not verify."), "signature mismatch");
        }

        var errors = new ValidationErrors();
        if (Parse(body, errors) is not { } parsed)
        {
            return Reject(new Refusal.Invalid(errors.ToDictionary()), "signed but malformed");
        }

        var message = parsed.WithTraceContext(Activity.Current);
        activity?.SetTag(CheckoutTelemetry.SessionIdTag, message.SessionId).SetTag("checkout.event_id", message.EventId);
        await _queues.SendAsync(QueueNames.Events, message.Serialize(), cancellationToken);
        _metrics.Webhook("accepted");
        WebhookLog.Accepted(_logger, message.EventId, message.Type, message.SessionId);
        return message;
    }

    private static EventMessage? Parse(byte[] body, ValidationErrors errors)
    {
        string? id = null, type = null, sessionId = null, refundId = null;
        try
        {
            if (!System.Text.Unicode.Utf8.IsValid(body))
            {
                throw new JsonException("not UTF-8");
            }

            using var document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 16 });
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                errors.Add("$", "The notification must be a JSON object.");
            }
            else
            {
                id = Text(root, "id", errors, required: true);
                type = Text(root, "type", errors, required: true);
                if (root.TryGetProperty("data", out var data) && data.ValueKind == JsonValueKind.Object)
                {
                    sessionId = Text(data, "session_id", errors, required: true, field: "data.session_id");
                    refundId = Text(data, "refund_id", errors, required: false, field: "data.refund_id");
                }
                else
                {
                    errors.Add("data", "Required object.");
                }
            }
        }
        catch (JsonException)
        {
            errors.Add("$", "The notification is not valid UTF-8 JSON.");
        }

        if (sessionId is not null && !SessionIds.IsValid(sessionId))
        {
            errors.Add("data.session_id", "Not a session id.");
        }

        return errors.Count > 0 ? null : new EventMessage(id!, type!, sessionId!, refundId);
    }

    private static string? Text(JsonElement obj, string name, ValidationErrors errors, bool required, string? field = null)
    {
        if (!obj.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            if (required)
            {
                errors.Add(field ?? name, "Required.");
            }

            return null;
        }

        if (value.ValueKind != JsonValueKind.String || CreateSessionValidator.TryGetWellFormedString(value) is not { Length: > 0 and <= 200 } s || s.Any(char.IsControl))
        {
            errors.Add(field ?? name, "Must be a non-empty string of at most 200 characters, without control characters.");
            return null;
        }

        return s;
    }

    private Refusal Reject(Refusal refusal, string reason)
    {
        _metrics.Webhook("rejected", reason);
        WebhookLog.Rejected(_logger, reason);
        return refusal;
    }
}
