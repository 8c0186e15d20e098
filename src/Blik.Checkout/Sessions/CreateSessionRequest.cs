using System.Net;
using System.Net.Mail;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Blik.Checkout.Configuration;

namespace Blik.Checkout.Sessions;

/// <summary>A validated create request, normalised (currency lower case, country upper case).</summary>
public sealed record CreateSessionRequest
{
    public required long Amount { get; init; }
    public required string Currency { get; init; }
    public required string CustomerEmail { get; init; }
    public required string CustomerFirstname { get; init; }
    public required string CustomerLastname { get; init; }
    public required string CustomerPhone { get; init; }
    public required string SuccessUrl { get; init; }
    public string? CancelUrl { get; init; }
    public string? CustomerIp { get; init; }
    public string? CustomerCountry { get; init; }
    public DateTimeOffset? ExpiresAt { get; init; }
    public string? Locale { get; init; }
    public IReadOnlyDictionary<string, string>? Metadata { get; init; }
    public string? OrderId { get; init; }

    /// <summary>SHA-256 of the normalised request: what an <c>Idempotency-Key</c> is bound to.</summary>
    public string Fingerprint()
    {
        var canonical = JsonSerializer.Serialize(new object?[]
        {
            Amount, Currency, CustomerEmail, CustomerFirstname, CustomerLastname, CustomerPhone, SuccessUrl, CancelUrl,
            CustomerIp, CustomerCountry, ExpiresAt?.ToUnixTimeSeconds(), Locale, OrderId,
            Metadata is null ? null : new SortedDictionary<string, string>(Metadata.ToDictionary(), StringComparer.Ordinal),
        });
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical)));
    }
}

/// <summary>
/// The create body, field by field: each line below is one field's rules, and every problem names its field. Unknown
/// fields are refused (a caller cannot set status, notification_url or anything else we own), as are repeated ones.
/// </summary>
public static partial class CreateSessionValidator
{
    public static readonly TimeSpan MinExpiry = TimeSpan.FromHours(2.5);
    public static readonly TimeSpan MaxExpiry = TimeSpan.FromHours(24);

    private static readonly HashSet<string> Known = new(StringComparer.Ordinal)
    {
        "amount", "currency", "customer_email", "customer_firstname", "customer_lastname", "customer_phone",
        "success_url", "cancel_url", "customer_ip", "customer_country", "expires_at", "locale", "metadata", "order_id",
    };

    public static CreateSessionRequest? Validate(JsonElement root, CheckoutOptions options, DateTimeOffset now, ValidationErrors errors)
    {
        if (JsonFields.Strict(root, Known, errors) is not { } body)
        {
            return null;
        }

        var (earliestExpiry, latestExpiry) = (now.ToUnixTimeSeconds() + (long)MinExpiry.TotalSeconds, now.ToUnixTimeSeconds() + (long)MaxExpiry.TotalSeconds);
        var request = new CreateSessionRequest
        {
            Amount = body.Integer("amount")
                .Must(a => a >= 1 && a <= options.MaxAmount, $"Must be between 1 and {options.MaxAmount} (minor units).").Value ?? 0,
            Currency = body.String("currency", 3).Select(c => c!.ToLowerInvariant())
                .Must(c => options.Currencies.Contains(c, StringComparer.OrdinalIgnoreCase), $"Must be one of: {string.Join(", ", options.Currencies)}.")!,
            CustomerEmail = body.String("customer_email", 254).Must(IsEmail, "Must be an e-mail address.")!,
            CustomerFirstname = Name(body, "customer_firstname")!,
            CustomerLastname = Name(body, "customer_lastname")!,
            CustomerPhone = body.String("customer_phone", 16).Must(p => E164().IsMatch(p!), "Must be in E.164 format, e.g. +48123456789.")!,
            SuccessUrl = body.String("success_url", 2048).Must(IsHttpUrl, "Must be an absolute http(s) URL.")!,
            CancelUrl = body.String("cancel_url", 2048, required: false).Must(IsHttpUrl, "Must be an absolute http(s) URL."),
            CustomerIp = body.String("customer_ip", 45, required: false).Must(IsIpAddress, "Must be an IPv4 or IPv6 address."),
            CustomerCountry = body.String("customer_country", 2, required: false).Select(c => c!.ToUpperInvariant())
                .Must(c => c!.Length == 2 && c.All(char.IsAsciiLetterUpper), "Must be an ISO 3166-1 alpha-2 code, e.g. PL."),
            ExpiresAt = body.Integer("expires_at", required: false)
                .Must(e => e >= earliestExpiry && e <= latestExpiry, "Must be Unix seconds between 2.5 and 24 hours from now.")
                .Select(e => (DateTimeOffset?)DateTimeOffset.FromUnixTimeSeconds(e!.Value)),
            Locale = body.String("locale", 35, required: false).Must(l => Locale().IsMatch(l!), "Must be an IETF language tag, e.g. pl or pl-PL."),
            OrderId = body.String("order_id", 64, required: false)
                .Must(o => o!.Length > 0 && !o.Any(char.IsControl), "Must be 1 to 64 characters without control characters."),
            Metadata = body.Metadata(),
        };

        return errors.Count > 0 ? null : request;
    }

    /// <summary>A shopper's name: letters, no control characters, trimmed.</summary>
    private static string? Name(JsonFields body, string field) =>
        body.String(field, 100)
            .Must(s => !string.IsNullOrWhiteSpace(s) && !s.Any(char.IsControl), "Must contain letters and no control characters.")
            .Select(s => s!.Trim());

    private static bool IsEmail(string? value) =>
        value is not null
        && !value.Any(c => char.IsWhiteSpace(c) || char.IsControl(c))
        && MailAddress.TryCreate(value, out var address)
        && string.Equals(address.Address, value, StringComparison.Ordinal)
        && address.Host.Contains('.', StringComparison.Ordinal);

    /// <summary>Dotted-quad IPv4 or IPv6 only: IPAddress.TryParse alone also takes shorthands like "12345" or "0x7f.1".</summary>
    private static bool IsIpAddress(string? value)
    {
        if (!IPAddress.TryParse(value, out var address))
        {
            return false;
        }

        return address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6
            ? value.Contains(':', StringComparison.Ordinal)
            : value.Split('.') is { Length: 4 } parts && parts.All(p => p.Length is > 0 and <= 3 && p.All(char.IsAsciiDigit));
    }

    private static bool IsHttpUrl(string? value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri)
        && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp)
        && !string.IsNullOrEmpty(uri.Host)
        && !value.Any(c => char.IsWhiteSpace(c) || char.IsControl(c));

    [GeneratedRegex(@"^\+[1-9][0-9]{1,14}\z", RegexOptions.CultureInvariant)]
    private static partial Regex E164();

    [GeneratedRegex(@"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*\z", RegexOptions.CultureInvariant)]
    private static partial Regex Locale();
}
