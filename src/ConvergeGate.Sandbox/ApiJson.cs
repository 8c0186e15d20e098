using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

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

/// <summary>An error object whose optional <c>code</c>/<c>decline_code</c> (sandbox extensions) are left out in strict-docs mode.</summary>
internal sealed class ErrorResult(int statusCode, string type, string message, string? param, string? code, IReadOnlyDictionary<string, string>? headers) : IResult
{
    public int StatusCode { get; } = statusCode;

    public Task ExecuteAsync(HttpContext httpContext)
    {
        // Decided when written, so every error path (pipeline, endpoints, fallback) follows the mode in force.
        var strict = httpContext.RequestServices.GetService<SandboxContext>()?.Behaviour.Strict == true;
        return new JsonBytesResult(StatusCode, ApiJson.ErrorBytes(type, message, param, strict ? null : code), headers).ExecuteAsync(httpContext);
    }
}

/// <summary>How one response is written: the (resolved, never mixed) profile and whether strict-docs mode hides the extensions.</summary>
internal sealed record Rendering(ResponseProfile Profile, bool Strict, string BaseUrl)
{
    /// <summary>For an API response or webhook: the profile in force, a mixed profile resolved for this response.</summary>
    public static Rendering For(SandboxContext ctx) => new(ctx.Behaviour.PickProfile(ctx.Random), ctx.Behaviour.Strict, ctx.BaseUrl);

    /// <summary>For the admin API's own views: every field, both spellings, canonical ids.</summary>
    public static Rendering Admin(SandboxContext ctx) => new(ResponseProfile.BothSpellings, false, ctx.BaseUrl);

    /// <summary>The session id as this profile writes it in JSON: the pay example drops the leading "2" the path id has.</summary>
    public string SessionId(string canonicalId) => SessionIdFor(Profile, canonicalId);

    public static string SessionIdFor(ResponseProfile profile, string canonicalId) =>
        profile == ResponseProfile.PayExample && canonicalId.StartsWith('2') ? canonicalId[1..] : canonicalId;
}

