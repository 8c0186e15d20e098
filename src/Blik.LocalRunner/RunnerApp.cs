using Blik.Checkout;
using Blik.Checkout.Configuration;
using Blik.Checkout.Hosting;
using Blik.Checkout.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Memory;
using Microsoft.AspNetCore.Cors.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Blik.LocalRunner;

/// <summary>
/// The local host of the application: the Functions app's HTTP functions as routes (same handlers, same paths,
/// same methods), the queue processor and the sweep as background services. Tests build it in-process with this
/// same method, so what they prove is what a developer runs.
/// </summary>
public static class RunnerApp
{
    public const string DefaultUrls = "http://127.0.0.1:7071";

    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args,
            ContentRootPath = AppContext.BaseDirectory,
        });

        // Lowest precedence: the Functions local settings file; environment variables and arguments override it.
        var settingsFile = LocalSettings.Find(RepoPaths.Root, AppContext.BaseDirectory);
        if (settingsFile is not null)
        {
            builder.Configuration.Sources.Insert(0, new MemoryConfigurationSource { InitialData = LocalSettings.Read(settingsFile) });
        }

        builder.Configuration.AddKeyVaultSecrets();
        builder.WebHost.UseUrls(builder.Configuration["Runner:Urls"] ?? DefaultUrls);
        builder.Services.AddBlikCheckout(builder.Configuration);
        builder.Services.AddProblemDetails();
        builder.Services.AddSingleton(QueueHostSettings.Load(Path.Combine(AppContext.BaseDirectory, "host.json")));
        // CORS from the validated options, so it sees every configuration source (in Azure the platform's CORS
        // setting, fed from the same list by the Bicep template, answers instead).
        builder.Services.AddCors();
        builder.Services.AddOptions<CorsOptions>().Configure<IOptions<CheckoutOptions>>((cors, checkout) =>
            cors.AddDefaultPolicy(p => p
                .WithOrigins(checkout.Value.AllowedOrigins)
                .WithMethods("GET", "POST")
                .WithHeaders("Content-Type", CheckoutHandlers.ClientSecretHeader)
                .SetPreflightMaxAge(TimeSpan.FromMinutes(10))));

        configure?.Invoke(builder);

        // Background work is decided after the caller's configuration is in, so its settings count too.
        if (builder.Configuration.GetValue("Runner:ProcessQueue", true))
        {
            builder.Services.AddHostedService<QueueProcessorService>();
        }

        if (builder.Configuration.GetValue("Runner:Sweep", true))
        {
            builder.Services.AddHostedService<SweepTimerService>();
        }

        var app = builder.Build();
        app.UseStatusCodePages(); // empty-bodied 404/405 become problem details too
        app.UseCors();
        MapFunctions(app);
        PageEndpoints.Map(app);
        return app;
    }

    /// <summary>One route per HTTP function, named like the function; a test compares these with the attributes.</summary>
    public static void MapFunctions(IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/" + Routes.Prefix);
        api.MapPost(Routes.CreateSession, (HttpRequest request, CheckoutHandlers h) => h.CreateSessionAsync(request))
            .WithName(FunctionNames.CreateSession);
        api.MapGet(Routes.Session, (HttpRequest request, string id, CheckoutHandlers h) => h.GetSessionAsync(request, id))
            .WithName(FunctionNames.GetSession);
        api.MapPost(Routes.PaySession, (HttpRequest request, string id, CheckoutHandlers h) => h.PaySessionAsync(request, id))
            .WithName(FunctionNames.PaySession);
        api.MapPost(Routes.Refunds, (HttpRequest request, string id, CheckoutHandlers h) => h.CreateRefundAsync(request, id))
            .WithName(FunctionNames.CreateRefund);
        api.MapGet(Routes.Refunds, (HttpRequest request, string id, CheckoutHandlers h) => h.ListRefundsAsync(request, id))
            .WithName(FunctionNames.ListRefunds);
        api.MapGet(Routes.Refund, (HttpRequest request, string id, string refundId, CheckoutHandlers h) => h.GetRefundAsync(request, id, refundId))
            .WithName(FunctionNames.GetRefund);
        api.MapPost(Routes.Webhook, (HttpRequest request, CheckoutHandlers h) => h.WebhookAsync(request))
            .WithName(FunctionNames.ConvergeGateWebhook);
        api.MapGet(Routes.Health, (HttpRequest request, CheckoutHandlers h) => h.HealthAsync(request))
            .WithName(FunctionNames.Health);
    }
}

/// <summary>Where the repository is, for the settings file and Azurite's data folder.</summary>
public static class RepoPaths
{
    public static string Root { get; } = Find();

    private static string Find()
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "BlikFunctions.sln")))
                {
                    return dir.FullName;
                }
            }
        }

        return Directory.GetCurrentDirectory();
    }
}
