using System.Globalization;
using Blik.Checkout;
using Blik.DevServices;
using ConvergeGate.Sandbox;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Blik.LocalRunner;

/// <summary>
/// <c>scripts/run-local.sh</c> ends here: start what the configuration points at but is not running yet
/// (Azurite on the development-storage ports, the Converge Gate sandbox on 7072), then the service on 7071, in the
/// foreground. Ctrl-C or SIGTERM stops everything it started; a second run reuses nothing and needs no cleanup.
/// </summary>
public static class RunnerProgram
{
    public static async Task<int> RunAsync(string[] args)
    {
        var app = RunnerApp.Build(args);
        var config = app.Configuration;
        await using var azurite = await StartAzuriteIfWantedAsync(config);
        await using var sandbox = await StartSandboxIfWantedAsync(config);

        try
        {
            await app.StartAsync();
        }
        catch (Exception e) when (e is IOException or Microsoft.Extensions.Options.OptionsValidationException)
        {
            await Console.Error.WriteLineAsync($"The service could not start: {e.Message}");
            return 1;
        }

        PrintBanner(app, config, sandbox is not null, azurite is not null);
        await app.WaitForShutdownAsync();
        await app.DisposeAsync();
        return 0;
    }

    private static async Task<AzuriteInstance?> StartAzuriteIfWantedAsync(IConfiguration config)
    {
        var wanted = config["Runner:StartAzurite"];
        var developmentStorage = string.Equals(config["AzureWebJobsStorage"], "UseDevelopmentStorage=true", StringComparison.OrdinalIgnoreCase);
        if (wanted == "false" || (wanted is null && !developmentStorage))
        {
            return null;
        }

        if (await FreePort.IsListeningAsync(10002) && await FreePort.IsListeningAsync(10001))
        {
            Console.WriteLine("Azurite: already listening on 127.0.0.1:10001/10002, using it (it must run with --skipApiVersionCheck).");
            return null;
        }

        Console.WriteLine("Azurite: starting on 127.0.0.1:10000-10002 (data in .azurite/) ...");
        return await AzuriteInstance.StartAsync(AzuriteLaunch.DevelopmentStorage(Path.Combine(RepoPaths.Root, ".azurite")));
    }

    private static async Task<SandboxServer?> StartSandboxIfWantedAsync(IConfiguration config)
    {
        var wanted = config["Runner:StartSandbox"];
        var baseUrl = Uri.TryCreate(config["ConvergeGate:BaseUrl"], UriKind.Absolute, out var u) ? u : null;
        if (wanted == "false" || baseUrl is null || !baseUrl.IsLoopback)
        {
            return null;
        }

        if (await FreePort.IsListeningAsync(baseUrl.Port))
        {
            Console.WriteLine($"Converge Gate sandbox: something already listens on {baseUrl}, using it.");
            return null;
        }

        var options = new SandboxOptions
        {
            Port = baseUrl.Port,
            SecretKey = config["ConvergeGate:SecretKey"] ?? SandboxOptions.DefaultSecretKey,
            AllowInsecureNotificationUrls = true,
        };
        if (TimeSpan.TryParse(config["Runner:SandboxConfirmationDelay"], CultureInfo.InvariantCulture, out var delay))
        {
            options.ConfirmationDelay = delay;
        }

        return await SandboxServer.StartAsync(options);
    }

    private static void PrintBanner(WebApplication app, IConfiguration config, bool sandboxStarted, bool azuriteStarted)
    {
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
            ?? RunnerApp.DefaultUrls;
        Console.WriteLine();
        Console.WriteLine($"BLIK checkout service: {address}/{Routes.Prefix}/  (health: {address}/{Routes.Prefix}/{Routes.Health})");
        Console.WriteLine($"  Converge Gate: {config["ConvergeGate:BaseUrl"]}{(sandboxStarted ? " (sandbox started here; BLIK code 777123 succeeds, 111111 is refused)" : "")}");
        Console.WriteLine($"  Storage: {(azuriteStarted ? "Azurite started here" : "as configured in AzureWebJobsStorage")}");
        Console.WriteLine("  Try it:");
        Console.WriteLine($"    curl -s -X POST {address}/api/checkout/sessions -H 'Content-Type: application/json' \\");
        Console.WriteLine("      -d '{\"amount\":1000,\"currency\":\"pln\",\"customer_email\":\"jan@example.com\",\"customer_firstname\":\"Jan\",\"customer_lastname\":\"Kowalski\",\"customer_phone\":\"+48123456789\",\"success_url\":\"https://shop.example/ok\"}'");
        Console.WriteLine("  then POST {\"blik_code\":\"777123\"} to /api/checkout/sessions/<id>/pay and GET the session, both with header X-Client-Secret: <client_secret>.");
        Console.WriteLine("  Ctrl-C stops everything started here.");
    }
}
