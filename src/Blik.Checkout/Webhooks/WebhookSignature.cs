using System.Security.Cryptography;
using System.Text;

namespace Blik.Checkout.Webhooks;

/// <summary>
/// Converge Gate's documented webhook signature: <c>key = SHA-256(secret API key)</c>,
/// <c>Sec-Signature = HMAC-SHA-256(key, Sec-Timestamp + raw body)</c>. The docs leave two things open, so verification
/// accepts every plausible reading and compares in constant time:
/// <list type="bullet">
/// <item>the key: the raw 32-byte digest, or the digest's hex string (lowercase, as most tools print it, or uppercase,
/// as .NET's <c>Convert.ToHexString</c> does) — <see cref="DeriveKeys"/> gives all three;</item>
/// <item>the output encoding: hex in either case and base64 (standard or URL-safe).</item>
/// </list>
/// </summary>
public static class WebhookSignature
{
    private const int MacLength = 32;

    /// <summary>The raw-digest reading of the key (what the sandbox signs with by default).</summary>
    public static byte[] DeriveKey(string secretKey) => SHA256.HashData(Encoding.UTF8.GetBytes(secretKey));

    /// <summary>
    /// Every reading of "SHA-256 of the secret API key" a gateway may sign with: the raw digest, and the ASCII bytes of
    /// its lowercase and uppercase hex string. If the gateway meant the hex string, only accepting the raw digest would
    /// refuse every webhook it sends.
    /// </summary>
    public static IEnumerable<byte[]> DeriveKeys(string secretKey)
    {
        var digest = DeriveKey(secretKey);
        yield return digest;
        yield return Encoding.ASCII.GetBytes(Convert.ToHexStringLower(digest));
        yield return Encoding.ASCII.GetBytes(Convert.ToHexString(digest));
    }

    /// <summary>Lowercase hex, as the sandbox sends it.</summary>
    public static string Compute(byte[] key, string timestamp, ReadOnlySpan<byte> body) =>
        Convert.ToHexStringLower(Mac(key, timestamp, body));

    public static bool Verify(IEnumerable<byte[]> keys, string timestamp, ReadOnlySpan<byte> body, string? signature)
    {
        if (!TryDecode(signature, out var presented))
        {
            return false;
        }

        var valid = false;
        foreach (var key in keys)
        {
            // Every key is tried (no early exit) so timing does not tell which key matched.
            valid |= CryptographicOperations.FixedTimeEquals(Mac(key, timestamp, body), presented);
        }

        return valid;
    }

    private static byte[] Mac(byte[] key, string timestamp, ReadOnlySpan<byte> body)
    {
        var timestampBytes = Encoding.UTF8.GetBytes(timestamp);
        using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, key);
        hmac.AppendData(timestampBytes);
        hmac.AppendData(body);
        return hmac.GetHashAndReset();
    }

    internal static bool TryDecode(string? signature, out byte[] mac)
    {
        mac = [];
        if (string.IsNullOrWhiteSpace(signature) || signature.Length > 128)
        {
            return false;
        }

        var value = signature.Trim();
        if (value.StartsWith("sha256=", StringComparison.OrdinalIgnoreCase))
        {
            value = value[7..];
        }

        if (value.Length == MacLength * 2 && IsHex(value))
        {
            mac = Convert.FromHexString(value);
            return true;
        }

        var base64 = value.Replace('-', '+').Replace('_', '/');
        if (base64.Length == 43)
        {
            base64 += "=";
        }

        var buffer = new byte[MacLength + 2];
        if (base64.Length == 44 && Convert.TryFromBase64String(base64, buffer, out var written) && written == MacLength)
        {
            mac = buffer[..MacLength];
            return true;
        }

        return false;
    }

    private static bool IsHex(string value)
    {
        foreach (var c in value)
        {
            if (!char.IsAsciiHexDigit(c))
            {
                return false;
            }
        }

        return true;
    }
}
