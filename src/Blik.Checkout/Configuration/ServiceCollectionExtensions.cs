using Blik.Checkout.Diagnostics;
using Blik.Checkout.Gateway;
using Blik.Checkout.Http;
using Blik.Checkout.Processing;
using Blik.Checkout.Sessions;
using Blik.Checkout.Storage;
using Blik.Checkout.Sweeps;
using Blik.Checkout.Webhooks;
using Blik.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Blik.Checkout.Configuration;

public static class ServiceCollectionExtensions
{
    /// <summary>The storage connection setting (connection string, or identity-based <c>__accountName</c> form).</summary>
    public const string StorageSetting = "AzureWebJobsStorage";

    /// <summary>
    /// Everything the application needs, for any host: the Functions app and the local runner both call this and
    /// nothing else, so they cannot be configured differently. Options are validated when the host starts; a
    /// missing or wrong setting stops start-up with a message that names it.
    /// </summary>
    public static IServiceCollection AddBlikCheckout(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<ConvergeGateOptions>().Bind(configuration.GetSection(ConvergeGateOptions.Section)).ValidateOnStart();
        services.AddOptions<CheckoutOptions>().Bind(configuration.GetSection(CheckoutOptions.Section)).ValidateOnStart();
        services.AddOptions<WebhookOptions>().Bind(configuration.GetSection(WebhookOptions.Section)).ValidateOnStart();
        services.AddOptions<SweepOptions>().Bind(configuration.GetSection(SweepOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<ConvergeGateOptions>, SettingsValidator>();
        services.AddSingleton<IValidateOptions<CheckoutOptions>, SettingsValidator>();
        services.AddSingleton<IValidateOptions<WebhookOptions>, SettingsValidator>();
        services.AddSingleton<IValidateOptions<SweepOptions>, SettingsValidator>();

        services.AddOptions<StorageSettings>()
            .Configure(s => s.Connection = TryStorage(configuration, out var error) ?? throw new OptionsValidationException(StorageSetting, typeof(StorageSettings), [error!]))
            .ValidateOnStart();

        services.TryAddSingleton(TimeProvider.System);
        services.AddMetrics();
        services.TryAddSingleton<CheckoutMetrics>();

        services.TryAddSingleton(sp => new StorageClientFactory(sp.GetRequiredService<IOptions<StorageSettings>>().Value.Connection!));
        services.TryAddSingleton<StorageBootstrap>();
        services.TryAddSingleton<SessionStore>();
        services.TryAddSingleton<DueIndex>();
        services.TryAddSingleton<IdempotencyStore>();
        services.TryAddSingleton<Refunds.RefundStore>();
        services.TryAddSingleton<Refunds.RefundService>();

        services.AddConvergeGateClient();

        services.TryAddSingleton<ClientSecrets>();
        services.TryAddSingleton<FulfilmentOutbox>();
        services.TryAddSingleton<SessionReconciler>();
        services.TryAddSingleton<SessionService>();
        services.TryAddSingleton<WebhookIntake>();
        services.TryAddSingleton<EventProcessor>();
        services.TryAddSingleton<Sweeper>();
        services.TryAddSingleton<CheckoutHandlers>();
        return services;
    }

    private static StorageConnection? TryStorage(IConfiguration configuration, out string? error)
    {
        try
        {
            error = null;
            return StorageConnection.FromConfiguration(configuration, StorageSetting);
        }
        catch (InvalidOperationException e)
        {
            error = e.Message;
            return null;
        }
    }
}

/// <summary>The storage account the app's tables and queues live in (the same one the queue trigger listens on).</summary>
public sealed class StorageSettings
{
    public StorageConnection? Connection { get; set; }
}
