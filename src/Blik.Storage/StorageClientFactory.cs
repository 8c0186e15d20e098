using Azure.Core.Pipeline;

namespace Blik.Storage;

/// <summary>Hands out table and queue clients; the one place to swap in other implementations.</summary>
public interface IStorageClientFactory
{
    /// <summary>A client for one table (3-63 letters or digits, starting with a letter).</summary>
    ITableClient GetTableClient(string tableName);

    /// <summary>A client for one queue (3-63 lowercase letters, digits and single hyphens).</summary>
    IQueueClient GetQueueClient(string queueName);
}

/// <summary>
/// Builds one Azure.Core pipeline per service (retries, timeout, signing) and shares it across clients.
/// Thread-safe; register as a singleton.
/// </summary>
public sealed class StorageClientFactory : IStorageClientFactory
{
    private readonly StorageConnection _connection;
    private readonly StorageClientOptions _options;
    private readonly Lazy<HttpPipeline> _tablePipeline;
    private readonly Lazy<HttpPipeline> _queuePipeline;

    /// <summary>Creates the factory. Options are copied; later changes to them have no effect.</summary>
    public StorageClientFactory(StorageConnection connection, StorageClientOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(connection);
        options ??= new StorageClientOptions();
        options.Validate();
        _connection = connection;
        _options = new StorageClientOptions
        {
            MaxRetries = options.MaxRetries,
            RetryDelay = options.RetryDelay,
            MaxRetryDelay = options.MaxRetryDelay,
            NetworkTimeout = options.NetworkTimeout,
            MessageEncoding = options.MessageEncoding,
        };
        _tablePipeline = new(() => StoragePipeline.Build(_connection, _options, StorageService.Table));
        _queuePipeline = new(() => StoragePipeline.Build(_connection, _options, StorageService.Queue));
    }

    /// <summary>The connection the clients use.</summary>
    public StorageConnection Connection => _connection;

    /// <inheritdoc />
    public ITableClient GetTableClient(string tableName)
    {
        var endpoint = _connection.TableEndpoint ?? throw new InvalidOperationException(
            $"Storage setting '{_connection.SettingName}' has no table endpoint: set {_connection.SettingName}__accountName or {_connection.SettingName}__tableServiceUri.");
        return new TableClient(_tablePipeline.Value, endpoint, tableName);
    }

    /// <inheritdoc />
    public IQueueClient GetQueueClient(string queueName)
    {
        var endpoint = _connection.QueueEndpoint ?? throw new InvalidOperationException(
            $"Storage setting '{_connection.SettingName}' has no queue endpoint: set {_connection.SettingName}__accountName or {_connection.SettingName}__queueServiceUri.");
        return new QueueClient(_queuePipeline.Value, endpoint, queueName, _options.MessageEncoding);
    }
}
