using Azure.Data.Tables;
using Azure.Storage.Queues;
using Microsoft.Extensions.Azure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Blik.Checkout.Storage;

public static class StorageServiceCollectionExtensions
{
    /// <summary>The storage setting the Functions host reads too (connection string, or identity-based <c>__accountName</c> form).</summary>
    public const string Setting = "AzureWebJobsStorage";

    /// <summary>
    /// The SDK's table and queue service clients, registered once through <c>AddAzureClients</c>, the SDK's event-source
    /// logs forwarded to <see cref="ILogger"/> (<see cref="AzureSdkLogs"/>), and the stores' helpers over them. The setting is read
    /// when first needed: a missing or malformed one stops start-up (<c>ValidateOnStart</c>) with a message naming it.
    /// </summary>
    public static IServiceCollection AddBlikStorage(this IServiceCollection services, IConfiguration configuration)
    {
        var account = new Lazy<StorageAccount>(() => ReadAccount(configuration));
        services.AddOptions<StorageSettings>()
            .Configure(s => s.Account = Validated(account))
            .ValidateOnStart();

        // The SDK's logs reach ILogger through AzureSdkLogs, at the level configuration asks for, instead of through
        // the library's forwarder, which listens at Verbose whatever the filters keep (registered first, so
        // AddAzureClients finds it).
        services.TryAddSingleton<AzureSdkLogs>();
        services.TryAddSingleton(sp =>
        {
            // Stopped before ours listens: an event source keeps the most verbose level any listener asked for while
            // another listener still has it enabled.
            var stopped = AzureSdkLogs.StoppedLibraryForwarder();
            sp.GetRequiredService<AzureSdkLogs>();
            return stopped;
        });
        services.AddAzureClients(clients =>
        {
            // A null credential (connection string) keeps the factory from building a DefaultAzureCredential it would not use.
            clients.AddClient<TableServiceClient, TableClientOptions>(options => account.Value.CreateTableServiceClient(options))
                .WithCredential(_ => account.Value.Credential!);
            clients.AddClient<QueueServiceClient, QueueClientOptions>(options =>
                {
                    options.MessageEncoding = QueueMessageEncoding.Base64; // what the queue trigger reads (host.json messageEncoding)
                    return account.Value.CreateQueueServiceClient(options);
                })
                .WithCredential(_ => account.Value.Credential!);
        });

        // The SDK's per-request events (forwarded above) only from Warning up unless configuration says otherwise, as
        // host.json does for the host: inserted first, so any Logging:LogLevel:Azure* setting overrides it.
        services.Configure<LoggerFilterOptions>(o => o.Rules.Insert(0, new LoggerFilterRule(null, "Azure", LogLevel.Warning, null)));

        services.TryAddSingleton<StorageBootstrap>();
        services.TryAddSingleton<StorageHealth>();
        services.AddHostedService<StorageProvisioning>();
        services.AddPort<IMessageQueues, MessageQueues>();
        services.AddPort<ISessionStore, SessionStore>();
        services.AddPort<IRefundStore, RefundStore>();
        services.AddPort<IDueIndex, DueIndex>();
        services.AddPort<IIdempotencyRecords, IdempotencyRecords>();
        services.AddPort<IOrderIndex, OrderIndex>();
        services.AddPort<IProcessedEvents, ProcessedEvents>();
        services.TryAddSingleton<IdempotencyStore>();
        return services;
    }

    /// <summary>The adapter as itself (for the tests that drive it on Azurite) and as the port the application uses.</summary>
    private static void AddPort<TPort, TAdapter>(this IServiceCollection services)
        where TPort : class
        where TAdapter : class, TPort
    {
        services.TryAddSingleton<TAdapter>();
        services.TryAddSingleton<TPort>(sp => sp.GetRequiredService<TAdapter>());
    }

    private static StorageAccount ReadAccount(IConfiguration configuration)
    {
        var account = StorageAccount.FromConfiguration(configuration, Setting);
        if (account.TableServiceUri is null || account.QueueServiceUri is null)
        {
            var missing = account.TableServiceUri is null ? "table" : "queue";
            throw new InvalidOperationException(
                $"Storage setting '{Setting}' has no {missing} endpoint: set {Setting}__accountName or {Setting}__{missing}ServiceUri.");
        }

        return account;
    }

    private static StorageAccount Validated(Lazy<StorageAccount> account)
    {
        try
        {
            return account.Value;
        }
        catch (InvalidOperationException e)
        {
            throw new OptionsValidationException(Setting, typeof(StorageSettings), [e.Message]);
        }
    }
}

/// <summary>The storage account the app's tables and queues live in (the same one the queue trigger listens on).</summary>
public sealed class StorageSettings
{
    public StorageAccount? Account { get; set; }
}
