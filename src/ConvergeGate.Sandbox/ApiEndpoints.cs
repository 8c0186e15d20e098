using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace ConvergeGate.Sandbox;

/// <summary>The emulated Converge Gate API under <c>/v1/</c>.</summary>
internal static partial class ApiEndpoints
{
    public static readonly TimeSpan MinimumExpiry = TimeSpan.FromHours(2.5);

    [GeneratedRegex(@"^\+[1-9][0-9]{1,14}$")]
    private static partial Regex E164();

    [GeneratedRegex(@"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
    private static partial Regex Email();

    [GeneratedRegex(@"^[0-9]{6}$")]
    private static partial Regex BlikCode();

    [GeneratedRegex(@"^[A-Za-z]{2}$")]
    private static partial Regex Country();

    [GeneratedRegex(@"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$")]
    private static partial Regex Locale();

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/checkout/sessions", CreateSessionAsync);
        app.MapGet("/v1/checkout/sessions/{id}", (string id, SandboxContext ctx) =>
            ctx.State.FindSession(Canonical(ctx, id)) is { } session
                ? ApiJson.Session(session, Rendering.For(ctx))
                : ApiJson.Error(404, "invalid_request_error", $"No such checkout session: {id}", "id"));
        app.MapPost("/v1/checkout/sessions/{id}/pay", (string id, HttpRequest request, SandboxContext ctx) => PayAsync(id, request, ctx));
        app.MapGet("/v1/checkout/sessions/{id}/pay", (string id, HttpRequest request, SandboxContext ctx) => PayAsync(id, request, ctx));
        app.MapPost("/v1/refunds", CreateRefundAsync);
        app.MapGet("/v1/refunds/{id}", (string id, SandboxContext ctx) =>
            ctx.State.FindRefund(id) is { } refund
                ? ApiJson.Refund(refund, Rendering.For(ctx))
                : ApiJson.Error(404, "invalid_request_error", $"No such refund: {id}", "id"));
    }

    /// <summary>The stored id for a path or <c>session_id</c> value; the short form only while the profile emits it. Unknown ids pass through (and then 404).</summary>
    public static string Canonical(SandboxContext ctx, string id) => ctx.State.Canonical(id, ctx.Behaviour.AcceptsShortIds) ?? id;

    private static async Task<IResult> CreateSessionAsync(HttpRequest request, SandboxContext ctx)
    {
        var (p, readError) = await RequestParams.ReadAsync(request, includeQuery: false, allowJson: !ctx.Behaviour.Strict);
        if (p is null)
        {
            return readError!;
        }

        if (p.ShapeErrorParam is { } shape)
        {
            return ApiJson.Invalid($"Invalid value for {shape}.", shape);
        }

        var amountText = p.Get("amount");
        if (amountText is null)
        {
            return Missing("amount");
        }

        if (!long.TryParse(amountText, NumberStyles.None, CultureInfo.InvariantCulture, out var amount) || amount <= 0)
        {
            return ApiJson.Invalid("amount must be a positive integer in the currency's minor unit.", "amount");
        }

        var currency = p.Get("currency");
        if (currency is null)
        {
            return Missing("currency");
        }

        currency = currency.ToLowerInvariant();
        if (!ctx.Options.SupportedCurrencies.Any(c => string.Equals(c, currency, StringComparison.OrdinalIgnoreCase)))
        {
            return ApiJson.Invalid($"Unsupported currency: {currency}. Supported: {string.Join(", ", ctx.Options.SupportedCurrencies.Select(c => c.ToLowerInvariant()))}.", "currency");
        }

        var email = p.Get("customer_email");
        if (email is null)
        {
            return Missing("customer_email");
        }

        if (!Email().IsMatch(email))
        {
            return ApiJson.Invalid("customer_email is not a valid e-mail address.", "customer_email");
        }

        var firstname = p.Get("customer_firstname")?.Trim();
        if (string.IsNullOrEmpty(firstname))
        {
            return Missing("customer_firstname");
        }

        var lastname = p.Get("customer_lastname")?.Trim();
        if (string.IsNullOrEmpty(lastname))
        {
            return Missing("customer_lastname");
        }

        var phone = p.Get("customer_phone");
        if (phone is null)
        {
            return Missing("customer_phone");
        }

        if (phone[0] == ' ' && phone.Length > 1 && !ctx.Behaviour.Strict)
        {
            // An unencoded '+' in a form body (curl -d customer_phone=+48...) arrives as a space.
            phone = "+" + phone.TrimStart();
        }

        if (!E164().IsMatch(phone))
        {
            return ApiJson.Invalid("customer_phone must be in E.164 format, e.g. +48123456789.", "customer_phone");
        }

        var successUrl = p.Get("success_url");
        if (successUrl is null)
        {
            return Missing("success_url");
        }

        if (!IsHttpUrl(successUrl, out _))
        {
            return ApiJson.Invalid("success_url must be an absolute http(s) URL.", "success_url");
        }

        var cancelUrl = p.Get("cancel_url") ?? string.Empty;
        if (cancelUrl.Length > 0 && !IsHttpUrl(cancelUrl, out _))
        {
            return ApiJson.Invalid("cancel_url must be an absolute http(s) URL.", "cancel_url");
        }

        var notificationUrl = p.Get("notification_url") ?? string.Empty;
        if (notificationUrl.Length > 0)
        {
            if (!IsHttpUrl(notificationUrl, out var uri))
            {
                return ApiJson.Invalid("notification_url must be an absolute http(s) URL.", "notification_url");
            }

            if (uri!.Scheme == Uri.UriSchemeHttp && !uri.IsLoopback && !ctx.Options.AllowInsecureNotificationUrls)
            {
                return ApiJson.Invalid("notification_url must use https (plain http is accepted for loopback hosts only).", "notification_url");
            }
        }

        var ip = p.Get("customer_ip") ?? string.Empty;
        if (ip.Length > 0 && !IPAddress.TryParse(ip, out _))
        {
            return ApiJson.Invalid("customer_ip is not a valid IP address.", "customer_ip");
        }

        var country = p.Get("customer_country") ?? string.Empty;
        if (country.Length > 0 && !Country().IsMatch(country))
        {
            return ApiJson.Invalid("customer_country must be a two-letter ISO 3166-1 country code.", "customer_country");
        }

        if (p.HasPaymentMethod && (p.PaymentMethods.Count == 0 || p.PaymentMethods.Any(m => !string.Equals(m, "blik", StringComparison.OrdinalIgnoreCase))))
        {
            return ApiJson.Invalid("payment_method supports only: blik.", "payment_method");
        }

        long? expiresAt = null;
        if (p.Get("expires_at") is { } expiresText)
        {
            if (!long.TryParse(expiresText, NumberStyles.None, CultureInfo.InvariantCulture, out var value))
            {
                return ApiJson.Invalid("expires_at must be a Unix timestamp in seconds.", "expires_at");
            }

            var earliest = ctx.Clock.GetUtcNow() + MinimumExpiry;
            if (value < earliest.ToUnixTimeSeconds())
            {
                return ApiJson.Invalid("expires_at must be at least 2.5 hours in the future.", "expires_at");
            }

            expiresAt = value;
        }

        var locale = p.Get("locale") ?? string.Empty;
        if (locale.Length > 0 && !Locale().IsMatch(locale))
        {
            return ApiJson.Invalid("locale must be an IETF language tag, e.g. pl or pl-PL.", "locale");
        }

        if (p.MetadataError() is { } metadataError)
        {
            return ApiJson.Invalid(metadataError, "metadata");
        }

        var session = ctx.State.Create(new NewSession(
            amount, currency, email, firstname, lastname, phone, successUrl, cancelUrl, notificationUrl, ip, country.ToUpperInvariant(), expiresAt, locale,
            new Dictionary<string, string>(p.Metadata, StringComparer.Ordinal)));
        return ApiJson.Session(session, Rendering.For(ctx));
    }

    private static async Task<IResult> PayAsync(string id, HttpRequest request, SandboxContext ctx)
    {
        // Strict: the documented curl sends blik_code as a form body only; a query string is not read.
        var strict = ctx.Behaviour.Strict;
        var (p, readError) = await RequestParams.ReadAsync(request, includeQuery: !strict, allowJson: !strict);
        if (p is null)
        {
            return readError!;
        }

        var code = p["blik_code"];
        if (code is null || code.Length == 0)
        {
            return Missing("blik_code");
        }

        if (!BlikCode().IsMatch(code))
        {
            return ApiJson.Invalid("blik_code must be exactly 6 digits.", "blik_code");
        }

        return ToResult(ctx.State.Pay(Canonical(ctx, id), code, "api"), ctx);
    }

    public static IResult ToResult(OperationResult<SessionSnapshot> result, SandboxContext ctx) =>
        result.Status == OperationStatus.Ok ? ApiJson.Session(result.Value!, Rendering.For(ctx)) : ErrorFor(result, ctx);

    /// <summary>404 for unknown ids; a wrong session state is 409 in generous mode and the generic 400 in strict-docs mode (no page documents 409 for it).</summary>
    private static IResult ErrorFor<T>(OperationResult<T> result, SandboxContext ctx) => result.Status switch
    {
        OperationStatus.NotFound => ApiJson.Error(404, "invalid_request_error", result.Message!, result.Param),
        OperationStatus.Conflict when !ctx.Behaviour.Strict => ApiJson.Error(409, "invalid_request_error", result.Message!, result.Param, result.Code),
        _ => ApiJson.Error(400, "invalid_request_error", result.Message!, result.Param, result.Code),
    };

    private static async Task<IResult> CreateRefundAsync(HttpRequest request, SandboxContext ctx)
    {
        var (p, readError) = await RequestParams.ReadAsync(request, includeQuery: false, allowJson: !ctx.Behaviour.Strict);
        if (p is null)
        {
            return readError!;
        }

        if (p.ShapeErrorParam is { } shape)
        {
            return ApiJson.Invalid($"Invalid value for {shape}.", shape);
        }

        var sessionId = p.Get("session_id");
        if (sessionId is null)
        {
            return Missing("session_id");
        }

        long? amount = null;
        if (p.Get("amount") is { } amountText)
        {
            if (!long.TryParse(amountText, NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value <= 0)
            {
                return ApiJson.Invalid("amount must be a positive integer in the currency's minor unit.", "amount");
            }

            amount = value;
        }

        var reason = p.Get("reason");
        if (reason is not null && !SandboxState.RefundReasons.Contains(reason, StringComparer.Ordinal))
        {
            return ApiJson.Invalid("reason must be one of: requested_by_customer, duplicated, fraudulent.", "reason");
        }

        if (p.MetadataError() is { } metadataError)
        {
            return ApiJson.Invalid(metadataError, "metadata");
        }

        var result = ctx.State.CreateRefund(Canonical(ctx, sessionId), amount, reason, new Dictionary<string, string>(p.Metadata, StringComparer.Ordinal));
        return result.Status == OperationStatus.Ok ? ApiJson.Refund(result.Value!, Rendering.For(ctx)) : ErrorFor(result, ctx);
    }

    private static IResult Missing(string param) => ApiJson.Invalid($"Missing required param: {param}.", param);

    private static bool IsHttpUrl(string value, out Uri? uri) =>
        Uri.TryCreate(value, UriKind.Absolute, out uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps) && uri.Host.Length > 0;
}
