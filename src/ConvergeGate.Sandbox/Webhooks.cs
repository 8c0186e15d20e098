using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace ConvergeGate.Sandbox;

/// <summary>
/// The documented webhook signature: HMAC-SHA-256 with key = "SHA-256 of the secret API key", message = timestamp
/// string followed by the raw body. The pages do not say whether that key is the 32 raw digest bytes (the default here)
/// or the digest's hex string (<see cref="WebhookKeyDerivation.HexDigest"/>), nor the output encoding (lowercase hex here).
/// </summary>
public static class WebhookSignature
{
    public const string TimestampHeader = "Sec-Timestamp";
    public const string SignatureHeader = "Sec-Signature";

    /// <summary>Signature with the raw-digest key.</summary>
    public static string Compute(string secretKey, string timestamp, ReadOnlySpan<byte> body) =>
        Compute(secretKey, timestamp, body, WebhookKeyDerivation.RawDigest);

    /// <summary>The HMAC key for a secret key under one reading of the docs.</summary>
    public static byte[] DeriveKey(string secretKey, WebhookKeyDerivation derivation)
    {
        ArgumentNullException.ThrowIfNull(secretKey);
        var digest = SHA256.HashData(Encoding.UTF8.GetBytes(secretKey));
        return derivation == WebhookKeyDerivation.HexDigest ? Encoding.ASCII.GetBytes(Convert.ToHexStringLower(digest)) : digest;
    }

    public static string Compute(string secretKey, string timestamp, ReadOnlySpan<byte> body, WebhookKeyDerivation derivation)
    {
        ArgumentNullException.ThrowIfNull(secretKey);
        ArgumentNullException.ThrowIfNull(timestamp);
        var key = DeriveKey(secretKey, derivation);
        var stamp = Encoding.UTF8.GetBytes(timestamp);
        var message = new byte[stamp.Length + body.Length];
        stamp.CopyTo(message, 0);
        body.CopyTo(message.AsSpan(stamp.Length));
        return Convert.ToHexStringLower(HMACSHA256.HashData(key, message));
    }

    /// <summary>Constant-time check of a received signature (raw-digest key).</summary>
    public static bool Verify(string secretKey, string timestamp, ReadOnlySpan<byte> body, string signature) =>
        Verify(secretKey, timestamp, body, signature, WebhookKeyDerivation.RawDigest);

    /// <summary>Constant-time check of a received signature under one key derivation.</summary>
    public static bool Verify(string secretKey, string timestamp, ReadOnlySpan<byte> body, string signature, WebhookKeyDerivation derivation)
    {
        ArgumentNullException.ThrowIfNull(signature);
        var expected = Encoding.ASCII.GetBytes(Compute(secretKey, timestamp, body, derivation));
        var actual = Encoding.ASCII.GetBytes(signature.Trim().ToLowerInvariant());
        return CryptographicOperations.FixedTimeEquals(expected, actual);
    }
}

/// <summary>
/// Webhook retry schedule (sandbox time). The pages say only "4 retries, then exponential backoff for up to 3 days";
/// the intervals are the sandbox's choice: 4 quick retries 10 s, 30 s, 1 min, 2 min after the previous attempt, then the
/// interval doubles from 4 min, capped at 12 h, and no attempt is made more than 3 days after the first one.
/// </summary>
public static class WebhookRetrySchedule
{
    public static readonly TimeSpan GiveUpAfter = TimeSpan.FromDays(3);
    public static readonly TimeSpan MaxInterval = TimeSpan.FromHours(12);

    private static readonly TimeSpan[] Quick = [TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(2)];

    /// <summary>Wait before retry number <paramref name="retry"/> (1 = the first retry), counted from the previous attempt.</summary>
    public static TimeSpan DelayBeforeRetry(int retry)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(retry, 1);
        if (retry <= Quick.Length)
        {
            return Quick[retry - 1];
        }

        var exponent = Math.Min(retry - Quick.Length, 20);
        var delay = TimeSpan.FromMinutes(2 * Math.Pow(2, exponent));
        return delay > MaxInterval ? MaxInterval : delay;
    }

    /// <summary>Offsets from the first attempt of every retry when the receiver never succeeds (and answers instantly).</summary>
    public static IReadOnlyList<TimeSpan> RetryOffsets()
    {
        var offsets = new List<TimeSpan>();
        var at = TimeSpan.Zero;
        for (var retry = 1; ; retry++)
        {
            at += DelayBeforeRetry(retry);
            if (at > GiveUpAfter)
            {
                return offsets;
            }

            offsets.Add(at);
        }
    }
}

/// <summary>Builds, signs, sends, retries and records webhook deliveries; applies webhook faults.</summary>
internal sealed class WebhookDispatcher
{
    public const string Version = "2024-01-01";

