using Azure.Core;
using Azure.Identity;
using Microsoft.Extensions.Configuration;

namespace Blik.Storage;

/// <summary>
/// Where the storage account is and how to authenticate to it: either a shared account key
/// (connection string, Azurite) or an Entra ID token credential (identity-based settings as the
/// Azure Functions host reads them). The account key never leaves this type except to sign requests.
/// </summary>
public sealed class StorageConnection
{
    internal const string DevelopmentAccountName = "devstoreaccount1";
    internal const string DevelopmentAccountKey =
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    /// <summary>The OAuth scope storage accepts bearer tokens for.</summary>
    public const string StorageScope = "https://storage.azure.com/.default";

    private readonly byte[]? _accountKey;
    private readonly string _settingName;
    private readonly string _authDescription;

    private StorageConnection(
        string settingName,
        string? accountName,
        Uri? tableEndpoint,
        Uri? queueEndpoint,
        byte[]? accountKey,
        TokenCredential? credential,
        string authDescription)
    {
        _settingName = settingName;
        AccountName = accountName;
        TableEndpoint = tableEndpoint;
        QueueEndpoint = queueEndpoint;
        _accountKey = accountKey;
        Credential = credential;
        _authDescription = authDescription;
    }

    /// <summary>Storage account name; null only for identity-based settings with explicit service URIs.</summary>
    public string? AccountName { get; }

    /// <summary>Table service endpoint (path-style for Azurite, host-style for Azure); null if not configured.</summary>
    public Uri? TableEndpoint { get; }

    /// <summary>Queue service endpoint; null if not configured.</summary>
    public Uri? QueueEndpoint { get; }

    /// <summary>The Entra ID credential used for bearer tokens; null when the account key is used.</summary>
    public TokenCredential? Credential { get; }

    /// <summary>True when requests are signed with the account key (Shared Key / Shared Key Lite).</summary>
    public bool UsesAccountKey => _accountKey is not null;

    internal byte[] AccountKey => _accountKey ?? throw new InvalidOperationException("This storage connection has no account key.");

    internal string SettingName => _settingName;

    /// <summary>Azurite's well-known development account on its default ports.</summary>
    public static StorageConnection Development { get; } = FromConnectionString("UseDevelopmentStorage=true", "UseDevelopmentStorage");

    /// <summary>Parses a storage connection string.</summary>
    /// <param name="connectionString">
    /// <c>UseDevelopmentStorage=true</c>, or <c>DefaultEndpointsProtocol=..;AccountName=..;AccountKey=..;EndpointSuffix=..</c>
    /// with optional explicit <c>TableEndpoint=</c> / <c>QueueEndpoint=</c>.
    /// </param>
    /// <param name="settingName">Name used in error messages, e.g. <c>AzureWebJobsStorage</c>.</param>
    public static StorageConnection FromConnectionString(string connectionString, string settingName = "connection string")
    {
        ArgumentNullException.ThrowIfNull(connectionString);
        ArgumentException.ThrowIfNullOrWhiteSpace(settingName);

        var parts = ParseConnectionString(connectionString, settingName);

        if (parts.TryGetValue("UseDevelopmentStorage", out var dev))
        {
            if (!string.Equals(dev, "true", StringComparison.OrdinalIgnoreCase))
            {
                throw Invalid(settingName, "UseDevelopmentStorage must be 'true'");
            }

            return new StorageConnection(
                settingName,
                DevelopmentAccountName,
                new Uri($"http://127.0.0.1:10002/{DevelopmentAccountName}"),
                new Uri($"http://127.0.0.1:10001/{DevelopmentAccountName}"),
                Convert.FromBase64String(DevelopmentAccountKey),
                credential: null,
                "SharedKey");
        }

        if (parts.ContainsKey("SharedAccessSignature"))
        {
            throw Invalid(settingName, "shared access signature connection strings are not supported; use an account key or identity-based settings");
        }

        parts.TryGetValue("AccountName", out var accountName);
        parts.TryGetValue("AccountKey", out var accountKey);
        if (string.IsNullOrWhiteSpace(accountName))
        {
            throw Invalid(settingName, "AccountName is missing");
        }

        if (string.IsNullOrWhiteSpace(accountKey))
        {
            throw Invalid(settingName, "AccountKey is missing");
        }

        byte[] key;
        try
        {
            key = Convert.FromBase64String(accountKey);
        }
        catch (FormatException)
        {
            throw Invalid(settingName, "AccountKey is not valid base64");
        }

        var protocol = parts.TryGetValue("DefaultEndpointsProtocol", out var p) && !string.IsNullOrWhiteSpace(p) ? p.ToLowerInvariant() : "https";
        if (protocol is not ("https" or "http"))
        {
            throw Invalid(settingName, "DefaultEndpointsProtocol must be 'https' or 'http'");
        }

        var suffix = parts.TryGetValue("EndpointSuffix", out var s) && !string.IsNullOrWhiteSpace(s) ? s.Trim('.') : "core.windows.net";

        var table = parts.TryGetValue("TableEndpoint", out var te)
            ? ParseEndpoint(te, settingName, "TableEndpoint")
            : new Uri($"{protocol}://{accountName}.table.{suffix}");
        var queue = parts.TryGetValue("QueueEndpoint", out var qe)
            ? ParseEndpoint(qe, settingName, "QueueEndpoint")
            : new Uri($"{protocol}://{accountName}.queue.{suffix}");

        return new StorageConnection(settingName, accountName, table, queue, key, credential: null, "SharedKey");
    }

