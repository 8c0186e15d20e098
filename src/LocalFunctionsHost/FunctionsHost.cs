using System.Net;
using System.Text;
using System.Text.Json;
using LocalFunctionsHost.Configuration;
using LocalFunctionsHost.Http;
using LocalFunctionsHost.Invocation;
using LocalFunctionsHost.Queues;
using LocalFunctionsHost.Timers;
using LocalFunctionsHost.Worker;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Azure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Yarp.ReverseProxy.Forwarder;

namespace LocalFunctionsHost;

/// <summary>The outcome of running a function on demand.</summary>
public sealed record FunctionRunResult(bool Succeeded, string? Error);

/// <summary>
/// A running local Functions host: the worker process, the gRPC server it talks to, the HTTP front end and the
/// queue and timer listeners. Start it with <see cref="StartAsync"/>; it is ready when that returns.
/// </summary>
public sealed class FunctionsHost : IAsyncDisposable
{
    /// <summary>The host version reported to the worker.</summary>
    public const string HostVersion = "4.1040.0";

    private const long DefaultBodyLimit = 104_857_600;

    private readonly FunctionsHostOptions _options;
    private readonly ILogger _logger;
    private readonly WebApplication _grpc;
    private readonly WebApplication _web;
    private readonly WorkerSupervisor _supervisor;
    private readonly List<QueueListener> _queues = [];
    private readonly List<TimerListener> _timers = [];
    private readonly Dictionary<string, FunctionDescriptor> _byName = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<Task> _adminRuns = [];
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly SemaphoreSlim _stopGate = new(1, 1);
    private ServiceProvider? _azure;
    private HttpFunctions? _http;
    private bool _stopping;

    private FunctionsHost(FunctionsHostOptions options, ILogger logger, WebApplication grpc, WebApplication web, WorkerSupervisor supervisor, string hostId, Uri baseAddress)
    {
        _options = options;
        _logger = logger;
        _grpc = grpc;
        _web = web;
        _supervisor = supervisor;
        HostId = hostId;
        BaseAddress = baseAddress;
    }

    /// <summary>Where the HTTP functions (and the admin API) answer, e.g. http://127.0.0.1:7071/.</summary>
    public Uri BaseAddress { get; }

    public string HostId { get; }

    /// <summary>The functions loaded, in function-name order.</summary>
    public IReadOnlyList<FunctionInfo> Functions => _supervisor.Functions.Select(f => f.Info).ToArray();

    /// <summary>The current worker's process id (null while it restarts).</summary>
    public int? WorkerProcessId => _supervisor.Current is { Exited.IsCompleted: false } current ? current.ProcessId : null;

    /// <summary>Completes when the host has stopped: normally, or (faulted) after giving up on a crashing worker.</summary>
    public Task Stopped => _stopped.Task;

