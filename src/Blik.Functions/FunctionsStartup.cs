using Blik.Checkout.Configuration;
using Microsoft.ApplicationInsights.WorkerService;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Blik.Functions;

/// <summary>The Functions app's registrations: the application (same call as the local runner) plus telemetry.</summary>
public static class FunctionsStartup
{
    private const string ApplicationInsightsLoggerProvider =
        "Microsoft.Extensions.Logging.ApplicationInsights.ApplicationInsightsLoggerProvider";

    public static void Configure(IHostApplicationBuilder builder)
    {
        builder.Configuration.AddKeyVaultSecrets();
        builder.Services.AddBlikCheckout(builder.Configuration);

        // Adaptive sampling would drop log traces under load; the payment audit trail must not be sampled, and the
        // volume (a handful of lines per session) does not need it.
        builder.Services
            .AddApplicationInsightsTelemetryWorkerService(new ApplicationInsightsServiceOptions { EnableAdaptiveSampling = false })
            .ConfigureFunctionsApplicationInsights();

        // The Application Insights SDK adds a rule that keeps only Warning and above; our Information events
        // (sessions created, codes submitted, transitions) are the audit trail, so drop that rule.
        builder.Services.Configure<LoggerFilterOptions>(options =>
        {
            var rule = options.Rules.FirstOrDefault(r => r.ProviderName == ApplicationInsightsLoggerProvider);
            if (rule is not null)
            {
                options.Rules.Remove(rule);
            }
        });

        // The meter's counters and latencies, as one log event per instrument a minute (the AI SDK ships logs).
        builder.Services.AddHostedService<Blik.Checkout.Diagnostics.MetricsReporter>();

        builder.Services.AddSingleton<CheckoutFunctions>();
        builder.Services.AddSingleton<EventFunctions>();
        builder.Services.AddSingleton<SweepFunctions>();
    }
}
