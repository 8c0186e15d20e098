using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Azure.Storage.Queues;
using Blik.Checkout;
using Blik.DevServices;
using Blik.Functions;
using Blik.Testing;
using ConvergeGate.Sandbox;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Blik.Deployment.Tests.Support;

/// <summary>
/// The Functions app's own composition (<see cref="FunctionsStartup.Configure"/>, as the worker's Program.cs calls it)
/// in this process, over an Azurite account of its own and a Converge Gate sandbox on loopback. Tests call the function
/// classes the way the worker does (an <see cref="HttpRequest"/> in, the <see cref="IResult"/> executed against its
/// context), so the app's meters and logs are in reach of the test process. The sandbox delivers no webhooks (nothing
/// here listens at the notification URL); a test that needs one posts it to the webhook function itself.
/// </summary>
internal sealed class InProcessService : IAsyncDisposable
{
    private readonly IHost _host;

    private InProcessService(IHost host, SandboxServer sandbox, string storage, string fulfilmentQueue, LogCapture logs)
    {
        _host = host;
        Sandbox = sandbox;
        Storage = storage;
        FulfilmentQueue = fulfilmentQueue;
        Logs = logs;
    }

    public IServiceProvider Services => _host.Services;

    public SandboxServer Sandbox { get; }

    /// <summary>The storage account's connection string.</summary>
    public string Storage { get; }

    public string FulfilmentQueue { get; }

    /// <summary>Every log line the app wrote.</summary>
    public LogCapture Logs { get; }

    public TimeProvider Clock => Services.GetRequiredService<TimeProvider>();

    public CheckoutFunctions Http => Services.GetRequiredService<CheckoutFunctions>();

    /// <summary>Starts the app (its options validated, its tables and queues provisioned, as at the worker's start).</summary>
    /// <param name="settings">App settings (<c>Section:Key</c>) that win over the defaults.</param>
    /// <param name="clock">The app's clock instead of the system's.</param>
    /// <param name="gateway">Changes to the sandbox's options (its confirmation delay, its reported livemode).</param>
    public static async Task<InProcessService> StartAsync(
        AzuriteFixture azurite, IReadOnlyDictionary<string, string?>? settings = null, TimeProvider? clock = null, Action<SandboxOptions>? gateway = null)
    {
        var options = new SandboxOptions
        {
            Port = 0,
            SecretKey = ServiceStack.SecretKey,
            Faults = new FaultConfiguration { Webhooks = { new WebhookFaultRule { Kind = WebhookFaultKind.Drop } } },
        };
        gateway?.Invoke(options);
        var sandbox = await SandboxServer.StartAsync(options);
        try
        {
            var storage = azurite.NewAccount();
            var fulfilment = AzuriteFixture.UniqueName("fulfil");
            var logs = new LogCapture();
            var builder = Host.CreateApplicationBuilder();
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["AzureWebJobsStorage"] = storage,
                ["ConvergeGate:BaseUrl"] = sandbox.BaseAddress.ToString(),
                ["ConvergeGate:SecretKey"] = ServiceStack.SecretKey,
                ["Checkout:PublicBaseUrl"] = "https://blik.example",
                ["Checkout:FulfilmentQueue"] = fulfilment,
                [Telemetry.TracesExporterSetting] = "none",
            });
            builder.Configuration.AddInMemoryCollection(settings ?? new Dictionary<string, string?>());
            builder.Logging.ClearProviders().AddProvider(logs).SetMinimumLevel(LogLevel.Information);
            if (clock is not null)
            {
                // The composition adds the system clock only when no clock is registered yet.
                builder.Services.TryAddSingleton(clock);
            }

