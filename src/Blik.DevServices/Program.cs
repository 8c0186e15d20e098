using System.CommandLine;
using System.Runtime.InteropServices;
using Blik.DevServices;

// scripts/run-local.sh: dotnet Blik.DevServices.dll --app artifacts/run-local/functions-app [--settings file] [--func]
var root = AzuriteInstance.FindRepoRoot();
var app = new Option<DirectoryInfo>("--app") { Description = "The published Functions app (dotnet publish src/Blik.Functions -o <dir>).", Required = true };
var settings = new Option<FileInfo?>("--settings") { Description = "A local.settings.json. Default: src/Blik.Functions/local.settings.json if you made one, else local.settings.sample.json." };
var func = new Option<bool>("--func") { Description = "Run Azure Functions Core Tools (func start) over the same app instead of the local host." };
var verbose = new Option<bool>("--verbose") { Description = "Debug-level logs, the worker's framework logs included." };
var command = new RootCommand("Runs the BLIK checkout service locally: Azurite, the Converge Gate sandbox and the published Functions app.")
{
    app, settings, func, verbose,
};

using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.Cancel();
};
using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
{
    context.Cancel = true;
    stop.Cancel();
});

command.SetAction((parse, _) =>
{
    var settingsFile = parse.GetValue(settings)?.FullName
        ?? new[] { Path.Combine(root, "src", "Blik.Functions", "local.settings.json"), Path.Combine(root, "local.settings.sample.json") }.First(File.Exists);
    return LocalRun.RunAsync(new LocalRunOptions
    {
        App = parse.GetValue(app)!.FullName,
        SettingsFile = settingsFile,
        Func = parse.GetValue(func),
        Verbose = parse.GetValue(verbose),
    }, stop.Token);
});

// Ctrl-C and SIGTERM are handled above: stopping takes as long as the worker's graceful stop.
return await command.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
