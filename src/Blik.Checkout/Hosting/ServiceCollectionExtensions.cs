using Blik.Checkout.Configuration;
using Blik.Checkout.Diagnostics;
using Blik.Checkout.Gateway;
using Blik.Checkout.Http;
using Blik.Checkout.Processing;
using Blik.Checkout.Refunds;
using Blik.Checkout.Sessions;
using Blik.Checkout.Storage;
using Blik.Checkout.Sweeps;
using Blik.Checkout.Webhooks;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Blik.Checkout.Hosting;

/// <summary>The composition root: the one place that knows every layer.</summary>
public static class ServiceCollectionExtensions
{
    /// <summary>The storage connection setting (connection string, or identity-based <c>__accountName</c> form).</summary>
    public const string StorageSetting = StorageServiceCollectionExtensions.Setting;

    /// <summary>
    /// Everything the application needs, for any host: the Functions app (and whatever runs it locally) calls this
    /// and nothing else, so no host can be configured differently. Options are validated when the host starts; a
    /// missing or wrong setting stops start-up with a message that names it.
    /// </summary>
    public static IServiceCollection AddBlikCheckout(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<ConvergeGateOptions>().Bind(configuration.GetSection(ConvergeGateOptions.Section)).ValidateOnStart();
        services.AddOptions<CheckoutOptions>().Bind(configuration.GetSection(CheckoutOptions.Section)).ValidateOnStart();
        services.AddOptions<WebhookOptions>().Bind(configuration.GetSection(WebhookOptions.Section)).ValidateOnStart();
        services.AddOptions<SweepOptions>().Bind(configuration.GetSection(SweepOptions.Section)).ValidateOnStart();
        services.TryAddSingleton(new AzureDeployment(configuration));
        services.AddSingleton<IValidateOptions<ConvergeGateOptions>, SettingsValidator>();
        services.AddSingleton<IValidateOptions<CheckoutOptions>, SettingsValidator>();
        services.AddSingleton<IValidateOptions<WebhookOptions>, SettingsValidator>();
        services.AddSingleton<IValidateOptions<SweepOptions>, SettingsValidator>();
        services.AddSingleton<IValidateOptions<CheckoutOptions>, GatewayCallLeases>();

        services.AddTestClock(configuration);
        services.AddMetrics();
        services.TryAddSingleton<CheckoutMetrics>();

        // Adapters: storage (Azure Tables and Queues) and the gateway (HTTP).
        services.AddBlikStorage(configuration);
        services.AddConvergeGateClient();

        // Application.
        services.TryAddSingleton<Outbox>();
        services.TryAddSingleton<ClientSecrets>();
        services.TryAddSingleton<IFirstRecheckQueue, FirstRecheckQueue>();
        services.TryAddSingleton<LivemodeCheck>();
        services.TryAddSingleton<OrderClaims>();
        services.TryAddSingleton<SessionWrites>();
        services.TryAddSingleton<SessionReconciler>();
        services.TryAddSingleton<SessionService>();
        services.TryAddSingleton<SessionRefresh>();
        services.TryAddSingleton<GatewayCallLeases>();
        services.TryAddSingleton<RefundReservations>();
        services.TryAddSingleton<RefundResolver>();
        services.TryAddSingleton<RefundWrites>();
        services.TryAddSingleton<RefundReconciler>();
        services.TryAddSingleton<RefundSweep>();
        services.TryAddSingleton<RefundService>();
        services.TryAddSingleton<Sweeper>();
        services.TryAddSingleton<WebhookIntake>();
        services.TryAddSingleton<EventProcessor>();

        // Edge.
        services.TryAddSingleton<CheckoutHandlers>();
        return services;
    }
}
