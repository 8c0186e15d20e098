using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Blik.Checkout;
using Xunit;
using Blik.Checkout.Sweeps;
using Blik.Checkout.Webhooks;
using Blik.DevServices;
using Blik.LocalRunner;
using ConvergeGate.Sandbox;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

using GatewaySigner = ConvergeGate.Sandbox.WebhookSignature;

namespace Blik.Testing;

public sealed record StackOptions
{
    /// <summary>Both the service and the sandbox on manual clocks that only move when the test says so.</summary>
    public bool ManualClocks { get; init; }

    /// <summary>Run the queue processor (off: webhooks are only enqueued, so tests can inspect the queue).</summary>
    public bool ProcessQueue { get; init; } = true;

    public TimeSpan ConfirmationDelay { get; init; } = TimeSpan.FromMilliseconds(150);

    /// <summary>Replaces host.json's queue settings (e.g. no retry delay, to reach the poison queue quickly).</summary>
    public QueueHostSettings? Queue { get; init; }

    public IReadOnlyDictionary<string, string?> Settings { get; init; } = new Dictionary<string, string?>();
}

/// <summary>
/// One running service for a test: the local runner in-process on a loopback port, a Converge Gate sandbox on
/// another, both on the test collection's Azurite. Talks to the service over real HTTP only.
/// </summary>
public sealed class ServiceStack : IAsyncDisposable
{
    public const string SecretKey = "sk_test_integration_5f2c";
    public const string SuccessCode = "777123";