    private readonly object _gate = new();
    private readonly SandboxClock _clock;
    private readonly SandboxBehaviour _behaviour;
    private readonly SandboxRandom _random;
    private readonly SandboxFaults _faults;
    private readonly HttpClient _http;
    private readonly string _secretKey;
    private readonly ILogger _logger;
    private readonly List<Delivery> _deliveries = [];
    private readonly List<Delivery> _held = [];
    private WebhookFaultRule? _heldRule;
    private long _generation;

    public WebhookDispatcher(SandboxClock clock, SandboxBehaviour behaviour, SandboxRandom random, SandboxFaults faults, HttpClient http, string secretKey, ILogger logger)
    {
        _clock = clock;
        _behaviour = behaviour;
        _random = random;
        _faults = faults;
        _http = http;
        _secretKey = secretKey;
        _logger = logger;
    }

    public void Reset()
    {
        lock (_gate)
        {
            _deliveries.Clear();
            _held.Clear();
            _heldRule = null;
            _generation++;
        }
    }

    public IReadOnlyList<DeliverySnapshot> All()
    {
        lock (_gate) { return [.. _deliveries.Select(d => d.Snapshot())]; }
    }

    public DeliverySnapshot? Find(string id)
    {
        lock (_gate) { return _deliveries.FirstOrDefault(d => d.Id == id)?.Snapshot(); }
    }

    /// <summary>Queues one event. <paramref name="sessionId"/> is the stored id (for lookups); <paramref name="bodySessionId"/> the id as the profile writes it.</summary>
    public void Publish(string type, string sessionId, string bodySessionId, string? refundId, string? status, string url)
    {
        var now = _clock.GetUtcNow();
        var eventId = _random.EventId();
        var body = BuildBody(eventId, type, now.ToUnixTimeSeconds(), status, bodySessionId, refundId);
        lock (_gate)
        {
            var first = new Delivery(_random.DeliveryId(), eventId, type, sessionId, refundId, url, body, now, null);
            _deliveries.Add(first);
            if (_faults.Take(WebhookFaultKind.Drop, type) is not null)
            {
                first.Outcome = DeliveryOutcomes.Dropped;
                _logger.LogInformation("Webhook {EventId} ({EventType}) dropped by fault injection", eventId, type);
                return;
            }

            var batch = new List<Delivery> { first };
            if (_faults.Take(WebhookFaultKind.Duplicate, type) is not null)
            {
                var copy = new Delivery(_random.DeliveryId(), eventId, type, sessionId, refundId, url, body, now, first.Id);
                _deliveries.Add(copy);
                batch.Add(copy);
            }

            var delay = _faults.Take(WebhookFaultKind.Delay, type) is { } delayRule ? _faults.DrawDelay(delayRule) : TimeSpan.Zero;
            var reorder = _faults.Take(WebhookFaultKind.Reorder, type);
            foreach (var delivery in batch)
            {
                if (reorder is not null)
                {
                    delivery.Outcome = DeliveryOutcomes.Held;
                    _held.Add(delivery);
                    _heldRule = reorder;
                }
                else
                {
                    ScheduleAttempt(delivery, now + delay);
                }
            }

            if (_heldRule is not null && _held.Count >= _heldRule.BatchSize)
            {
                ReleaseHeldLocked();
            }
        }
    }

    public void ReleaseHeld()
    {
        lock (_gate) { ReleaseHeldLocked(); }
    }

    /// <summary>Sends one extra attempt now (outside the retry chain) and returns the updated delivery.</summary>
    public async Task<DeliverySnapshot?> ResendAsync(string id, CancellationToken cancellationToken)
    {
        Delivery? delivery;
        lock (_gate) { delivery = _deliveries.FirstOrDefault(d => d.Id == id); }
        if (delivery is null)
        {
            return null;
        }

        await AttemptAsync(delivery, manual: true, cancellationToken).ConfigureAwait(false);
        lock (_gate) { return delivery.Snapshot(); }
    }

    private void ReleaseHeldLocked()
    {
        if (_held.Count == 0)
        {
            return;
        }

        var batch = _held.ToList();
        if (_heldRule?.Order == ReorderMode.Shuffle)
        {
            _random.Shuffle(batch);
        }
        else
        {
            batch.Reverse();
        }

        _held.Clear();
        _heldRule = null;
        var now = _clock.GetUtcNow();
        foreach (var delivery in batch)
        {
            delivery.Outcome = DeliveryOutcomes.Pending;
            ScheduleAttempt(delivery, now);
        }
    }

    private void ScheduleAttempt(Delivery delivery, DateTimeOffset at)
    {
        delivery.NextAttemptAt = at;
        var generation = _generation;
        _clock.Schedule(at, "deliver " + delivery.EventId, ct => ScheduledAttemptAsync(delivery, generation, ct));
    }

    private Task ScheduledAttemptAsync(Delivery delivery, long generation, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (generation != _generation || delivery.Outcome != DeliveryOutcomes.Pending)
            {
                return Task.CompletedTask;
            }

            delivery.NextAttemptAt = null;
        }