/// <summary>Serializes the gateway's wire objects with the field names of the profile in force.</summary>
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

    public static IResult Session(SessionSnapshot session, Rendering rendering, int status = 200) =>
        new JsonBytesResult(status, Write(w => WriteSession(w, session, rendering)));

    public static IResult Refund(RefundSnapshot refund, Rendering rendering) => new JsonBytesResult(200, Write(w => WriteRefund(w, refund, rendering)));

    public static IResult Error(int status, string type, string message, string? param = null, string? code = null, IReadOnlyDictionary<string, string>? headers = null) =>
        new ErrorResult(status, type, message, param, code, headers);

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

    public static void WriteSession(Utf8JsonWriter w, SessionSnapshot s, Rendering r)
    {
        var p = r.Profile;
        var both = p == ResponseProfile.BothSpellings;
        w.WriteStartObject();
        w.WriteString("id", r.SessionId(s.Id));
        w.WriteNumber("amount_total", s.ReportedAmountTotal);
        if (both || p == ResponseProfile.RetrieveExample)
        {
            w.WriteNumber("amount_subtotal", s.ReportedAmountTotal);
        }

        if (both || p is ResponseProfile.CreateExample or ResponseProfile.PayExample)
        {
            w.WriteNumber("amount_sub_total", s.ReportedAmountTotal);
        }

        w.WriteNumber("amount_refunded", s.AmountRefunded);
        w.WriteBoolean("refunded", s.Refunded);
        w.WriteStartArray("refunds");
        foreach (var refund in s.Refunds)
        {
            WriteRefund(w, refund, r);
        }

        w.WriteEndArray();
        w.WriteString("currency", s.ReportedCurrency);
        w.WriteString("success_url", s.SuccessUrl);
        WriteOptional(w, "cancel_url", s.CancelUrl, p);
        WriteOptional(w, "notification_url", s.NotificationUrl, p);
        w.WriteString("customer_firstname", s.CustomerFirstname);
        w.WriteString("customer_lastname", s.CustomerLastname);
        w.WriteString("customer_email", s.CustomerEmail);
        w.WriteString("customer_phone", s.CustomerPhone);
        WriteOptional(w, "customer_ip", s.CustomerIp, p);
        WriteOptional(w, "customer_country", s.CustomerCountry, p);
        if (both || p == ResponseProfile.RetrieveExample)
        {
            w.WriteNumber("expires_at", s.ExpiresAt);
        }

        if (p == ResponseProfile.PayExample && !s.ExpiresAtRequested)
        {
            // The Pay page's example shows "expire_at": null for a session created without expires_at.
            w.WriteNull("expire_at");
        }
        else if (both || p is ResponseProfile.CreateExample or ResponseProfile.PayExample)
        {
            w.WriteNumber("expire_at", s.ExpiresAt);
        }

        w.WriteNumber("created_at", s.CreatedAt);
        WriteOptional(w, "locale", s.Locale, p);
        if (both || p == ResponseProfile.CreateExample)
        {
            WriteMethods(w, "payment_method");
        }

        if (both || p is ResponseProfile.RetrieveExample or ResponseProfile.PayExample)
        {
            WriteMethods(w, "payment_method_types");
        }

        WriteMetadata(w, s.Metadata, p);
        w.WriteString("url", r.BaseUrl + "/pay/" + s.Id);
        if (p == ResponseProfile.RetrieveExample)
        {
            // The Retrieve page types fees as a list.
            w.WriteStartArray("fees");
            w.WriteEndArray();
        }
        else
        {
            w.WriteNull("fees");
        }

        // Strict: the Pay page calls a session awaiting the bank app "open"; "pending" has no documented meaning.
        w.WriteString("status", r.Strict && s.Status == "pending" ? "open" : s.Status);
        w.WriteBoolean("livemode", s.Livemode);
        if (!r.Strict)
        {
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
        }

        w.WriteEndObject();
    }

    public static void WriteRefund(Utf8JsonWriter w, RefundSnapshot refund, Rendering r)
    {
        w.WriteStartObject();
        w.WriteString("id", refund.Id);
        w.WriteNumber("amount", refund.Amount);
        if (!r.Strict)
        {
            // Not in the refund pages' example; the generous mode adds them.
            w.WriteString("currency", refund.Currency);
            w.WriteString("session_id", r.SessionId(refund.SessionId));
        }

        w.WriteString("status", refund.Status);
        if (refund.Reason is not null)
        {
            w.WriteString("reason", refund.Reason);
        }
        else if (r.Profile is ResponseProfile.RetrieveExample or ResponseProfile.PayExample)
        {
            w.WriteString("reason", string.Empty);
        }
        else
        {
            w.WriteNull("reason");
        }

        WriteMetadata(w, refund.Metadata, r.Profile);
        w.WriteNumber("created_at", refund.CreatedAt);
        w.WriteBoolean("livemode", refund.Livemode);
        w.WriteEndObject();
    }

    /// <summary>An optional string: <c>null</c> when empty in the create-example profile (its empties are all null), <c>""</c> otherwise (as the Pay example).</summary>
    private static void WriteOptional(Utf8JsonWriter w, string name, string value, ResponseProfile profile)
    {
        if (value.Length == 0 && profile == ResponseProfile.CreateExample)
        {
            w.WriteNull(name);
        }
        else
        {
            w.WriteString(name, value);
        }
    }

    private static void WriteMethods(Utf8JsonWriter w, string name)
    {
        w.WriteStartArray(name);
        w.WriteStringValue("blik");
        w.WriteEndArray();
    }

    /// <summary>Empty metadata: <c>{}</c> in the retrieve profile (typed "hash"), <c>null</c> otherwise (as the Create example).</summary>
    private static void WriteMetadata(Utf8JsonWriter w, IReadOnlyDictionary<string, string> metadata, ResponseProfile profile)
    {
        if (metadata.Count == 0 && profile != ResponseProfile.RetrieveExample)
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
