using System.Globalization;
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
/// Parses and validates the create body field by field, so every problem names its field. Unknown fields are
/// refused (a caller cannot set status, notification_url or anything else we own), as are duplicate fields.
/// </summary>
public static partial class CreateSessionValidator
{
    public const int MaxMetadataKeys = 50;
    public const int MaxMetadataKeyLength = 50;
    public const int MaxMetadataValueLength = 500;
    public static readonly TimeSpan MinExpiry = TimeSpan.FromHours(2.5);
    public static readonly TimeSpan MaxExpiry = TimeSpan.FromHours(24);

    private static readonly HashSet<string> Known = new(StringComparer.Ordinal)
    {
        "amount", "currency", "customer_email", "customer_firstname", "customer_lastname", "customer_phone",
        "success_url", "cancel_url", "customer_ip", "customer_country", "expires_at", "locale", "metadata", "order_id",
    };

    public static CreateSessionRequest? Validate(JsonElement root, CheckoutOptions options, DateTimeOffset now, ValidationErrors errors)
    {
        var fields = Fields(root, Known, errors);
        if (fields is null)
        {
            return null;
        }

        var amount = RequiredInteger(fields, "amount", errors);
        if (amount is { } a && (a < 1 || a > options.MaxAmount))
        {
            errors.Add("amount", $"Must be between 1 and {options.MaxAmount.ToString(CultureInfo.InvariantCulture)} (minor units).");
        }

        var currency = RequiredString(fields, "currency", 3, errors)?.ToLowerInvariant();
        if (currency is not null && !options.Currencies.Contains(currency, StringComparer.OrdinalIgnoreCase))
        {
            errors.Add("currency", $"Must be one of: {string.Join(", ", options.Currencies)}.");
        }

        var email = RequiredString(fields, "customer_email", 254, errors);
        if (email is not null && !IsEmail(email))
        {
            errors.Add("customer_email", "Must be an e-mail address.");
        }

        var firstname = RequiredName(fields, "customer_firstname", errors);
        var lastname = RequiredName(fields, "customer_lastname", errors);

        var phone = RequiredString(fields, "customer_phone", 16, errors);
        if (phone is not null && !E164().IsMatch(phone))
        {
            errors.Add("customer_phone", "Must be in E.164 format, e.g. +48123456789.");
        }

        var successUrl = RequiredString(fields, "success_url", 2048, errors);
        if (successUrl is not null && !IsHttpUrl(successUrl))
        {
            errors.Add("success_url", "Must be an absolute http(s) URL.");
        }

        var cancelUrl = OptionalString(fields, "cancel_url", 2048, errors);
        if (cancelUrl is not null && !IsHttpUrl(cancelUrl))
        {
            errors.Add("cancel_url", "Must be an absolute http(s) URL.");
        }

        var ip = OptionalString(fields, "customer_ip", 45, errors);
        if (ip is not null && !IsIpAddress(ip))
        {
            errors.Add("customer_ip", "Must be an IPv4 or IPv6 address.");
        }

        var country = OptionalString(fields, "customer_country", 2, errors)?.ToUpperInvariant();
        if (country is not null && !(country.Length == 2 && country.All(char.IsAsciiLetterUpper)))
        {
            errors.Add("customer_country", "Must be an ISO 3166-1 alpha-2 code, e.g. PL.");
        }

        long? expiresAt = null;
        if (fields.TryGetValue("expires_at", out var expiresField) && expiresField.ValueKind != JsonValueKind.Null)
        {
            expiresAt = RequiredInteger(fields, "expires_at", errors);
            var nowSeconds = now.ToUnixTimeSeconds();
            if (expiresAt is { } e && (e < nowSeconds + (long)MinExpiry.TotalSeconds || e > nowSeconds + (long)MaxExpiry.TotalSeconds))
            {
                errors.Add("expires_at", "Must be Unix seconds between 2.5 and 24 hours from now.");
            }
        }

        var locale = OptionalString(fields, "locale", 35, errors);
        if (locale is not null && !Locale().IsMatch(locale))
        {
            errors.Add("locale", "Must be an IETF language tag, e.g. pl or pl-PL.");
        }

        var orderId = OptionalString(fields, "order_id", 64, errors);
        if (orderId is not null && (orderId.Length == 0 || orderId.Any(char.IsControl)))
        {
            errors.Add("order_id", "Must be 1 to 64 characters without control characters.");
        }

        var metadata = Metadata(fields, errors);

        if (errors.Count > 0)
        {
            return null;
        }

        return new CreateSessionRequest
        {
            Amount = amount!.Value,
            Currency = currency!,
            CustomerEmail = email!,
            CustomerFirstname = firstname!,
            CustomerLastname = lastname!,
            CustomerPhone = phone!,
            SuccessUrl = successUrl!,
            CancelUrl = cancelUrl,
            CustomerIp = ip,
            CustomerCountry = country,
            ExpiresAt = expiresAt is { } seconds ? DateTimeOffset.FromUnixTimeSeconds(seconds) : null,
            Locale = locale,
            Metadata = metadata,
            OrderId = orderId,
        };
    }

