using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using ConvergeGate.Sandbox;
using LocalFunctionsHost;
using Microsoft.Extensions.Logging;

namespace Blik.DevServices;

/// <summary>What <c>scripts/run-local.sh</c> asked for.</summary>
public sealed record LocalRunOptions
{
    /// <summary>The published Functions app (scripts/run-local.sh publishes src/Blik.Functions there).</summary>
    public required string App { get; init; }

    /// <summary>A local.settings.json (the developer's own, else the committed sample).</summary>
    public required string SettingsFile { get; init; }

    /// <summary>Run Azure Functions Core Tools (<c>func start</c>) over the same app instead of the local host.</summary>
    public bool Func { get; init; }

    public bool Verbose { get; init; }
}

/// <summary>
/// The local run: Azurite and the Converge Gate sandbox where the settings point at loopback and nothing listens yet,
/// then the published app's real worker behind the local Functions host (or <c>func start</c>), with the reference
/// checkout page and the demo shop's create step. Ctrl-C or SIGTERM stops everything it started; a second run needs no
/// cleanup.
/// </summary>
public static class LocalRun
{
    private const string DevelopmentStorage = "UseDevelopmentStorage=true";

    public static async Task<int> RunAsync(LocalRunOptions options, CancellationToken stop)
    {
        var root = AzuriteInstance.FindRepoRoot();
        var values = ReadValues(options.SettingsFile);
        string? Setting(string name) => Environment.GetEnvironmentVariable(name) ?? values.GetValueOrDefault(name);

        using var loggerFactory = CreateLoggerFactory(options.Verbose);
        await using var azurite = await StartAzuriteIfWantedAsync(Setting("AzureWebJobsStorage"), root, stop);
        var gateway = Uri.TryCreate(Setting("ConvergeGate__BaseUrl"), UriKind.Absolute, out var url) ? url : null;
        var secretKey = Setting("ConvergeGate__SecretKey") ?? SandboxOptions.DefaultSecretKey;

        // The test clock: the sandbox publishes its time, the app follows it (Development and a test key only).
        var clockFile = Setting("TestClock__File");
        if (string.IsNullOrEmpty(clockFile) && secretKey.StartsWith("sk_test_", StringComparison.Ordinal))
        {
            clockFile = Path.Combine(root, "artifacts", "run-local", "sandbox-clock.json");
        }

        await using var sandbox = await StartSandboxIfWantedAsync(gateway, secretKey, clockFile, stop);
        var overrides = new Dictionary<string, string?>();
        if (!string.IsNullOrEmpty(clockFile) && (sandbox is not null || !string.IsNullOrEmpty(Setting("TestClock__File"))))
        {
            overrides["TestClock__File"] = Path.GetFullPath(clockFile);
        }

        if (Setting("OTEL_TRACES_EXPORTER") is null)
        {
            // Readable logs: span dumps only when asked for (OTEL_TRACES_EXPORTER=console).
            overrides["OTEL_TRACES_EXPORTER"] = "none";
        }

        var port = ReadPort(options.SettingsFile) ?? 7071;
        if (options.Func)
        {
            return await RunFuncAsync(options, overrides, port, azurite is not null, sandbox, stop);
        }

        FunctionsHost host;
        try
        {
            host = await FunctionsHost.StartAsync(new FunctionsHostOptions
            {
                ScriptRoot = options.App,
                SettingsFile = options.SettingsFile,
                Settings = overrides,
                StaticContentRoot = FunctionsApp.CheckoutPage,
                ConfigureUnmatched = DemoShop.Map,
                LoggerFactory = loggerFactory,
            }, stop);
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException or IOException)
        {
            await Console.Error.WriteLineAsync($"The service could not start: {e.Message}");
            return 1;
        }

        await using (host)
        {
            PrintBanner(host.BaseAddress, gateway, sandbox, azurite is not null, host.WorkerProcessId, clockFile is not null && overrides.ContainsKey("TestClock__File"));
            try
            {
                await host.Stopped.WaitAsync(stop);
            }
            catch (OperationCanceledException)
            {
                Console.WriteLine("Stopping ...");
            }
            catch (InvalidOperationException e)
            {
                await Console.Error.WriteLineAsync(e.Message);
                return 1;
            }

            await host.StopAsync(CancellationToken.None);
        }

        return 0;
    }

    /// <summary>The <c>Values</c> of a local.settings.json (names as written: <c>Section__Key</c>).</summary>
    public static Dictionary<string, string> ReadValues(string settingsFile)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(settingsFile), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        var values = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (document.RootElement.TryGetProperty("Values", out var section) && section.ValueKind == JsonValueKind.Object)
        {
            foreach (var value in section.EnumerateObject().Where(v => v.Value.ValueKind != JsonValueKind.Null))
            {
                values[value.Name] = value.Value.ValueKind == JsonValueKind.String ? value.Value.GetString()! : value.Value.GetRawText();
            }
        }

