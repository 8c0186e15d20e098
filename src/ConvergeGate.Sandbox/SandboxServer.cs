using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ConvergeGate.Sandbox;

/// <summary>A running Converge Gate sandbox listening on 127.0.0.1. Start with <see cref="StartAsync"/>; dispose to stop.</summary>
public sealed class SandboxServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly SandboxContext _context;
    private readonly HttpClient _webhookClient;
    private readonly CancellationTokenSource _stopping = new();
    private Task _pump = Task.CompletedTask;
    private bool _disposed;

    private SandboxServer(WebApplication app, SandboxContext context, HttpClient webhookClient)
    {
        _app = app;
        _context = context;
        _webhookClient = webhookClient;
        Sessions = new SandboxSessionCollection(context.State);
        Deliveries = new SandboxDeliveryCollection(context.Webhooks);
    }

    /// <summary>Base address with a trailing slash, e.g. <c>http://127.0.0.1:7072/</c>.</summary>
    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>The options the sandbox runs with.</summary>
    public SandboxOptions Options => _context.Options;

    /// <summary>The accepted API key.</summary>
    public string SecretKey => _context.Options.SecretKey;

    /// <summary>The sandbox clock (real or manual) and scheduler.</summary>
    public SandboxClock Clock => _context.Clock;

    /// <summary>Mode, response profile, webhook key derivation and reported livemode in force (also at <c>/_sandbox/behaviour</c>).</summary>
    public SandboxBehaviour Behaviour => _context.Behaviour;

    /// <summary>Runtime fault configuration.</summary>
    public SandboxFaults Faults => _context.Faults;

    /// <summary>Sessions, with attempts and refunds.</summary>
    public SandboxSessionCollection Sessions { get; }

    /// <summary>Webhook deliveries and their attempts.</summary>
    public SandboxDeliveryCollection Deliveries { get; }

    /// <summary>Starts a sandbox. <see cref="SandboxOptions.Port"/> 0 picks a free port.</summary>
    public static async Task<SandboxServer> StartAsync(SandboxOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new SandboxOptions();
        if (string.IsNullOrWhiteSpace(options.SecretKey))
        {
            throw new ArgumentException("A secret key is required.", nameof(options));
        }

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ApplicationName = typeof(SandboxServer).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Logging.ClearProviders();
        if (options.ConfigureLogging is { } configure)
        {
            configure(builder.Logging);
        }
        else
        {
            builder.Logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning);
        }

        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, options.Port));
        builder.Services.AddRoutingCore();

        var clock = new SandboxClock(options.ManualClock, options.ManualClockStart) { ConcurrentWork = Math.Max(1, options.ConcurrentWork) };
        if (options.ClockFile is { Length: > 0 } clockFile)
        {
            clock.PublishTo(clockFile);
        }
        var behaviour = new SandboxBehaviour(options);
        var random = new SandboxRandom(options.Seed);
        var faults = new SandboxFaults(random, options.Faults);
        var handler = new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false, PooledConnectionLifetime = TimeSpan.FromMinutes(1) };
        var webhookClient = new HttpClient(handler, disposeHandler: true) { Timeout = options.WebhookTimeout };
        webhookClient.DefaultRequestHeaders.UserAgent.ParseAdd("ConvergeGate-Sandbox/1.0");

        builder.Services.AddSingleton(sp =>
        {
            var loggerFactory = sp.GetRequiredService<ILoggerFactory>();
            var logger = loggerFactory.CreateLogger("ConvergeGate.Sandbox");
            clock.AttachLogger(logger);
            var webhooks = new WebhookDispatcher(clock, behaviour, random, faults, webhookClient, options.SecretKey, loggerFactory.CreateLogger("ConvergeGate.Sandbox.Webhooks"));
            var state = new SandboxState(options, behaviour, clock, random, webhooks, logger);
            return new SandboxContext(options, behaviour, clock, random, faults, webhooks, state, logger);
        });

        var app = builder.Build();
        var context = app.Services.GetRequiredService<SandboxContext>();
        var server = new SandboxServer(app, context, webhookClient);
        context.Stopping = server._stopping.Token;

        app.Use((http, next) => Pipeline.HandleErrorsAsync(http, next, context));
        app.Use((http, next) => Pipeline.InjectFaultsAsync(http, next, context));
        app.Use((http, next) => Pipeline.AuthenticateAsync(http, next, context));
        ApiEndpoints.Map(app);
        HostedPage.Map(app);
        AdminEndpoints.Map(app);
        app.MapFallback((HttpContext http) => ApiJson.Error(404, "invalid_request_error", $"Unrecognized request URL ({http.Request.Method}: {http.Request.Path.Value})."));

        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }

        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var port = new Uri(address).Port;
        server.BaseAddress = new Uri($"http://127.0.0.1:{port}/");
        context.BaseUrl = (options.PublicBaseUrl ?? server.BaseAddress).ToString().TrimEnd('/');
        server._pump = Task.Run(() => clock.PumpAsync(server._stopping.Token), CancellationToken.None);
        return server;
    }

    /// <summary>
    /// Sandbox extension: completes the session now and sends <c>session.completed</c>. With <paramref name="ignoreExpiry"/>
    /// an expired session is completed too (it first expires, with its webhook, if its expiry has passed unnoticed).
    /// </summary>
    /// <exception cref="KeyNotFoundException">Unknown session.</exception>
    /// <exception cref="InvalidOperationException">Already completed, or expired and <paramref name="ignoreExpiry"/> is false.</exception>
    public SessionSnapshot CompleteSession(string id, bool ignoreExpiry = false) =>
        Unwrap(_context.State.ForceComplete(_context.State.Canonical(id, allowShort: true) ?? id, ignoreExpiry));

    /// <summary>Sandbox extension: the API reports this amount/currency (when given) for the session instead of what was created.</summary>
    /// <exception cref="KeyNotFoundException">Unknown session.</exception>
    public SessionSnapshot ReportSessionAs(string id, long? amountTotal = null, string? currency = null) =>
        Unwrap(_context.State.ReportAs(_context.State.Canonical(id, allowShort: true) ?? id, amountTotal, currency));

    /// <summary>Forgets all sessions, refunds, deliveries and scheduled work, restores the start-up faults and behaviour (mode, profile, key derivation, livemode) and re-seeds the random source.</summary>
    public void Reset() => _context.Reset();

    /// <summary>Runs the work that is already due (e.g. a webhook just queued) and returns when it has finished.</summary>
    public Task WaitForIdleAsync(CancellationToken cancellationToken = default) => Clock.RunDueWorkAsync(cancellationToken);

    private static SessionSnapshot Unwrap(OperationResult<SessionSnapshot> result) => result.Status switch
    {
        OperationStatus.Ok => result.Value!,
        OperationStatus.NotFound => throw new KeyNotFoundException(result.Message),
        _ => throw new InvalidOperationException(result.Message),
    };

    /// <summary>Stops the listener and the scheduler.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        await _stopping.CancelAsync();
        try
        {
            await _pump;
        }
        catch (OperationCanceledException)
        {
            // Expected on stop.
        }

        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5)))
        {
            try
            {
                await _app.StopAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                // Hanging requests were cut.
            }
        }

        await _app.DisposeAsync();
        _webhookClient.Dispose();
        _context.Clock.Unpublish();
        _context.Clock.Dispose();
        _stopping.Dispose();
    }
}