        return AttemptAsync(delivery, manual: false, cancellationToken);
    }

    private async Task AttemptAsync(Delivery delivery, bool manual, CancellationToken cancellationToken)
    {
        var at = _clock.GetUtcNow();
        string timestamp;
        string signature;
        lock (_gate)
        {
            if (_behaviour.Strict && delivery.FirstSigned is { } first)
            {
                // Strict: the pages never say a retry is signed afresh, so every retry repeats the first attempt's headers.
                (timestamp, signature) = first;
            }
            else
            {
                timestamp = at.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
                signature = WebhookSignature.Compute(_secretKey, timestamp, delivery.Body, _behaviour.WebhookKeyDerivation);
                delivery.FirstSigned ??= (timestamp, signature);
            }
        }

        var corrupted = _faults.Take(WebhookFaultKind.BadSignature, delivery.EventType) is not null;
        if (corrupted)
        {
            signature = Corrupt(signature);
        }

        int? statusCode = null;
        string? error = null;
        var watch = Stopwatch.StartNew();
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, delivery.Url);
            request.Content = new ByteArrayContent(delivery.Body);
            request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
            request.Headers.TryAddWithoutValidation(WebhookSignature.TimestampHeader, timestamp);
            request.Headers.TryAddWithoutValidation(WebhookSignature.SignatureHeader, signature);
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            statusCode = (int)response.StatusCode;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            error = "timeout";
        }
        catch (HttpRequestException ex)
        {
            error = "connection_failed: " + ex.HttpRequestError.ToString();
        }

        watch.Stop();
        var ok = statusCode is >= 200 and < 300;
        lock (_gate)
        {
            var number = delivery.Attempts.Count + 1;
            delivery.Attempts.Add(new DeliveryAttemptSnapshot(number, at, timestamp, statusCode, error, corrupted, manual));
            _logger.LogInformation(
                "Webhook {EventId} ({EventType}) attempt {Attempt} to {Url}: {StatusCode} {Error} in {ElapsedMs} ms",
                delivery.EventId, delivery.EventType, number, delivery.Url, statusCode, error, watch.ElapsedMilliseconds);
            if (ok)
            {
                delivery.Outcome = DeliveryOutcomes.Succeeded;
                delivery.NextAttemptAt = null;
                return;
            }

            if (manual)
            {
                return;
            }

            delivery.FirstAttemptAt ??= at;
            delivery.AutomaticRetries++;
            var next = at + WebhookRetrySchedule.DelayBeforeRetry(delivery.AutomaticRetries);
            if (next - delivery.FirstAttemptAt.Value > WebhookRetrySchedule.GiveUpAfter)
            {
                delivery.Outcome = DeliveryOutcomes.Failed;
                _logger.LogWarning("Webhook {EventId} ({EventType}) to {Url} gave up after {Attempts} attempts", delivery.EventId, delivery.EventType, delivery.Url, number);
                return;
            }

            ScheduleAttempt(delivery, next);
        }
    }

    private static string Corrupt(string signature)
    {
        var chars = signature.ToCharArray();
        chars[0] = chars[0] == '0' ? '1' : '0';
        chars[^1] = chars[^1] == 'f' ? 'e' : 'f';
        return new string(chars);
    }

    internal static byte[] BuildBody(string eventId, string type, long createdAt, string? status, string sessionId, string? refundId)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, ApiJson.WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteString("id", eventId);
            writer.WriteString("type", type);
            writer.WriteString("version", Version);
            writer.WriteNumber("created_at", createdAt);
            writer.WriteStartObject("data");
            if (status is not null)
            {
                writer.WriteString("status", status);
            }

            writer.WriteString("session_id", sessionId);
            if (refundId is not null)
            {
                writer.WriteString("refund_id", refundId);
            }

            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }

    private sealed class Delivery(string id, string eventId, string eventType, string sessionId, string? refundId, string url, byte[] body, DateTimeOffset createdAt, string? duplicateOf)
    {
        public string Id { get; } = id;

        public string EventId { get; } = eventId;

        public string EventType { get; } = eventType;

        public string Url { get; } = url;

        public byte[] Body { get; } = body;

        public string Outcome { get; set; } = DeliveryOutcomes.Pending;

        public DateTimeOffset? NextAttemptAt { get; set; }

        public DateTimeOffset? FirstAttemptAt { get; set; }

        /// <summary>Headers of the first attempt, repeated by retries in strict-docs mode.</summary>
        public (string Timestamp, string Signature)? FirstSigned { get; set; }

        public int AutomaticRetries { get; set; }

        public List<DeliveryAttemptSnapshot> Attempts { get; } = [];

        public DeliverySnapshot Snapshot() => new(
            Id, EventId, EventType, sessionId, refundId, Url, Outcome, duplicateOf, Encoding.UTF8.GetString(Body), createdAt,
            Outcome == DeliveryOutcomes.Pending ? NextAttemptAt : null, [.. Attempts]);
    }
}