        return values;
    }

    private static int? ReadPort(string settingsFile)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(settingsFile), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        return document.RootElement.TryGetProperty("Host", out var host) && host.TryGetProperty("LocalHttpPort", out var port) && port.TryGetInt32(out var value) ? value : null;
    }

    private static ILoggerFactory CreateLoggerFactory(bool verbose) => LoggerFactory.Create(logging =>
    {
        logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss ";
        });
        logging.SetMinimumLevel(verbose ? LogLevel.Debug : LogLevel.Information);
        if (!verbose)
        {
            logging.AddFilter("Microsoft", LogLevel.Warning);
            logging.AddFilter("Grpc", LogLevel.Warning);
            logging.AddFilter("Yarp", LogLevel.Warning);
            // The worker's framework logs (its Kestrel, routing, HttpClient, Polly) only when they matter; the app's own
            // logs (Host.Worker.Blik...) and what the worker prints stay.
            logging.AddFilter("Host.Worker", LogLevel.Warning);
            logging.AddFilter("Host.Worker.Blik", LogLevel.Information);
            logging.AddFilter("Host.Worker.Console", LogLevel.Information);
        }
    });

    private static async Task<AzuriteInstance?> StartAzuriteIfWantedAsync(string? storage, string root, CancellationToken stop)
    {
        if (!string.Equals(storage, DevelopmentStorage, StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        if (await FreePort.IsListeningAsync(10001, stop) && await FreePort.IsListeningAsync(10002, stop))
        {
            Console.WriteLine("Azurite: already listening on 127.0.0.1:10000-10002, using it (it must run with --skipApiVersionCheck).");
            return null;
        }

        Console.WriteLine("Azurite: starting on 127.0.0.1:10000-10002 (data in .azurite/) ...");
        return await AzuriteInstance.StartAsync(AzuriteLaunch.DevelopmentStorage(Path.Combine(root, ".azurite")), stop);
    }

    private static async Task<SandboxServer?> StartSandboxIfWantedAsync(Uri? gateway, string secretKey, string? clockFile, CancellationToken stop)
    {
        if (gateway is null || !gateway.IsLoopback)
        {
            return null;
        }

        if (await FreePort.IsListeningAsync(gateway.Port, stop))
        {
            Console.WriteLine($"Converge Gate: something already listens on {gateway}, using it.");
            return null;
        }

        return await SandboxServer.StartAsync(new SandboxOptions
        {
            Port = gateway.Port,
            SecretKey = secretKey,
            AllowInsecureNotificationUrls = true,
            ClockFile = clockFile,
        }, stop);
    }

    /// <summary>
    /// <c>func start</c> over the same published app, with the same settings (as environment variables, which Core Tools
    /// lets win over local.settings.json). Not run on the build machines, where Core Tools cannot be installed.
    /// </summary>
    private static async Task<int> RunFuncAsync(LocalRunOptions options, Dictionary<string, string?> overrides, int port, bool azuriteStarted, SandboxServer? sandbox, CancellationToken stop)
    {
        File.Copy(options.SettingsFile, Path.Combine(options.App, "local.settings.json"), overwrite: true);
        var info = new ProcessStartInfo("func") { WorkingDirectory = options.App, UseShellExecute = false };
        foreach (var argument in new[] { "start", "--port", port.ToString(CultureInfo.InvariantCulture) })
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in overrides.Where(o => o.Value is not null))
        {
            info.Environment[name] = value;
        }

        Process func;
        try
        {
            func = Process.Start(info) ?? throw new InvalidOperationException("func did not start.");
        }
        catch (System.ComponentModel.Win32Exception)
        {
            await Console.Error.WriteLineAsync("`func` (Azure Functions Core Tools) is not on the PATH. Run scripts/run-local.sh without --func to use the local host.");
            return 1;
        }

        using (func)
        {
            Console.WriteLine($"func start (pid {func.Id}) over {options.App}; Azurite {(azuriteStarted ? "started here" : "as configured")}, Converge Gate {(sandbox is null ? "as configured" : sandbox.BaseAddress.ToString())}. The checkout page is not served in this mode.");
            try
            {
                await func.WaitForExitAsync(stop);
                return func.ExitCode;
            }
            catch (OperationCanceledException)
            {
                func.Kill(entireProcessTree: true);
                await func.WaitForExitAsync(CancellationToken.None);
                return 0;
            }
        }
    }

    private static void PrintBanner(Uri address, Uri? gateway, SandboxServer? sandbox, bool azuriteStarted, int? workerPid, bool testClock)
    {
        var api = address.ToString().TrimEnd('/');
        Console.WriteLine();
        Console.WriteLine($"BLIK checkout service: {api}/api/  (health: {api}/api/health), the published Blik.Functions worker (pid {workerPid}) behind the local Functions host");
        Console.WriteLine($"  Checkout page: {api}/  (OpenAPI: {api}/openapi.json)");
        Console.WriteLine($"  Converge Gate: {gateway}{(sandbox is not null ? " (sandbox started here; its BLIK test codes are in the README)" : "")}");
        if (sandbox is not null && testClock)
        {
            Console.WriteLine($"  Test clock: curl -s -X POST {sandbox.BaseAddress}_sandbox/clock/advance -d seconds=90  moves the sandbox and the app");
        }

        Console.WriteLine($"  Storage: {(azuriteStarted ? "Azurite started here" : "as configured in AzureWebJobsStorage")}");
        Console.WriteLine("  Try it:");
        Console.WriteLine($"    curl -s -X POST {api}/api/checkout/sessions -H 'Content-Type: application/json' \\");
        Console.WriteLine("      -d '{\"amount\":1000,\"currency\":\"pln\",\"customer_email\":\"jan@example.com\",\"customer_firstname\":\"Jan\",\"customer_lastname\":\"Kowalski\",\"customer_phone\":\"+48123456789\",\"success_url\":\"https://shop.example/ok\"}'");
        Console.WriteLine("  then POST {\"blik_code\":\"<six digits; the sandbox's test codes are in the README>\"} to /api/checkout/sessions/<id>/pay and GET the session, both with header X-Client-Secret: <client_secret>.");
        Console.WriteLine("  Ctrl-C stops everything started here.");
        Console.WriteLine();
    }
}