    /// <summary>
    /// Reads the storage setting the way the Azure Functions host does: either a connection string in
    /// <c>configuration[name]</c>, or identity-based settings in the section <c>name</c>
    /// (environment variables <c>name__accountName</c>, <c>name__tableServiceUri</c>, <c>name__queueServiceUri</c>,
    /// <c>name__credential</c>, <c>name__clientId</c>).
    /// </summary>
    /// <exception cref="InvalidOperationException">The setting is missing or invalid; the message names the setting.</exception>
    public static StorageConnection FromConfiguration(IConfiguration configuration, string name = "AzureWebJobsStorage")
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);

        var plain = configuration[name];
        if (!string.IsNullOrWhiteSpace(plain))
        {
            return FromConnectionString(plain, name);
        }

        var section = configuration.GetSection(name);
        var accountName = NullIfBlank(section["accountName"]);
        var tableUri = NullIfBlank(section["tableServiceUri"]);
        var queueUri = NullIfBlank(section["queueServiceUri"]);

        if (accountName is null && tableUri is null && queueUri is null)
        {
            throw new InvalidOperationException(
                $"Storage setting '{name}' is missing: set a connection string or {name}__accountName " +
                $"(or {name}__tableServiceUri / {name}__queueServiceUri).");
        }

        if (accountName is not null && !IsValidAccountName(accountName))
        {
            throw Invalid(name + "__accountName", "it must be 3-24 lowercase letters or digits");
        }

        var table = tableUri is not null
            ? ParseEndpoint(tableUri, name + "__tableServiceUri", "value")
            : accountName is not null ? new Uri($"https://{accountName}.table.core.windows.net") : null;
        var queue = queueUri is not null
            ? ParseEndpoint(queueUri, name + "__queueServiceUri", "value")
            : accountName is not null ? new Uri($"https://{accountName}.queue.core.windows.net") : null;

        var credentialKind = NullIfBlank(section["credential"]);
        var clientId = NullIfBlank(section["clientId"]);
        TokenCredential credential;
        string description;
        if (credentialKind is null)
        {
            credential = clientId is null
                ? new DefaultAzureCredential()
                : new DefaultAzureCredential(new DefaultAzureCredentialOptions { ManagedIdentityClientId = clientId });
            description = clientId is null ? "DefaultAzureCredential" : $"DefaultAzureCredential(clientId={clientId})";
        }
        else if (string.Equals(credentialKind, "managedidentity", StringComparison.OrdinalIgnoreCase))
        {
            credential = clientId is null
                ? new ManagedIdentityCredential(ManagedIdentityId.SystemAssigned)
                : new ManagedIdentityCredential(ManagedIdentityId.FromUserAssignedClientId(clientId));
            description = clientId is null ? "ManagedIdentity(system-assigned)" : $"ManagedIdentity(clientId={clientId})";
        }
        else
        {
            throw Invalid(name + "__credential", "the only supported value is 'managedidentity'");
        }

        return new StorageConnection(name, accountName, table, queue, accountKey: null, credential, description);
    }

    /// <summary>Describes the connection without any secret.</summary>
    public override string ToString() =>
        $"StorageConnection(setting={_settingName}, account={AccountName ?? "(from URIs)"}, " +
        $"table={TableEndpoint?.ToString() ?? "(none)"}, queue={QueueEndpoint?.ToString() ?? "(none)"}, auth={_authDescription})";

    private static Dictionary<string, string> ParseConnectionString(string connectionString, string settingName)
    {
        var parts = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var segment in connectionString.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var eq = segment.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                // Never echo the segment: it may be (part of) the key.
                throw Invalid(settingName, "expected 'Name=Value' pairs separated by ';'");
            }

            var key = segment[..eq].Trim();
            var value = segment[(eq + 1)..].Trim();
            if (!parts.TryAdd(key, value))
            {
                throw Invalid(settingName, $"'{key}' appears more than once");
            }
        }

        if (parts.Count == 0)
        {
            throw Invalid(settingName, "it is empty");
        }

        return parts;
    }

    private static Uri ParseEndpoint(string value, string settingName, string part)
    {
        if (!Uri.TryCreate(value.Trim(), UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            throw Invalid(settingName, $"{part} must be an absolute http(s) URI");
        }

        if (!string.IsNullOrEmpty(uri.Query))
        {
            throw Invalid(settingName, $"{part} must not contain a query string");
        }

        return new Uri(uri.GetLeftPart(UriPartial.Path).TrimEnd('/'));
    }

    private static bool IsValidAccountName(string name) =>
        name.Length is >= 3 and <= 24 && name.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9'));

    private static string? NullIfBlank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    private static InvalidOperationException Invalid(string settingName, string reason) =>
        new($"Storage setting '{settingName}' is invalid: {reason}.");
}
