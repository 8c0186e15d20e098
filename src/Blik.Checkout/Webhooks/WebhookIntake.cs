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
    private readonly IProcessedEvents _processed;
    private readonly TimeProvider _time;
    private readonly CheckoutMetrics _metrics;
    private readonly ILogger<WebhookIntake> _logger;
    private readonly WebhookOptions _options;
    private readonly byte[][] _keys;

    public WebhookIntake(
        IMessageQueues queues,
        IProcessedEvents processed,
        IOptions<ConvergeGateOptions> gatewayOptions,
        IOptions<WebhookOptions> webhookOptions,
        TimeProvider time,
        CheckoutMetrics metrics,
        ILogger<WebhookIntake> logger)
    {
        _queues = queues;
        _processed = processed;
        _time = time;
        _metrics = metrics;
        _logger = logger;
        _options = webhookOptions.Value;
        _keys = gatewayOptions.Value.VerificationKeys().SelectMany(WebhookSignature.DeriveKeys).ToArray();
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

        var receivedAt = _time.GetUtcNow();
        var message = parsed.WithTraceContext(Activity.Current) with { ReceivedAt = receivedAt.ToUnixTimeMilliseconds() };
        activity?.SetTag(CheckoutTelemetry.SessionIdTag, message.SessionId).SetTag("checkout.event_id", message.EventId);
        if (await AppliedRecentlyAsync(message.EventId, receivedAt, cancellationToken))
        {
            // A replay or a redelivery of an event already applied: acknowledged, at the cost of one storage read.
            _metrics.Webhook("duplicate");
            WebhookLog.Duplicate(_logger, message.EventId, message.Type, message.SessionId);
            return message;
        }

        await _queues.SendAsync(QueueNames.Events, message.Serialize(), cancellationToken);
        _metrics.Webhook("accepted");
        WebhookLog.Accepted(_logger, message.EventId, message.Type, message.SessionId);
        return message;
    }

    /// <summary>Whether the event was applied within the replay window; an unreadable record means "no" (queue it).</summary>
    private async Task<bool> AppliedRecentlyAsync(string eventId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (_options.ReplayWindow <= TimeSpan.Zero)
        {
            return false;
        }

        try
        {
            return await _processed.AppliedAtAsync(eventId, cancellationToken) is { } at && now - at < _options.ReplayWindow;
        }
        catch (StorageException)
        {
            return false; // the queue decides then: if storage is down, its send fails and the gateway retries
        }
    }

    private const string IdentifierRule = "Must be a non-empty string of at most 200 characters, without control characters.";

    /// <summary>The ids of a notification; anything else in it is not trusted (the processor asks the gateway).</summary>
    private static EventMessage? Parse(byte[] body, ValidationErrors errors)
    {
        JsonDocument document;
        try
        {
            // The JSON reader checks UTF-8 only inside strings it reads; refuse bad bytes up front.
            document = System.Text.Unicode.Utf8.IsValid(body)
                ? JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 16 })
                : throw new JsonException("not UTF-8");
        }
        catch (JsonException)
        {
            errors.Add("$", "The notification is not valid UTF-8 JSON.");
            return null;
        }

        using (document)
        {
            if (JsonFields.Lenient(document.RootElement, errors) is not { } notification)
            {
                errors.Add("$", "The notification must be a JSON object.");
                return null;
            }

            var id = Identifier(notification, "id", required: true).Value;
            var type = Identifier(notification, "type", required: true).Value;
            var data = notification.Object("data");
            var sessionId = data is null ? null : Identifier(data, "session_id", required: true).Must(SessionIds.IsValid, "Not a session id.").Value;
            var refundId = data is null ? null : Identifier(data, "refund_id", required: false).Value;
            return errors.Count > 0 ? null : new EventMessage(id!, type!, sessionId!, refundId);
        }
    }

    private static Field<string?> Identifier(JsonFields fields, string name, bool required) =>
        fields.String(name, 200, required, invalid: IdentifierRule).Must(s => s!.Length > 0 && !s.Any(char.IsControl), IdentifierRule);

    private Refusal Reject(Refusal refusal, string reason)
    {
        _metrics.Webhook("rejected", reason);
        WebhookLog.Rejected(_logger, reason);
        return refusal;
    }
}
