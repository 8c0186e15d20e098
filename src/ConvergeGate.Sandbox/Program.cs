using System.Runtime.InteropServices;
using ConvergeGate.Sandbox;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

var switchMappings = new Dictionary<string, string>
{
    ["--port"] = "Sandbox:Port",
    ["--secret-key"] = "Sandbox:SecretKey",
    ["--confirmation-delay"] = "Sandbox:ConfirmationDelay",
    ["--bank-app-window"] = "Sandbox:BankAppWindow",
    ["--seed"] = "Sandbox:Seed",
    ["--manual-clock"] = "Sandbox:ManualClock",
    ["--clock-file"] = "Sandbox:ClockFile",
    ["--public-base-url"] = "Sandbox:PublicBaseUrl",
    ["--mode"] = "Sandbox:Mode",
    ["--profile"] = "Sandbox:Profile",
    ["--webhook-key-derivation"] = "Sandbox:WebhookKeyDerivation",
    ["--livemode"] = "Sandbox:Livemode",
};

var configuration = new ConfigurationBuilder()
    .SetBasePath(AppContext.BaseDirectory)
    .AddJsonFile("appsettings.json", optional: true)
    .AddEnvironmentVariables()
    .AddCommandLine(args, switchMappings)
    .Build();

var options = new SandboxOptions
{
    ConfigureLogging = logging => logging
        .AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss ";
        })
        .AddConfiguration(configuration.GetSection("Logging"))
        .SetMinimumLevel(LogLevel.Information)
        .AddFilter("Microsoft", LogLevel.Warning),
};
try
{
    configuration.GetSection("Sandbox").Bind(options);
}
catch (InvalidOperationException ex)
{
    await Console.Error.WriteLineAsync($"Invalid sandbox setting: {ex.Message} (enum values are PascalCase, e.g. --mode StrictDocs --profile PayExample)");
    return 2;
}

using var shutdown = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    shutdown.Cancel();
};
// The web host's console lifetime swallows SIGTERM, so stop on it here (a ProcessExit handler would come too late).
using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
{
    context.Cancel = true;
    shutdown.Cancel();
});

SandboxServer sandbox;
try
{
    sandbox = await SandboxServer.StartAsync(options, shutdown.Token);
}
catch (IOException ex)
{
    await Console.Error.WriteLineAsync($"Could not start the sandbox on port {options.Port}: {ex.Message}");
    return 1;
}

await using var running = sandbox;
Console.WriteLine($"Converge Gate sandbox listening on {sandbox.BaseAddress}");
Console.WriteLine($"Secret key (test key): {sandbox.SecretKey}");
Console.WriteLine($"Mode: {options.Mode}; profile: {options.Profile}; webhook key: {options.WebhookKeyDerivation}");
Console.WriteLine($"Clock: {(sandbox.Clock.IsManual ? "manual" : "real time")}; confirmation delay {options.ConfirmationDelay}; seed {(options.Seed?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "random")}");
Console.WriteLine("BLIK codes: 777xxx/any=success after delay, 000000=instant, 111111 invalid, 222222 expired, 333333 used, 444444 declined, 555555 funds, 666666 limit, 888888 bank, 999999 timeout. Admin: /_sandbox/");

try
{
    await Task.Delay(Timeout.Infinite, shutdown.Token);
}
catch (OperationCanceledException)
{
    Console.WriteLine("Stopping.");
}

return 0;