    private ServiceStack(SandboxServer sandbox, SandboxRequestLog gatewayRequests, WebApplication app, Uri baseAddress, ManualTimeProvider? clock, LogCapture logs, StorageClients storage)
    {
        Sandbox = sandbox;
        GatewayRequests = gatewayRequests;
        App = app;
        BaseAddress = baseAddress;
        Clock = clock;
        Logs = logs;
        Storage = storage;
        Http = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30) };
    }

    public SandboxServer Sandbox { get; }

    /// <summary>Every request the sandbox received, as counted at the sandbox.</summary>
    public SandboxRequestLog GatewayRequests { get; }
    public WebApplication App { get; }
    public Uri BaseAddress { get; }
    public HttpClient Http { get; }

    /// <summary>The service's clock, when <see cref="StackOptions.ManualClocks"/>.</summary>
    public ManualTimeProvider? Clock { get; }

    public LogCapture Logs { get; }

    /// <summary>This stack's own fulfilment queue (each stack gets one, so tests can count its messages).</summary>
    public required string FulfilmentQueue { get; init; }
    public StorageClients Storage { get; }

    public static async Task<ServiceStack> StartAsync(AzuriteFixture azurite, StackOptions? options = null)
    {
        options ??= new StackOptions();
        var start = DateTimeOffset.UtcNow;
        var gatewayRequests = new SandboxRequestLog();
        var sandbox = await SandboxServer.StartAsync(new SandboxOptions
        {
            ConfigureLogging = gatewayRequests.Attach,
            Port = 0,
            SecretKey = SecretKey,
            ConfirmationDelay = options.ConfirmationDelay,
            ManualClock = options.ManualClocks,
            ManualClockStart = options.ManualClocks ? start : null,
            AllowInsecureNotificationUrls = true,
            Seed = Random.Shared.Next(), // distinct ids per stack: all stacks share one Azurite
        });

        var port = FreePort.Next();
        var baseAddress = new Uri($"http://127.0.0.1:{port}");
        var clock = options.ManualClocks ? new ManualTimeProvider(start) : null;
        var logs = new LogCapture();
        var settings = new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = azurite.ConnectionString,
            ["ConvergeGate:BaseUrl"] = sandbox.BaseAddress.ToString(),
            ["ConvergeGate:SecretKey"] = SecretKey,
            ["ConvergeGate:Timeout"] = "00:00:03",
            ["Checkout:PublicBaseUrl"] = baseAddress.ToString(),
            ["Runner:ProcessQueue"] = options.ProcessQueue ? "true" : "false",
            ["Checkout:FulfilmentQueue"] = "fulfilment-" + Guid.NewGuid().ToString("N")[..12],
        };
        foreach (var (key, value) in options.Settings)
        {
            settings[key] = value;
        }

        var app = RunnerApp.Build(
            [$"--Runner:Urls={baseAddress}", "--Runner:Sweep=false"],
            builder =>
            {
                builder.Configuration.AddInMemoryCollection(settings);
                builder.Logging.ClearProviders();
                builder.Logging.AddProvider(logs);
                builder.Logging.SetMinimumLevel(LogLevel.Debug);
                if (clock is not null)
                {
                    builder.Services.Replace(ServiceDescriptor.Singleton<TimeProvider>(clock));
                }

                if (options.Queue is not null)
                {
                    builder.Services.Replace(ServiceDescriptor.Singleton(options.Queue));
                }
            });
        await app.StartAsync();
        var storage = new StorageClients(azurite.ConnectionString);
        return new ServiceStack(sandbox, gatewayRequests, app, baseAddress, clock, logs, storage) { FulfilmentQueue = settings["Checkout:FulfilmentQueue"]! };
    }

    public static Dictionary<string, object?> SessionBody(long amount = 1000, string? orderId = null) => new()
    {
        ["amount"] = amount,
        ["currency"] = "pln",
        ["customer_email"] = "jan.kowalski@example.com",
        ["customer_firstname"] = "Jan",
        ["customer_lastname"] = "Kowalski",
        ["customer_phone"] = "+48123456789",
        ["success_url"] = "https://shop.example/thanks",
        ["cancel_url"] = "https://shop.example/cart",
        ["order_id"] = orderId ?? "order-" + Guid.NewGuid().ToString("N")[..8],
        ["metadata"] = new Dictionary<string, string> { ["cart"] = "42" },
    };

    public async Task<CreatedSession> CreateSessionAsync(Dictionary<string, object?>? body = null, string? idempotencyKey = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/checkout/sessions") { Content = JsonContent.Create(body ?? SessionBody()) };
        if (idempotencyKey is not null)
        {
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        }

        using var response = await Http.SendAsync(request);
        var json = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == System.Net.HttpStatusCode.Created, $"create answered {(int)response.StatusCode}: {json}\n{Errors()}");
        var view = JsonDocument.Parse(json).RootElement.Clone();
        return new CreatedSession(view.GetProperty("id").GetString()!, view.GetProperty("client_secret").GetString()!, view, response.Headers.Location);
    }

    public Task<HttpResponseMessage> PayAsync(CreatedSession session, string code) =>
        SendAsync(HttpMethod.Post, $"/api/checkout/sessions/{session.Id}/pay", session.ClientSecret, new { blik_code = code });

    public Task<HttpResponseMessage> GetAsync(CreatedSession session) =>
        SendAsync(HttpMethod.Get, $"/api/checkout/sessions/{session.Id}", session.ClientSecret, null);

    public async Task<JsonElement> ViewAsync(CreatedSession session)
    {
        using var response = await GetAsync(session);
        var json = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"get answered {(int)response.StatusCode}: {json}");
        return JsonDocument.Parse(json).RootElement.Clone();
    }

    public async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? clientSecret, object? body)
    {
        using var request = new HttpRequestMessage(method, path);
        if (clientSecret is not null)
        {
            request.Headers.Add("X-Client-Secret", clientSecret);
        }

        if (body is not null)
        {
            request.Content = JsonContent.Create(body);
        }

        return await Http.SendAsync(request);
    }

    /// <summary>Polls the merchant API (as a frontend would) until the status is reached or the time is up.</summary>
    public async Task<JsonElement> WaitForStatusAsync(CreatedSession session, string status, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(15));
        JsonElement view;
        do
        {
            view = await ViewAsync(session);
            if (view.GetProperty("status").GetString() == status)
            {
                return view;
            }

            await Task.Delay(50);
        }
        while (DateTime.UtcNow < deadline);

        Assert.Fail($"session {session.Id} did not reach {status}; last view: {view}");
        return view;
    }

    /// <summary>A webhook signed by hand exactly as Converge Gate documents it.</summary>
    public async Task<HttpResponseMessage> PostWebhookAsync(string body, string? timestamp = null, string? signature = null, string key = SecretKey)
    {
        timestamp ??= DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        signature ??= GatewaySigner.Compute(key, timestamp, Encoding.UTF8.GetBytes(body));
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/webhooks/convergegate")
        {
            Content = new StringContent(body, Encoding.UTF8, new MediaTypeHeaderValue("application/json")),
        };
        request.Headers.Add("Sec-Timestamp", timestamp);
        request.Headers.Add("Sec-Signature", signature);
        return await Http.SendAsync(request);
    }

    public static string EventBody(string sessionId, string type = "session.completed", string status = "completed", string? eventId = null) =>
        JsonSerializer.Serialize(new
        {
            id = eventId ?? "evt_" + Guid.NewGuid().ToString("N"),
            type,
            version = "2024-01-01",
            created_at = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
            data = new { status, session_id = sessionId },
        });

    public Task<SweepReport> SweepAsync() => App.Services.GetRequiredService<Sweeper>().RunAsync(CancellationToken.None);

    /// <summary>Moves both clocks (service and sandbox) forward, running the sandbox's due work.</summary>
    public async Task AdvanceAsync(TimeSpan by)
    {
        if (Clock is null)
        {
            throw new InvalidOperationException("This stack runs on real time.");
        }

        Clock.Advance(by);
        await Sandbox.Clock.AdvanceAsync(by);
    }

    /// <summary>The service's warning and error log lines, for failure messages.</summary>
    public string Errors() => string.Join("\n", Logs.Lines.Where(l => l.StartsWith("Error", StringComparison.Ordinal) || l.StartsWith("Warning", StringComparison.Ordinal) || l.StartsWith("Critical", StringComparison.Ordinal)).TakeLast(10));

    /// <summary>The fulfilment messages published so far (peeked, not consumed).</summary>
    public async Task<IReadOnlyList<Blik.Checkout.Processing.FulfilmentMessage>> FulfilmentMessagesAsync()
    {
        var queue = Storage.Queue(FulfilmentQueue);
        await queue.CreateIfNotExistsAsync();
        return (await queue.PeekMessagesAsync(32)).Value.Select(m => Blik.Checkout.Processing.FulfilmentMessage.Parse(m.MessageText)).ToArray();
    }

    public Task<int> QueueLengthAsync(string queue) => Storage.QueueLengthAsync(queue);

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
        await Sandbox.DisposeAsync();
    }
}

public sealed record CreatedSession(string Id, string ClientSecret, JsonElement View, Uri? Location);
