using System.Globalization;
using System.Text.Json;
using Blik.Checkout.Domain;

namespace Blik.Checkout.Gateway;

/// <summary>Reads the gateway's JSON the way the documentation's inconsistencies require.</summary>
internal static class GatewayJson
{
    public static GatewaySession ReadSession(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new FormatException("The session is not a JSON object.");
        }

        var url = String(root, "url");
        var id = UrlId(String(root, "id"), url);
        if (string.IsNullOrEmpty(id))
        {
            throw new FormatException("The session has no id.");
        }

        return new GatewaySession
        {
            Id = id,
            RawStatus = String(root, "status"),
            AmountTotal = Int64(root, "amount_total") ?? Int64(root, "amount"),
            AmountSubtotal = Int64(root, "amount_subtotal") ?? Int64(root, "amount_sub_total"),
            AmountRefunded = Int64(root, "amount_refunded"),
            Refunds = root.TryGetProperty("refunds", out var refunds) && refunds.ValueKind == JsonValueKind.Array
                ? refunds.EnumerateArray().Where(r => r.ValueKind == JsonValueKind.Object && String(r, "id") is { Length: > 0 }).Select(ReadRefund).ToArray()
                : null,
            Refunded = Boolean(root, "refunded"),
            Currency = String(root, "currency")?.ToLowerInvariant(),
            Url = url,
            ExpiresAt = Time(root, "expires_at") ?? Time(root, "expire_at"),
            CreatedAt = Time(root, "created_at"),
            Livemode = Boolean(root, "livemode") ?? false,
            PaymentMethodTypes = Strings(root, "payment_method_types") ?? Strings(root, "payment_method") ?? [],
            LastPaymentError = PaymentError(root),
        };
    }

    /// <summary>
    /// The session id as the gateway's URLs write it. The Pay page's example writes the JSON <c>id</c> without the
    /// leading character its URLs have (<c>AW-kLc…</c> against <c>…/sessions/2AW-kLc…/pay</c> and <c>url</c>
    /// <c>…/pay/2AW-kLc…</c>): when the <c>url</c>'s last segment is the id with a prefix, that segment is the id the
    /// API's paths take, so it is the one kept. Without a <c>url</c> the id is taken as written.
    /// </summary>
    private static string? UrlId(string? id, string? url)
    {
        if (string.IsNullOrEmpty(id) || !Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            return id;
        }

        var segment = Uri.UnescapeDataString(uri.AbsolutePath.TrimEnd('/').Split('/')[^1]);
        return segment.Length > id.Length && segment.EndsWith(id, StringComparison.Ordinal) && SessionIds.IsValid(segment)
            ? segment
            : id;
    }

    /// <summary>
    /// <c>last_payment_error</c>, which no page documents: read when the gateway sends it, with our own words for its
    /// reason code (never its free text). Absent, the caller learns only that an attempt ended, not why.
    /// </summary>
    private static GatewayPaymentError? PaymentError(JsonElement root)
    {
        if (!root.TryGetProperty("last_payment_error", out var error) || error.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        var code = String(error, "decline_code") ?? String(error, "code");
        return new GatewayPaymentError(code, DeclineMessages.Describe(code));
    }

    public static GatewayRefund ReadRefund(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object || String(root, "id") is not { Length: > 0 } id)
        {
            throw new FormatException("The refund is not a JSON object with an id.");
        }

        return new GatewayRefund
        {
            Id = id,
            Amount = Int64(root, "amount"),
            Currency = String(root, "currency")?.ToLowerInvariant(),
            SessionId = String(root, "session_id"),
            Status = String(root, "status")?.Trim().ToLowerInvariant(),
            Reason = String(root, "reason"),
            CreatedAt = Time(root, "created_at"),
        };
    }

    public static string? String(JsonElement obj, string name) =>
        obj.TryGetProperty(name, out var value) ? value.ValueKind switch
        {
            JsonValueKind.String => value.GetString(),
            JsonValueKind.Number => value.GetRawText(),
            _ => null,
        } : null;

    /// <summary>An integer given as a JSON number or a numeric string; null when absent, null or not an integer.</summary>
    public static long? Int64(JsonElement obj, string name)
    {
        if (!obj.TryGetProperty(name, out var value))
        {
            return null;
        }

        return value.ValueKind switch
        {
            JsonValueKind.Number when value.TryGetInt64(out var n) => n,
            JsonValueKind.Number when value.TryGetDecimal(out var d) && d == decimal.Truncate(d)
                && d is >= long.MinValue and <= long.MaxValue => (long)d,
            JsonValueKind.String when long.TryParse(value.GetString(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var s) => s,
            _ => null,
        };
    }

    /// <summary>A time given as Unix seconds; null when absent, not an integer, or not after 1970.</summary>
    public static DateTimeOffset? Time(JsonElement obj, string name) =>
        Int64(obj, name) is > 0 and var seconds ? Times.FromUnixSeconds(seconds) : null;

    public static bool? Boolean(JsonElement obj, string name) =>
        obj.TryGetProperty(name, out var value) ? value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            JsonValueKind.String when bool.TryParse(value.GetString(), out var b) => b,
            _ => null,
        } : null;

    /// <summary>A list of strings, or a single string (the create call's <c>payment_method=blik</c> shape).</summary>
    public static IReadOnlyList<string>? Strings(JsonElement obj, string name)
    {
        if (!obj.TryGetProperty(name, out var value))
        {
            return null;
        }

        return value.ValueKind switch
        {
            JsonValueKind.String => [value.GetString()!],
            JsonValueKind.Array => value.EnumerateArray()
                .Where(e => e.ValueKind == JsonValueKind.String)
                .Select(e => e.GetString()!)
                .ToArray(),
            _ => null,
        };
    }
}
