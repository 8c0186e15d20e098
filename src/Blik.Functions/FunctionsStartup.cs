using Blik.Checkout.Configuration;
using Blik.Checkout.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace Blik.Functions;

/// <summary>The Functions app's registrations: the application plus telemetry.</summary>
public static class FunctionsStartup
{
    public static void Configure(IHostApplicationBuilder builder)
    {
        builder.Configuration.AddKeyVaultSecrets();
        builder.Services.AddBlikCheckout(builder.Configuration);
        builder.AddBlikTelemetry();

        builder.Services.AddSingleton<CheckoutFunctions>();
        builder.Services.AddSingleton<EventFunctions>();
        builder.Services.AddSingleton<RecheckFunctions>();
        builder.Services.AddSingleton<SweepFunctions>();

        // The queue probe (QueueProbe.cs) reads through the application's own QueueServiceClient.
        builder.Services.AddSingleton<QueueProbe>();
    }
}
