using System.Security.Cryptography;
using System.Text;
using Blik.Checkout.Configuration;
using Microsoft.Extensions.Options;

namespace Blik.Checkout.Sessions;

/// <summary>
/// The <c>client_secret</c> that lets a shopper's browser pay and poll one session and nothing else. It is derived,
/// not stored: <c>cs_</c> + base64url(HMAC-SHA-256(SHA-256("client-secret:" + gateway secret key), session id)).
/// So it can be returned again on an idempotent replay, a leaked table reveals nothing, and it verifies against the
/// previous key too while the gateway key is rotated.
/// </summary>
public sealed class ClientSecrets
{
    private const string Prefix = "cs_";
    private readonly byte[][] _keys;

    public ClientSecrets(IOptions<ConvergeGateOptions> options)
    {
        _keys = options.Value.VerificationKeys()
            .Select(k => SHA256.HashData(Encoding.UTF8.GetBytes("client-secret:" + k)))
            .ToArray();
        if (_keys.Length == 0)
        {
            throw new InvalidOperationException("ConvergeGate:SecretKey is required to issue client secrets.");
        }
    }

    public string Issue(string sessionId) => Prefix + Base64Url(Mac(_keys[0], sessionId));

    public bool Verify(string sessionId, string? presented)
    {
        if (string.IsNullOrEmpty(presented) || presented.Length > 128)
        {
            return false;
        }

        var presentedBytes = Encoding.UTF8.GetBytes(presented);
        var valid = false;
        foreach (var key in _keys)
        {
            valid |= CryptographicOperations.FixedTimeEquals(
                Encoding.UTF8.GetBytes(Prefix + Base64Url(Mac(key, sessionId))), presentedBytes);
        }

        return valid;
    }

    private static byte[] Mac(byte[] key, string sessionId) => HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(sessionId));

    private static string Base64Url(byte[] bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
