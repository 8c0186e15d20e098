using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Azure.Monitor.OpenTelemetry.Exporter;
using Azure.Storage.Queues;
using Blik.Checkout;
using Blik.Checkout.Webhooks;
using Blik.DevServices;
using Blik.Functions;
using Blik.Testing;
using ConvergeGate.Sandbox;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

using GatewaySigner = ConvergeGate.Sandbox.WebhookSignature;

namespace Blik.IntegrationTests;

/// <summary>
/// The Functions app's telemetry as its own registrations export it (FunctionsStartup, with an in-memory exporter
/// added to its tracer and meter providers): one trace per webhook across the queue, the gateway and storage calls
/// inside it, the service's metrics, and nothing secret in any span or log.
/// </summary>
[Collection(AzuriteFixture.Collection)]
public sealed class TelemetryTests(AzuriteFixture azurite)
{
    private const string Code = "777642";

    [Fact]
    public async Task A_webhooks_intake_and_its_processing_are_one_trace_and_no_span_or_log_carries_a_code_key_secret_or_signature()
    {
        await using var sandbox = await SandboxServer.StartAsync(new SandboxOptions { Port = 0, SecretKey = ServiceStack.SecretKey, ConfirmationDelay = TimeSpan.Zero, AllowInsecureNotificationUrls = true });
        var spans = new List<Activity>();
        var metrics = new List<Metric>();
        var logs = new LogCapture();
        var storage = azurite.NewAccount();
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = storage,
            ["ConvergeGate:BaseUrl"] = sandbox.BaseAddress.ToString(),
            ["ConvergeGate:SecretKey"] = ServiceStack.SecretKey,
            ["Checkout:PublicBaseUrl"] = "https://blik.example",
            ["Checkout:FulfilmentQueue"] = AzuriteFixture.UniqueName("fulfil"),
        });
        builder.Logging.ClearProviders().AddProvider(logs).SetMinimumLevel(LogLevel.Debug);
        FunctionsStartup.Configure(builder);
        builder.Services.ConfigureOpenTelemetryTracerProvider(tracing => tracing.AddInMemoryExporter(spans));
        builder.Services.ConfigureOpenTelemetryMeterProvider(meters => meters.AddInMemoryExporter(metrics));
        using var host = builder.Build();
        await host.StartAsync();
        var http = host.Services.GetRequiredService<CheckoutFunctions>();
        var events = host.Services.GetRequiredService<EventFunctions>();

        var created = await ExecuteAsync(await http.CreateSession(JsonRequest(host, SessionBodies.Create())), host);
        Assert.Equal(201, created.Status);
        var id = created.Body.GetProperty("id").GetString()!;
        var clientSecret = created.Body.GetProperty("client_secret").GetString()!;
        var paid = await ExecuteAsync(await http.PaySession(JsonRequest(host, new { blik_code = Code }, clientSecret), id), host);
        Assert.Equal(202, paid.Status);

        const string timestamp = "1800000000";
        var body = Webhooks.EventBody(id);
        var signature = GatewaySigner.Compute(ServiceStack.SecretKey, timestamp, Encoding.UTF8.GetBytes(body));
        var forged = "deadbeef" + signature[8..];
        using (Invocation("function ConvergeGateWebhook"))
        {
            Assert.Equal(401, (await ExecuteAsync(await http.ConvergeGateWebhook(WebhookRequest(host, body, timestamp, forged)), host)).Status);
        }

        using (Invocation("function ConvergeGateWebhook"))
        {
            Assert.Equal(200, (await ExecuteAsync(await http.ConvergeGateWebhook(WebhookRequest(host, body, timestamp, signature)), host)).Status);
        }

        var queued = await TakeEventMessageAsync(storage, id);
        var processing = Invocation("function ProcessEvent");
        await events.ProcessEvent(queued, CancellationToken.None);
        processing.Stop();
        host.Services.GetRequiredService<MeterProvider>().ForceFlush();
        await host.StopAsync();

        // One trace: the message carries the intake span, which is the parent of the processing span.
        var intake = Assert.Single(spans, s => s.DisplayName == "webhook intake" && Tag(s, "checkout.session_id") == id && Tag(s, "checkout.outcome") == "accepted");
        Assert.StartsWith($"00-{intake.TraceId}-{intake.SpanId}-", EventMessage.Parse(queued).TraceParent, StringComparison.Ordinal);
        var consumer = Assert.Single(spans, s => s.DisplayName == "process checkout-events" && Tag(s, "checkout.session_id") == id);
        Assert.Equal(ActivityKind.Consumer, consumer.Kind);
        Assert.Equal(intake.TraceId, consumer.TraceId);
        Assert.Equal(intake.SpanId, consumer.ParentSpanId);
        Assert.Contains(consumer.Links, l => l.Context.TraceId == processing.TraceId && l.Context.SpanId == processing.SpanId);
        Assert.NotEqual(processing.TraceId, consumer.TraceId);
        Assert.Single(spans, s => s.DisplayName == "webhook intake" && Tag(s, "checkout.outcome") == "rejected");

        // Inside that trace: the gateway re-read (HttpClient) and the storage calls (the Azure SDK), each once.
        var processingTrace = spans.Where(s => s.TraceId == consumer.TraceId).ToList();
        Assert.Contains(processingTrace, s => s.Kind == ActivityKind.Client && Tag(s, "url.full")?.StartsWith(sandbox.BaseAddress.ToString(), StringComparison.Ordinal) == true);
        Assert.Contains(processingTrace, s => s.Source.Name.StartsWith("Azure.", StringComparison.Ordinal));
        Assert.Contains(processingTrace, s => s.Source.Name.StartsWith("Azure.Data.Tables.", StringComparison.Ordinal));
        Assert.Contains(spans, s => s.Source.Name.StartsWith("Azure.Storage.Queues.", StringComparison.Ordinal));
        // One span per storage call: no attempt spans unless asked for, and no HttpClient span repeating an SDK call.
        Assert.DoesNotContain(spans, s => s.Source.Name == Telemetry.AzureSdkHttpSource);
        var azureSpans = spans.Where(s => s.Source.Name.StartsWith("Azure.", StringComparison.Ordinal)).Select(s => s.SpanId).ToHashSet();
        Assert.DoesNotContain(spans, s => s.Source.Name == "System.Net.Http" && azureSpans.Contains(s.ParentSpanId));
        var storageEndpoints = storage.Split(';').Where(p => p.StartsWith("TableEndpoint=", StringComparison.Ordinal) || p.StartsWith("QueueEndpoint=", StringComparison.Ordinal))
            .Select(p => p[(p.IndexOf('=', StringComparison.Ordinal) + 1)..]).ToList();
        Assert.Equal(2, storageEndpoints.Count);
        Assert.DoesNotContain(spans, s => s.Source.Name == "System.Net.Http" && storageEndpoints.Any(e => Tag(s, "url.full")?.StartsWith(e, StringComparison.Ordinal) == true));
        Assert.Contains(spans, s => s.DisplayName == "checkout create" && Tag(s, "checkout.session_id") == id);
        Assert.Contains(spans, s => s.DisplayName == "checkout pay" && Tag(s, "checkout.session_id") == id && Tag(s, "checkout.outcome") == "accepted");

        // The meter reaches the exporter under the documented names.
        var exported = metrics.Select(m => m.Name).ToHashSet();
        Assert.Superset(new HashSet<string> { "blik.sessions.created", "blik.codes.submitted", "blik.webhooks", "blik.events.applied", "blik.gateway.calls", "blik.gateway.duration" }, exported);

        var forbidden = new[] { Code, ServiceStack.SecretKey, clientSecret, signature, forged, signature[8..], "jan.kowalski@example.com", "+48123456789" };
        var spanText = spans.Select(Describe).ToList();
        var lines = logs.Lines.ToList();
        Assert.Contains(lines, l => l.Contains(id, StringComparison.Ordinal)); // the logs do say what happened
        foreach (var secret in forbidden)
        {
            var span = spanText.FirstOrDefault(s => s.Contains(secret, StringComparison.Ordinal));
            Assert.True(span is null, $"'{secret}' appears in a span: {span}");
            var line = lines.FirstOrDefault(l => l.Contains(secret, StringComparison.Ordinal));
            Assert.True(line is null, $"'{secret}' appears in a log record: {line}");
        }
    }

    [Fact]
    public async Task With_AzureSdkHttpSpans_each_storage_call_also_has_a_span_per_HTTP_attempt_and_still_no_HttpClient_span_under_it()
    {
        await using var sandbox = await SandboxServer.StartAsync(new SandboxOptions { Port = 0, SecretKey = ServiceStack.SecretKey, AllowInsecureNotificationUrls = true });
        var spans = new List<Activity>();
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = azurite.NewAccount(),
            ["ConvergeGate:BaseUrl"] = sandbox.BaseAddress.ToString(),
            ["ConvergeGate:SecretKey"] = ServiceStack.SecretKey,
            ["Checkout:PublicBaseUrl"] = "https://blik.example",
            [Telemetry.AzureSdkHttpSpansSetting] = "true",
        });
        builder.Logging.ClearProviders();
        FunctionsStartup.Configure(builder);
        builder.Services.ConfigureOpenTelemetryTracerProvider(tracing => tracing.AddInMemoryExporter(spans));
        using var host = builder.Build();
        await host.StartAsync();
        var created = await ExecuteAsync(await host.Services.GetRequiredService<CheckoutFunctions>().CreateSession(JsonRequest(host, SessionBodies.Create())), host);
        Assert.Equal(201, created.Status);
        await host.StopAsync();

        var operations = spans.Where(s => s.Source.Name.StartsWith("Azure.Data.Tables.", StringComparison.Ordinal)).Select(s => s.SpanId).ToHashSet();
        var attempts = spans.Where(s => s.Source.Name == Telemetry.AzureSdkHttpSource).ToList();
        Assert.NotEmpty(operations);
        Assert.NotEmpty(attempts);
        Assert.All(attempts, a => Assert.Equal(ActivityKind.Client, a.Kind));
        Assert.Contains(attempts, a => operations.Contains(a.ParentSpanId));
        var attemptIds = attempts.Select(a => a.SpanId).ToHashSet();
        Assert.DoesNotContain(spans, s => s.Source.Name == "System.Net.Http" && (attemptIds.Contains(s.ParentSpanId) || operations.Contains(s.ParentSpanId)));
        Assert.Contains(spans, s => s.Source.Name == "System.Net.Http" && Tag(s, "url.full")?.StartsWith(sandbox.BaseAddress.ToString(), StringComparison.Ordinal) == true);
    }

    [Fact]
    public void In_Azure_the_exporter_samples_nothing_and_authenticates_with_the_user_assigned_identity()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = "UseDevelopmentStorage=true",
            ["ConvergeGate:BaseUrl"] = "https://gateway.example/",
            ["ConvergeGate:SecretKey"] = "sk_test_x",
            ["Checkout:PublicBaseUrl"] = "https://blik.example",
            [Telemetry.ConnectionStringSetting] = "InstrumentationKey=00000000-0000-0000-0000-000000000001;IngestionEndpoint=https://127.0.0.1:9/",
            [Telemetry.AuthenticationStringSetting] = "ClientId=00000000-0000-0000-0000-0000000000c1;Authorization=AAD",
        });
        FunctionsStartup.Configure(builder);
        using var host = builder.Build();

        var options = host.Services.GetRequiredService<IOptions<AzureMonitorExporterOptions>>().Value;

        Assert.Equal(1.0f, options.SamplingRatio);
        Assert.Null(options.TracesPerSecond);
        Assert.False(options.EnableTraceBasedLogsSampler);
        Assert.IsType<Azure.Identity.ManagedIdentityCredential>(options.Credential);
    }

    [Theory]
    [InlineData("Authorization=AAD", true)]
    [InlineData("ClientId=00000000-0000-0000-0000-0000000000c1;Authorization=AAD", true)]
    [InlineData(" authorization = aad ; clientid = 00000000-0000-0000-0000-0000000000c1 ", true)]
    [InlineData("", false)]
    [InlineData(null, false)]
    public void The_authentication_string_the_host_reads_gives_the_exporter_a_managed_identity(string? setting, bool credential)
    {
        Assert.Equal(credential, Telemetry.ManagedIdentityFor(setting) is Azure.Identity.ManagedIdentityCredential);
    }

    [Fact]
    public void An_authentication_string_that_does_not_ask_for_Entra_ID_stops_start_up_and_names_the_setting()
    {
        var error = Assert.Throws<InvalidOperationException>(() => Telemetry.ManagedIdentityFor("ClientId=abc"));

        Assert.Contains(Telemetry.AuthenticationStringSetting, error.Message, StringComparison.Ordinal);
    }

    /// <summary>The span the worker opens around a function (its parent arrives sampled from the host).</summary>
    private static Activity Invocation(string name)
    {
        var activity = new Activity(name) { ActivityTraceFlags = ActivityTraceFlags.Recorded };
        return activity.Start();
    }

    private static HttpRequest WebhookRequest(IHost host, string body, string timestamp, string signature)
    {
        var bytes = Encoding.UTF8.GetBytes(body);
        var context = new DefaultHttpContext { RequestServices = host.Services };
        context.Request.Method = "POST";
        context.Request.Body = new MemoryStream(bytes);
        context.Request.ContentType = "application/json";
        context.Request.ContentLength = bytes.Length;
        context.Request.Headers["Sec-Timestamp"] = timestamp;
        context.Request.Headers["Sec-Signature"] = signature;
        return context.Request;
    }

    /// <summary>Takes this session's event off <c>checkout-events</c>, as the trigger would.</summary>
    private static async Task<string> TakeEventMessageAsync(string storage, string sessionId)
    {
        // The emulator accepts service versions up to 2025-11-05; production keeps the SDK's default.
        var queue = new QueueClient(storage, QueueNames.Events, new QueueClientOptions(QueueClientOptions.ServiceVersion.V2025_11_05) { MessageEncoding = QueueMessageEncoding.Base64 });
        var message = await Wait.ForAsync(
            async () => (await queue.ReceiveMessagesAsync(32, TimeSpan.FromSeconds(1))).Value.FirstOrDefault(m => IsEventFor(m.MessageText, sessionId)),
            found => found is not null,
            $"an event for session {sessionId} on {QueueNames.Events}");
        await queue.DeleteMessageAsync(message!.MessageId, message.PopReceipt);
        return message.MessageText;
    }

    private static bool IsEventFor(string text, string sessionId)
    {
        try
        {
            return EventMessage.Parse(text).SessionId == sessionId;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    private static string? Tag(Activity span, string name) => span.GetTagItem(name)?.ToString();

    private static string Describe(Activity span) =>
        $"{span.Source.Name} {span.DisplayName} {span.StatusDescription} "
        + string.Join(" ", span.TagObjects.Select(t => $"{t.Key}={t.Value}"))
        + string.Join(" ", span.Events.SelectMany(e => e.Tags.Select(t => $"{e.Name}:{t.Key}={t.Value}")))
        + string.Join(" ", span.Baggage.Select(b => $"{b.Key}={b.Value}"));

    private static HttpRequest JsonRequest(IHost host, object? body, string? clientSecret = null)
    {
        var context = new DefaultHttpContext { RequestServices = host.Services };
        context.Response.Body = new MemoryStream();
        if (body is not null)
        {
            var bytes = JsonSerializer.SerializeToUtf8Bytes(body);
            context.Request.Body = new MemoryStream(bytes);
            context.Request.ContentType = "application/json";
            context.Request.ContentLength = bytes.Length;
        }

        if (clientSecret is not null)
        {
            context.Request.Headers["X-Client-Secret"] = clientSecret;
        }

        return context.Request;
    }

    /// <summary>Executes a function's result the way the worker's ASP.NET Core integration does: against the request's HttpContext.</summary>
    private static async Task<(int Status, JsonElement Body)> ExecuteAsync(IResult result, IHost host)
    {
        var context = new DefaultHttpContext { RequestServices = host.Services };
        context.Response.Body = new MemoryStream();
        await result.ExecuteAsync(context);
        context.Response.Body.Position = 0;
        return (context.Response.StatusCode, JsonDocument.Parse(Encoding.UTF8.GetString(((MemoryStream)context.Response.Body).ToArray())).RootElement.Clone());
    }
}
