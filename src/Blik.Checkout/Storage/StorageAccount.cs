using Azure.Core;
using Azure.Data.Tables;
using Azure.Identity;
using Azure.Storage.Queues;
using Microsoft.Extensions.Configuration;

namespace Blik.Checkout.Storage;

/// <summary>
/// Where the storage account is and how to reach it, read from the setting the Azure Functions host reads
/// (<c>AzureWebJobsStorage</c>): a connection string (parsed by the Azure SDK itself, <c>UseDevelopmentStorage=true</c>
/// included), or identity-based <c>__accountName</c> / <c>__tableServiceUri</c> / <c>__queueServiceUri</c> with
/// <c>__credential=managedidentity</c> and <c>__clientId</c>. Creates the SDK's service clients; the connection
/// string never leaves this type.
/// </summary>
public sealed class StorageAccount
{
    private readonly string? _connectionString;
    private readonly string _authDescription;

    private StorageAccount(string settingName, string? connectionString, Uri? tableServiceUri, Uri? queueServiceUri, TokenCredential? credential, string authDescription)
    {
        SettingName = settingName;
        _connectionString = connectionString;
        TableServiceUri = tableServiceUri;
        QueueServiceUri = queueServiceUri;
        Credential = credential;
        _authDescription = authDescription;
    }

    /// <summary>The setting this account was read from, for messages.</summary>
    public string SettingName { get; }

    /// <summary>The table service endpoint; null when identity-based settings give only a queue endpoint.</summary>
    public Uri? TableServiceUri { get; }

    /// <summary>The queue service endpoint; null when identity-based settings give only a table endpoint.</summary>
    public Uri? QueueServiceUri { get; }

    /// <summary>The Entra ID credential of identity-based settings; null with a connection string.</summary>
    public TokenCredential? Credential { get; }

    /// <summary>Reads <paramref name="name"/> from configuration as the Functions host does.</summary>
    /// <exception cref="InvalidOperationException">Missing or malformed; the message names the setting and echoes no value.</exception>
    public static StorageAccount FromConfiguration(IConfiguration configuration, string name = "AzureWebJobsStorage")
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
            ? ParseServiceUri(tableUri, name + "__tableServiceUri")
            : accountName is not null ? new Uri($"https://{accountName}.table.core.windows.net") : null;
        var queue = queueUri is not null
            ? ParseServiceUri(queueUri, name + "__queueServiceUri")
            : accountName is not null ? new Uri($"https://{accountName}.queue.core.windows.net") : null;

        var credentialKind = NullIfBlank(section["credential"]);
        var clientId = NullIfBlank(section["clientId"]);
        if (credentialKind is null)
        {
            // As the host does without __credential: the developer's own sign-in locally, a managed identity in Azure.
            var credential = clientId is null
                ? new DefaultAzureCredential()
                : new DefaultAzureCredential(new DefaultAzureCredentialOptions { ManagedIdentityClientId = clientId });
            return new StorageAccount(name, null, table, queue, credential,
                clientId is null ? "DefaultAzureCredential" : $"DefaultAzureCredential(clientId={clientId})");
        }

        if (!string.Equals(credentialKind, "managedidentity", StringComparison.OrdinalIgnoreCase))
        {
            throw Invalid(name + "__credential", "the only supported value is 'managedidentity'");
        }

        var identity = clientId is null
            ? new ManagedIdentityCredential(ManagedIdentityId.SystemAssigned)
            : new ManagedIdentityCredential(ManagedIdentityId.FromUserAssignedClientId(clientId));
        return new StorageAccount(name, null, table, queue, identity,
            clientId is null ? "ManagedIdentity(system-assigned)" : $"ManagedIdentity(clientId={clientId})");
    }

    /// <summary>A connection string, checked by building the SDK's clients from it (no request is made).</summary>
    /// <exception cref="InvalidOperationException">The SDK cannot use it; the message names the setting and echoes no part of it.</exception>
    public static StorageAccount FromConnectionString(string connectionString, string settingName = "connection string")
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        try
        {
            var tables = new TableServiceClient(connectionString);
            var queues = new QueueServiceClient(connectionString);
            return new StorageAccount(settingName, connectionString, tables.Uri, queues.Uri, null, "connection string");
        }
        catch (Exception e) when (e is FormatException or ArgumentException or InvalidOperationException or UriFormatException)
        {
            // Never the SDK's message: it may quote the string, key included.
            throw Invalid(settingName, "it is not a storage connection string the Azure SDK accepts (expected UseDevelopmentStorage=true, " +
                "or AccountName=...;AccountKey=... with optional DefaultEndpointsProtocol, EndpointSuffix, TableEndpoint, QueueEndpoint)");
        }
    }

    /// <summary>The table service client; <paramref name="options"/> get the service's transport settings first.</summary>
    public TableServiceClient CreateTableServiceClient(TableClientOptions? options = null)
    {
        options = StorageClientDefaults.Apply(options ?? new TableClientOptions());
        if (_connectionString is not null)
        {
            return new TableServiceClient(_connectionString, options);
        }

        var uri = TableServiceUri ?? throw new InvalidOperationException(
            $"Storage setting '{SettingName}' has no table endpoint: set {SettingName}__accountName or {SettingName}__tableServiceUri.");
        return new TableServiceClient(uri, Credential, options);
    }

    /// <summary>The queue service client; <paramref name="options"/> get the service's transport settings first.</summary>
    public QueueServiceClient CreateQueueServiceClient(QueueClientOptions? options = null)
    {
        options = StorageClientDefaults.Apply(options ?? new QueueClientOptions());
        if (_connectionString is not null)
        {
            return new QueueServiceClient(_connectionString, options);
        }

        var uri = QueueServiceUri ?? throw new InvalidOperationException(
            $"Storage setting '{SettingName}' has no queue endpoint: set {SettingName}__accountName or {SettingName}__queueServiceUri.");
        return new QueueServiceClient(uri, Credential, options);
    }

    /// <summary>Describes the account without any secret.</summary>
    public override string ToString() =>
        $"StorageAccount(setting={SettingName}, table={TableServiceUri?.ToString() ?? "(none)"}, " +
        $"queue={QueueServiceUri?.ToString() ?? "(none)"}, auth={_authDescription})";

    private static Uri ParseServiceUri(string value, string settingName)
    {
        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            throw Invalid(settingName, "it must be an absolute http(s) URI");
        }

        if (!string.IsNullOrEmpty(uri.Query))
        {
            throw Invalid(settingName, "it must not contain a query string");
        }

        return uri;
    }

    private static bool IsValidAccountName(string name) =>
        name.Length is >= 3 and <= 24 && name.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9'));

    private static string? NullIfBlank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    private static InvalidOperationException Invalid(string settingName, string reason) =>
        new($"Storage setting '{settingName}' is invalid: {reason}.");
}
