using Blik.Checkout.Diagnostics;
using Blik.Checkout.Gateway;
using Blik.Checkout.Http;
using Blik.Checkout.Processing;
using Blik.Checkout.Sessions;
using Blik.Checkout.Storage;
using Blik.Checkout.Sweeps;
using Blik.Checkout.Webhooks;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Blik.Checkout.Configuration;

public static class ServiceCollectionExtensions
{
    /// <summary>The storage connection setting (connection string, or identity-based <c>__accountName</c> form).</summary>
    public const string StorageSetting = StorageServiceCollectionExtensions.Setting;

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

        services.AddBlikStorage(configuration);

        services.AddTestClock(configuration);
        services.AddMetrics();
        services.TryAddSingleton<CheckoutMetrics>();

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
}
