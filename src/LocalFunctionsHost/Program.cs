using System.CommandLine;
using LocalFunctionsHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

// dotnet LocalFunctionsHost.dll --script-root <published app> [--port 7071] [--settings local.settings.json] [--enable-auth] ...
var scriptRoot = new Option<DirectoryInfo>("--script-root") { Description = "The published Functions app (dotnet publish -o <dir>).", Required = true };
var port = new Option<int?>("--port") { Description = "HTTP port (0 = a free one). Default: local.settings.json Host.LocalHttpPort, else 7071." };
var address = new Option<string>("--address") { Description = "Address to listen on.", DefaultValueFactory = _ => "127.0.0.1" };
var settingsFile = new Option<FileInfo?>("--settings") { Description = "A local.settings.json (default: the one in the script root, if any)." };
var enableAuth = new Option<bool>("--enable-auth") { Description = "Check function keys (LocalHost__Keys__* settings)." };
var staticRoot = new Option<DirectoryInfo?>("--static-root") { Description = "Serve static files from this folder for paths no function matches." };
var functions = new Option<string[]>("--functions") { Description = "Load only these functions.", AllowMultipleArgumentsPerToken = true };
var hostId = new Option<string?>("--host-id") { Description = "Host id for timer locks and schedule status." };
var verbose = new Option<bool>("--verbose") { Description = "Debug-level host logs." };

var command = new RootCommand("Runs a published Azure Functions isolated-worker app locally: HTTP, Storage Queue and timer triggers.")
{
    scriptRoot, port, address, settingsFile, enableAuth, staticRoot, functions, hostId, verbose,
};
command.SetAction(async (parse, cancellationToken) =>
{
    // host.json's logging.logLevel filters the host's log as it does in the Functions host ("Function", "Function.<Name>.User", ...).
    var hostJson = new ConfigurationBuilder()
        .AddJsonFile(Path.Combine(parse.GetValue(scriptRoot)!.FullName, "host.json"), optional: true)
        .Build();
    using var loggerFactory = LoggerFactory.Create(logging =>
    {
        logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss.fff ";
        });
        logging.SetMinimumLevel(parse.GetValue(verbose) ? LogLevel.Debug : LogLevel.Information);
        logging.AddFilter("Microsoft", LogLevel.Warning);
        logging.AddFilter("Grpc", LogLevel.Warning);
        logging.AddFilter("Yarp", LogLevel.Warning);
        // The worker's own framework logs (its Kestrel, its routing) only when they matter.
        logging.AddFilter("Host.Worker", parse.GetValue(verbose) ? LogLevel.Debug : LogLevel.Warning);
        logging.AddConfiguration(hostJson.GetSection("logging"));
    });
    var logger = loggerFactory.CreateLogger("LocalFunctionsHost");
    FunctionsHost host;
    try
    {
        host = await FunctionsHost.StartAsync(new FunctionsHostOptions
        {
            ScriptRoot = parse.GetValue(scriptRoot)!.FullName,
            Port = parse.GetValue(port),
            Address = parse.GetValue(address)!,
            SettingsFile = parse.GetValue(settingsFile)?.FullName,
            EnableAuth = parse.GetValue(enableAuth),
            StaticContentRoot = parse.GetValue(staticRoot)?.FullName,
            Functions = parse.GetValue(functions) is { Length: > 0 } names ? names : null,
            HostId = parse.GetValue(hostId),
            LoggerFactory = loggerFactory,
        }, cancellationToken);
    }
    catch (Exception e) when (e is InvalidOperationException or TimeoutException or IOException or FormatException)
    {
        logger.LogCritical("The host could not start: {Reason}", e.Message);
        return 1;
    }

    logger.LogInformation("Functions: {Functions}. Press Ctrl+C to stop.", string.Join(", ", host.Functions.Select(f => f.Name)));
    try
    {
        await host.Stopped.WaitAsync(cancellationToken);
    }
    catch (OperationCanceledException)
    {
        logger.LogInformation("Stopping.");
    }
    catch (InvalidOperationException e)
    {
        logger.LogCritical("{Reason}", e.Message);
        return 1;
    }

    await host.StopAsync(CancellationToken.None);
    return 0;
});

return await command.Parse(args).InvokeAsync();
