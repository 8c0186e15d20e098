using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Azure.Core;
using Azure.Core.Pipeline;

namespace Blik.Storage;

/// <summary>
/// String-to-sign construction for the two account-key schemes we use:
/// Shared Key Lite for the Table service and Shared Key for the Queue service.
/// The canonicalized resource is always "/" + account + the encoded URI path; for path-style URLs
/// (Azurite: http://127.0.0.1:port/devstoreaccount1/...) the account therefore appears twice.
/// </summary>
internal static class SharedKeySigning
{
    private static readonly string[] SignedStandardHeaders =
    [
        "Content-Encoding", "Content-Language", "Content-Length", "Content-MD5", "Content-Type", "Date",
        "If-Modified-Since", "If-Match", "If-None-Match", "If-Unmodified-Since", "Range",
    ];

    /// <summary>Table service, Shared Key Lite: <c>Date\nCanonicalizedResource</c> with only <c>?comp=</c> kept.</summary>
    internal static string TableSharedKeyLiteStringToSign(string date, string accountName, Uri uri)
    {
        var resource = "/" + accountName + uri.AbsolutePath;
        foreach (var (name, value) in QueryParameters(uri))
        {
            if (string.Equals(name, "comp", StringComparison.OrdinalIgnoreCase))
            {
                resource += "?comp=" + value;
                break;
            }
        }

        return date + "\n" + resource;
    }

    /// <summary>Blob/Queue/File service, Shared Key (version 2015-02-21 and later rules).</summary>
    internal static string SharedKeyStringToSign(string method, IEnumerable<KeyValuePair<string, string>> headers, string accountName, Uri uri)
    {
        var byName = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, value) in headers)
        {
            byName[name] = byName.TryGetValue(name, out var existing) ? existing + "," + value : value;
        }

        var sb = new StringBuilder();
        sb.Append(method.ToUpperInvariant()).Append('\n');
        foreach (var header in SignedStandardHeaders)
        {
            var value = byName.TryGetValue(header, out var v) ? v : string.Empty;
            if (header == "Content-Length" && value == "0")
            {
                value = string.Empty;
            }

            sb.Append(value).Append('\n');
        }

        foreach (var (name, value) in byName
                     .Where(h => h.Key.StartsWith("x-ms-", StringComparison.OrdinalIgnoreCase))
                     .Select(h => (Name: h.Key.ToLowerInvariant(), Value: CollapseWhitespace(h.Value)))
                     .OrderBy(h => h.Name, StringComparer.Ordinal))
        {
            sb.Append(name).Append(':').Append(value).Append('\n');
        }

        sb.Append('/').Append(accountName).Append(uri.AbsolutePath);
        foreach (var group in QueryParameters(uri)
                     .GroupBy(p => p.Name.ToLowerInvariant(), StringComparer.Ordinal)
                     .OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            sb.Append('\n').Append(group.Key).Append(':')
              .Append(string.Join(',', group.Select(p => p.Value).Order(StringComparer.Ordinal)));
        }

        return sb.ToString();
    }

    internal static string Sign(string stringToSign, byte[] key) =>
        Convert.ToBase64String(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(stringToSign)));

    private static IEnumerable<(string Name, string Value)> QueryParameters(Uri uri)
    {
        var query = uri.Query;
        if (query.Length <= 1)
        {
            yield break;
        }

        foreach (var pair in query[1..].Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            var name = Uri.UnescapeDataString(eq < 0 ? pair : pair[..eq]);
            var value = eq < 0 ? string.Empty : Uri.UnescapeDataString(pair[(eq + 1)..]);
            yield return (name, value);
        }
    }

    private static string CollapseWhitespace(string value)
    {
        var trimmed = value.Trim();
        if (!trimmed.Contains("  ", StringComparison.Ordinal) && !trimmed.Contains('\t', StringComparison.Ordinal))
        {
            return trimmed;
        }

        return string.Join(' ', trimmed.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries));
    }
}

internal enum SharedKeyScheme
{
    SharedKey,
    SharedKeyLite,
}

/// <summary>Per-retry policy: a fresh <c>x-ms-date</c> and signature on every attempt.</summary>
internal sealed class SharedKeyCredentialPolicy : HttpPipelineSynchronousPolicy
{
    private readonly string _accountName;
    private readonly byte[] _key;
    private readonly SharedKeyScheme _scheme;
    private readonly TimeProvider _time;

    internal SharedKeyCredentialPolicy(string accountName, byte[] key, SharedKeyScheme scheme, TimeProvider? time = null)
    {
        _accountName = accountName;
        _key = key;
        _scheme = scheme;
        _time = time ?? TimeProvider.System;
    }

    public override void OnSendingRequest(HttpMessage message)
    {
        var request = message.Request;
        var date = _time.GetUtcNow().ToString("r", CultureInfo.InvariantCulture);
        request.Headers.SetValue("x-ms-date", date);
        var uri = request.Uri.ToUri();

        string stringToSign;
        if (_scheme == SharedKeyScheme.SharedKeyLite)
        {
            stringToSign = SharedKeySigning.TableSharedKeyLiteStringToSign(date, _accountName, uri);
        }
        else
        {
            var headers = request.Headers
                .Where(h => !string.Equals(h.Name, "Authorization", StringComparison.OrdinalIgnoreCase))
                .Select(h => new KeyValuePair<string, string>(h.Name, h.Value))
                .ToList();
            if (request.Content is not null && request.Content.TryComputeLength(out var length))
            {
                headers.Add(new("Content-Length", length.ToString(CultureInfo.InvariantCulture)));
            }

            stringToSign = SharedKeySigning.SharedKeyStringToSign(request.Method.Method, headers, _accountName, uri);
        }

        var scheme = _scheme == SharedKeyScheme.SharedKeyLite ? "SharedKeyLite" : "SharedKey";
        request.Headers.SetValue("Authorization", $"{scheme} {_accountName}:{SharedKeySigning.Sign(stringToSign, _key)}");
    }
}