    /// <summary>Starts the host and the worker; returns once every function is loaded and every listener runs.</summary>
    public static async Task<FunctionsHost> StartAsync(FunctionsHostOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var loggerFactory = options.LoggerFactory ?? NullLoggerFactory.Instance;
        var logger = loggerFactory.CreateLogger("Host.Startup");
        var scriptRoot = Path.GetFullPath(options.ScriptRoot);
        var settingsFile = options.SettingsFile ?? (File.Exists(Path.Combine(scriptRoot, "local.settings.json")) ? Path.Combine(scriptRoot, "local.settings.json") : null);
        var settings = AppSettings.Load(settingsFile, options.InheritEnvironment, options.Settings);
        foreach (var skipped in settings.SkippedFromFile)
        {
            logger.LogDebug("Skipping '{Setting}' from the settings file: already defined in the environment.", skipped);
        }

        var launch = WorkerLaunch.Read(scriptRoot);
        var development = options.EnvironmentName.Equals("Development", StringComparison.OrdinalIgnoreCase);
        var hostJson = HostJson.Load(scriptRoot, settings, development);
        var hostId = options.HostId ?? settings["AzureFunctionsWebHost__hostid"] ?? DefaultHostId(scriptRoot);
        var bodyLimit = long.TryParse(settings["FUNCTIONS_REQUEST_BODY_SIZE_LIMIT"], out var limit) && limit > 0 ? limit : DefaultBodyLimit;

        var registry = new WorkerRegistry();
        var grpc = BuildGrpcServer(registry, loggerFactory);
        await grpc.StartAsync(cancellationToken);
        var grpcUri = BoundAddress(grpc);

        var router = new DeferredRouter();
        var web = BuildWebServer(options, settings, bodyLimit, router, loggerFactory);
        try
        {
            await web.StartAsync(cancellationToken);
        }
        catch
        {
            await grpc.DisposeAsync();
            throw;
        }

        var baseAddress = BoundAddress(web);
        var include = options.Functions is { } only ? new HashSet<string>(only, StringComparer.OrdinalIgnoreCase) : null;
        var supervisor = new WorkerSupervisor(
            new WorkerStartSettings
            {
                ScriptRoot = scriptRoot,
                Launch = launch,
                GrpcUri = grpcUri,
                Environment = WorkerEnvironment(settings, scriptRoot, launch, options, baseAddress),
                InheritEnvironment = options.InheritEnvironment,
                Include = m => include is null || include.Contains(m.Name),
                IsDisabled = name => bool.TryParse(settings[$"AzureWebJobs.{name}.Disabled"], out var disabled) && disabled,
                LoadTimeout = hostJson.FunctionTimeout is { } t && t > TimeSpan.FromMinutes(1) ? t : TimeSpan.FromMinutes(1),
                RestartDelay = options.WorkerRestartDelay,
                TerminateGracePeriod = options.WorkerTerminateGracePeriod,
                HostVersion = HostVersion,
            },
            registry,
            loggerFactory);

        var host = new FunctionsHost(options, logger, grpc, web, supervisor, hostId, baseAddress);
        try
        {
            await supervisor.StartAsync(cancellationToken);
            host.Wire(settings, hostJson, router, bodyLimit, loggerFactory);
        }
        catch
        {
            await host.StopAsync(CancellationToken.None);
            throw;
        }

        _ = supervisor.GaveUp.ContinueWith(_ => host.GiveUpAsync(), TaskScheduler.Default);
        logger.LogInformation("Host started on {BaseAddress} (host id {HostId}) with {Count} functions: {Functions}", baseAddress, hostId, supervisor.Functions.Count, string.Join(", ", supervisor.Functions.Select(f => $"{f.Name} ({f.Trigger.Type})")));
        return host;
    }

    /// <summary>Kills the worker process as a crash would; the host restarts it after the restart delay.</summary>
    public void KillWorker() => _supervisor.KillCurrent();

    /// <summary>Waits until a worker is ready (after a restart, a new one).</summary>
    public async Task WaitForWorkerAsync(CancellationToken cancellationToken = default) => await _supervisor.GetReadyAsync(cancellationToken);

    /// <summary>Runs a queue or timer function now, as <c>POST /admin/functions/{name}</c> does, and waits for it.</summary>
    public async Task<FunctionRunResult> RunAsync(string functionName, string input = "", CancellationToken cancellationToken = default)
    {
        var function = _byName.TryGetValue(functionName, out var f) ? f : throw new ArgumentException($"No function '{functionName}' is loaded.", nameof(functionName));
        var outcome = await RunNowAsync(function, input, cancellationToken);
        return new FunctionRunResult(outcome.Succeeded, outcome.Error);
    }