    /// <summary>
    /// The body's fields by name; unknown and repeated names are errors (a caller cannot set what we own, and a
    /// duplicate cannot smuggle a second value past validation). Null when the body is not an object.
    /// </summary>
    internal static Dictionary<string, JsonElement>? Fields(JsonElement root, IReadOnlySet<string> known, ValidationErrors errors)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            errors.Add("$", "The body must be a JSON object.");
            return null;
        }

        var fields = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var property in root.EnumerateObject())
        {
            if (TryGetWellFormedName(property) is not { } name)
            {
                errors.Add("$", "Field names must be well-formed Unicode.");
                continue;
            }

            if (!known.Contains(name))
            {
                errors.Add(name, "Unknown field.");
            }
            else if (!fields.TryAdd(name, property.Value))
            {
                errors.Add(name, "The field appears more than once.");
            }
        }

        return fields;
    }

    internal static long? RequiredInteger(Dictionary<string, JsonElement> fields, string name, ValidationErrors errors)
    {
        if (!fields.TryGetValue(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            errors.Add(name, "Required.");
            return null;
        }

        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out var n) || value.GetRawText().Contains('.', StringComparison.Ordinal)
            || value.GetRawText().Contains('e', StringComparison.OrdinalIgnoreCase))
        {
            errors.Add(name, "Must be an integer.");
            return null;
        }

        return n;
    }

    private static string? RequiredString(Dictionary<string, JsonElement> fields, string name, int maxLength, ValidationErrors errors)
    {
        if (!fields.TryGetValue(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            errors.Add(name, "Required.");
            return null;
        }

        var s = AsString(value, name, maxLength, errors);
        if (s is { Length: 0 })
        {
            errors.Add(name, "Required.");
            return null;
        }

        return s;
    }

    internal static string? OptionalString(Dictionary<string, JsonElement> fields, string name, int maxLength, ValidationErrors errors) =>
        !fields.TryGetValue(name, out var value) || value.ValueKind == JsonValueKind.Null
            ? null
            : AsString(value, name, maxLength, errors);

    private static string? AsString(JsonElement value, string name, int maxLength, ValidationErrors errors)
    {
        if (value.ValueKind != JsonValueKind.String)
        {
            errors.Add(name, "Must be a string.");
            return null;
        }

        if (TryGetWellFormedString(value) is not { } s)
        {
            errors.Add(name, IllFormed);
            return null;
        }

        if (s.Length > maxLength)
        {
            errors.Add(name, $"Must be at most {maxLength.ToString(CultureInfo.InvariantCulture)} characters.");
            return null;
        }

        return s;
    }

    private const string IllFormed = "Must be well-formed Unicode (no unpaired surrogate escapes).";

    /// <summary>A property's name, or null when it is not well-formed Unicode.</summary>
    internal static string? TryGetWellFormedName(JsonProperty property)
    {
        try
        {
            return IsWellFormed(property.Name) ? property.Name : null;
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>
    /// The string, or null when it decodes to ill-formed Unicode: a JSON escape like <c>\ud800</c> makes
    /// <see cref="JsonElement.GetString"/> throw, and no later step (form encoding, storage) could carry it anyway.
    /// </summary>
    internal static string? TryGetWellFormedString(JsonElement value)
    {
        try
        {
            var s = value.GetString();
            return s is not null && IsWellFormed(s) ? s : null;
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>No lone UTF-16 surrogates: JSON escapes like <c>\ud800</c> decode into strings nothing downstream can encode.</summary>
    internal static bool IsWellFormed(string value)
    {
        for (var i = 0; i < value.Length; i++)
        {
            if (char.IsHighSurrogate(value[i]) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(value[i]))
            {
                return false;
            }
        }

        return true;
    }

    private static string? RequiredName(Dictionary<string, JsonElement> fields, string name, ValidationErrors errors)
    {
        var s = RequiredString(fields, name, 100, errors);
        if (s is not null && (string.IsNullOrWhiteSpace(s) || s.Any(char.IsControl)))
        {
            errors.Add(name, "Must contain letters and no control characters.");
            return null;
        }

        return s?.Trim();
    }

    internal static Dictionary<string, string>? Metadata(Dictionary<string, JsonElement> fields, ValidationErrors errors)
    {
        if (!fields.TryGetValue("metadata", out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Object)
        {
            errors.Add("metadata", "Must be an object of string values.");
            return null;
        }

        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var property in value.EnumerateObject())
        {
            if (TryGetWellFormedName(property) is not { } key)
            {
                errors.Add("metadata", "Keys must be well-formed Unicode.");
                continue;
            }

            var field = "metadata." + key;
            if (key.Length is 0 or > MaxMetadataKeyLength || key.Any(char.IsControl)
                || key.Contains('[', StringComparison.Ordinal) || key.Contains(']', StringComparison.Ordinal))
            {
                errors.Add("metadata", $"Keys must be 1 to {MaxMetadataKeyLength} characters, without brackets or control characters.");
                continue;
            }

            if (property.Value.ValueKind != JsonValueKind.String)
            {
                errors.Add(field, "Must be a string.");
                continue;
            }

            if (TryGetWellFormedString(property.Value) is not { } s)
            {
                errors.Add(field, IllFormed);
                continue;
            }

            if (s.Length > MaxMetadataValueLength)
            {
                errors.Add(field, $"Must be at most {MaxMetadataValueLength} characters.");
                continue;
            }

            if (s.Any(c => char.IsControl(c) && c is not ('\t' or '\n' or '\r')))
            {
                errors.Add(field, "Must not contain control characters other than tab and line breaks.");
                continue;
            }

            if (!result.TryAdd(key, s))
            {
                errors.Add(field, "The key appears more than once.");
            }
        }

        if (result.Count > MaxMetadataKeys)
        {
            errors.Add("metadata", $"At most {MaxMetadataKeys} keys.");
        }

        return result.Count == 0 ? null : result;
    }

    private static bool IsEmail(string value) =>
        !value.Any(c => char.IsWhiteSpace(c) || char.IsControl(c))
        && MailAddress.TryCreate(value, out var address)
        && string.Equals(address.Address, value, StringComparison.Ordinal)
        && address.Host.Contains('.', StringComparison.Ordinal);

    /// <summary>Dotted-quad IPv4 or IPv6 only: IPAddress.TryParse alone also takes shorthands like "12345" or "0x7f.1".</summary>
    private static bool IsIpAddress(string value)
    {
        if (!IPAddress.TryParse(value, out var address))
        {
            return false;
        }

        return address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6
            ? value.Contains(':', StringComparison.Ordinal)
            : value.Split('.') is { Length: 4 } parts && parts.All(p => p.Length is > 0 and <= 3 && p.All(char.IsAsciiDigit));
    }

    private static bool IsHttpUrl(string value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri)
        && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp)
        && !string.IsNullOrEmpty(uri.Host)
        && !value.Any(c => char.IsWhiteSpace(c) || char.IsControl(c));

    [GeneratedRegex(@"^\+[1-9][0-9]{1,14}\z", RegexOptions.CultureInvariant)]
    private static partial Regex E164();

    [GeneratedRegex(@"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*\z", RegexOptions.CultureInvariant)]
    private static partial Regex Locale();
}