            FunctionsStartup.Configure(builder);
            var host = builder.Build();
            await host.StartAsync();
            return new InProcessService(host, sandbox, storage, fulfilment, logs);
        }
        catch
        {
            await sandbox.DisposeAsync();
            throw;
        }
    }

    /// <summary>Records what this app instance measures and which spans it starts.</summary>
    public RecordedTelemetry Record() => new(Services.GetRequiredService<IMeterFactory>());

    /// <summary>Calls an HTTP function and executes its result as the worker's ASP.NET Core integration does.</summary>
    public async Task<(int Status, JsonElement Body)> CallAsync(
        Func<CheckoutFunctions, HttpRequest, Task<IResult>> function, object? body, IReadOnlyDictionary<string, string>? headers = null)
    {
        var context = new DefaultHttpContext { RequestServices = Services };
        context.Request.Method = "POST";
        if (body is not null)
        {
            var bytes = body as byte[] ?? (body is string text ? Encoding.UTF8.GetBytes(text) : JsonSerializer.SerializeToUtf8Bytes(body));
            context.Request.Body = new MemoryStream(bytes);
            context.Request.ContentType = "application/json";
            context.Request.ContentLength = bytes.Length;
        }

        foreach (var (name, value) in headers ?? new Dictionary<string, string>())
        {
            context.Request.Headers[name] = value;
        }

        context.Response.Body = new MemoryStream();
        var result = await function(Http, context.Request);
        await result.ExecuteAsync(context);
        var answer = ((MemoryStream)context.Response.Body).ToArray();
        return (context.Response.StatusCode, answer.Length == 0 ? default : JsonDocument.Parse(answer).RootElement.Clone());
    }

    /// <summary>Creates a session through the create function (the repository's one create body unless another is given).</summary>
    public async Task<CreatedSession> CreateSessionAsync(Dictionary<string, object?>? body = null)
    {
        var (status, view) = await CallAsync((f, r) => f.CreateSession(r), body ?? SessionBodies.Create());
        Assert.True(status == 201, $"create answered {status}: {view}");
        return new CreatedSession(view.GetProperty("id").GetString()!, view.GetProperty("client_secret").GetString()!, view, null);
    }

    /// <summary>The shopper's code, through the pay function.</summary>
    public Task<(int Status, JsonElement Body)> PayAsync(CreatedSession session, string code) =>
        CallAsync((f, r) => f.PaySession(r, session.Id), new { blik_code = code }, new Dictionary<string, string> { ["X-Client-Secret"] = session.ClientSecret });

    /// <summary>The session as the get function answers it.</summary>
    public async Task<JsonElement> ViewAsync(CreatedSession session)
    {
        var (status, view) = await CallAsync((f, r) => f.GetSession(r, session.Id), null, new Dictionary<string, string> { ["X-Client-Secret"] = session.ClientSecret });
        Assert.True(status == 200, $"get answered {status}: {view}");
        return view;
    }

    /// <summary>A notification signed with <paramref name="key"/> as Converge Gate signs it, stamped with the app's clock, through the webhook function.</summary>
    public async Task<int> PostWebhookAsync(string body, string key = ServiceStack.SecretKey)
    {
        var timestamp = Clock.GetUtcNow().ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var headers = new Dictionary<string, string> { ["Sec-Timestamp"] = timestamp, ["Sec-Signature"] = Webhooks.Sign(key, timestamp, body) };
        return (await CallAsync((f, r) => f.ConvergeGateWebhook(r), body, headers)).Status;
    }

    /// <summary>Takes the next queued event off <c>checkout-events</c> and runs the queue function on it, as the trigger would.</summary>
    public async Task ProcessNextEventAsync()
    {
        // The trigger decodes base64 (host.json); the emulator accepts service versions up to 2025-11-05.
        var queue = new QueueClient(Storage, QueueNames.Events, new QueueClientOptions(QueueClientOptions.ServiceVersion.V2025_11_05) { MessageEncoding = QueueMessageEncoding.Base64 });
        var message = Assert.Single((await queue.ReceiveMessagesAsync(1, TimeSpan.FromMinutes(1))).Value);
        await Services.GetRequiredService<EventFunctions>().ProcessEvent(message.MessageText, CancellationToken.None);
        await queue.DeleteMessageAsync(message.MessageId, message.PopReceipt);
    }

    /// <summary>The timer function: the sweep, then the queue probe.</summary>
    public Task SweepAsync() => Services.GetRequiredService<SweepFunctions>().Sweep(new TimerInfo(), CancellationToken.None);

    /// <summary>The shopper confirms at the gateway directly (code 000000 completes at once), not through the service.</summary>
    public async Task PayAtGatewayAsync(string sessionId)
    {
        using var gateway = new HttpClient { BaseAddress = Sandbox.BaseAddress };
        using var request = new HttpRequestMessage(HttpMethod.Post, $"v1/checkout/sessions/{sessionId}/pay")
        {
            Content = new FormUrlEncodedContent([new("blik_code", BlikTestCodes.Instant)]),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(ServiceStack.SecretKey + ":")));
        using var paid = await gateway.SendAsync(request);
        Assert.True(paid.IsSuccessStatusCode, await paid.Content.ReadAsStringAsync());
    }

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
        await Sandbox.DisposeAsync();
    }
}
