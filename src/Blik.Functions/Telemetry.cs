using System.Diagnostics;
using Azure.Core;
using Azure.Identity;
using Azure.Monitor.OpenTelemetry.Exporter;
using Blik.Checkout.Diagnostics;
using Microsoft.Azure.Functions.Worker.OpenTelemetry;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Blik.Functions;

/// <summary>
/// The app's OpenTelemetry (host.json sets <c>telemetryMode: OpenTelemetry</c>, so the host leaves the worker's
/// telemetry to it): the worker's invocation spans, the service's ActivitySource and Meter (<c>Blik.Checkout</c>),
/// the gateway's HTTP calls and the Azure SDK's storage and Key Vault calls. Where it goes:
/// <list type="bullet">
/// <item><c>APPLICATIONINSIGHTS_CONNECTION_STRING</c> set (Azure): Azure Monitor, every signal, nothing sampled,
/// authenticated with the managed identity <c>APPLICATIONINSIGHTS_AUTHENTICATION_STRING</c> names.</item>
/// <item>else <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> set: OTLP, every signal.</item>
/// <item>else in Development: the service's own spans to the console (unless <c>OTEL_TRACES_EXPORTER=none</c>);
/// metrics too with <c>OTEL_METRICS_EXPORTER=console</c>. Logs reach the console through the host already.</item>
/// <item>otherwise nothing is exported.</item>
/// </list>
/// </summary>
public static class Telemetry
{
    public const string ConnectionStringSetting = "APPLICATIONINSIGHTS_CONNECTION_STRING";
    public const string AuthenticationStringSetting = "APPLICATIONINSIGHTS_AUTHENTICATION_STRING";
    public const string OtlpEndpointSetting = "OTEL_EXPORTER_OTLP_ENDPOINT";
    public const string MetricsExporterSetting = "OTEL_METRICS_EXPORTER";
    public const string TracesExporterSetting = "OTEL_TRACES_EXPORTER";

    /// <summary>
    /// <c>Telemetry__AzureSdkHttpSpans=true</c> also records the Azure SDK's span per HTTP attempt (<c>Azure.Core.Http</c>)
    /// under each storage and Key Vault call's span. Off by default: every call keeps one span (its operation, duration
    /// and outcome, retries included), and the attempt spans were about half of what tracing costs per processed event.
    /// </summary>
    public const string AzureSdkHttpSpansSetting = "Telemetry:AzureSdkHttpSpans";

    /// <summary>The Azure SDK clients' spans, one per call (needs the <c>Azure.Experimental.EnableActivitySource</c> switch, set in the project file).</summary>
    private static readonly string[] AzureSdkOperationSources =
        ["Azure.Data.Tables.*", "Azure.Storage.Queues.*", "Azure.Security.KeyVault.Secrets.*", "Azure.Identity.*"];

    /// <summary>The Azure SDK's span per HTTP attempt.</summary>
    public const string AzureSdkHttpSource = "Azure.Core.Http";

    public static void AddBlikTelemetry(this IHostApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        var toAzureMonitor = !string.IsNullOrWhiteSpace(configuration[ConnectionStringSetting]);
        var toOtlp = !toAzureMonitor && !string.IsNullOrWhiteSpace(configuration[OtlpEndpointSetting]);
        var toConsole = !toAzureMonitor && !toOtlp && builder.Environment.IsDevelopment()
            && !string.Equals(configuration[TracesExporterSetting], "none", StringComparison.OrdinalIgnoreCase);

        var telemetry = builder.Services.AddOpenTelemetry()
            .UseFunctionsWorkerDefaults()
            .WithTracing(tracing =>
            {
                tracing.AddSource(CheckoutTelemetry.SourceName);
                if (!toConsole)
                {
                    // A developer's console gets the service's spans only: storage and gateway calls (several a
                    // minute from the sweep alone) would bury them. OTLP shows everything locally.
                    tracing.AddSource(AzureSdkOperationSources);
                    if (configuration.GetValue<bool>(AzureSdkHttpSpansSetting))
                    {
                        tracing.AddSource(AzureSdkHttpSource);
                    }

                    // HttpClient spans for the gateway's calls; under an Azure SDK span one would only repeat it.
                    // (When the filter runs, Activity.Current is the request's own activity and its parent the caller's.)
                    tracing.AddHttpClientInstrumentation(http => http.FilterHttpRequestMessage = _ => !IsAzureSdk(Activity.Current?.Parent));
                }
            })
            .WithMetrics(metrics => metrics.AddMeter(CheckoutMetrics.MeterName));

        if (toAzureMonitor)
        {
            // The parameterless overload reads the connection string from configuration; the options below are set
            // through the options system, which is what it honours (the overload with a delegate ignores OTEL_* too).
            telemetry.UseAzureMonitorExporter();
            var credential = ManagedIdentityFor(configuration[AuthenticationStringSetting]);
            builder.Services.Configure<AzureMonitorExporterOptions>(options =>
            {
                // Payment events are the audit trail: no span and no log may be sampled away. The exporter's
                // defaults (5 traces/s, logs dropped with their unsampled span) lose Critical logs under bursts.
                options.SamplingRatio = 1.0f;
                options.TracesPerSecond = null;
                options.EnableTraceBasedLogsSampler = false;
                // Application Insights accepts only Entra ID tokens (local auth is disabled).
                options.Credential = credential;
            });
        }
        else if (toOtlp)
        {
            telemetry.UseOtlpExporter();
        }
        else if (toConsole)
        {
            telemetry.WithTracing(tracing => tracing.AddConsoleExporter());
            if (string.Equals(configuration[MetricsExporterSetting], "console", StringComparison.OrdinalIgnoreCase))
            {
                telemetry.WithMetrics(metrics => metrics.AddConsoleExporter());
            }
        }
    }

    private static bool IsAzureSdk(Activity? activity) =>
        activity is not null && activity.Source.Name.StartsWith("Azure.", StringComparison.Ordinal);

    /// <summary>
    /// The credential the Functions host also uses for Application Insights, from the same setting:
    /// <c>Authorization=AAD</c> with an optional <c>ClientId=&lt;user-assigned identity&gt;</c> (else the system-assigned
    /// identity). Null when the setting is absent (instrumentation-key ingestion).
    /// </summary>
    /// <exception cref="InvalidOperationException">The setting is present but does not ask for Entra ID.</exception>
    public static TokenCredential? ManagedIdentityFor(string? authenticationString)
    {
        if (string.IsNullOrWhiteSpace(authenticationString))
        {
            return null;
        }

        var parts = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var part in authenticationString.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var pair = part.Split('=', 2, StringSplitOptions.TrimEntries);
            parts[pair[0]] = pair.Length == 2 ? pair[1] : "";
        }

        if (!parts.TryGetValue("Authorization", out var authorization) || !string.Equals(authorization, "AAD", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException($"Setting {AuthenticationStringSetting} must be 'Authorization=AAD' with an optional 'ClientId=<client id>'.");
        }

        return parts.TryGetValue("ClientId", out var clientId) && clientId.Length > 0
            ? new ManagedIdentityCredential(ManagedIdentityId.FromUserAssignedClientId(clientId))
            : new ManagedIdentityCredential(ManagedIdentityId.SystemAssigned);
    }
}
