using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Blik.Checkout.Configuration;
using Blik.Checkout.Diagnostics;
using Blik.Checkout.Domain;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly.CircuitBreaker;
using Polly.Timeout;

namespace Blik.Checkout.Gateway;

/// <summary>
/// HTTP adapter for Converge Gate's checkout-session API: Basic auth with the secret key, form-encoded bodies as the
/// documented curl examples send, and the gateway's answers turned into typed outcomes. Timeouts, retries of reads and
/// the circuit breaker live in the named client's pipeline (<see cref="GatewayHttp"/>); a create, a pay or a refund is
/// sent at most once.
/// </summary>
public sealed class ConvergeGateClient(
    IHttpClientFactory httpClients,
    IOptions<ConvergeGateOptions> options,
    TimeProvider time,
    ILogger<ConvergeGateClient> logger,
    CheckoutMetrics metrics) : IConvergeGate
{
    private const int MaxErrorMessageLength = 300;

    private readonly ConvergeGateOptions _options = options.Value;

    public async Task<GatewaySession> CreateSessionAsync(GatewayCreateRequest request, CancellationToken cancellationToken)
    {
        var form = new List<KeyValuePair<string, string>>
        {
            new("amount", request.Amount.ToString(CultureInfo.InvariantCulture)),
            new("currency", request.Currency),
            new("customer_email", request.CustomerEmail),
            new("customer_firstname", request.CustomerFirstname),
            new("customer_lastname", request.CustomerLastname),
            new("customer_phone", request.CustomerPhone),
            new("success_url", request.SuccessUrl),
            new("notification_url", request.NotificationUrl),
            new("payment_method", "blik"),
        };
        AddIfPresent(form, "cancel_url", request.CancelUrl);
        AddIfPresent(form, "customer_ip", request.CustomerIp);
        AddIfPresent(form, "customer_country", request.CustomerCountry);
        AddIfPresent(form, "locale", request.Locale);
        if (request.ExpiresAt is { } expiresAt)
        {
            form.Add(new("expires_at", expiresAt.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)));
        }

        if (request.Metadata is not null)
        {
            foreach (var (key, value) in request.Metadata)
            {
                form.Add(new($"metadata[{key}]", value));
            }
        }

        using var response = await SendAsync("create", () => new HttpRequestMessage(HttpMethod.Post, "v1/checkout/sessions")
        {
            Content = new FormUrlEncodedContent(form),
        }, cancellationToken);
        return await ReadSessionAsync(response, cancellationToken);
    }

    public Task<GatewaySession?> GetSessionAsync(string sessionId, CancellationToken cancellationToken) =>
        ReadAsync("get", "v1/checkout/sessions/" + Uri.EscapeDataString(sessionId), GatewayJson.ReadSession, cancellationToken);

    public async Task<GatewaySession> PayAsync(string sessionId, BlikCode code, CancellationToken cancellationToken)
    {
        var path = "v1/checkout/sessions/" + Uri.EscapeDataString(sessionId) + "/pay";
        using var response = await SendAsync("pay", () => new HttpRequestMessage(HttpMethod.Post, path)
        {
            Content = new FormUrlEncodedContent([new("blik_code", code.Reveal())]),
        }, cancellationToken);
        return await ReadSessionAsync(response, cancellationToken);
    }

    public async Task<GatewayRefund> CreateRefundAsync(GatewayRefundRequest request, CancellationToken cancellationToken)
    {
        var form = new List<KeyValuePair<string, string>>
        {
            new("session_id", request.SessionId),
            new("amount", request.Amount.ToString(CultureInfo.InvariantCulture)),
        };
        AddIfPresent(form, "reason", request.Reason);
        foreach (var (key, value) in request.Metadata ?? new Dictionary<string, string>())
        {
            form.Add(new($"metadata[{key}]", value));
        }

        using var response = await SendAsync("refund", () => new HttpRequestMessage(HttpMethod.Post, "v1/refunds")
        {
            Content = new FormUrlEncodedContent(form),
        }, cancellationToken);
        var refund = await ReadAsync(response, GatewayJson.ReadRefund, cancellationToken);
        // The refund example writes session_id without the leading character the session's URLs have: keep ours.
        return SessionIds.Same(request.SessionId, refund.SessionId) ? refund with { SessionId = request.SessionId } : refund;
    }

    public Task<GatewayRefund?> GetRefundAsync(string refundId, CancellationToken cancellationToken) =>
        ReadAsync("get_refund", "v1/refunds/" + Uri.EscapeDataString(refundId), GatewayJson.ReadRefund, cancellationToken);

    /// <summary>A GET (the pipeline retries it after a timeout, 429 or 5xx: asking again changes nothing); null on 404.</summary>
    private async Task<T?> ReadAsync<T>(string operation, string path, Func<JsonElement, T> read, CancellationToken cancellationToken)
        where T : class
    {
        try
        {
            using var response = await SendAsync(operation, () => new HttpRequestMessage(HttpMethod.Get, path), cancellationToken);
            return await ReadAsync(response, read, cancellationToken);
        }
        catch (GatewayRejectedException e) when (e.Error.HttpStatus == (int)HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    private static void AddIfPresent(List<KeyValuePair<string, string>> form, string name, string? value)
    {
        if (!string.IsNullOrEmpty(value))
        {
            form.Add(new(name, value));
        }
    }

    /// <summary>One call through the named client's pipeline; maps what comes back to the two gateway exceptions.</summary>
    private async Task<HttpResponseMessage> SendAsync(string operation, Func<HttpRequestMessage> build, CancellationToken cancellationToken)
    {
        using var request = build();
        request.Headers.Authorization = new AuthenticationHeaderValue(
            "Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(_options.SecretKey + ":")));
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));

        var started = Stopwatch.GetTimestamp();
        HttpResponseMessage response;
        try
        {
            response = await httpClients.CreateClient(GatewayHttp.ClientName).SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken);
        }
        catch (BrokenCircuitException e)
        {
            // Nothing was sent: the breaker is open because recent calls failed.
            metrics.GatewayCall(operation, "circuit_open", Stopwatch.GetElapsedTime(started));
            throw new GatewayUnavailableException("recent calls failed, so calls are paused for a moment", e.RetryAfter, e) { Sent = false };
        }
        catch (Exception e) when (e is TimeoutRejectedException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            metrics.GatewayCall(operation, "timeout", Stopwatch.GetElapsedTime(started));
            throw new GatewayUnavailableException("the request timed out", null, e);
        }
        catch (Exception e) when (e is HttpRequestException or IOException)
        {
            metrics.GatewayCall(operation, "unreachable", Stopwatch.GetElapsedTime(started));
            throw new GatewayUnavailableException("the connection failed", null, e);
        }

        var status = (int)response.StatusCode;
        metrics.GatewayCall(operation, status.ToString(CultureInfo.InvariantCulture), Stopwatch.GetElapsedTime(started));
        if (response.IsSuccessStatusCode)
        {
            return response;
        }

        using (response)
        {
            if (status is 429 or >= 500)
            {
                var retryAfter = response.Headers.RetryAfter?.Delta
                    ?? (response.Headers.RetryAfter?.Date is { } date ? date - time.GetUtcNow() : null);
                GatewayLog.GatewayFailed(logger, operation, status);
                throw new GatewayUnavailableException(
                    status == 429 ? "it is throttling requests (429)" : $"it answered {status}", retryAfter) { HttpStatus = status };
            }

            var error = await ReadErrorAsync(response, status, cancellationToken);
            if (status is 401 or 403)
            {
                // Not a business answer: the key itself is refused (a rotation gone wrong, a revoked key), so every
                // call fails. blik.gateway.calls counts it by status; this is the event to page on.
                GatewayLog.GatewayKeyRejected(logger, operation, status, error.Type);
            }
            else
            {
                GatewayLog.GatewayRejected(logger, operation, status, error.Type, error.Code ?? error.DeclineCode, error.Param);
            }
            throw new GatewayRejectedException(error);
        }
    }

    private static Task<GatewaySession> ReadSessionAsync(HttpResponseMessage response, CancellationToken cancellationToken) =>
        ReadAsync(response, GatewayJson.ReadSession, cancellationToken);

    private static async Task<T> ReadAsync<T>(HttpResponseMessage response, Func<JsonElement, T> read, CancellationToken cancellationToken)
    {
        try
        {
            await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
            using var document = await JsonDocument.ParseAsync(stream, default, cancellationToken);
            return read(document.RootElement);
        }
        catch (Exception e) when (e is JsonException or FormatException)
        {
            throw new GatewayUnavailableException($"it answered with a body that is not the expected {typeof(T).Name} object", null, e);
        }
    }

    private async Task<GatewayError> ReadErrorAsync(HttpResponseMessage response, int status, CancellationToken cancellationToken)
    {
        string? type = null, code = null, decline = null, param = null, message = null;
        try
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            using var document = JsonDocument.Parse(body);
            if (document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("error", out var error)
                && error.ValueKind == JsonValueKind.Object)
            {
                type = GatewayJson.String(error, "type");
                code = GatewayJson.String(error, "code");
                decline = GatewayJson.String(error, "decline_code");
                param = GatewayJson.String(error, "param");
                message = GatewayJson.String(error, "message");
            }
        }
        catch (JsonException)
        {
            // Not the documented error object; the status code alone has to do.
        }

        return new GatewayError(status, type, code, decline, param, Scrub(message));
    }

    /// <summary>Gateway messages are passed on to callers: cut them short and make sure no key rides along.</summary>
    private string? Scrub(string? message)
    {
        if (message is null)
        {
            return null;
        }

        foreach (var key in _options.VerificationKeys())
        {
            message = message.Replace(key, "[redacted]", StringComparison.Ordinal);
        }

        return message.Length <= MaxErrorMessageLength ? message : message[..MaxErrorMessageLength] + "…";
    }
}
