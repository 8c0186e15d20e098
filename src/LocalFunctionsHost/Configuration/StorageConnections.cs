using System.Collections.Concurrent;
using Azure.Core;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using Microsoft.Extensions.Azure;
using Microsoft.Extensions.Configuration;

namespace LocalFunctionsHost.Configuration;

/// <summary>
/// Storage clients for a binding's <c>connection</c> setting, resolved as the Functions host does: the setting (or
/// <c>AzureWebJobs&lt;name&gt;</c>) holding a connection string (<c>UseDevelopmentStorage=true</c> included), or an
/// identity-based section <c>&lt;name&gt;__queueServiceUri</c> / <c>__blobServiceUri</c> / <c>__serviceUri</c> /
/// <c>__accountName</c> with <c>__credential</c> and <c>__clientId</c> (credentials built by Microsoft.Extensions.Azure).
/// </summary>
internal sealed class StorageConnections(AppSettings settings, AzureComponentFactory componentFactory)
{
    public const string DefaultConnection = "AzureWebJobsStorage";

    private readonly ConcurrentDictionary<string, QueueServiceClient> _queues = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, QueueServiceClient> _rawQueues = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, BlobServiceClient> _blobs = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>True if <paramref name="connection"/> names anything usable.</summary>
    public bool IsConfigured(string? connection)
    {
        var name = Name(connection);
        return ConnectionString(name) is not null || Section(name) is { } section && section.GetChildren().Any();
    }

    /// <summary>A queue service client; <paramref name="base64"/> picks the message encoding (host.json messageEncoding).</summary>
    public QueueServiceClient Queues(string? connection, bool base64, Func<QueueClientOptions, QueueClientOptions>? configure = null)
    {
        var name = Name(connection);
        var cache = base64 ? _queues : _rawQueues;
        if (configure is not null)
        {
            return CreateQueues(name, base64, configure);
        }

        return cache.GetOrAdd(name, n => CreateQueues(n, base64, null));
    }

    public BlobServiceClient Blobs(string? connection) => _blobs.GetOrAdd(Name(connection), name =>
    {
        if (ConnectionString(name) is { } connectionString)
        {
            return new BlobServiceClient(connectionString);
        }

        var (uri, credential) = Identity(name, "blob");
        return new BlobServiceClient(uri, credential);
    });

    private QueueServiceClient CreateQueues(string name, bool base64, Func<QueueClientOptions, QueueClientOptions>? configure)
    {
        var options = new QueueClientOptions { MessageEncoding = base64 ? QueueMessageEncoding.Base64 : QueueMessageEncoding.None };
        options = configure?.Invoke(options) ?? options;
        if (ConnectionString(name) is { } connectionString)
        {
            return new QueueServiceClient(connectionString, options);
        }

        var (uri, credential) = Identity(name, "queue");
        return new QueueServiceClient(uri, credential, options);
    }

    private static string Name(string? connection) => string.IsNullOrWhiteSpace(connection) ? DefaultConnection : connection;

    private string? ConnectionString(string name) =>
        NonEmpty(settings[name]) ?? NonEmpty(settings["AzureWebJobs" + name]) ?? NonEmpty(settings["ConnectionStrings:" + name]);

    private IConfigurationSection? Section(string name)
    {
        var section = settings.Configuration.GetSection(name);
        if (section.GetChildren().Any())
        {
            return section;
        }

        var prefixed = settings.Configuration.GetSection("AzureWebJobs" + name);
        return prefixed.GetChildren().Any() ? prefixed : null;
    }

    private (Uri Uri, TokenCredential Credential) Identity(string name, string service)
    {
        var section = Section(name) ?? throw new InvalidOperationException(
            $"The connection '{name}' is not configured: set '{name}' to a connection string, or '{name}__{service}ServiceUri' (or '{name}__accountName') for an identity-based connection.");
        Uri uri;
        if (section[service + "ServiceUri"] is { Length: > 0 } serviceUri)
        {
            uri = new Uri(serviceUri);
        }
        else if (section["serviceUri"] is { Length: > 0 } generic)
        {
            uri = new Uri(generic);
        }
        else if (section["accountName"] is { Length: > 0 } account)
        {
            uri = new Uri($"https://{account}.{service}.core.windows.net");
        }
        else
        {
            throw new InvalidOperationException($"The connection '{name}' has no '{service}ServiceUri', 'serviceUri' or 'accountName'.");
        }

        return (uri, componentFactory.CreateTokenCredential(section));
    }

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;
}