    /// <summary>
    /// Stops gracefully: the HTTP listener and the triggers stop taking work, in-flight work gets the drain time,
    /// then the worker gets WorkerTerminate and its grace period before it is killed.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        await _stopGate.WaitAsync(CancellationToken.None);
        try
        {
            if (_stopping)
            {
                return;
            }

            _stopping = true;
            _supervisor.StopRestarting();
            var drain = _options.ShutdownDrainTimeout;
            using var drainCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            drainCts.CancelAfter(drain);
            Task[] admin;
            lock (_adminRuns)
            {
                admin = [.. _adminRuns];
            }

            await Task.WhenAll(
                _web.StopAsync(drainCts.Token),
                Task.WhenAll(_queues.Select(q => q.StopAsync(drain))),
                Task.WhenAll(_timers.Select(t => t.StopAsync(drain))),
                Task.WhenAll(admin).WaitAsync(drain, CancellationToken.None).ContinueWith(_ => { }, TaskScheduler.Default));
            await _supervisor.StopAsync();
            await _grpc.StopAsync(CancellationToken.None);
            await _web.DisposeAsync();
            await _grpc.DisposeAsync();
            _http?.Dispose();
            if (_azure is not null)
            {
                await _azure.DisposeAsync();
            }
            _logger.LogInformation("Host stopped.");
        }
        finally
        {
            _stopGate.Release();
            if (!_supervisor.GaveUp.IsCompleted)
            {
                _stopped.TrySetResult();
            }
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync(CancellationToken.None);

    internal static string DefaultHostId(string scriptRoot)
    {
        var machine = new string(Environment.MachineName.Where(char.IsAsciiLetterOrDigit).ToArray());
        var hash = 2166136261u;
        foreach (var b in Encoding.UTF8.GetBytes(scriptRoot))
        {
            hash = (hash ^ b) * 16777619u;
        }

        var id = $"{machine}-{Math.Abs((long)(int)hash)}".ToLowerInvariant();
        return (id.Length > 32 ? id[..32] : id).TrimEnd('-');
    }

    private async Task GiveUpAsync()
    {
        try
        {
            await StopAsync(CancellationToken.None);
        }
        finally
        {
            _stopped.TrySetException(new InvalidOperationException("The host stopped: the worker failed too often (3 times within 30 minutes)."));
        }
    }

    private void Wire(AppSettings settings, HostJson hostJson, DeferredRouter router, long bodyLimit, ILoggerFactory loggerFactory)
    {
        var functions = _supervisor.Functions;
        foreach (var function in functions)
        {
            _byName[function.Name] = function;
        }

        var services = new ServiceCollection();
        services.AddAzureClientsCore();
        _azure = services.BuildServiceProvider();
        var connections = new StorageConnections(settings, _azure.GetRequiredService<AzureComponentFactory>());
        var invoker = new Invoker(_supervisor, new OutputBindings(connections, settings, hostJson.Queues), hostJson.FunctionTimeout, loggerFactory);

        var authorizer = new KeyAuthorizer(_options.EnableAuth, HostKeys.FromConfiguration(settings.Configuration).Merge(_options.Keys));
        var http = _http = new HttpFunctions(invoker, authorizer, _web.Services.GetRequiredService<IHttpForwarder>(), bodyLimit, hostJson.FunctionTimeout, loggerFactory);
        var routes = new RouteCollection();
        var constraints = _web.Services.GetRequiredService<IInlineConstraintResolver>();
        routes.Add(new Route(
            new FunctionRouteTarget((context, values) => AdminInvokeAsync(context, values, authorizer)),
            "admin-invoke",
            "admin/functions/{name}",
            defaults: null,
            constraints: new RouteValueDictionary { ["httpMethod"] = new Microsoft.AspNetCore.Routing.Constraints.HttpMethodRouteConstraint("POST") }!,
            dataTokens: null,
            constraints));
        http.AddRoutes(routes, functions, hostJson.RoutePrefix, constraints);
        router.Set(routes);

        var queueTimings = new QueueTimings(_options.QueueMessageLease, _options.QueueMessageLeaseRenewal);
        foreach (var function in functions)
        {
            // A disabled function gets its trigger too, never started: its events are ignored, but the admin API can
            // still run it with the master key, as the Functions host documents ("Run a disabled function").
            switch (function.Kind)
            {
                case TriggerKind.Queue:
                    var queue = new QueueListener(function, invoker, connections, settings, hostJson.Queues, queueTimings, loggerFactory);
                    _queues.Add(queue);
                    if (!function.Disabled)
                    {
                        _logger.LogInformation("Listening to queue '{Queue}' for '{Function}' ({Settings}).", queue.QueueName, function.Name, QueueListener.Describe(hostJson.Queues));
                    }

                    break;
                case TriggerKind.Timer:
                    if (!connections.IsConfigured(StorageConnections.DefaultConnection))
                    {
                        if (function.Disabled)
                        {
                            break;
                        }

                        throw new InvalidOperationException($"The timer function '{function.Name}' needs AzureWebJobsStorage (for its lock and schedule status), which is not set.");
                    }

                    var timer = new TimerListener(function, invoker, settings, connections.Blobs(StorageConnections.DefaultConnection), HostId,
                        hostJson.ListenerLockPeriod, _options.ListenerLockRecoveryInterval ?? hostJson.ListenerLockRecoveryPollingInterval, loggerFactory);
                    _timers.Add(timer);
                    if (!function.Disabled)
                    {
                        _logger.LogInformation("Timer '{Function}' on schedule '{Schedule}' (UTC, monitor {Monitor}).", function.Name, timer.Schedule.Expression, timer.UseMonitor ? "on" : "off");
                    }

                    break;
                case TriggerKind.Unsupported:
                    _logger.LogWarning("'{Function}' has a {Trigger} trigger, which this host does not serve; it will not run.", function.Name, function.Trigger.Type);
                    break;
                default:
                    break;
            }
        }

        foreach (var queue in _queues.Where(q => !q.Function.Disabled))
        {
            queue.Start();
        }

        foreach (var timer in _timers.Where(t => !t.Function.Disabled))
        {
            timer.Start();
        }
    }

    private async Task AdminInvokeAsync(HttpContext context, RouteValueDictionary values, KeyAuthorizer authorizer)
    {
        if (!authorizer.IsAuthorized(context, AuthorizationLevel.Admin, null))
        {
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            return;
        }

        var name = values["name"]?.ToString() ?? string.Empty;
        if (!_byName.TryGetValue(name, out var function))
        {
            await Results.Problem(statusCode: 404, title: "No such function.", detail: $"No function named '{name}' is loaded.").ExecuteAsync(context);
            return;
        }

        string input;
        try
        {
            using var body = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
            input = body.RootElement.ValueKind == JsonValueKind.Object && body.RootElement.TryGetProperty("input", out var value)
                ? value.ValueKind == JsonValueKind.String ? value.GetString()! : value.GetRawText()
                : throw new JsonException("missing input");
        }
        catch (JsonException)
        {
            await Results.ValidationProblem(new Dictionary<string, string[]> { ["input"] = ["Send a JSON object {\"input\": \"...\"}."] }).ExecuteAsync(context);
            return;
        }

        if (function.Kind is not (TriggerKind.Queue or TriggerKind.Timer))
        {
            await Results.Problem(statusCode: 400, title: "This function cannot be run through the admin API.", detail: $"'{function.Name}' has a {function.Trigger.Type} trigger; only queue and timer functions can be run here.").ExecuteAsync(context);
            return;
        }

        if (!(_timers.Exists(t => t.Function == function) || _queues.Exists(q => q.Function == function)))
        {
            await Results.Problem(statusCode: 404, title: "The function is not running.", detail: $"'{function.Name}' failed to start.").ExecuteAsync(context);
            return;
        }

        var run = RunNowAsync(function, input, CancellationToken.None);
        lock (_adminRuns)
        {
            _adminRuns.Add(run);
            _adminRuns.RemoveAll(t => t.IsCompleted);
        }

        context.Response.StatusCode = StatusCodes.Status202Accepted;
    }

    private Task<InvocationOutcome> RunNowAsync(FunctionDescriptor function, string input, CancellationToken cancellationToken)
    {
        if (_timers.Find(t => t.Function == function) is { } timer)
        {
            return timer.InvokeNowAsync(cancellationToken);
        }

        if (_queues.Find(q => q.Function == function) is { } queue)
        {
            return queue.InvokeDirectAsync(input, cancellationToken);
        }

        return Task.FromResult(InvocationOutcome.Failed($"'{function.Name}' is not a running queue or timer function."));
    }

    private static Dictionary<string, string> WorkerEnvironment(AppSettings settings, string scriptRoot, WorkerLaunch launch, FunctionsHostOptions options, Uri baseAddress)
    {
        var environment = new Dictionary<string, string>(settings.Values, StringComparer.Ordinal)
        {
            ["AZURE_FUNCTIONS_ENVIRONMENT"] = options.EnvironmentName,
            ["FUNCTIONS_WORKER_DIRECTORY"] = scriptRoot,
            ["FUNCTIONS_APPLICATION_DIRECTORY"] = scriptRoot,
            ["AzureWebJobsScriptRoot"] = scriptRoot,
            ["WEBSITE_HOSTNAME"] = $"localhost:{baseAddress.Port}",
            // Schedules are UTC here, as in Azure; the worker's clock agrees.
            ["TZ"] = "UTC",
        };
        if (!settings.Values.ContainsKey("FUNCTIONS_WORKER_RUNTIME") && launch.Language.Length > 0)
        {
            environment["FUNCTIONS_WORKER_RUNTIME"] = launch.Language;
        }

        return environment;
    }

    private static WebApplication BuildGrpcServer(WorkerRegistry registry, ILoggerFactory loggerFactory)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, o => o.Protocols = HttpProtocols.Http2));
        builder.Services.AddSingleton(loggerFactory);
        builder.Services.AddRouting();
        builder.Services.AddGrpc(o =>
        {
            o.MaxReceiveMessageSize = null;
            o.MaxSendMessageSize = null;
        });
        builder.Services.AddSingleton(registry);
        var app = builder.Build();
        app.UseRouting();
        app.MapGrpcService<FunctionRpcService>();
        return app;
    }

    private static WebApplication BuildWebServer(FunctionsHostOptions options, AppSettings settings, long bodyLimit, DeferredRouter router, ILoggerFactory loggerFactory)
    {
        var port = options.Port ?? settings.Host.LocalHttpPort ?? 7071;
        var address = IPAddress.Parse(options.Address);
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(k =>
        {
            k.Limits.MaxRequestBodySize = bodyLimit;
            k.Listen(address, port, o => o.Protocols = HttpProtocols.Http1);
        });
        builder.Services.AddSingleton(loggerFactory);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = options.ShutdownDrainTimeout);
        builder.Services.AddRouting();
        builder.Services.AddHttpForwarder();
        builder.Services.AddProblemDetails();
        var origins = settings.Host.Cors?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? [];
        if (origins.Length > 0)
        {
            builder.Services.AddCors(cors => cors.AddDefaultPolicy(policy =>
            {
                if (origins.Contains("*"))
                {
                    policy.AllowAnyOrigin();
                }
                else
                {
                    policy.WithOrigins(origins);
                    if (settings.Host.CorsCredentials)
                    {
                        policy.AllowCredentials();
                    }
                }

                policy.AllowAnyHeader().AllowAnyMethod();
            }));
        }

        var app = builder.Build();
        if (origins.Length > 0)
        {
            app.UseCors();
        }

        app.UseRouter(router);
        if (options.StaticContentRoot is { } root)
        {
            var files = new PhysicalFileProvider(Path.GetFullPath(root));
            app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = files });
            app.UseStaticFiles(new StaticFileOptions
            {
                FileProvider = files,
                OnPrepareResponse = context =>
                {
                    // A development server: an edited file is seen on the next load.
                    context.Context.Response.Headers.CacheControl = "no-cache";
                    context.Context.Response.Headers.XContentTypeOptions = "nosniff";
                },
            });
        }

        options.ConfigureUnmatched?.Invoke(app);

        return app;
    }

    private static Uri BoundAddress(WebApplication app)
    {
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
                      ?? throw new InvalidOperationException("The server reported no address.");
        return new Uri(address.EndsWith('/') ? address : address + "/");
    }
}
