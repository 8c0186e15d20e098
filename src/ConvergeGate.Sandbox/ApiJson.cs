using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace ConvergeGate.Sandbox;

/// <summary>A JSON response with exact bytes and status.</summary>
internal sealed class JsonBytesResult(int statusCode, byte[] body, IReadOnlyDictionary<string, string>? headers = null) : IResult
{
    public int StatusCode { get; } = statusCode;

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        httpContext.Response.StatusCode = StatusCode;
        httpContext.Response.ContentType = "application/json; charset=utf-8";
        if (headers is not null)
        {
            foreach (var (name, value) in headers)
            {
                httpContext.Response.Headers[name] = value;
            }
        }

        await httpContext.Response.Body.WriteAsync(body, httpContext.RequestAborted);
    }
}

/// <summary>Serializes the gateway's wire objects with exact field names (both spellings where the docs disagree).</summary>
internal static class ApiJson
{
    public static readonly JsonWriterOptions WriterOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static byte[] Write(Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            write(writer);
        }

        return buffer.ToArray();
    }

    public static IResult Session(SessionSnapshot session, string baseUrl, int status = 200) =>
        new JsonBytesResult(status, Write(w => WriteSession(w, session, baseUrl)));

    public static IResult Refund(RefundSnapshot refund) => new JsonBytesResult(200, Write(w => WriteRefund(w, refund)));

    public static IResult Error(int status, string type, string message, string? param = null, string? code = null, IReadOnlyDictionary<string, string>? headers = null) =>
        new JsonBytesResult(status, ErrorBytes(type, message, param, code), headers);

    public static byte[] ErrorBytes(string type, string message, string? param = null, string? code = null) => Write(w =>
    {
        w.WriteStartObject();
        w.WriteStartObject("error");
        w.WriteString("type", type);
        w.WriteString("message", message);
        if (param is not null)
        {
            w.WriteString("param", param);
        }

        if (code is not null)
        {
            w.WriteString("code", code);
            if (code.StartsWith("code_", StringComparison.Ordinal) || code.Contains("declined", StringComparison.Ordinal))
            {
                w.WriteString("decline_code", code);
            }
        }

        w.WriteEndObject();
        w.WriteEndObject();
    });

    public static IResult Invalid(string message, string param, string? code = null) => Error(400, "invalid_request_error", message, param, code);

    public static void WriteSession(Utf8JsonWriter w, SessionSnapshot s, string baseUrl)
    {
        w.WriteStartObject();
        w.WriteString("id", s.Id);
        w.WriteNumber("amount_total", s.AmountTotal);
        w.WriteNumber("amount_subtotal", s.AmountTotal);
        w.WriteNumber("amount_sub_total", s.AmountTotal);
        w.WriteNumber("amount_refunded", s.AmountRefunded);
        w.WriteBoolean("refunded", s.Refunded);
        w.WriteStartArray("refunds");
        foreach (var refund in s.Refunds)
        {
            WriteRefund(w, refund);
        }

        w.WriteEndArray();
        w.WriteString("currency", s.Currency);
        w.WriteString("success_url", s.SuccessUrl);
        w.WriteString("cancel_url", s.CancelUrl);
        w.WriteString("notification_url", s.NotificationUrl);
        w.WriteString("customer_firstname", s.CustomerFirstname);
        w.WriteString("customer_lastname", s.CustomerLastname);
        w.WriteString("customer_email", s.CustomerEmail);
        w.WriteString("customer_phone", s.CustomerPhone);
        w.WriteString("customer_ip", s.CustomerIp);
        w.WriteString("customer_country", s.CustomerCountry);
        w.WriteNumber("expires_at", s.ExpiresAt);
        w.WriteNumber("expire_at", s.ExpiresAt);
        w.WriteNumber("created_at", s.CreatedAt);
        w.WriteString("locale", s.Locale);
        w.WriteStartArray("payment_method_types");
        w.WriteStringValue("blik");
        w.WriteEndArray();
        WriteMetadata(w, s.Metadata);
        w.WriteString("url", baseUrl + "/pay/" + s.Id);
        w.WriteNull("fees");
        w.WriteString("status", s.Status);
        w.WriteBoolean("livemode", s.Livemode);
        if (s.LastPaymentError is { } error)
        {
            w.WriteStartObject("last_payment_error");
            w.WriteString("decline_code", error.DeclineCode);
            w.WriteString("message", error.Message);
            w.WriteEndObject();
        }
        else
        {
            w.WriteNull("last_payment_error");
        }

        w.WriteEndObject();
    }

    public static void WriteRefund(Utf8JsonWriter w, RefundSnapshot r)
    {
        w.WriteStartObject();
        w.WriteString("id", r.Id);
        w.WriteNumber("amount", r.Amount);
        w.WriteString("currency", r.Currency);
        w.WriteString("session_id", r.SessionId);
        w.WriteString("status", r.Status);
        if (r.Reason is null)
        {
            w.WriteNull("reason");
        }
        else
        {
            w.WriteString("reason", r.Reason);
        }

        WriteMetadata(w, r.Metadata);
        w.WriteNumber("created_at", r.CreatedAt);
        w.WriteBoolean("livemode", r.Livemode);
        w.WriteEndObject();
    }

    private static void WriteMetadata(Utf8JsonWriter w, IReadOnlyDictionary<string, string> metadata)
    {
        if (metadata.Count == 0)
        {
            w.WriteNull("metadata");
            return;
        }

        w.WriteStartObject("metadata");
        foreach (var (key, value) in metadata)
        {
            w.WriteString(key, value);
        }

        w.WriteEndObject();
    }
}
